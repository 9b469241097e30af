// A correct "create PATH SIZE" written differently from the reference:
// os.OpenFile and (*os.File).Truncate, the syscall package's Mmap, and
// the descriptor closed before the mapping is unmapped (a mapping does
// not need its descriptor).
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: create PATH SIZE")
		os.Exit(2)
	}
	path := os.Args[1]
	size, err := strconv.Atoi(os.Args[2])
	if err != nil || size < 8 {
		fmt.Fprintln(os.Stderr, "create: SIZE must be a number >= 8")
		os.Exit(2)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		os.Exit(1)
	}
	if err := f.Truncate(int64(size)); err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		os.Exit(1)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, size,
		syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		fmt.Fprintln(os.Stderr, "create: mmap:", err)
		os.Exit(1)
	}
	f.Close()
	copy(m, "MMAPLAB\n")
	if err := syscall.Munmap(m); err != nil {
		fmt.Fprintln(os.Stderr, "create: munmap:", err)
		os.Exit(1)
	}
	ps := os.Getpagesize()
	fmt.Printf("created %s: %d bytes, %d pages\n", path, size, (size+ps-1)/ps)
}
