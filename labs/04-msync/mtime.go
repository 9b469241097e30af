package main

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
)

// oldTime is the modification time the mtime section gives its file, so
// that any update by the kernel shows, however coarse its clock.
var oldTime = time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC)

// mtime watches the file's modification time through writes and msyncs.
func mtime(l *lab.Lab) error {
	if !onDisk(l) {
		return nil
	}
	fd, err := newFile(l, "mtime", 1)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	m, err := mapShared(l, fd, 1)
	if err != nil {
		return err
	}
	defer release(m)
	w := mtimeWatch{l: l, fd: fd, m: m}
	if err := w.reset(); err != nil {
		return err
	}
	for _, s := range []mtimeStep{
		{title: "write m[0]", write: true, fault: true, update: true,
			claim: "the page was clean: the write faulted, and the fault " +
				"set mtime to the current time, before any msync"},
		{title: "msync(MS_SYNC)", reset: true,
			claim: "MS_SYNC wrote the page back and left mtime alone"},
		{title: "write m[0] again", write: true, fault: true, update: true,
			claim: "the page was clean again, so the write faulted and set " +
				"mtime again: write plus msync does update mtime, but " +
				"through the write's fault"},
		{title: "write m[1], same page", write: true, at: 1, reset: true,
			claim: "the page was dirty and writable: no fault, and mtime " +
				"stays as it was"},
		{title: "msync(MS_SYNC)",
			claim: "nor did the msync after it touch mtime: mtime tells when " +
				"a page was first written after its last write-back, not " +
				"when it was last written"},
	} {
		if err := w.run(s); err != nil {
			return err
		}
	}
	return nil
}

// mtimeStep is one step of the mtime section and what it should show.
type mtimeStep struct {
	title  string
	write  bool // write a byte at m[at]; else msync(MS_SYNC)
	at     int
	reset  bool // set mtime back to oldTime first
	fault  bool // the step should fault once
	update bool // the step should update mtime
	claim  string
}

// mtimeWatch runs the steps of the mtime section on the mapping m of fd.
type mtimeWatch struct {
	l  *lab.Lab
	fd int
	m  []byte
}

// run runs one step and checks its faults and its effect on mtime.
func (w *mtimeWatch) run(s mtimeStep) error {
	if s.reset {
		if err := w.reset(); err != nil {
			return err
		}
	}
	d, callErr := w.l.Step(s.title, func() error {
		if s.write {
			w.m[s.at] = 'w'
			return nil
		}
		return unix.Msync(w.m, unix.MS_SYNC)
	})
	v, err := look(w.l, w.m, w.fd)
	if err != nil {
		return err
	}
	updated, err := w.show()
	if err != nil {
		return err
	}
	dirty := v.Table[0] == diagram.Dirty
	w.l.Claim(callErr == nil && dirty == s.write &&
		(d.Minor == 1) == s.fault && updated == s.update, "%s", s.claim)
	return nil
}

// reset sets the file's modification time back to oldTime.
func (w *mtimeWatch) reset() error {
	ts := unix.NsecToTimespec(oldTime.UnixNano())
	err := unix.UtimesNano(w.l.Path("mtime"), []unix.Timespec{ts, ts})
	if err != nil {
		return fmt.Errorf("utimensat mtime: %w", err)
	}
	w.l.Say("set mtime to %s (utimensat), so that any update shows",
		oldTime.Format(time.DateTime+" MST"))
	return nil
}

// show prints the file's modification time, and reports whether the
// kernel set it to the current time.
func (w *mtimeWatch) show() (updated bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(w.fd, &st); err != nil {
		return false, fmt.Errorf("fstat mtime: %w", err)
	}
	t := time.Unix(st.Mtim.Unix())
	switch {
	case t.Equal(oldTime):
		w.l.Say("mtime: %s, as set", oldTime.Format(time.DateTime+" MST"))
		return false, nil
	case time.Since(t).Abs() < time.Minute:
		w.l.Say("mtime: the current time")
		return true, nil
	}
	w.l.Say("mtime: neither the one set nor the current time")
	return false, nil
}
