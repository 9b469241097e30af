package main

import (
	"bytes"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// tries is how often the walk-through runs before the lab shows a run in
// which the first read raced with the disk.
const tries = 3

// sequence runs the talk's slides "After mmap" to "After Synchronization"
// on a file whose pages are not in memory.
//
// Fault-around maps only the pages whose read from the disk has finished.
// Now and then the first read's fault is served before the disk has
// finished the neighbours, and fewer pages are mapped. The lab then runs
// the walk-through again on a new cold file, and prints one run: the
// first that did not race, or the last.
func sequence(l *lab.Lab) error {
	if onTmpfs(l) {
		return nil
	}
	var out bytes.Buffer
	for try := 1; ; try++ {
		out.Reset()
		run := &lab.Lab{Out: &out, Dir: l.Dir}
		raced, err := walk(run)
		if err != nil {
			return err
		}
		if !raced || try == tries {
			break
		}
	}
	if _, err := l.Out.Write(out.Bytes()); err != nil {
		return err
	}
	l.Say("(if the first read raced with the disk, fault-around maps fewer "+
		"pages: the lab tries up to %d times for a run that did not race)",
		tries)
	return nil
}

// walk is one run of the walk-through. It reports whether the first read
// raced with the disk.
func walk(l *lab.Lab) (raced bool, err error) {
	l.Say("the talk numbers the pages 1 to 8; the lab counts from 0, as " +
		"the kernel does")
	fd, m, err := mapCold(l, "talk.dat")
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	defer mem.Unmap(m)
	v, err := firstRead(l, m, fd)
	if err != nil {
		return false, err
	}
	raced = present(v.Table) < present(v.Cache)
	return raced, rest(l, m, fd, v.Table[2] != diagram.Missing)
}

// firstRead is the talk's first read, of page 0 of the cold mapping m.
func firstRead(l *lab.Lab, m []byte, fd int) (lab.View, error) {
	l.Talk("Start of First Read: a = m[offset]. 1. Read triggers page " +
		"fault 2. OS reads file to RAM page/s 3. OS maps page/s to " +
		"memory map")
	d, err := l.Step("read m[page 0]", func() error {
		mem.Touch(m, 0)
		return nil
	})
	if err != nil {
		return lab.View{}, err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return lab.View{}, err
	}
	l.Claim(d.Major == 1 && d.Minor == 0, "one page fault, a major one: "+
		"the program waited while the kernel read the file from the disk")
	cached := indices(v.Cache, diagram.Synced)
	l.Claim(len(cached) > 1, "readahead: the kernel read %s into the page "+
		"cache, not only page 0 (mincore)", pageList(cached))
	mapped := indices(v.Table, diagram.Synced)
	l.Claim(len(mapped) > 1, "fault-around: the same fault mapped %s "+
		"into the page table (pagemap), so reading them will not fault",
		pageList(mapped))
	return v, nil
}

// rest is the walk-through after the first read: a second read, two
// writes and msync. mapped says whether fault-around mapped page 2.
func rest(l *lab.Lab, m []byte, fd int, mapped bool) error {
	l.Talk("Second Read: a = m[offset+1]")
	d, err := l.Step("read m[page 0] again", func() error {
		mem.Touch(m, 1)
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := look(l, m, fd); err != nil {
		return err
	}
	l.Claim(d.Minor == 0 && d.Major == 0, "no fault: the page is mapped, "+
		"the read is an ordinary memory access")
	if err := writeRead(l, m, fd); err != nil {
		return err
	}
	if err := writeUnread(l, m, fd, mapped); err != nil {
		return err
	}
	return syncAll(l, m, fd)
}

// mapCold creates the talk's cold 8-page file and maps all of it shared.
func mapCold(l *lab.Lab, name string) (int, []byte, error) {
	fd, err := coldFile(l, name, pages)
	if err != nil {
		return -1, nil, err
	}
	l.Say("%s: %d pages on %s (fallocate, write, fsync), dropped from "+
		"the page cache (posix_fadvise POSIX_FADV_DONTNEED)", name, pages,
		lab.FileSystem(l.Dir))
	l.Talk("After mmap (the slide's diagram: pages 1-8 all Missing)")
	var m []byte
	d, err := l.Step("mmap 8 pages, MAP_SHARED, read-write",
		func() error {
			var err error
			m, err = mem.MapFile(fd, 0, pages*mem.PageSize(), rw,
				unix.MAP_SHARED)
			return err
		})
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	v, err := look(l, m, fd)
	if err != nil {
		mem.Unmap(m)
		unix.Close(fd)
		return -1, nil, err
	}
	l.Claim(d.Minor == 0 && d.Major == 0 && present(v.Table) == 0 &&
		present(v.Cache) == 0, "no fault, no page in the page table, none "+
		"in the page cache: mmap only reserved the address range")
	return fd, m, nil
}

// writeRead writes to page 0, which the first read mapped.
func writeRead(l *lab.Lab, m []byte, fd int) error {
	l.Talk("Write to Read Page: m[offset+2] = b")
	d, err := l.Step("write m[page 0]", func() error {
		m[2] = 'b'
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && d.Major == 0 && v.Table[0] == diagram.Dirty,
		"a minor fault, though the page was mapped: the kernel maps a "+
			"clean page of a shared file read-only, so that the first "+
			"write traps and the kernel can mark the page dirty")
	dirtyClaim(l, v, 0)
	return nil
}

// dirtyClaim says which pages one write to page k dirtied.
func dirtyClaim(l *lab.Lab, v lab.View, k int) {
	dirty := indices(v.Cache, diagram.Dirty)
	switch {
	case len(dirty) == 1:
		l.Claim(dirty[0] == k, "only page %d is dirty (%s): the kernel "+
			"tracks dirty file data page by page here", k, v.DirtyFrom)
	case len(dirty) > 1:
		l.Claim(false, "one write dirtied %s (%s): the page cache holds "+
			"this file in folios of several pages, and a folio is dirty "+
			"as a whole", pageList(dirty), v.DirtyFrom)
	default:
		l.Claim(false, "page %d is not dirty (%s)", k, v.DirtyFrom)
	}
}

// writeUnread writes two pages past page 0, where the program has not
// been: the talk's m[offset+8192]. mapped says whether fault-around has
// already mapped that page.
func writeUnread(l *lab.Lab, m []byte, fd int, mapped bool) error {
	l.Talk("Start of Write to Unread Page: m[offset+8192] = c. 1. Write " +
		"triggers page fault 2. OS reads file to RAM page/s")
	l.Say("8192 bytes are 2 pages of 4 KiB: page 0 + 2 = page 2")
	d, err := l.Step("write m[page 2]", func() error {
		m[2*mem.PageSize()] = 'c'
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	dirty := only(v.Table, diagram.Dirty, 0, 2)
	if mapped {
		l.Claim(dirty && d.Minor == 1 && d.Major == 0, "the program "+
			"never read page 2, but fault-around had mapped it: the "+
			"write faulted only to mark it dirty (minor, no disk read)")
	} else {
		l.Claim(dirty && d.Major == 1, "page 2 was not mapped: the "+
			"write faulted, the kernel read the page, then marked it dirty")
	}
	return nil
}

// syncAll writes the dirty pages back with msync(MS_SYNC), then writes
// one of them again.
func syncAll(l *lab.Lab, m []byte, fd int) error {
	l.Talk("Start of Synchronization: msync, munmap, or whenever OS decides")
	var before lab.View
	before, err := lab.LookFile(m, fd, 0)
	if err != nil {
		return err
	}
	_, err = l.Step("msync(MS_SYNC) all 8 pages", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	})
	if err != nil {
		return fmt.Errorf("msync: %w", err)
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	wrote := diagram.Count(before.Cache, diagram.Dirty)
	l.Claim(diagram.Count(v.Cache, diagram.Dirty) == 0 && wrote > 0 &&
		present(v.Table) == present(before.Table),
		"msync wrote the %s back and returned when the disk had "+
			"them: every page is synced, still cached, still mapped",
		lab.Plural(wrote, "dirty page"))
	d, err := l.Step("write m[page 0] again", func() error {
		m[3] = 'd'
		return nil
	})
	if err != nil {
		return err
	}
	if v, err = look(l, m, fd); err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && only(v.Table, diagram.Dirty, 0), "a minor fault "+
		"again: cleaning a page for write-back makes it read-only "+
		"again, so every first write after a sync costs a fault")
	return nil
}

// random is the first read and the unread write again, after
// madvise(MADV_RANDOM): no readahead, no fault-around.
func random(l *lab.Lab) error {
	if onTmpfs(l) {
		return nil
	}
	fd, m, err := mapCold(l, "random.dat")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	defer mem.Unmap(m)
	ps := mem.PageSize()
	if err := unix.Madvise(m, unix.MADV_RANDOM); err != nil {
		return fmt.Errorf("madvise MADV_RANDOM: %w", err)
	}
	l.Say("madvise(MADV_RANDOM): reads will be random, do not read ahead")
	d, err := l.Step("read m[page 0]", func() error {
		mem.Touch(m, 0)
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(d.Major == 1 && only(v.Cache, diagram.Synced, 0) &&
		only(v.Table, diagram.Synced, 0), "one major fault read page 0, "+
		"and only page 0, into the page cache and the page table: "+
		"the talk's picture")
	l.Talk("Start of Write to Unread Page: m[offset+8192] = c")
	d, err = l.Step("write m[page 2]", func() error {
		m[2*ps] = 'c'
		return nil
	})
	if err != nil {
		return err
	}
	if v, err = look(l, m, fd); err != nil {
		return err
	}
	l.Claim(d.Major == 1 && d.Minor == 0 && only(v.Table, diagram.Dirty, 2),
		"one major fault: the kernel read page 2 from the disk, mapped it "+
			"and marked it dirty, all in the one fault")
	return nil
}
