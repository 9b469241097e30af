// Command exercise is your solution to exercise 04-msync, "patch FILE
// OFFSET TEXT": it writes TEXT into the existing FILE at byte OFFSET
// through a shared mapping of only the pages that TEXT touches, makes
// sure they reach the disk (msync with MS_SYNC), and unmaps them. Read
// the contract in labs/04-msync/README.md (section "Exercise"), then fill
// in the TODOs. Try it with:
//
//	seq 10000 > numbers.txt
//	go run ./labs/04-msync/exercise numbers.txt 4094 HELLO
//
// and check your work with: go run ./checker 04
//
// NOT DONE: delete this line when you want your work checked
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

// run does the whole command and returns its exit status: 0 done, 1 a
// system call failed or the patch does not fit, 2 a usage error (then
// nothing was touched).
func run(stdout, stderr io.Writer, args []string) int {
	path, offset, text, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "patch: %v\n", err)
		return 2
	}
	first, last, err := patch(path, offset, text)
	if err != nil {
		fmt.Fprintf(stderr, "patch: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "patched %d bytes at %d (pages %d-%d)\n",
		len(text), offset, first, last)
	return 0
}

// parseArgs checks "FILE OFFSET TEXT": OFFSET is a byte offset, 0 or
// more. TEXT may be empty. It is done for you.
func parseArgs(args []string) (path string, offset int64, text string,
	err error) {
	if len(args) != 3 {
		return "", 0, "", errors.New("usage: patch FILE OFFSET TEXT")
	}
	offset, err = strconv.ParseInt(args[1], 10, 64)
	if err != nil || offset < 0 {
		return "", 0, "", fmt.Errorf("OFFSET must be a byte offset, "+
			"0 or more: %q", args[1])
	}
	return args[0], offset, args[2], nil
}

// patch writes text at offset into the file at path through a shared
// mapping of the pages it touches, and returns the first and last page
// indices of that mapping.
func patch(path string, offset int64, text string) (first, last int64,
	err error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, 0, fmt.Errorf("fstat %s: %w", path, err)
	}
	// TODO 1: refuse a patch that does not fit in the file: if
	// offset+len(text) is more than st.Size, return an error whose text
	// contains "past end of file". Check before you map anything: a
	// mapping may reach past the end of the file, but touching a page
	// that lies wholly past it is SIGBUS.
	//
	// TODO 2: ask the OS for the page size (unix.Getpagesize), then
	// compute first, the page that holds byte offset, and last, the page
	// that holds the last byte of text. An empty text changes nothing:
	// return first, first and map nothing.
	//
	// TODO 3: call writeMapped for pages first..last; the text starts at
	// byte offset-first*pageSize of that mapping.
	_ = st.Size
	return 0, 0, errors.New("not implemented yet")
}

// writeMapped maps pages first..last of the file fd, copies text at byte
// at of the mapping, writes the mapping back to the disk and unmaps it.
func writeMapped(fd int, first, last, at int64, text string) error {
	// TODO 4: map pages first..last of the file, and only those:
	// unix.Mmap with the file offset first*pageSize (mmap wants it page
	// aligned), (last-first+1) pages, PROT_READ|PROT_WRITE and
	// MAP_SHARED (MAP_PRIVATE would never reach the file).
	//
	// TODO 5: copy text into the mapping at byte at.
	//
	// TODO 6: unix.Msync the whole mapping with MS_SYNC: it returns when
	// the dirty pages are on the disk. (MS_ASYNC returns at once and, on
	// Linux, writes nothing: the checker looks for dirty pages left.)
	//
	// TODO 7: unix.Munmap the mapping, also when msync failed. Name the
	// call and the pages in every error: "msync pages 2-3: ...".
	return errors.New("writeMapped: not implemented yet")
}
