// Command exercise is your solution to exercise 01-pages, "pages N LIST".
// Read the contract in labs/01-pages/README.md (section "Exercise"), then
// fill in the TODOs. Check your work with:
//
//	go run ./checker 01
//
// NOT DONE: delete this line when you want your work checked
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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
	// TODO 5: print the two lines of the contract: the page size (from
	// the OS, never a number you typed) and the residency map.
	_ = resident
	return 0
}

// parseArgs checks "N LIST": N in 1..maxPages, LIST "-" or distinct page
// indices in [0, N) separated by commas. It is done for you.
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
	// TODO 1: map n pages of private anonymous memory, readable and
	// writable (unix.Mmap with fd -1). How big is a page? Ask the OS.
	//
	// TODO 2: ask the kernel not to back the mapping with huge pages
	// (unix.Madvise, MADV_NOHUGEPAGE), so that residency is per page.
	//
	// TODO 3: write one byte to the first byte of each listed page.
	//
	// TODO 4: ask the kernel which pages are resident: the mincore system
	// call. golang.org/x/sys/unix has no Mincore on Linux: use
	// unix.Syscall(unix.SYS_MINCORE, address, length, address of a
	// vector of one byte per page). Bit 0 of each byte says "resident".
	// Turn the vector into '#' and '.', and unmap the memory when done.
	return "", errors.New("not implemented yet")
}
