package main

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// tail follows a byte written past the end of a file, in the last page.
func tail(l *lab.Lab) error {
	if onTmpfs(l) {
		return nil
	}
	fd, err := textFile(l, "tail.txt", data)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	l.Say("tail.txt holds %q, on %s; mmap 1 page, MAP_SHARED, read-write",
		data, lab.FileSystem(l.Dir))
	m, err := mem.MapFile(fd, 0, mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer func() { mem.Unmap(m) }()
	last := mem.PageSize() - 1
	if err := writeX(l, m); err != nil {
		return err
	}
	if _, err := l.Step("munmap, mmap again", func() error {
		if err := mem.Unmap(m); err != nil {
			return err
		}
		m, err = mem.MapFile(fd, 0, mem.PageSize(), rw, unix.MAP_SHARED)
		return err
	}); err != nil {
		return err
	}
	l.Claim(m[last] == 'X', "the new mapping still reads %s there: the "+
		"byte lives in the page cache's page, past the end of the file",
		byteName(m[last]))
	if _, err := l.Step("msync(MS_SYNC)", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	}); err != nil {
		return fmt.Errorf("msync: %w", err)
	}
	l.Claim(m[last] == 0, "the mapping now reads %s there: write-back "+
		"zeroed the part of the page past the end of the file, in memory "+
		"too", byteName(m[last]))
	return tailGrow(l, m, fd)
}

// tailGrow writes past the end of the file again and makes the file
// longer: does the byte become part of the file?
func tailGrow(l *lab.Lab, m []byte, fd int) error {
	if err := writeX(l, m); err != nil {
		return err
	}
	b, err := grow(l, fd)
	if err != nil {
		return err
	}
	l.Claim(b == 0, "pread of that byte, now inside the file, reads %s: "+
		"the file grew with zeros, as POSIX says, and the X never reached "+
		"it", byteName(b))
	return tailMemfd(l)
}

// writeX writes 'X' to the last byte of page 0 of m, past the end of a
// 5-byte file.
func writeX(l *lab.Lab, m []byte) error {
	_, err := l.Step("write 'X' at the end of page 0", func() error {
		m[len(m)-1] = 'X'
		return nil
	})
	return err
}

// grow makes the file fd 2 pages long and returns the byte at the end of
// page 0, read with pread(2).
func grow(l *lab.Lab, fd int) (byte, error) {
	ps := mem.PageSize()
	if _, err := l.Step("ftruncate to 2 pages", func() error {
		return unix.Ftruncate(fd, int64(2*ps))
	}); err != nil {
		return 0, fmt.Errorf("ftruncate: %w", err)
	}
	b := make([]byte, 1)
	if _, err := unix.Pread(fd, b, int64(ps-1)); err != nil {
		return 0, fmt.Errorf("pread: %w", err)
	}
	return b[0], nil
}

// byteName prints a byte for a sentence: 'X', or "a zero".
func byteName(b byte) string {
	if b == 0 {
		return "a zero"
	}
	return fmt.Sprintf("%q", b)
}

// tailMemfd repeats the write past the end and the ftruncate on tmpfs.
func tailMemfd(l *lab.Lab) error {
	fd, err := unix.MemfdCreate("mmaplab-tail", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(fd)
	if err := writeAll(fd, []byte(data)); err != nil {
		return fmt.Errorf("write memfd: %w", err)
	}
	m, err := mem.MapFile(fd, 0, mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	l.Say("the same on tmpfs: a memfd holding %q, mapped 1 page", data)
	if err := writeX(l, m); err != nil {
		return err
	}
	b, err := grow(l, fd)
	if err != nil {
		return err
	}
	l.Claim(b == 'X', "pread of that byte reads %s: on tmpfs the byte "+
		"written past the end became file data when the file grew, "+
		"against POSIX. Never leave data past the end of a mapped file",
		byteName(b))
	return nil
}

// truncate cuts a mapped file to 2 of its 8 pages.
func truncate(l *lab.Lab) error {
	fd, err := coldFile(l, "truncate.dat", pages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ps := mem.PageSize()
	m, err := mem.MapFile(fd, 0, pages*ps, rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	if err := unix.Madvise(m, unix.MADV_POPULATE_READ); err != nil {
		return fmt.Errorf("madvise MADV_POPULATE_READ: %w", err)
	}
	l.Say("truncate.dat: %d pages; mmap 8 pages, MAP_SHARED, read-write; "+
		"madvise(MADV_POPULATE_READ) reads every page in", pages)
	if _, err := look(l, m, fd); err != nil {
		return err
	}
	l.Talk("DON'T ftruncate FILE TO SHORTER THAN END OF MAPPING!")
	if _, err := l.Step("ftruncate to 2 pages", func() error {
		return unix.Ftruncate(fd, int64(2*ps))
	}); err != nil {
		return fmt.Errorf("ftruncate: %w", err)
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(only(v.Table, diagram.Missing, 2, 3, 4, 5, 6, 7) &&
		only(v.Cache, diagram.Missing, 2, 3, 4, 5, 6, 7),
		"the kernel took pages 2-7 out of the page table and out of the "+
			"page cache; the mapping is still 8 pages long")
	return truncated(l, m, fd)
}

// truncated touches the mapping of the truncated file, then grows the
// file back.
func truncated(l *lab.Lab, m []byte, fd int) error {
	ps := mem.PageSize()
	fe, err := access(l, "read m[page 5]", fault.Read, m, 5*ps)
	if err != nil {
		return err
	}
	claimFault(l, fe, m, unix.SIGBUS, "page 5 is past the new end of the "+
		"file: SIGBUS")
	if fe, err = access(l, "read m[page 1]", fault.Read, m, ps); err != nil {
		return err
	}
	l.Claim(fe == nil && m[ps] == 'm', "page 1 is still inside the file: "+
		"it reads as before")
	if _, err := l.Step("ftruncate to 8 pages", func() error {
		return unix.Ftruncate(fd, int64(pages*ps))
	}); err != nil {
		return fmt.Errorf("ftruncate: %w", err)
	}
	if fe, err = access(l, "read m[page 5]", fault.Read, m, 5*ps); err != nil {
		return err
	}
	l.Claim(fe == nil && allZero(m[5*ps:6*ps]), "no SIGBUS any more, "+
		"but page 5 holds zeros: its data went with the truncation")
	return nil
}

// args asks mmap, msync and munmap for what they refuse.
func args(l *lab.Lab) error {
	fd, err := newFile(l, "args.dat", 2)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ps := mem.PageSize()
	l.Say("args.dat: 2 pages")
	l.Talk("OFFSET: File offset to start mapping. Must be page aligned. " +
		"LENGTH: Number of bytes to map. Must be postive")
	_, errno := l.Step("mmap 1 page at offset 1 byte", func() error {
		return rawMap(fd, 1, ps)
	})
	l.Claim(errno == unix.EINVAL, "%s: the offset must be a multiple of "+
		"the page size", errName(errno))
	_, errno = l.Step("mmap 0 bytes", func() error {
		return rawMap(fd, 0, 0)
	})
	l.Claim(errno == unix.EINVAL, "%s: a mapping has at least one byte",
		errName(errno))
	m, err := mem.MapFile(fd, 0, 2*ps, rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	l.Say("mmap 2 pages, MAP_SHARED, read-write")
	if err := argsSync(l, m); err != nil {
		mem.Unmap(m)
		return err
	}
	return argsUnmap(l, m)
}

// argsSync calls msync at addresses inside m.
func argsSync(l *lab.Lab, m []byte) error {
	ps := mem.PageSize()
	l.Talk("msync: ADDR can be anywhere in mapping. ADDR does not have to " +
		"be page aligned")
	_, errno := l.Step("msync 1 byte from m[1]", func() error {
		return unix.Msync(m[1:2], unix.MS_SYNC)
	})
	l.Claim(errno == unix.EINVAL, "%s: on Linux the address must be "+
		"page aligned", errName(errno))
	_, errno = l.Step("msync 1 byte from m[page 1]", func() error {
		return unix.Msync(m[ps:ps+1], unix.MS_SYNC)
	})
	l.Claim(errno == nil, "%s: the length need not be; the kernel "+
		"syncs whole pages", errName(errno))
	return nil
}

// argsUnmap calls munmap inside page 0 of m and unmaps the rest of m.
func argsUnmap(l *lab.Lab, m []byte) error {
	ps := mem.PageSize()
	l.Talk("munmap: ADDR must be page aligned. If the address range " +
		"partially overlaps a page, the whole page is unmapped")
	_, errno := l.Step("munmap 1 byte from m[1]", func() error {
		return unix.MunmapPtr(unsafe.Pointer(&m[1]), 1)
	})
	l.Claim(errno == unix.EINVAL, "%s, as the talk says", errName(errno))
	_, errno = l.Step("munmap 1 byte from m[0]", func() error {
		return unix.MunmapPtr(unsafe.Pointer(&m[0]), 1)
	})
	if errno != nil {
		mem.Unmap(m)
		return fmt.Errorf("munmap 1 byte: %w", errno)
	}
	// Page 0 is gone: from here on the kernel may put another mapping
	// at its address, so the lab never touches or unmaps it again.
	rest := m[ps:]
	defer mem.Unmap(rest)
	_, err := mem.Mincore(m[:ps])
	l.Claim(errors.Is(err, unix.ENOMEM) && rest[0] == 'm', "mincore of "+
		"page 0: ENOMEM, nothing is mapped there any more; page 1 is "+
		"still mapped and reads as before: the kernel unmapped the whole "+
		"of page 0, and only page 0")
	return nil
}

// rawMap calls mmap and unmaps at once if it succeeded: the question is
// only whether the kernel accepts the arguments. unix.Mmap would refuse a
// zero length itself, without asking the kernel.
func rawMap(fd int, offset int64, length int) error {
	p, err := unix.MmapPtr(fd, offset, nil, uintptr(length), rw,
		unix.MAP_SHARED)
	if err != nil {
		return err
	}
	return unix.MunmapPtr(p, uintptr(length))
}

// errName names an error for a claim: "EINVAL", or "0" for success.
func errName(err error) string {
	if err == nil {
		return "success"
	}
	if e, ok := err.(unix.Errno); ok {
		if name := unix.ErrnoName(e); name != "" {
			return name
		}
	}
	return err.Error()
}

// readonly writes to a PROT_READ mapping.
func readonly(l *lab.Lab) error {
	fd, err := newFile(l, "readonly.dat", 1)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, mem.PageSize(), unix.PROT_READ,
		unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	l.Say("readonly.dat: 1 page; mmap 1 page, MAP_SHARED, PROT_READ")
	fe, err := access(l, "read m[page 0]", fault.Read, m, 0)
	if err != nil {
		return err
	}
	l.Claim(fe == nil && m[0] == 'm', "the read works: it reads %q", m[0])
	if fe, err = access(l, "write m[page 0]", fault.Write, m, 0); err != nil {
		return err
	}
	claimFault(l, fe, m, unix.SIGSEGV, "the page is there, but the "+
		"mapping forbids writing: SIGSEGV, not SIGBUS")
	text, err := fileText(fd, 1)
	if err != nil {
		return err
	}
	l.Claim(text == "m", "the file is unchanged: it still starts with %q",
		text)
	return nil
}
