package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// copyFile is a correct "mmapcopy SRC DST", so that only the hostile
// part of the program fails.
func copyFile() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mmapcopy SRC DST")
		os.Exit(2)
	}
	src, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmapcopy:", err)
		os.Exit(1)
	}
	st, _ := src.Stat()
	n := int(st.Size())
	dst, err := os.OpenFile(os.Args[2], os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmapcopy:", err)
		os.Exit(1)
	}
	if n > 0 {
		dst.Truncate(int64(n))
		s, _ := unix.Mmap(int(src.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
		d, _ := unix.Mmap(int(dst.Fd()), 0, n, unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_SHARED)
		copy(d, s)
		unix.Munmap(s)
		unix.Munmap(d)
	}
	fmt.Printf("copied %d bytes\n", n)
}
