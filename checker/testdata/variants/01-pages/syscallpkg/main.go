// A correct "pages N LIST" written differently from the reference: the
// standard library's syscall package instead of golang.org/x/sys/unix,
// the page size from os, and the residency read with a raw Syscall.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pages N LIST")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 || n > 100000 {
		fmt.Fprintln(os.Stderr, "pages: bad N")
		os.Exit(2)
	}
	var list []int
	if os.Args[2] != "-" {
		seen := map[int]bool{}
		for _, f := range strings.Split(os.Args[2], ",") {
			k, err := strconv.Atoi(f)
			if err != nil || k < 0 || k >= n || seen[k] {
				fmt.Fprintln(os.Stderr, "pages: bad LIST")
				os.Exit(2)
			}
			seen[k] = true
			list = append(list, k)
		}
	}
	ps := os.Getpagesize()
	m, err := syscall.Mmap(-1, 0, n*ps, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pages: mmap:", err)
		os.Exit(1)
	}
	if err := syscall.Madvise(m, syscall.MADV_NOHUGEPAGE); err != nil {
		fmt.Fprintln(os.Stderr, "pages: madvise:", err)
		os.Exit(1)
	}
	for _, k := range list {
		m[k*ps] = 'x'
	}
	vec := make([]byte, n)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE,
		uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)),
		uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		fmt.Fprintln(os.Stderr, "pages: mincore:", errno)
		os.Exit(1)
	}
	out := make([]byte, n)
	for i, v := range vec {
		out[i] = ".#"[v&1]
	}
	if err := syscall.Munmap(m); err != nil {
		fmt.Fprintln(os.Stderr, "pages: munmap:", err)
		os.Exit(1)
	}
	fmt.Printf("page size: %d\nresident: %s\n", ps, out)
}
