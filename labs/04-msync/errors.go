package main

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// msyncErrors makes msync fail in each way the kernel checks, and shows
// what a length that is not a page multiple and a partly unmapped range
// really do.
func msyncErrors(l *lab.Lab) error {
	if !onDisk(l) {
		return nil
	}
	fd, err := newFile(l, "errors", pages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	m, err := mapShared(l, fd, pages)
	if err != nil {
		return err
	}
	badArguments(l, m)
	if err := roundedLength(l, m, fd); err != nil {
		release(m)
		return err
	}
	return unmappedRange(l, m, fd)
}

// badArguments passes msync an unaligned address, then two modes.
func badArguments(l *lab.Lab, m []byte) {
	ps := mem.PageSize()
	l.Talk("ADDR does not have to be page aligned")
	_, err := l.Step("msync(m + 1 byte, 1 page, MS_SYNC)", func() error {
		return unix.Msync(m[1:1+ps], unix.MS_SYNC)
	})
	l.Claim(errors.Is(err, unix.EINVAL), "%s: the address must be page "+
		"aligned, whatever the talk says", errnoName(err))
	_, err = l.Step("msync(m, 4 pages, MS_SYNC|MS_ASYNC)", func() error {
		return unix.Msync(m, unix.MS_SYNC|unix.MS_ASYNC)
	})
	l.Claim(errors.Is(err, unix.EINVAL), "%s: MS_SYNC and MS_ASYNC "+
		"together are refused; pass exactly one", errnoName(err))
}

// roundedLength syncs one byte of a dirty page.
func roundedLength(l *lab.Lab, m []byte, fd int) error {
	ps := mem.PageSize()
	_, err := l.Step("write m[page 0] and m[page 2]", func() error {
		m[0], m[2*ps] = 'w', 'w'
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := look(l, m, fd); err != nil {
		return err
	}
	_, callErr := l.Step("msync(m, 1 byte, MS_SYNC)", func() error {
		return unix.Msync(m[:1], unix.MS_SYNC)
	})
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(callErr == nil && slices.Equal(dirtyIn(v.Cache), []int{2}),
		"%s with a length of 1 byte: the kernel rounded it up to the "+
			"whole of page 0, which is clean now; page 2, outside, is "+
			"still dirty. Only the address must be aligned",
		errnoName(callErr))
	return nil
}

// unmappedRange unmaps the last page of m, then syncs all four, and
// unmaps the rest.
func unmappedRange(l *lab.Lab, m []byte, fd int) error {
	ps := mem.PageSize()
	_, err := l.Step("munmap page 3", func() error {
		return unix.MunmapPtr(unsafe.Pointer(&m[3*ps]), uintptr(ps))
	})
	if err != nil {
		release(m)
		return fmt.Errorf("munmap page 3: %w", err)
	}
	defer release(m, 3)
	_, callErr := l.Step("msync(m, 4 pages, MS_ASYNC)", func() error {
		return unix.Msync(m, unix.MS_ASYNC)
	})
	l.Claim(errors.Is(callErr, unix.ENOMEM), "%s: page 3 of the range "+
		"is not mapped any more", errnoName(callErr))
	_, callErr = l.Step("msync(m, 4 pages, MS_SYNC)", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	})
	v, err := look(l, m[:3*ps], fd)
	if err != nil {
		return err
	}
	l.Claim(errors.Is(callErr, unix.ENOMEM) && len(dirtyIn(v.Cache)) == 0,
		"%s again, yet page 2 is clean now: with MS_SYNC the kernel "+
			"writes back the mapped part of the range and reports the "+
			"hole at the end. An error from msync does not mean that it "+
			"did nothing", errnoName(callErr))
	lockedInvalidate(l, m[:ps])
	return nil
}

// lockedInvalidate locks page, the first page of the mapping, and asks
// msync to invalidate it.
func lockedInvalidate(l *lab.Lab, page []byte) {
	if err := unix.Mlock(page); err != nil {
		l.Skip("mlock page 0: %v (see ulimit -l)", err)
		return
	}
	defer unix.Munlock(page)
	l.Say("mlock page 0: a locked page must stay in memory")
	_, err := l.Step("msync(m, 1 page, MS_INVALIDATE)", func() error {
		return unix.Msync(page, unix.MS_INVALIDATE)
	})
	l.Claim(errors.Is(err, unix.EBUSY), "%s: MS_INVALIDATE refuses "+
		"locked pages; on others it returns success and changes "+
		"nothing (the shared section)", errnoName(err))
}
