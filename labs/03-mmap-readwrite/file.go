package main

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// pages is the size of the talk's file, in pages.
const pages = 8

// rw is the protection of a mapping that is read and written.
const rw = unix.PROT_READ | unix.PROT_WRITE

// newFile creates the scratch file name with n pages of text and returns
// it open for reading and writing.
func newFile(l *lab.Lab, name string, n int) (int, error) {
	fd, err := create(l.Path(name), 0o644)
	if err != nil {
		return -1, err
	}
	if err := writeAll(fd, text(n)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("write %s: %w", name, err)
	}
	return fd, nil
}

// text returns n pages of lines "mmaplab".
func text(n int) []byte {
	line := []byte("mmaplab\n")
	return bytes.Repeat(line, n*mem.PageSize()/len(line))
}

// create opens path for reading and writing, creating it with mode (less
// the umask) or truncating it.
func create(path string, mode uint32) (int, error) {
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC | unix.O_CLOEXEC
	fd, err := unix.Open(path, flags, mode)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	return fd, nil
}

// writeAll writes all of data with write(2), the ordinary way a file
// gets its contents.
func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// coldFile creates an n-page file and drops its pages from the page cache,
// as at the start of the talk's diagrams: the next access must read the
// disk.
//
// fallocate first gives the file one run of blocks on the disk, so that
// the kernel reads it back in one request whose pages become readable
// together: fault-around then sees all of them. fsync next, because only
// clean pages can be dropped.
func coldFile(l *lab.Lab, name string, n int) (int, error) {
	fd, err := create(l.Path(name), 0o644)
	if err != nil {
		return -1, err
	}
	if err := fill(fd, name, n); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// fill gives the empty file fd n pages of text on the disk and none in the
// page cache.
func fill(fd int, name string, n int) error {
	size := int64(n * mem.PageSize())
	err := unix.Fallocate(fd, 0, 0, size)
	if err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("fallocate %s: %w", name, err)
	}
	if err := writeAll(fd, text(n)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", name, err)
	}
	return drop(fd, name, n)
}

// drop asks the kernel to drop the file's clean pages from the page cache
// (posix_fadvise POSIX_FADV_DONTNEED), and asks again, a few times, while
// cachestat still sees some: a page that another CPU holds for a moment
// is skipped.
func drop(fd int, name string, n int) error {
	for try := 0; try < 5; try++ {
		err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		if err != nil {
			return fmt.Errorf("posix_fadvise DONTNEED %s: %w", name, err)
		}
		cache, err := mem.PageCache(fd, 0, n)
		if err != nil || !anyCached(cache) {
			return nil
		}
	}
	return nil
}

func anyCached(cache []mem.CacheState) bool {
	for _, c := range cache {
		if c.Cached {
			return true
		}
	}
	return false
}

// onTmpfs says so and returns true where the scratch directory is on
// tmpfs (chosen with -dir): there the page cache is the file, nothing is
// read from or written back to a disk, and a section about the disk has
// nothing to show.
func onTmpfs(l *lab.Lab) bool {
	if !lab.OnTmpfs(l.Dir) {
		return false
	}
	l.Skip("the scratch directory is on tmpfs: no disk to read from or " +
		"write back to (leave -dir out, or pick a disk-backed directory)")
	return true
}

// look draws the kernel's view of m, a mapping of fd from page 0.
func look(l *lab.Lab, m []byte, fd int) (lab.View, error) {
	v, err := lab.LookFile(m, fd, 0)
	if err != nil {
		return lab.View{}, err
	}
	l.Show(v)
	return v, nil
}

// indices lists the pages in state s: "1, 3".
func indices(states []diagram.State, s diagram.State) []int {
	var out []int
	for i, st := range states {
		if st == s {
			out = append(out, i)
		}
	}
	return out
}

// present counts the pages that are not missing.
func present(states []diagram.State) int {
	return len(states) - diagram.Count(states, diagram.Missing)
}

// only reports whether exactly the pages want are in state s.
func only(states []diagram.State, s diagram.State, want ...int) bool {
	got := indices(states, s)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// pageList prints page indices for a sentence: "page 1", "pages 1 and 3",
// "pages 0-7", "no page".
func pageList(idx []int) string {
	switch {
	case len(idx) == 0:
		return "no page"
	case len(idx) == 1:
		return fmt.Sprintf("page %d", idx[0])
	case idx[len(idx)-1]-idx[0] == len(idx)-1:
		return fmt.Sprintf("pages %d-%d", idx[0], idx[len(idx)-1])
	case len(idx) == 2:
		return fmt.Sprintf("pages %d and %d", idx[0], idx[1])
	}
	s := "pages"
	for i, k := range idx {
		switch {
		case i == 0:
			s += fmt.Sprintf(" %d", k)
		case i == len(idx)-1:
			s += fmt.Sprintf(" and %d", k)
		default:
			s += fmt.Sprintf(", %d", k)
		}
	}
	return s
}

// access reads m[off] (or writes 'W' there) as a numbered step, and
// returns the fault it raised, if any. The fault is named after the step,
// so that the step's fault counts hold only the access itself.
func access(l *lab.Lab, title string, a fault.Access, m []byte,
	off int) (*fault.Error, error) {
	var addr uintptr
	var faulted bool
	_, err := l.Step(title, func() error {
		addr, faulted = fault.Try(func() {
			if a == fault.Write {
				m[off] = 'W'
			} else {
				mem.Touch(m, off)
			}
		})
		return nil
	})
	if err != nil || !faulted {
		return nil, err
	}
	return fault.Classify(a, addr), nil
}

// faultLine describes a caught fault in one line: the signal, the page of
// m and why, never the address.
func faultLine(fe *fault.Error, m []byte) string {
	return fmt.Sprintf("%s %s page %d: %s", fault.Name(fe.Signal),
		fe.Access, fe.Page(m), fe.Reason)
}

// claimFault prints the fault an access raised in one line and claims
// that it was signal sig.
func claimFault(l *lab.Lab, fe *fault.Error, m []byte, sig unix.Signal,
	claim string) {
	if fe == nil {
		l.Claim(false, "no fault: %s", claim)
		return
	}
	l.Say("%s", faultLine(fe, m))
	l.Claim(fe.Signal == sig, "%s", claim)
}
