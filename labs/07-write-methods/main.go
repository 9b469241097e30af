// Command 07-write-methods writes the same bytes to a new file by each of
// the ways a program can: write() with small and large buffers, bufio,
// pwrite into a preallocated file, O_DIRECT, and ftruncate + mmap + copy()
// with and without prefaulting or huge pages, each with and without
// making the file durable (fsync, msync).
//
// It measures each against this machine's own limit, copy() from memory
// to memory, counts the page faults each method takes, and reads every
// output file back to check its checksum, so that no speed comes from
// skipped work. The talk points to "full benchmarks comparing memory
// mapped writing to other output methods": this is one you can run.
package main

import (
	"os"

	"github.com/mmaplab/mmaplab/internal/lab"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

var program = &lab.Program{
	Name: "07-write-methods",
	Summary: `Write the same bytes to a file by each method (write() with 4 KiB,
64 KiB and 1 MiB buffers, bufio, fallocate + pwrite, O_DIRECT, mmap + copy
plain, prefaulted, MAP_POPULATE and with huge pages), with and without
fsync/msync, in the scratch directory and in /dev/shm. Each method's median
throughput is compared with copy() in memory and with write() of 1 MiB,
with its page faults per MiB and the cost of each fault. Every file is
read back and its checksum checked.

-quick runs in a few seconds; -verify prints the methods and their checks
only (no numbers), as the golden tests do.`,
	Flags: addFlags,
	Disk:  true,
	Sections: []lab.Section{
		{Name: "limit", Doc: "copy() in memory: the limit", Run: limit},
		{Name: "syscalls", Doc: "write(), bufio, pwrite, O_DIRECT",
			Run: syscalls},
		{Name: "mmap", Doc: "ftruncate, mmap, copy(): the faults",
			Run: mapped},
		{Name: "faults", Doc: "what one page fault costs", Run: faults},
		{Name: "summary", Doc: "table, chart and goals", Run: summary},
	},
}
