package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// mapStyle is how an mmap method asks for its pages.
type mapStyle int

const (
	plainMap    mapStyle = iota // no advice: what the kernel does unasked
	populateMap                 // madvise MADV_POPULATE_WRITE, then copy
	mapPopulate                 // mmap with MAP_POPULATE, then copy
	hugeMap                     // madvise MADV_HUGEPAGE, then copy
)

// writeMapped returns a method that sizes the file with ftruncate, maps
// it shared, copies the source into the mapping, and, for durability,
// calls msync(MS_SYNC) before munmap.
func writeMapped(style mapStyle) func(j *job) error {
	return func(j *job) error {
		if err := canHuge(j, style); err != nil {
			return err
		}
		m, err := mapNewFile(j, style)
		if err != nil {
			return err
		}
		err = fill(j, m, style)
		j.aside(func() { j.hugeKB = hugeMappedKB(m) })
		if uerr := mem.Unmap(m); uerr != nil && err == nil {
			err = uerr
		}
		return err
	}
}

// canHuge says why the huge page method cannot run here, if it cannot.
func canHuge(j *job, style mapStyle) error {
	h := j.place.huge
	switch {
	case style != hugeMap:
		return nil
	case !h.ok:
		return unsupported("%s", h.why)
	case len(j.src)%h.size != 0:
		return unsupported("%s is not a whole number of huge pages",
			bench.Size(int64(len(j.src))))
	}
	return nil
}

// mapNewFile creates the job's file, makes it as long as the source and
// maps all of it, shared and writable. The descriptor is closed at once:
// as the talk says, the mapping does not need it.
func mapNewFile(j *job, style mapStyle) ([]byte, error) {
	fd, err := create(j, unix.O_RDWR)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(len(j.src))); err != nil {
		return nil, fmt.Errorf("ftruncate %s: %w", j.name(), err)
	}
	flags := unix.MAP_SHARED
	if style == mapPopulate {
		flags |= unix.MAP_POPULATE
	}
	return mem.MapFile(fd, 0, len(j.src), unix.PROT_READ|unix.PROT_WRITE,
		flags)
}

// fill gives the advice of the style, copies the source into m and, if
// the job asks for durability, waits for msync(MS_SYNC).
func fill(j *job, m []byte, style mapStyle) error {
	if err := advise(j, m, style); err != nil {
		return err
	}
	if err := j.countedCopy(m); err != nil {
		return err
	}
	if j.durable {
		if err := unix.Msync(m, unix.MS_SYNC); err != nil {
			return fmt.Errorf("msync MS_SYNC %s: %w", j.name(), err)
		}
	}
	return nil
}

func advise(j *job, m []byte, style mapStyle) error {
	switch style {
	case populateMap:
		err := unix.Madvise(m, unix.MADV_POPULATE_WRITE)
		if errors.Is(err, unix.EINVAL) {
			return unsupported("madvise MADV_POPULATE_WRITE: EINVAL " +
				"(it needs Linux 5.14)")
		}
		if err != nil {
			return fmt.Errorf("madvise MADV_POPULATE_WRITE: %w", err)
		}
	case hugeMap:
		if err := unix.Madvise(m, unix.MADV_HUGEPAGE); err != nil {
			return fmt.Errorf("madvise MADV_HUGEPAGE: %w", err)
		}
	}
	return nil
}

// countedCopy copies the source into m and counts the page faults the
// copy alone takes. A fault the kernel answers with SIGBUS (the file
// system is full, say) becomes an error.
func (j *job) countedCopy(m []byte) error {
	before, err := proc.ThreadFaults()
	if err != nil {
		return err
	}
	addr, faulted := fault.Try(func() { copy(m, j.src) })
	if faulted {
		return fmt.Errorf("copy into the mapping of %s: %v", j.name(),
			fault.Classify(fault.Write, addr))
	}
	after, err := proc.ThreadFaults()
	if err != nil {
		return err
	}
	j.copyFaults = after.Sub(before).Minor
	return nil
}

// hugeMappedKB returns how much of the mapping m the page table maps
// with huge pages (smaps FilePmdMapped, ShmemPmdMapped), in kB.
func hugeMappedKB(m []byte) int64 {
	sm, err := proc.SmapsAt(0, mem.Addr(m))
	if err != nil {
		return 0
	}
	return sm.KB["FilePmdMapped"] + sm.KB["ShmemPmdMapped"]
}
