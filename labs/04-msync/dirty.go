package main

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// pages is the size of the files of the dirty and folio sections.
const pages = 4

// dirty writes two pages of a shared file mapping, then tries MS_ASYNC,
// MS_SYNC and sync_file_range on them.
func dirty(l *lab.Lab) error {
	if !onDisk(l) {
		return nil
	}
	fd, err := newFile(l, "dirty", pages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	l.Say("a file of %d pages, written one page per write() and fsynced: "+
		"all in the page cache, all clean", pages)
	m, err := mapShared(l, fd, pages)
	if err != nil {
		return err
	}
	defer release(m)
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(diagram.Count(v.Table, diagram.Missing) == pages &&
		diagram.Count(v.Cache, diagram.Synced) == pages,
		"nothing is mapped yet; the page cache holds all %d pages, clean",
		pages)
	if err := writePages(l, m, fd, 1, 3); err != nil {
		return err
	}
	if err := asyncAndSync(l, m, fd); err != nil {
		return err
	}
	return writeAgain(l, m, fd)
}

// writePages writes one byte to each of the pages given, one step each,
// and checks that each write dirtied its page and only it.
func writePages(l *lab.Lab, m []byte, fd int, which ...int) error {
	ps := mem.PageSize()
	for i, k := range which {
		d, err := l.Step(fmt.Sprintf("write m[page %d]", k), func() error {
			m[k*ps] = 'w'
			return nil
		})
		if err != nil {
			return err
		}
		v, err := look(l, m, fd)
		if err != nil {
			return err
		}
		want := which[:i+1]
		l.Claim(d.Minor == 1 && slices.Equal(dirtyIn(v.Cache), sorted(want)) &&
			smapsDirty(v) == len(want),
			"one fault made page %d, and no other page, dirty: in the "+
				"page cache (%s) and in smaps", k, v.DirtyFrom)
	}
	return nil
}

// asyncAndSync calls msync with MS_ASYNC, then with MS_SYNC.
func asyncAndSync(l *lab.Lab, m []byte, fd int) error {
	l.Talk("MS_ASYNC Schedule synchronization but return immediately")
	_, callErr := l.Step("msync(MS_ASYNC) over the mapping", func() error {
		return unix.Msync(m, unix.MS_ASYNC)
	})
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(callErr == nil && slices.Equal(dirtyIn(v.Cache), []int{1, 3}) &&
		smapsDirty(v) == 2,
		"MS_ASYNC returned %s and pages 1 and 3 are still dirty: it "+
			"started no write-back. On Linux it does nothing at all: the "+
			"kernel already knows which pages are dirty (step 6 shows "+
			"how)", errnoName(callErr))
	l.Say("the kernel's flusher threads write dirty pages back on their " +
		"own schedule (/proc/sys/vm/dirty_expire_centisecs), or at once " +
		"when asked: MS_SYNC, fsync, sync_file_range")
	l.Talk("MS_SYNC Start synchronization and return when complete")
	_, callErr = l.Step("msync(MS_SYNC) over the mapping", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	})
	if v, err = look(l, m, fd); err != nil {
		return err
	}
	l.Claim(callErr == nil && len(dirtyIn(v.Cache)) == 0 &&
		smapsDirty(v) == 0,
		"MS_SYNC returned %s when pages 1 and 3 were on the disk: no "+
			"page is dirty, in the page cache or in smaps",
		errnoName(callErr))
	return nil
}

// writeAgain writes a page that write-back cleaned, then starts its
// write-back without waiting, as MS_ASYNC's name promises.
func writeAgain(l *lab.Lab, m []byte, fd int) error {
	d, err := l.Step("write m[page 1] again", func() error {
		m[mem.PageSize()] = 'W'
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && slices.Equal(dirtyIn(v.Cache), []int{1}),
		"the page was mapped, yet the write faulted: write-back left it "+
			"write-protected, so that the next write tells the kernel the "+
			"page is dirty again. That is how Linux knows what to write "+
			"back, and why MS_ASYNC has nothing left to do")
	_, callErr := l.Step("sync_file_range(SYNC_FILE_RANGE_WRITE)",
		func() error {
			return unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
		})
	if v, err = look(l, m, fd); err != nil {
		return err
	}
	l.Claim(callErr == nil && len(dirtyIn(v.Cache)) == 0,
		"sync_file_range started the write-back of page 1: it is no "+
			"longer dirty")
	l.Say("unlike MS_SYNC, SYNC_FILE_RANGE_WRITE does not wait for the " +
		"disk to finish (man 2 sync_file_range): it is what the talk's " +
		"\"schedule synchronization but return\" is on Linux")
	return nil
}

// sorted returns a sorted copy of a list of page indices.
func sorted(list []int) []int {
	s := slices.Clone(list)
	slices.Sort(s)
	return s
}
