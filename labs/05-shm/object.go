package main

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// objectPages is the size of the object in the object section.
const objectPages = 4

// object creates an object, sizes it, maps it and writes to it, and shows
// what the kernel holds at each step.
func object(l *lab.Lab) error {
	if why := noDevShm(); why != "" {
		l.Skip("%s: POSIX shared memory lives there on Linux", why)
		return nil
	}
	name := newName(l, "object")
	fd, err := empty(l, name)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	exclusive(l, name)
	m, err := grow(l, fd)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	if err := write(l, fd, m); err != nil {
		return err
	}
	return noMsync(l, m)
}

// empty makes the object and shows that it is an empty file.
func empty(l *lab.Lab, name string) (int, error) {
	l.Say("NAME = %s", name)
	fd, err := create(l, name)
	if err != nil {
		return -1, err
	}
	l.Say("shm_open NAME, O_RDWR|O_CREAT|O_EXCL, mode 0600: %s",
		errnoName(err))
	info, err := fstat(fd)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	l.Claim(info.Regular && info.Size == 0 && info.Pages == 0,
		"/dev/shm/NAME is a regular file of %d bytes, with %s of memory "+
			"(fstat): a new object is empty until ftruncate",
		info.Size, lab.Plural(info.Pages, "page"))
	return fd, nil
}

// exclusive shows O_EXCL on an existing name and a missing name opened
// without O_CREAT.
func exclusive(l *lab.Lab, name string) {
	l.Talk("must create O_EXCL")
	_, err := create(l, name)
	l.Claim(errors.Is(err, unix.EEXIST), "shm_open NAME with O_CREAT|O_EXCL "+
		"again: %s, the name is taken", errnoName(err))
	missing := newName(l, "missing")
	_, err = shm.Open(missing, unix.O_RDWR, 0)
	l.Claim(errors.Is(err, unix.ENOENT), "shm_open of a name nobody "+
		"created, without O_CREAT: %s", errnoName(err))
}

// grow sizes the object with ftruncate and maps it.
func grow(l *lab.Lab, fd int) ([]byte, error) {
	title := fmt.Sprintf("ftruncate to %d pages", objectPages)
	_, err := l.Step(title, func() error {
		return unix.Ftruncate(fd, int64(objectPages*mem.PageSize()))
	})
	if err != nil {
		return nil, err
	}
	info, err := fstat(fd)
	if err != nil {
		return nil, err
	}
	l.Talk("File will be pre-allocated on the filesystem")
	l.Claim(info.Size == int64(objectPages*mem.PageSize()) && info.Pages == 0,
		"the size is now %d pages and the memory still %s (st_blocks): "+
			"ftruncate allocates nothing, a tmpfs file has holes until a "+
			"page is written", info.Size/int64(mem.PageSize()),
		lab.Plural(info.Pages, "page"))
	var m []byte
	title = fmt.Sprintf("mmap %d pages, MAP_SHARED, read/write",
		objectPages)
	d, err := l.Step(title, func() error {
		var err error
		m, err = mem.MapFile(fd, 0, objectPages*mem.PageSize(), rw,
			unix.MAP_SHARED)
		return err
	})
	if err != nil {
		return nil, err
	}
	v, err := lab.LookShared(m)
	if err != nil {
		mem.Unmap(m)
		return nil, err
	}
	l.Show(v)
	l.Claim(d.Minor == 0 &&
		diagram.Count(v.Table, diagram.Missing) == objectPages,
		"mmap faulted nothing in: no page is mapped yet")
	return m, nil
}

// greeting is what the object section writes into the object.
const greeting = "hello"

// write writes to page 0 through the mapping.
func write(l *lab.Lab, fd int, m []byte) error {
	d, err := l.Step("write \"hello\" to page 0", func() error {
		copy(m, greeting)
		return nil
	})
	if err != nil {
		return err
	}
	v, err := lab.LookShared(m)
	if err != nil {
		return err
	}
	l.Show(v)
	info, err := fstat(fd)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && info.Pages == 1, "one fault, and the object "+
		"holds %s of memory now (st_blocks): tmpfs gives a page when it "+
		"is first written", lab.Plural(info.Pages, "page"))
	buf := make([]byte, len(greeting))
	_, err = unix.Pread(fd, buf, 0)
	if err != nil {
		return err
	}
	l.Talk("Mappings don't require msync calls")
	l.Claim(string(buf) == greeting, "pread on the descriptor reads %q at "+
		"once: the mapping and the file are the same page of memory, "+
		"there is no copy to bring up to date", buf)
	return nil
}

// noMsync calls msync anyway and shows that it changes nothing.
func noMsync(l *lab.Lab, m []byte) error {
	before, err := lab.LookShared(m)
	if err != nil {
		return err
	}
	_, err = l.Step("msync(MS_SYNC) over the mapping", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	})
	if err != nil {
		return err
	}
	after, err := lab.LookShared(m)
	if err != nil {
		return err
	}
	l.Show(after)
	dirty := func(v lab.View) int {
		return v.Smaps.Pages("Private_Dirty", mem.PageSize()) +
			v.Smaps.Pages("Shared_Dirty", mem.PageSize())
	}
	l.Claim(dirty(before) == 1 && dirty(after) == 1 &&
		bytes.Equal(m[:len(greeting)], []byte(greeting)),
		"msync returned 0 and the page is still counted dirty (smaps): "+
			"there is no disk to write it to, so on tmpfs msync has "+
			"nothing to do")
	return nil
}
