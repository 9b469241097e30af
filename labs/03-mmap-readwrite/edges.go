package main

import (
	"bytes"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// textFile creates the scratch file name holding text.
func textFile(l *lab.Lab, name, text string) (int, error) {
	fd, err := create(l.Path(name), 0o644)
	if err != nil {
		return -1, err
	}
	if err := writeAll(fd, []byte(text)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("write %s: %w", name, err)
	}
	return fd, nil
}

// fileText reads the first n bytes of fd with pread(2): the file's
// content as read(2) sees it, not through a mapping.
func fileText(fd, n int) (string, error) {
	b := make([]byte, n)
	got, err := unix.Pread(fd, b, 0)
	if err != nil {
		return "", fmt.Errorf("pread %d bytes: %w", n, err)
	}
	return string(b[:got]), nil
}

// private writes through a MAP_PRIVATE mapping of a file.
func private(l *lab.Lab) error {
	fd, err := textFile(l, "private.txt", data)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync private.txt: %w", err)
	}
	m, err := mem.MapFile(fd, 0, len(data), rw, unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	l.Talk("MAP_PRIVATE: Private copy, writes are not propogated")
	l.Say("private.txt holds %q (written, fsync'ed); mmap it "+
		"MAP_PRIVATE, read-write", data)
	d, err := l.Step("read m[0]", func() error {
		mem.Touch(m, 0)
		return nil
	})
	if err != nil {
		return err
	}
	before, err := showPrivate(l, m)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && before.Table[0] == diagram.Synced,
		"the read mapped the file's own page from the page cache "+
			"(pagemap: a file page)")
	d, err = l.Step("write m[0] = 'J'", func() error {
		m[0] = 'J'
		return nil
	})
	if err != nil {
		return err
	}
	after, err := showPrivate(l, m)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && after.Table[0] == diagram.Dirty &&
		after.Smaps.Pages("Anonymous", mem.PageSize()) == 1,
		"copy-on-write: the write faulted, and the kernel gave this "+
			"mapping a copy of the page, anonymous memory of its own "+
			"(pagemap: no longer a file page; smaps Anonymous: 1 page)")
	return privateFile(l, m, fd)
}

// privateFile compares the private mapping with the file, before and
// after msync.
func privateFile(l *lab.Lab, m []byte, fd int) error {
	text, err := fileText(fd, len(data))
	if err != nil {
		return err
	}
	l.Claim(string(m[:len(data)]) == "Jello" && text == data,
		"the mapping reads %q, the file (pread) still %q", m[:len(data)],
		text)
	if _, err := l.Step("msync(MS_SYNC)", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	}); err != nil {
		return fmt.Errorf("msync: %w", err)
	}
	if text, err = fileText(fd, len(data)); err != nil {
		return err
	}
	l.Claim(text == data, "msync succeeds and changes nothing: the file "+
		"still reads %q, a private copy is never written back", text)
	return nil
}

// showPrivate draws a private file mapping from pagemap: S for a page of
// the file (shared with the page cache), D for a private copy.
func showPrivate(l *lab.Lab, m []byte) (lab.View, error) {
	entries, err := proc.Pagemap(0, mem.Addr(m), mem.Pages(len(m)))
	if err != nil {
		return lab.View{}, err
	}
	smaps, err := proc.SmapsAt(0, mem.Addr(m))
	if err != nil {
		return lab.View{}, err
	}
	v := lab.View{Smaps: smaps}
	for _, e := range entries {
		switch {
		case !e.Present():
			v.Table = append(v.Table, diagram.Missing)
		case e.FileOrShared():
			v.Table = append(v.Table, diagram.Synced)
		default:
			v.Table = append(v.Table, diagram.Dirty)
		}
	}
	diagram.Fprint(l.Out, diagram.Row{Label: "virtual memory",
		Pages: v.Table, Note: "(pagemap: S the file's page, D a copy)"})
	ps := mem.PageSize()
	l.Say("smaps: Rss %s, Anonymous %d, Private_Dirty %d",
		lab.Plural(smaps.Pages("Rss", ps), "page"),
		smaps.Pages("Anonymous", ps), smaps.Pages("Private_Dirty", ps))
	return v, nil
}

// eof maps two pages of a five-byte file.
func eof(l *lab.Lab) error {
	fd, err := textFile(l, "eof.txt", data)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ps := mem.PageSize()
	l.Talk("LENGTH + OFFSET < FILE_LENGTH")
	var m []byte
	_, err = l.Step("mmap 2 pages of a 5-byte file", func() error {
		m, err = mem.MapFile(fd, 0, 2*ps, rw, unix.MAP_SHARED)
		return err
	})
	l.Claim(err == nil, "mmap accepted it: Linux does not compare the "+
		"length with the file's size when it maps, only when a page is "+
		"touched")
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	if err := tailReads(l, m, fd); err != nil {
		return err
	}
	fe, err := access(l, "read m[page 1]", fault.Read, m, ps)
	if err != nil {
		return err
	}
	claimFault(l, fe, m, unix.SIGBUS, "a page wholly past the end of the "+
		"file cannot be read: SIGBUS, not zeros")
	return nil
}

// tailReads reads and writes the rest of page 0 past the file's end.
func tailReads(l *lab.Lab, m []byte, fd int) error {
	ps := mem.PageSize()
	var rest []byte
	if _, err := l.Step("read the rest of page 0", func() error {
		rest = m[len(data):ps]
		mem.Touch(rest, len(rest)-1)
		return nil
	}); err != nil {
		return err
	}
	l.Claim(string(m[:len(data)]) == data && allZero(rest), "the page "+
		"holds %q and then zeros: the kernel fills the part of the last "+
		"page past the end of the file with zeros", m[:len(data)])
	fe, err := access(l, "write m[last byte of page 0]", fault.Write, m,
		ps-1)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat eof.txt: %w", err)
	}
	text, err := fileText(fd, 2*len(data))
	if err != nil {
		return err
	}
	l.Claim(fe == nil && st.Size == int64(len(data)) && text == data,
		"no signal, but the file still has %d bytes (fstat) and read(2) "+
			"returns %q: a write past the end of the file never makes it "+
			"longer", st.Size, text)
	return nil
}

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	return bytes.Count(b, []byte{0}) == len(b)
}
