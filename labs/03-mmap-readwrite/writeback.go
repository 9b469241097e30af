package main

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// folio writes one byte to a file that write(2) put in the page cache,
// where the kernel may keep it in folios larger than a page.
func folio(l *lab.Lab) error {
	if onTmpfs(l) {
		return nil
	}
	fd, err := newFile(l, "folio.dat", pages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync folio.dat: %w", err)
	}
	l.Say("folio.dat: %d pages written with write(2) and fsync'ed: the "+
		"pages stay in the page cache, clean", pages)
	m, err := mem.MapFile(fd, 0, pages*mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	if err := unix.Madvise(m, unix.MADV_POPULATE_READ); err != nil {
		return fmt.Errorf("madvise MADV_POPULATE_READ: %w", err)
	}
	l.Say("mmap 8 pages, MAP_SHARED, read-write; madvise(" +
		"MADV_POPULATE_READ) maps every page for reading")
	if _, err := look(l, m, fd); err != nil {
		return err
	}
	d, err := l.Step("write m[page 1]", func() error {
		m[1*mem.PageSize()] = 'b'
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	folioClaim(l, v, d.Minor)
	d, err = l.Step("write m[page 5]", func() error {
		m[5*mem.PageSize()] = 'f'
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := look(l, m, fd); err != nil {
		return err
	}
	l.Claim(d.Minor == 1, "still a minor fault for page 5: write "+
		"permission is given page by page in the page table, even where "+
		"the page cache already counts the page as dirty")
	return nil
}

// folioClaim says what one write to page 1 of a file cached by write(2)
// dirtied.
func folioClaim(l *lab.Lab, v lab.View, minor int64) {
	dirty := indices(v.Cache, diagram.Dirty)
	switch {
	case len(dirty) == 1:
		l.Claim(dirty[0] == 1 && minor == 1, "one minor fault, and only "+
			"page 1 is dirty (%s): this kernel and file system cache the "+
			"file in single pages", v.DirtyFrom)
	case len(dirty) > 1:
		l.Claim(slices.Contains(dirty, 1) && minor == 1, "one minor "+
			"fault, one byte written, and %s are dirty (%s): write(2) "+
			"filled the page cache with a folio of several pages, the "+
			"kernel tracks dirty data per folio, and write-back will "+
			"write all of them", pageList(dirty), v.DirtyFrom)
	default:
		l.Claim(false, "page 1 is not dirty (%s)", v.DirtyFrom)
	}
}

// unmapDirty writes a page, unmaps it without msync, and asks cachestat
// whether munmap wrote it back.
func unmapDirty(l *lab.Lab) error {
	if onTmpfs(l) {
		return nil
	}
	fd, err := coldFile(l, "unmap.dat", pages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := mem.PageCache(fd, 0, 1); errors.Is(err, unix.ENOSYS) {
		l.Skip("cachestat needs Linux 6.5: without it, nothing shows " +
			"the dirty bit of a page that no mapping holds")
		return nil
	}
	m, err := mem.MapFile(fd, 0, pages*mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	l.Say("unmap.dat: %d pages, not in the page cache; mmap 8 pages, "+
		"MAP_SHARED, read-write", pages)
	if _, err := l.Step("write m[page 0]", func() error {
		m[0] = 'W'
		return nil
	}); err != nil {
		return err
	}
	if _, err := look(l, m, fd); err != nil {
		return err
	}
	l.Talk("msync, munmap, or whenever OS decides")
	_, err = l.Step("munmap, without msync", func() error {
		return mem.Unmap(m)
	})
	if err != nil {
		return err
	}
	cache, err := showCache(l, fd)
	if err != nil {
		return err
	}
	l.Claim(cache[0] == diagram.Dirty, "munmap wrote nothing: page 0 is "+
		"still dirty in the page cache, and goes to the disk when the "+
		"kernel's flusher gets to it (vm.dirty_expire_centisecs), or at "+
		"fsync")
	return readBack(l, fd)
}

// readBack shows that read(2) sees the unwritten page, then fsyncs.
func readBack(l *lab.Lab, fd int) error {
	b := make([]byte, 1)
	if _, err := unix.Pread(fd, b, 0); err != nil {
		return fmt.Errorf("pread unmap.dat: %w", err)
	}
	l.Claim(b[0] == 'W', "pread(2) of byte 0 reads %q anyway: read and "+
		"mmap use the same page cache, whether or not it is on the disk",
		b[0])
	if _, err := l.Step("fsync", func() error {
		return unix.Fsync(fd)
	}); err != nil {
		return fmt.Errorf("fsync unmap.dat: %w", err)
	}
	cache, err := showCache(l, fd)
	if err != nil {
		return err
	}
	l.Claim(diagram.Count(cache, diagram.Dirty) == 0, "fsync wrote it: "+
		"every cached page is synced")
	return nil
}

// showCache draws the page cache of the first pages of fd as cachestat
// reports it, with no mapping needed.
func showCache(l *lab.Lab, fd int) ([]diagram.State, error) {
	cs, err := mem.PageCache(fd, 0, pages)
	if err != nil {
		return nil, err
	}
	states := make([]diagram.State, len(cs))
	for i, c := range cs {
		switch {
		case c.Dirty:
			states[i] = diagram.Dirty
		case c.Cached:
			states[i] = diagram.Synced
		default:
			states[i] = diagram.Missing
		}
	}
	diagram.Fprint(l.Out, diagram.Row{Label: "page cache", Pages: states,
		Note: "(cachestat)"})
	return states, nil
}
