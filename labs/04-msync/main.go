// Command 04-msync shows what msync and munmap do on Linux to a file
// mapped MAP_SHARED: which pages a write makes dirty, which call writes
// them back to the disk, and why no call is needed for another process
// to see a write.
//
// It follows the talk's "Synchronizing to File" and "Unmapping" slides
// and its advice to share a file on disk with msync(MS_INVALIDATE), and
// shows after each step what the kernel says about every page: mapped in
// the page table (/proc/self/pagemap), in the page cache (mincore), dirty
// or clean (cachestat), and the mapping's counters (/proc/self/smaps).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

var program = &lab.Program{
	Name: "04-msync",
	Summary: `A write through a MAP_SHARED file mapping changes the one copy of
the page that Linux keeps, in the page cache: read() and every other
mapping see it at once, and msync is only about the disk. MS_SYNC writes
the dirty pages back and waits; MS_ASYNC does nothing; munmap writes
nothing back and loses nothing.`,
	Disk: true,
	Sections: []lab.Section{
		{Name: "dirty", Doc: "writes dirty pages; MS_SYNC cleans them, " +
			"MS_ASYNC does not", Run: dirty},
		{Name: "shared", Doc: "one page cache: read() and other processes " +
			"see a write at once", Run: shared},
		{Name: "errors", Doc: "msync errors: unaligned, two modes, unmapped, " +
			"locked", Run: msyncErrors},
		{Name: "munmap", Doc: "munmap rounds the length up to whole pages",
			Run: munmapRounding},
		{Name: "unsaved", Doc: "munmap without msync loses nothing",
			Run: unsaved},
		{Name: "mtime", Doc: "the write fault, not msync, updates mtime",
			Run: mtime},
		{Name: "folio", Doc: "one byte can dirty several pages (large folios)",
			Run: folio},
	},
	Children: map[string]func(*lab.Lab, []string) error{
		"peek": peek,
		"poke": poke,
	},
}

// rw is the protection of every writable mapping in this lab.
const rw = unix.PROT_READ | unix.PROT_WRITE

// newFile creates the scratch file name with pages pages of dots and
// returns a read-write descriptor. See makeFile.
func newFile(l *lab.Lab, name string, pages int) (int, error) {
	return makeFile(l, name, pages, 1)
}

// makeFile creates the scratch file name, pages pages long, with one
// write() of perWrite pages at a time, then fsyncs it: every page is in
// the page cache and clean. A write() of one page puts that page in a
// folio of its own, so that the kernel tracks each page's dirtiness
// alone; a bigger write() may get a bigger folio (the folio section).
func makeFile(l *lab.Lab, name string, pages, perWrite int) (int, error) {
	fd, err := unix.Open(l.Path(name),
		unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return -1, fmt.Errorf("create %s: %w", name, err)
	}
	chunk := bytes.Repeat([]byte{'.'}, perWrite*mem.PageSize())
	for done := 0; done < pages; done += perWrite {
		n, err := unix.Write(fd, chunk)
		if err == nil && n < len(chunk) {
			err = io.ErrShortWrite
		}
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("write page %d of %s: %w", done, name, err)
		}
	}
	if err := unix.Fsync(fd); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("fsync %s: %w", name, err)
	}
	return fd, nil
}

// mapShared maps the first pages pages of the file fd, MAP_SHARED and
// writable, as a step of the lab. The mapping sits between two PROT_NONE
// guard pages: a page that a section unmaps leaves a hole too small for
// the Go runtime's own mappings (8 KiB and more), so that its address
// stays unmapped. Remove it with release.
func mapShared(l *lab.Lab, fd, pages int) ([]byte, error) {
	var m []byte
	title := fmt.Sprintf("mmap %s, MAP_SHARED", lab.Plural(pages, "page"))
	_, err := l.Step(title, func() error {
		var err error
		m, err = mapGuarded(fd, pages)
		return err
	})
	return m, err
}

// mapGuarded reserves pages pages between guard pages (mem.MapAnon,
// PROT_NONE) and maps the file fd over them (MAP_FIXED).
func mapGuarded(fd, pages int) ([]byte, error) {
	reserved, err := mem.MapAnon(pages, unix.PROT_NONE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	n := pages * mem.PageSize()
	p, err := unix.MmapPtr(fd, 0, unsafe.Pointer(&reserved[0]), uintptr(n),
		rw, unix.MAP_SHARED|unix.MAP_FIXED)
	if err != nil {
		mem.UnmapAnon(reserved)
		return nil, fmt.Errorf("mmap %d pages of fd %d: %w", pages, fd, err)
	}
	return unsafe.Slice((*byte)(p), n), nil
}

// release unmaps a mapping made by mapShared and its guard pages, one
// page at a time, except the pages in gone: a section unmapped those
// already, and their addresses may be another mapping's now.
func release(m []byte, gone ...int) {
	ps := mem.PageSize()
	for i := -1; i <= len(m)/ps; i++ {
		if !slices.Contains(gone, i) {
			unix.MunmapPtr(unsafe.Add(unsafe.Pointer(&m[0]), i*ps),
				uintptr(ps))
		}
	}
}

// onDisk reports whether the scratch directory is on a disk-backed file
// system, and prints why the section cannot run if it is not.
func onDisk(l *lab.Lab) bool {
	if lab.OnTmpfs(l.Dir) {
		l.Skip("the scratch directory is on tmpfs, where no page is ever " +
			"written back; run with -dir on a disk-backed file system")
		return false
	}
	return true
}

// look draws what the kernel says about the pages of m, a mapping of the
// file fd from its first page.
func look(l *lab.Lab, m []byte, fd int) (lab.View, error) {
	v, err := lab.LookFile(m, fd, 0)
	if err != nil {
		return lab.View{}, err
	}
	l.Show(v)
	return v, nil
}

// dirtyIn returns the indices of the dirty pages in a row of states.
func dirtyIn(pages []diagram.State) []int {
	var dirty []int
	for i, s := range pages {
		if s == diagram.Dirty {
			dirty = append(dirty, i)
		}
	}
	return dirty
}

// smapsDirty returns how many of the mapping's pages smaps counts as
// dirty. "Private" there means mapped by this process alone.
func smapsDirty(v lab.View) int {
	ps := mem.PageSize()
	return v.Smaps.Pages("Private_Dirty", ps) + v.Smaps.Pages("Shared_Dirty", ps)
}

// errnoName names the error a system call returned: "EINVAL", or
// "success" for none.
func errnoName(err error) string {
	var errno unix.Errno
	switch {
	case err == nil:
		return "success"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno)
	}
	return err.Error()
}
