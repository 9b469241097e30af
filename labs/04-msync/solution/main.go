// Command solution is the reference solution of exercise 04-msync,
// "patch FILE OFFSET TEXT": it writes TEXT into the existing FILE at byte
// OFFSET through a shared mapping of only the pages that TEXT touches,
// writes those pages back with msync(MS_SYNC), and unmaps them.
//
//	go run ./labs/04-msync/solution notes.txt 5000 hello
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
// more. TEXT may be empty.
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
// indices of that mapping. An empty text maps nothing.
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
	// Written as a subtraction, the check cannot overflow.
	if offset > st.Size-int64(len(text)) {
		return 0, 0, fmt.Errorf("%d bytes at %d: past end of file "+
			"(%s has %d bytes)", len(text), offset, path, st.Size)
	}
	ps := int64(unix.Getpagesize())
	first = offset / ps
	if len(text) == 0 {
		return first, first, nil
	}
	last = (offset + int64(len(text)) - 1) / ps
	return first, last, writeMapped(fd, first, last, offset-first*ps, text)
}

// writeMapped maps pages first..last of the file fd, copies text at byte
// at of the mapping, syncs the mapping to the disk and unmaps it.
func writeMapped(fd int, first, last, at int64, text string) error {
	ps := int64(unix.Getpagesize())
	n := int((last - first + 1) * ps)
	m, err := unix.Mmap(fd, first*ps, n, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap pages %d-%d: %w", first, last, err)
	}
	copy(m[at:], text)
	if err := unix.Msync(m, unix.MS_SYNC); err != nil {
		unix.Munmap(m)
		return fmt.Errorf("msync pages %d-%d: %w", first, last, err)
	}
	if err := unix.Munmap(m); err != nil {
		return fmt.Errorf("munmap pages %d-%d: %w", first, last, err)
	}
	return nil
}
