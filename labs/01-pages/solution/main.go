// Command solution is the reference solution of exercise 01-pages,
// "pages N LIST": it maps N pages of private anonymous memory, writes one
// byte to each listed page, and prints which pages the kernel says are
// resident (mincore).
//
//	go run ./labs/01-pages/solution 16 0,2,8
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxPages bounds N, as the contract says.
const maxPages = 100000

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

// run does the whole command and returns its exit status: 0 done, 1 a
// system call failed, 2 a usage error.
func run(stdout, stderr io.Writer, args []string) int {
	n, list, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "pages: %v\n", err)
		return 2
	}
	resident, err := touch(n, list)
	if err != nil {
		fmt.Fprintf(stderr, "pages: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "page size: %d\n", unix.Getpagesize())
	fmt.Fprintf(stdout, "resident: %s\n", resident)
	return 0
}

// parseArgs checks "N LIST": N in 1..maxPages, LIST "-" or distinct page
// indices in [0, N) separated by commas.
func parseArgs(args []string) (n int, list []int, err error) {
	if len(args) != 2 {
		return 0, nil, errors.New("usage: pages N LIST")
	}
	n, err = strconv.Atoi(args[0])
	if err != nil || n < 1 || n > maxPages {
		return 0, nil, fmt.Errorf("N must be a page count in 1..%d: %q",
			maxPages, args[0])
	}
	if args[1] == "-" {
		return n, nil, nil
	}
	seen := map[int]bool{}
	for _, field := range strings.Split(args[1], ",") {
		k, err := strconv.Atoi(field)
		if err != nil || k < 0 || k >= n || seen[k] {
			return 0, nil, fmt.Errorf("LIST must be distinct page "+
				"indices in [0, %d), or -: %q", n, field)
		}
		seen[k] = true
		list = append(list, k)
	}
	return n, list, nil
}

// touch maps n pages, writes to the listed ones, and returns the
// residency map: '#' for a resident page, '.' for one that is not.
func touch(n int, list []int) (string, error) {
	pageSize := unix.Getpagesize()
	m, err := unix.Mmap(-1, 0, n*pageSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return "", fmt.Errorf("mmap %d pages: %w", n, err)
	}
	defer unix.Munmap(m)
	// Without this, the kernel may back the mapping with a huge page
	// and one write would make hundreds of pages resident at once.
	if err := unix.Madvise(m, unix.MADV_NOHUGEPAGE); err != nil {
		return "", fmt.Errorf("madvise MADV_NOHUGEPAGE: %w", err)
	}
	for _, k := range list {
		m[k*pageSize] = 1
	}
	vec, err := mincore(m, n)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, v := range vec {
		if v&1 == 1 {
			b.WriteByte('#')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String(), nil
}

// mincore asks the kernel which of the n pages of m are resident: one
// byte per page, bit 0 set if it is. golang.org/x/sys/unix has no Mincore
// on Linux, so this is the raw system call.
func mincore(m []byte, n int) ([]byte, error) {
	vec := make([]byte, n)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE,
		uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)),
		uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return nil, fmt.Errorf("mincore %d pages: %w", n, errno)
	}
	return vec, nil
}
