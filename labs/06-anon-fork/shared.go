package main

import (
	"slices"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/fork"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// childPages are the pages the child writes in the shared section, and
// childBytes what it writes there.
var (
	childPages = []int{1, 2, 5}
	childBytes = []byte{'a', 'b', 'c'}
)

// shared maps shared anonymous memory, forks, lets the child write, and
// looks at the pages from the parent.
func shared(l *lab.Lab) error {
	l.Talk("First process maps no file (anonymous) and then forks " +
		"(child processes inherit mapping)")
	var s sharedMapping
	_, err := l.Step("mmap 8 pages, MAP_SHARED|MAP_ANONYMOUS", func() error {
		var err error
		s, err = mapShared(pages)
		return err
	})
	if err != nil {
		return err
	}
	defer s.unmap()
	m, ps := s.m, mem.PageSize()
	if _, err := showShared(l, m); err != nil {
		return err
	}
	l.Say("key: %s   (no file behind them: written pages)",
		diagram.Legend(diagram.Missing, diagram.Dirty))
	var c *fork.Child
	var st fork.Status
	d, err := l.Step("fork: the child writes pages 1, 2, 5", func() error {
		var err error
		c, err = start(l, func() int {
			for i, p := range childPages {
				m[p*ps] = childBytes[i]
			}
			return 0
		})
		if err != nil {
			return err
		}
		st, err = c.Wait()
		return err
	})
	if noFork(l, err) {
		return nil
	}
	if err != nil {
		return err
	}
	v, err := showShared(l, m)
	if err != nil {
		return err
	}
	l.Claim(st.Success(), "the child ended: %s (wait4)", st)
	l.Claim(d.Minor > 0, "the fork cost the parent page faults: fork "+
		"write-protects every private page, the parent's too, so the "+
		"parent's next writes to its own stack and heap fault "+
		"(copy-on-write); their number varies from run to run")
	l.Claim(slices.Equal(v.present, nil) &&
		slices.Equal(v.resident, childPages),
		"the parent's page table has none of the child's pages (pagemap), "+
			"yet mincore finds pages %s in memory: the child's pages are "+
			"the parent's pages too", pageList(childPages))
	return readChildPages(l, m)
}

// readChildPages reads what the child wrote, first one page, then the
// others.
func readChildPages(l *lab.Lab, m []byte) error {
	ps := mem.PageSize()
	var got [3]byte
	d, err := l.Step("read m[page 1]", func() error {
		got[0] = m[childPages[0]*ps]
		return nil
	})
	if err != nil {
		return err
	}
	v, err := showShared(l, m)
	if err != nil {
		return err
	}
	l.Claim(got[0] == 'a', "the parent reads %q, the byte the child "+
		"wrote: one memory, two processes", got[0])
	l.Claim(d.Minor == 1 && d.Major == 0, "the read faulted once (minor): "+
		"the page was in memory, only this process's page table "+
		"entry was missing")
	if others := v.present[1:]; len(v.present) > 1 {
		l.Claim(v.present[0] == 1, "the same fault mapped %s too: on "+
			"a read fault the kernel also maps the neighbours that are "+
			"already in memory (fault-around)", pagesNamed(others))
	}
	d, err = l.Step("read m[page 2] and m[page 5]", func() error {
		got[1], got[2] = m[childPages[1]*ps], m[childPages[2]*ps]
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := showShared(l, m); err != nil {
		return err
	}
	l.Claim(string(got[:]) == "abc", "the parent reads %q and %q",
		got[1], got[2])
	return nil
}

// sharedView is what the parent sees of a shared anonymous mapping.
type sharedView struct {
	present  []int // pages in this process's page table (pagemap)
	resident []int // pages in memory (mincore)
}

// showShared draws the parent's page table (pagemap) and the pages in
// memory (mincore) of m, which has no file behind it: a page in memory
// was written, so it is dirty.
func showShared(l *lab.Lab, m []byte) (sharedView, error) {
	v, err := lab.LookShared(m)
	if err != nil {
		return sharedView{}, err
	}
	in, err := mem.Mincore(m)
	if err != nil {
		return sharedView{}, err
	}
	var out sharedView
	cache := make([]diagram.State, len(in))
	for i, s := range v.Table {
		cache[i] = diagram.Missing
		if in[i] {
			cache[i] = diagram.Dirty
			out.resident = append(out.resident, i)
		}
		if s != diagram.Missing {
			out.present = append(out.present, i)
		}
	}
	diagram.Fprint(l.Out,
		diagram.Row{Label: "parent's table", Pages: v.Table,
			Note: "(pagemap)"},
		diagram.Row{Label: "in memory", Pages: cache, Note: "(mincore)"})
	ps := mem.PageSize()
	l.Say("smaps: Rss %s, Private_Dirty %d, Shared_Dirty %d",
		lab.Plural(v.Smaps.Pages("Rss", ps), "page"),
		v.Smaps.Pages("Private_Dirty", ps), v.Smaps.Pages("Shared_Dirty", ps))
	return out, nil
}
