// Command solution is the reference solution of exercise 02-open-flags,
// "create PATH SIZE": it creates the new file PATH, SIZE bytes long, and
// writes its 8-byte header through a shared mapping, never with write(2).
//
//	go run ./labs/02-open-flags/solution PATH SIZE
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
	pageSize := int64(unix.Getpagesize())
	pages := (size + pageSize - 1) / pageSize
	fmt.Fprintf(stdout, "created %s: %d bytes, %d pages\n", path, size, pages)
	return 0
}

// parseArgs checks the command line: a path and a size of at least the
// header's length.
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
// its start. If a step after the creation fails, it removes the file
// again: a half-made file is of no use to anyone.
func create(path string, size int64) error {
	// O_EXCL: fail if path exists (EEXIST), even as a symbolic link.
	// O_RDWR, not O_WRONLY: a shared writable mapping needs both.
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC
	fd, err := unix.Open(path, flags, 0o640)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	err = fill(fd, size)
	if closeErr := unix.Close(fd); err == nil && closeErr != nil {
		err = fmt.Errorf("close %s: %w", path, closeErr)
	}
	if err != nil {
		unix.Unlink(path)
		return err
	}
	return nil
}

// fill sets the length of the empty file fd to size bytes and writes the
// header through a shared mapping of the whole file.
func fill(fd int, size int64) error {
	// The file is empty: give it its length before mapping, or the
	// first store would be past its end (SIGBUS).
	if err := unix.Ftruncate(fd, size); err != nil {
		return fmt.Errorf("ftruncate %d bytes: %w", size, err)
	}
	if size != int64(int(size)) {
		return fmt.Errorf("mmap %d bytes: %w", size, unix.ENOMEM)
	}
	m, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	copy(m, header)
	if err := unix.Munmap(m); err != nil {
		return fmt.Errorf("munmap %d bytes: %w", size, err)
	}
	return nil
}
