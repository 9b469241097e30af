// Command 02-open-flags shows how the flags of open(2) decide what a
// process may do with a file and with a mapping of it.
//
// It follows the talk's "Open File", "Important Note on Opening File",
// "Change File Length" and "Memory Map File" slides. Each row of its
// tables is a real call, and each claim is computed from what the kernel
// returned: the errno, fstat's st_size and st_blocks, statx, mincore and
// the page fault counters.
package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

var program = &lab.Program{
	Name: "02-open-flags",
	Summary: `The flags given to open(2) decide what a mapping of the file may
do: a descriptor open for writing only cannot be mapped at all, and a
shared writable mapping needs O_RDWR. Then the creation flags (O_CREAT,
O_EXCL, O_TRUNC, O_APPEND), the mode and the umask, ftruncate against
fallocate, O_DIRECT's alignment, and a mapping that outlives close(fd).`,
	Disk: true, // sparse files, page cache and O_DIRECT need a real disk
	Sections: []lab.Section{
		{Name: "access", Doc: "which open modes can be mapped, and how",
			Run: access},
		{Name: "readfirst", Doc: "a write to a missing page reads it first",
			Run: readFirst},
		{Name: "create", Doc: "O_CREAT makes a file, O_EXCL a new one",
			Run: create},
		{Name: "trunc", Doc: "O_TRUNC empties a file, even a mapped one",
			Run: trunc},
		{Name: "append", Doc: "O_APPEND writes land at the end",
			Run: appendWrites},
		{Name: "mode", Doc: "the mode of a new file is MODE &^ umask",
			Run: mode},
		{Name: "sparse", Doc: "ftruncate makes a hole, fallocate allocates",
			Run: sparse},
		{Name: "direct", Doc: "O_DIRECT needs aligned buffers and offsets",
			Run: direct},
		{Name: "close", Doc: "the mapping outlives close(fd)",
			Run: closeFD},
	},
}

// errnoName turns an error from a system call into its errno name
// ("EACCES"), and nil into "ok".
func errnoName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	return err.Error()
}

// fileWith creates the scratch file name holding data and returns its
// path. Setting files up is not what the lab shows, so it uses package os.
func fileWith(l *lab.Lab, name string, data []byte) (string, error) {
	path := l.Path(name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	return path, nil
}

// filled returns pages pages of the byte b.
func filled(pages int, b byte) []byte {
	data := make([]byte, pages*mem.PageSize())
	for i := range data {
		data[i] = b
	}
	return data
}

// size is a file's length and the space the file system gave it, in
// pages (fstat: st_size, and st_blocks, which counts 512-byte units).
type size struct {
	Pages     int // st_size, rounded up to whole pages
	Allocated int // st_blocks * 512, in whole pages
}

func (s size) String() string {
	return fmt.Sprintf("st_size %s, st_blocks %s",
		lab.Plural(s.Pages, "page"), lab.Plural(s.Allocated, "page"))
}

// sizeOf reads the size of the open file fd.
func sizeOf(fd int) (size, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return size{}, fmt.Errorf("fstat: %w", err)
	}
	return size{
		Pages:     mem.Pages(int(st.Size)),
		Allocated: int(st.Blocks * 512 / int64(mem.PageSize())),
	}, nil
}

// sizeAt reads the size of the file at path.
func sizeAt(path string) (size, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return size{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	return sizeOf(fd)
}

// contents reads the whole file at path, as a student would check it.
func contents(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read back: %w", err)
	}
	return string(b), nil
}
