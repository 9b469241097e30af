// A correct "patch FILE OFFSET TEXT" written differently from the
// reference: the syscall package, os.File for the open and the size,
// lengths that are not page multiples (the kernel rounds them up), and
// msync over exactly the patched bytes' pages from the mapping's start.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: patch FILE OFFSET TEXT")
		os.Exit(2)
	}
	off, err := strconv.Atoi(os.Args[2])
	if err != nil || off < 0 {
		fmt.Fprintln(os.Stderr, "patch: bad OFFSET")
		os.Exit(2)
	}
	text := os.Args[3]
	f, err := os.OpenFile(os.Args[1], os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "patch:", err)
		os.Exit(1)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintln(os.Stderr, "patch:", err)
		os.Exit(1)
	}
	if int64(off+len(text)) > st.Size() {
		fmt.Fprintln(os.Stderr, "patch: past end of file")
		os.Exit(1)
	}
	ps := os.Getpagesize()
	a := off / ps
	b := a
	if text != "" {
		b = (off + len(text) - 1) / ps
		start := a * ps
		m, err := syscall.Mmap(int(f.Fd()), int64(start), off+len(text)-start,
			syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			fmt.Fprintln(os.Stderr, "patch: mmap:", err)
			os.Exit(1)
		}
		copy(m[off-start:], text)
		if err := msync(m); err != nil {
			fmt.Fprintln(os.Stderr, "patch: msync:", err)
			os.Exit(1)
		}
		if err := syscall.Munmap(m); err != nil {
			fmt.Fprintln(os.Stderr, "patch: munmap:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("patched %d bytes at %d (pages %d-%d)\n", len(text), off, a, b)
}

// msync is msync(2) with MS_SYNC over m: the syscall package has none.
func msync(m []byte) error {
	_, _, errno := syscall.Syscall(syscall.SYS_MSYNC, uintptr(sliceAddr(m)),
		uintptr(len(m)), syscall.MS_SYNC)
	if errno != 0 {
		return errno
	}
	return nil
}
