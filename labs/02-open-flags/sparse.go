package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// sparsePages is the length the sparse section gives its files.
const sparsePages = 16

// sparse grows one file with ftruncate and another with fallocate, then
// writes one page of the first through a mapping.
func sparse(l *lab.Lab) error {
	l.Talk("ftruncate can take a new length that is bigger than the " +
		"current length")
	l.Talk("File will be pre-allocated on the filesystem")
	length := int64(sparsePages * mem.PageSize())
	fd, err := newFile(l, "sparse")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, length); err != nil {
		return fmt.Errorf("ftruncate: %w", err)
	}
	grown, err := sizeOf(fd)
	if err != nil {
		return err
	}
	l.Say(`new file "sparse", ftruncate(fd, %s): %s`,
		lab.Plural(sparsePages, "page"), grown)
	l.Claim(grown.Pages == sparsePages && grown.Allocated == 0,
		"ftruncate did not pre-allocate: the length grew, no block was "+
			"allocated; the file is one hole (sparse)")
	if err := fallocated(l, length); err != nil {
		return err
	}
	return storeInHole(l, fd, grown)
}

// newFile creates the new file name in the scratch directory, O_RDWR.
func newFile(l *lab.Lab, name string) (int, error) {
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC
	fd, err := unix.Open(l.Path(name), flags, 0o644)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", name, err)
	}
	return fd, nil
}

// fallocated gives a new file length bytes with fallocate.
func fallocated(l *lab.Lab, length int64) error {
	fd, err := newFile(l, "allocated")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Fallocate(fd, 0, 0, length)
	if err != nil {
		l.Skip("fallocate: %v (this file system cannot allocate ahead)",
			err)
		return nil
	}
	got, err := sizeOf(fd)
	if err != nil {
		return err
	}
	l.Say(`new file "allocated", fallocate(fd, 0, 0, %s): %s`,
		lab.Plural(sparsePages, "page"), got)
	l.Claim(got.Pages == sparsePages && got.Allocated == sparsePages,
		"fallocate is what pre-allocates: every page of the file has "+
			"its blocks on the file system now")
	return nil
}

// storeInHole maps the sparse file and writes one byte of one page.
func storeInHole(l *lab.Lab, fd int, before size) error {
	m, err := mem.MapFile(fd, 0, sparsePages*mem.PageSize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	l.Say(`mmap "sparse", MAP_SHARED, PROT_READ|PROT_WRITE`)
	const page = 5
	d, read, err := stepIO(l, fmt.Sprintf("write 1 to m[page %d]", page),
		func() error {
			m[page*mem.PageSize()] = 1
			return nil
		})
	if err != nil {
		return err
	}
	after, err := sizeOf(fd)
	if err != nil {
		return err
	}
	l.Say(`"sparse": %s`, after)
	next := m[page*mem.PageSize()+1]
	switch {
	case read < 0:
		l.Claim(next == 0, "the page came from the hole: zeros")
	case lab.OnTmpfs(l.Dir):
		l.Claim(next == 0 && read == 0, "the page came from the hole: "+
			"zeros, and nothing was read from a disk")
	default:
		l.Claim(next == 0 && read == 0 && d.Major == 1,
			"the page came from the hole: zeros, and nothing was read "+
				"from the disk, yet the fault counts as major: a fault "+
				"that does not find a file's page in the page cache is "+
				"major, whether or not the disk is read")
	}
	l.Claim(after.Allocated == before.Allocated+1, "the store made the "+
		"file system take one page of space for the file, at the "+
		"write fault, before any write-back")
	return nil
}
