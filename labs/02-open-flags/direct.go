package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// directPages is the size of the file that the direct section reads.
const directPages = 4

// dioAlign is what statx says O_DIRECT needs for one file.
type dioAlign struct {
	Offset int // file offsets and lengths: multiples of this (bytes)
	Memory int // buffer addresses: multiples of this (bytes)
}

// directAlignment asks statx for the O_DIRECT alignment of the file at
// path (STATX_DIOALIGN, Linux 6.1+). ok is false where the kernel or the
// file system reports none.
func directAlignment(path string) (a dioAlign, ok bool, err error) {
	var sx unix.Statx_t
	err = unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_DIOALIGN, &sx)
	if err != nil {
		return dioAlign{}, false, fmt.Errorf("statx: %w", err)
	}
	a = dioAlign{Offset: int(sx.Dio_offset_align),
		Memory: int(sx.Dio_mem_align)}
	ok = sx.Mask&unix.STATX_DIOALIGN != 0 && a.Offset > 0 && a.Memory > 0
	return a, ok, nil
}

// direct reads a file with O_DIRECT, aligned and not.
func direct(l *lab.Lab) error {
	l.Talk("Aligned IO FLAGS (Linux extension): aligned reads/writes " +
		"only O_DIRECT")
	path, err := fileWith(l, "data", filled(directPages, 'd'))
	if err != nil {
		return err
	}
	a, ok, err := directAlignment(path)
	if err != nil {
		return err
	}
	if !ok {
		l.Skip("statx reports no O_DIRECT alignment for files on %s "+
			"(STATX_DIOALIGN, Linux 6.1+)", lab.FileSystem(l.Dir))
	} else if err := directDisk(l, path, a); err != nil {
		return err
	}
	return directTmpfs(l)
}

// directDisk reads path with O_DIRECT, given its alignment a.
func directDisk(l *lab.Lab, path string, a dioAlign) error {
	l.Say("the scratch directory is on %s", lab.FileSystem(path))
	l.Say("dio_offset_align: %d bytes (statx STATX_DIOALIGN)", a.Offset)
	l.Say("dio_mem_align: %d bytes", a.Memory)
	if err := dropFileCache(path); err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		l.Skip("open O_DIRECT: %v", err)
		return nil
	}
	defer unix.Close(fd)
	l.Say(`"data": %s of 'd', on the disk, not in the page cache; `+
		`open("data", O_RDONLY|O_DIRECT)`, lab.Plural(directPages, "page"))
	buf, err := mem.MapAnon(2, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer mem.UnmapAnon(buf)
	ps := mem.PageSize()
	read := func(what string, p []byte, off int64) error {
		_, err := unix.Pread(fd, p, off)
		l.Say("pread %s: %s", what, errnoName(err))
		return err
	}
	aligned := read("1 page at offset 0, page-aligned buffer", buf[:ps], 0)
	l.Claim(aligned == nil && buf[0] == 'd',
		"an aligned read works and reads the file")
	if err := directOffsets(l, read, buf[:ps], a); err != nil {
		return err
	}
	if a.Memory > 1 {
		off := read("1 page at offset 0, buffer 1 byte past a "+
			"page boundary", buf[1:ps+1], 0)
		l.Claim(errors.Is(off, unix.EINVAL), "the buffer's address must "+
			"be a multiple of dio_mem_align too")
	}
	return directBypass(l, path)
}

// directOffsets tries file offsets and lengths that are and are not
// multiples of the alignment.
func directOffsets(l *lab.Lab, read func(string, []byte, int64) error,
	page []byte, a dioAlign) error {
	byByte := read("1 page at offset 1 byte", page, 1)
	short := read("1 byte at offset 0", page[:1], 0)
	l.Claim(errors.Is(byByte, unix.EINVAL) && errors.Is(short, unix.EINVAL),
		"an offset or a length that is not a multiple of dio_offset_align "+
			"is EINVAL")
	if a.Offset >= len(page) {
		l.Say("dio_offset_align is a page or more here: the page size " +
			"is the rule on this device")
		return nil
	}
	block := read("1 page at offset dio_offset_align (inside a page)",
		page, int64(a.Offset))
	l.Claim(block == nil, "an offset that is a multiple of "+
		"dio_offset_align works though it is not a page boundary: the "+
		"rule is the device's logical block, not the page size")
	return nil
}

// dropFileCache writes the file at path to the disk and drops its pages
// from the page cache.
func dropFileCache(path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	return dropCache(fd)
}

// directBypass asks mincore which pages of the file are in the page
// cache after the O_DIRECT reads.
func directBypass(l *lab.Lab, path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, directPages*mem.PageSize(),
		unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	resident, err := mem.Mincore(m)
	if err != nil {
		return err
	}
	cached := 0
	for _, r := range resident {
		if r {
			cached++
		}
	}
	l.Say(`pages of "data" in the page cache now: %d (mincore)`, cached)
	l.Claim(cached == 0, "the O_DIRECT reads went from the disk to the "+
		"buffer without the page cache")
	return nil
}

// directTmpfs reads a memfd, which lives on tmpfs, with O_DIRECT.
func directTmpfs(l *lab.Lab) error {
	mfd, err := unix.MemfdCreate("mmaplab-direct", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(mfd)
	if _, err := unix.Write(mfd, filled(1, 'm')); err != nil {
		return fmt.Errorf("write memfd: %w", err)
	}
	// A memfd cannot be given O_DIRECT with fcntl; opening it again
	// through /proc/self/fd makes a new open file on the same tmpfs file.
	again := fmt.Sprintf("/proc/self/fd/%d", mfd)
	fd, err := unix.Open(again, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		l.Skip("tmpfs refuses O_DIRECT on this kernel (%s): Linux 6.6 "+
			"added it", errnoName(err))
		return nil
	}
	defer unix.Close(fd)
	var sx unix.Statx_t
	err = unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &sx)
	if err != nil {
		return fmt.Errorf("statx memfd: %w", err)
	}
	reported := sx.Mask&unix.STATX_DIOALIGN != 0 && sx.Dio_offset_align > 0
	l.Say("a memfd (a tmpfs file) opened again with O_DIRECT: ok")
	if reported {
		l.Say("statx STATX_DIOALIGN: dio_offset_align %d bytes",
			sx.Dio_offset_align)
	} else {
		l.Say("statx STATX_DIOALIGN: no alignment reported")
	}
	buf := make([]byte, 16)
	n, err := unix.Pread(fd, buf[1:8], 3)
	l.Say("pread 7 bytes at offset 3 into a buffer 1 byte off: %s",
		errnoName(err))
	l.Claim(!reported && err == nil && n == 7 && buf[1] == 'm',
		"tmpfs takes O_DIRECT with no alignment at all: there is no "+
			"device behind it, and its pages are the page cache")
	return nil
}
