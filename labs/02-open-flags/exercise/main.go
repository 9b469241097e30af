// Command exercise is your solution of exercise 02-open-flags,
// "create PATH SIZE": it creates the new file PATH, SIZE bytes long, and
// writes the 8 bytes "MMAPLAB\n" at its start through a shared mapping.
// The lab's README, section "Exercise", says what the checker verifies.
// Run it with: go run ./labs/02-open-flags/exercise PATH SIZE
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

// header is what the file starts with.
const header = "MMAPLAB\n"

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

// run does the whole command and returns its exit status: 0 done, 1 a
// system call failed, 2 a usage error (then nothing was touched).
func run(stdout, stderr io.Writer, args []string) int {
	path, size, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "create: %v\n", err)
		return 2
	}
	if err := create(path, size); err != nil {
		fmt.Fprintf(stderr, "create: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "created %s: %d bytes, %d pages\n", path, size,
		pagesFor(size))
	return 0
}

// parseArgs checks the command line: a path and a size of at least the
// header's length. It is done for you.
func parseArgs(args []string) (path string, size int64, err error) {
	if len(args) != 2 {
		return "", 0, errors.New("usage: create PATH SIZE")
	}
	size, err = strconv.ParseInt(args[1], 10, 64)
	if err != nil || size < int64(len(header)) {
		return "", 0, fmt.Errorf("SIZE must be a number of bytes, at "+
			"least %d: %q", len(header), args[1])
	}
	return args[0], size, nil
}

// create makes the new file path, size bytes long, with the header at
// its start.
func create(path string, size int64) error {
	// TODO 1: open path with unix.Open, mode 0640. The flags:
	//   - O_RDWR: a shared writable mapping needs a descriptor open for
	//     reading and writing (lab section "access"). Not O_WRONLY.
	//   - O_CREAT|O_EXCL: create the file, and fail with EEXIST if path
	//     exists (section "create"). Never O_TRUNC or O_APPEND: the first
	//     would empty somebody's file.
	//   - O_CLOEXEC is allowed (Go's own os.OpenFile adds it).
	// On failure return fmt.Errorf("open %s: %w", path, err): one line
	// that names the operation and the errno text ("file exists").
	//
	// TODO 2: the new file is empty. Give it its length, size bytes, with
	// unix.Ftruncate, before you map it: a store past the end of the
	// file is SIGBUS (section "trunc"). ftruncate allocates no disk
	// space, it only sets the length (section "sparse").
	//
	// TODO 3: map the whole file with unix.Mmap: offset 0, size bytes,
	// PROT_READ|PROT_WRITE, MAP_SHARED (MAP_PRIVATE writes would never
	// reach the file).
	//
	// TODO 4: copy header to the start of the mapping. Do not call
	// unix.Write or unix.Pwrite: the checker wants the header to go
	// through the mapping.
	//
	// TODO 5: unix.Munmap the mapping, then unix.Close the descriptor
	// (the mapping would survive close, section "close"). Wrap each
	// error like in TODO 1. If a step after the open fails, remove the
	// half-made file with unix.Unlink before you return the error.
	return errors.New("not done yet: see the TODOs in create")
}

// pagesFor returns how many pages size bytes occupy.
func pagesFor(size int64) int64 {
	pageSize := int64(unix.Getpagesize()) // never assume 4096
	// TODO 6: round up: 8 bytes are 1 page, one page plus 1 byte are 2.
	return size / pageSize
}
