// Command 03-mmap-readwrite follows the talk's walk through a memory
// mapped file, page by page: after mmap, the first read, a second read, a
// write to a page that was read, a write to an unread page, and the
// synchronisation. After each step it prints what the kernel says about
// every page: in this process's page table or not (pagemap), in the page
// cache or not (mincore), dirty or synced (cachestat or kpageflags).
//
// Then it runs the talk's "hello" example, and shows where a mapping
// stops working: MAP_PRIVATE copies, the end of the file, ftruncate, the
// arguments mmap refuses, and a write to a read-only mapping.
package main

import (
	"os"

	"github.com/mmaplab/mmaplab/internal/lab"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

var program = &lab.Program{
	Name: "03-mmap-readwrite",
	Summary: `A mapped file is read and written like an array. The first read
of a page faults, and the kernel reads the file, more of it than asked
for; the first write to a page faults again so that the kernel can mark
it dirty; msync writes the dirty pages back. Past the end of the file
there is SIGBUS, through a read-only mapping SIGSEGV.`,
	Disk: true,
	Sections: []lab.Section{
		{Name: "sequence", Doc: "the talk's sequence: read, read, write, " +
			"write, msync", Run: sequence},
		{Name: "random", Doc: "with MADV_RANDOM only the touched page " +
			"comes in", Run: random},
		{Name: "folio", Doc: "one write can dirty several pages (large " +
			"folios)", Run: folio},
		{Name: "munmap", Doc: "munmap does not write dirty pages back",
			Run: unmapDirty},
		{Name: "hello", Doc: "the talk's example: hello becomes Hello",
			Run: hello},
		{Name: "private", Doc: "MAP_PRIVATE writes stay private " +
			"(copy-on-write)", Run: private},
		{Name: "eof", Doc: "the last page past the end of the file",
			Run: eof},
		{Name: "tail", Doc: "write-back zeroes what was written past the " +
			"end", Run: tail},
		{Name: "truncate", Doc: "ftruncate below the mapping: SIGBUS",
			Run: truncate},
		{Name: "args", Doc: "what mmap, msync and munmap refuse: EINVAL",
			Run: args},
		{Name: "readonly", Doc: "a write to a PROT_READ mapping: SIGSEGV",
			Run: readonly},
	},
}
