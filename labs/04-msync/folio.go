package main

import (
	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// folio writes one byte to a file that was written with one write() of
// four pages.
func folio(l *lab.Lab) error {
	if !onDisk(l) {
		return nil
	}
	fd, err := makeFile(l, "folio", pages, pages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	l.Say("a file of %d pages, written with one write() of %d pages and "+
		"fsynced", pages, pages)
	m, err := mapShared(l, fd, pages)
	if err != nil {
		return err
	}
	defer release(m)
	d, err := l.Step("write m[page 1]", func() error {
		m[mem.PageSize()] = 'w'
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	n := len(dirtyIn(v.Cache))
	mapped := pages - diagram.Count(v.Table, diagram.Missing)
	if n == 1 {
		l.Claim(d.Minor == 1 && mapped == 1, "one fault mapped page 1 "+
			"and dirtied it alone: this kernel and file system keep each "+
			"page of the file in a folio of its own")
		return nil
	}
	l.Claim(d.Minor == 1 && mapped == n, "one byte, one fault, and %d "+
		"pages are mapped and dirty: the page cache holds this file in "+
		"folios of %d pages, and the kernel maps and tracks dirtiness a "+
		"folio at a time. The one write() of %d pages made the folio; "+
		"the other sections write one page per write() to get a folio "+
		"per page", n, n, pages)
	_, callErr := l.Step("msync(MS_SYNC) over the mapping", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	})
	if v, err = look(l, m, fd); err != nil {
		return err
	}
	l.Claim(callErr == nil && len(dirtyIn(v.Cache)) == 0,
		"MS_SYNC wrote all %d pages of the folio back for one byte", n)
	return nil
}
