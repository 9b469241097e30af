package main

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/fork"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// childWait is how long a forked child waits for the parent before it
// gives up, so that no child outlives a lab that died.
const childWait = 5 * time.Second

// Exit codes of the lab's forked children when something went wrong.
const (
	exitTimedOut = 3 // waited childWait for the parent
	exitFutex    = 4 // a futex system call failed
)

// private maps private anonymous memory, writes it, forks, and lets the
// child write the same page.
func private(l *lab.Lab) error {
	l.Talk("MAP_PRIVATE  Private copy, writes are not propagated")
	m, err := mem.MapAnon(pages, rw, unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer mem.UnmapAnon(m)
	if err := unix.Madvise(m, unix.MADV_NOHUGEPAGE); err != nil {
		return err
	}
	ctl, err := newControl()
	if err != nil {
		return err
	}
	defer ctl.page.unmap()
	l.Say("mmap 8 pages, MAP_PRIVATE|MAP_ANONYMOUS")
	if _, err := l.Step("write 'P' to m[page 0]", func() error {
		m[0] = 'P'
		return nil
	}); err != nil {
		return err
	}
	if _, err := showPrivate(l, m); err != nil {
		return err
	}
	c, err := start(l, copyOnWriteChild(m, ctl))
	if noFork(l, err) {
		return nil
	}
	if err != nil {
		return err
	}
	return watchCopyOnWrite(l, m, ctl, c)
}

// copyOnWriteChild reads page 0 of m, reports it, waits for the parent,
// then writes pages 0 and 3.
func copyOnWriteChild(m []byte, ctl *control) func() int {
	ps := mem.PageSize()
	return func() int {
		ctl.report[0] = uint64(m[0])
		if ctl.done.PostRaw() != 0 {
			return exitFutex
		}
		if ctl.start.WaitRaw(childWait) != 0 {
			return exitTimedOut
		}
		m[0] = 'C'
		m[3*ps] = 'C'
		return 0
	}
}

// watchCopyOnWrite looks at the parent's pages while the child reads,
// then after it wrote and exited.
func watchCopyOnWrite(l *lab.Lab, m []byte, ctl *control,
	c *fork.Child) error {
	l.Say("fork; the child reads page 0, then waits (futex semaphore)")
	if err := ctl.done.Wait(childWait); err != nil {
		c.Kill()
		c.Wait()
		return err
	}
	l.Claim(ctl.report[0] == 'P', "the child read %q: it has the parent's "+
		"page, data and all", rune(ctl.report[0]))
	e, err := proc.Pagemap(0, mem.Addr(m), 1)
	if err != nil {
		return err
	}
	l.Claim(e[0].Present() && !e[0].Exclusive(), "page 0 is now mapped by "+
		"two processes (pagemap's exclusive bit is 0): fork copied the "+
		"page table, not the page, and write-protected it in both "+
		"(copy-on-write)")
	l.Say("the parent posts the semaphore; the child writes 'C' to " +
		"pages 0 and 3 and exits")
	if err := ctl.start.Post(); err != nil {
		return err
	}
	st, err := c.Wait()
	if err != nil {
		return err
	}
	l.Claim(st.Success(), "the child ended: %s (wait4)", st)
	return afterCopy(l, m)
}

// afterCopy reads and writes page 0 in the parent after the child wrote
// its copy of it.
func afterCopy(l *lab.Lab, m []byte) error {
	var got byte
	d, err := l.Step("read m[page 0]", func() error {
		got = m[0]
		return nil
	})
	if err != nil {
		return err
	}
	v, err := showPrivate(l, m)
	if err != nil {
		return err
	}
	l.Claim(got == 'P' && d.Minor == 0, "the parent still reads 'P': the "+
		"child's write made the child a copy of the page")
	l.Claim(v.Table[0] == diagram.Dirty && v.Table[3] == diagram.Missing,
		"page 0 is the parent's alone again (exclusive bit 1), and page 3, "+
			"which the child wrote, is not in the parent at all")
	d, err = l.Step("write 'Q' to m[page 0]", func() error {
		m[0] = 'Q'
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := showPrivate(l, m); err != nil {
		return err
	}
	l.Claim(d.Minor == 1, "the parent's first write since the fork "+
		"faulted (minor), though the page is its alone by now: fork had "+
		"write-protected it in the parent too")
	return nil
}

// showPrivate draws the parent's page table of a private mapping.
func showPrivate(l *lab.Lab, m []byte) (lab.View, error) {
	v, err := lab.LookAnon(m)
	if err != nil {
		return lab.View{}, err
	}
	l.Show(v)
	return v, nil
}
