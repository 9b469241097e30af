// A wrong "create PATH SIZE", for the golden files of the checker's own
// output: it opens PATH with O_TRUNC instead of O_EXCL (so it destroys an
// existing file), and writes the header with write(2) instead of through
// the mapping.
package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: create PATH SIZE")
		os.Exit(2)
	}
	size, err := strconv.Atoi(os.Args[2])
	if err != nil || size < 8 {
		fmt.Fprintln(os.Stderr, "create: bad SIZE")
		os.Exit(2)
	}
	fd, err := unix.Open(os.Args[1], unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o640)
	if err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		os.Exit(1)
	}
	unix.Ftruncate(fd, int64(size))
	m, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		os.Exit(1)
	}
	unix.Write(fd, []byte("MMAPLAB\n"))
	unix.Munmap(m)
	ps := os.Getpagesize()
	fmt.Printf("created %s: %d bytes, %d pages\n", os.Args[1], size, (size+ps-1)/ps)
}
