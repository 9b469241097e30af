// Command mmapfile creates DIR/x exclusively, sizes it with ftruncate,
// maps it shared, writes through the mapping, msyncs, unmaps and unlinks
// it: the calls the tracer's test expects, in order. It also fails one
// open on purpose.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "mmapfile:", err)
		os.Exit(1)
	}
	fmt.Println("done")
}

func run(dir string) error {
	path := filepath.Join(dir, "x")
	_, err := unix.Open(filepath.Join(dir, "missing"), unix.O_RDONLY, 0)
	if err != unix.ENOENT {
		return fmt.Errorf("open missing: %v", err)
	}
	fd, err := unix.Openat(unix.AT_FDCWD, path,
		unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, 8192); err != nil {
		return err
	}
	mem, err := unix.Mmap(fd, 0, 8192, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		return err
	}
	copy(mem, "hello")
	if err := unix.Msync(mem, unix.MS_SYNC); err != nil {
		return err
	}
	if err := unix.Munmap(mem); err != nil {
		return err
	}
	return unix.Unlink(path)
}
