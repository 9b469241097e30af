package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// munmapRounding unmaps one byte of a three-page mapping and touches
// what is left of its page.
func munmapRounding(l *lab.Lab) error {
	fd, err := newFile(l, "munmap", 3)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	m, err := mapShared(l, fd, 3)
	if err != nil {
		return err
	}
	ps := mem.PageSize()
	l.Say("the mapping sits between two PROT_NONE guard pages, so that " +
		"no other mapping can move into a page it gives up")
	l.Talk("If the address range partially overlaps a page, the whole " +
		"page is unmapped")
	_, err = l.Step("munmap(m, 1 byte)", func() error {
		return unix.MunmapPtr(unsafe.Pointer(&m[0]), 1)
	})
	if err != nil {
		release(m)
		return fmt.Errorf("munmap 1 byte: %w", err)
	}
	defer release(m, 0)
	mapped, err := mappedPages(m)
	if err != nil {
		return err
	}
	l.Say("pages of m in /proc/self/maps: %s", pageList(mapped))
	l.Claim(slices.Equal(mapped, []int{1, 2}), "munmap of 1 byte removed "+
		"the whole of page 0, and only page 0")
	if err := touchUnmapped(l, m); err != nil {
		return err
	}
	l.Talk("ADDR must be page aligned")
	_, err = l.Step("munmap(m + 1 page + 1 byte, 1 page)", func() error {
		return unix.MunmapPtr(unsafe.Pointer(&m[ps+1]), uintptr(ps))
	})
	l.Claim(errors.Is(err, unix.EINVAL), "%s: munmap's address must be "+
		"page aligned (only the length is rounded)", errnoName(err))
	return nil
}

// touchUnmapped reads the last byte of page 0 of m, unmapped, then the
// first byte of page 1, still mapped.
func touchUnmapped(l *lab.Lab, m []byte) error {
	ps := mem.PageSize()
	// The Go runtime's first fault panic faults in memory of its own
	// (its interface tables): take one before a step counts.
	fault.Try(func() { mem.Touch(m, 0) })
	var addr uintptr
	var faulted bool
	_, err := l.Step("read the last byte of page 0", func() error {
		addr, faulted = fault.Try(func() { mem.Touch(m, ps-1) })
		return nil
	})
	if err != nil {
		return err
	}
	var e *fault.Error
	if faulted {
		e = fault.Classify(fault.Read, addr)
		l.Say("caught %s %s page %d: %s", fault.Name(e.Signal), e.Access,
			e.Page(m), e.Reason)
	}
	l.Claim(e != nil && e.Signal == unix.SIGSEGV && e.Page(m) == 0,
		"SIGSEGV: that byte was not in the 1 byte given to munmap, but "+
			"the length was rounded up to a whole page")
	d, err := l.Step("read the first byte of page 1", func() error {
		_, faulted = fault.Try(func() { mem.Touch(m, ps) })
		return nil
	})
	if err != nil {
		return err
	}
	l.Claim(!faulted && d.Minor == 1, "page 1 is still mapped: the read "+
		"faulted it in (minor), no signal")
	return nil
}

// mappedPages returns the indices of the pages of m that lie inside a
// mapping of this process, from /proc/self/maps.
func mappedPages(m []byte) ([]int, error) {
	maps, err := proc.ReadMaps(0)
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/maps: %w", err)
	}
	ps := mem.PageSize()
	var mapped []int
	for i := 0; i < len(m)/ps; i++ {
		addr := mem.Addr(m) + uintptr(i*ps)
		if _, err := proc.Find(maps, addr); err == nil {
			mapped = append(mapped, i)
		}
	}
	return mapped, nil
}

// pageList writes page indices as "1, 2", or "none".
func pageList(list []int) string {
	if len(list) == 0 {
		return "none"
	}
	words := make([]string, len(list))
	for i, p := range list {
		words[i] = fmt.Sprint(p)
	}
	return strings.Join(words, ", ")
}

// unsaved writes through a mapping and unmaps it without msync.
func unsaved(l *lab.Lab) error {
	if !onDisk(l) {
		return nil
	}
	fd, err := newFile(l, "unsaved", pages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	m, err := mapShared(l, fd, pages)
	if err != nil {
		return err
	}
	if err := writeKept(l, m, fd); err != nil {
		release(m)
		return err
	}
	l.Talk("Start of Synchronization: msync, munmap, or whenever OS decides")
	_, err = l.Step("munmap the whole mapping, no msync", func() error {
		return unix.MunmapPtr(unsafe.Pointer(&m[0]), uintptr(len(m)))
	})
	if err != nil {
		release(m)
		return fmt.Errorf("munmap %d pages: %w", pages, err)
	}
	defer release(m, 0, 1, 2, 3)
	if err := showUnmappedCache(l, fd, []int{0, 2}); err != nil {
		return err
	}
	return readBack(l)
}

// writeKept writes "kept" at the start of pages 0 and 2 of m.
func writeKept(l *lab.Lab, m []byte, fd int) error {
	ps := mem.PageSize()
	_, err := l.Step(`write "kept" to pages 0 and 2`, func() error {
		copy(m, "kept")
		copy(m[2*ps:], "kept")
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(slices.Equal(dirtyIn(v.Cache), []int{0, 2}),
		"pages 0 and 2 are dirty")
	return nil
}

// showUnmappedCache draws the file's page cache, which no mapping shows
// any more, and checks which pages are dirty.
func showUnmappedCache(l *lab.Lab, fd int, want []int) error {
	row, ok, err := drawCache(l, fd)
	if err != nil || !ok {
		return err
	}
	l.Claim(slices.Equal(dirtyIn(row), want), "munmap wrote nothing "+
		"back: pages %s are still dirty in the page cache, the file's "+
		"one copy of them, which outlives the mapping",
		strings.ReplaceAll(pageList(want), ",", " and"))
	return nil
}

// drawCache draws the page cache of the file fd as cachestat sees it,
// with no mapping needed. ok is false where there is no cachestat: then
// it says so.
func drawCache(l *lab.Lab, fd int) (row []diagram.State, ok bool, err error) {
	cache, err := mem.PageCache(fd, 0, pages)
	if errors.Is(err, unix.ENOSYS) {
		l.Skip("the page cache of a file nobody maps: cachestat needs " +
			"Linux 6.5 or later")
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	row = make([]diagram.State, len(cache))
	for i, c := range cache {
		row[i] = cacheState(c)
	}
	diagram.Fprint(l.Out, diagram.Row{Label: "page cache", Pages: row,
		Note: "(cachestat)"})
	return row, true, nil
}

// cacheState turns what cachestat says about a page into its letter.
func cacheState(c mem.CacheState) diagram.State {
	switch {
	case !c.Cached:
		return diagram.Missing
	case c.Dirty:
		return diagram.Dirty
	}
	return diagram.Synced
}

// readBack reads the unsaved file on a new descriptor, then fsyncs it.
func readBack(l *lab.Lab) error {
	fd, err := unix.Open(l.Path("unsaved"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open unsaved again: %w", err)
	}
	defer unix.Close(fd)
	ps := mem.PageSize()
	first, third := make([]byte, 4), make([]byte, 4)
	_, err = l.Step("pread pages 0 and 2 on a new descriptor", func() error {
		if _, err := unix.Pread(fd, first, 0); err != nil {
			return err
		}
		_, err := unix.Pread(fd, third, int64(2*ps))
		return err
	})
	if err != nil {
		return fmt.Errorf("pread: %w", err)
	}
	l.Claim(string(first) == "kept" && string(third) == "kept",
		"nothing was lost: the file reads %q and %q, from the page cache, "+
			"where the data was all along", first, third)
	_, callErr := l.Step("fsync the new descriptor", func() error {
		return unix.Fsync(fd)
	})
	row, ok, err := drawCache(l, fd)
	if err != nil || !ok {
		return err
	}
	l.Claim(callErr == nil && len(dirtyIn(row)) == 0, "fsync on a "+
		"descriptor that never mapped the file wrote the pages back: "+
		"dirty pages belong to the file, not to a mapping")
	return nil
}
