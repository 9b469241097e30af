// A correct "mmapcopy SRC DST" written differently from the reference:
// the syscall package, os.File for the opens, MAP_POPULATE on both
// mappings (the kernel faults every page in at mmap), and both files
// closed before the mappings are unmapped.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mmapcopy SRC DST")
		os.Exit(2)
	}
	if err := mmapcopy(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "mmapcopy:", err)
		os.Exit(1)
	}
}

func mmapcopy(srcName, dstName string) error {
	src, err := os.Open(srcName)
	if err != nil {
		return err
	}
	st, err := src.Stat()
	if err != nil {
		return err
	}
	n := int(st.Size())
	dst, err := os.OpenFile(dstName, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := dst.Truncate(int64(n)); err != nil {
		return err
	}
	if n == 0 {
		fmt.Println("copied 0 bytes")
		return dst.Close()
	}
	from, err := syscall.Mmap(int(src.Fd()), 0, n, syscall.PROT_READ,
		syscall.MAP_PRIVATE|syscall.MAP_POPULATE)
	if err != nil {
		return err
	}
	to, err := syscall.Mmap(int(dst.Fd()), 0, n,
		syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return err
	}
	src.Close()
	dst.Close()
	copy(to, from)
	if err := syscall.Munmap(from); err != nil {
		return err
	}
	if err := syscall.Munmap(to); err != nil {
		return err
	}
	fmt.Printf("copied %d bytes\n", n)
	return nil
}
