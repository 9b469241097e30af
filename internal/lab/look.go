package lab

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// View is what the kernel says about the pages of one mapping right now,
// each fact from the facility named beside it.
type View struct {
	// Table is this process's page table, from /proc/self/pagemap: is a
	// physical page mapped at each virtual page, and is it dirty.
	Table []diagram.State
	// Cache is the file's page cache, from mincore and cachestat: is the
	// page in memory at all (mapped here or not), and is it dirty. Nil
	// for anonymous memory.
	Cache []diagram.State
	// DirtyFrom names where the clean/dirty letters came from.
	DirtyFrom string
	// Smaps is the mapping's entry in /proc/self/smaps.
	Smaps proc.Mapping

	anon bool // private anonymous memory: the zero page can appear
}

// LookAnon reads the state of the pages of a private anonymous mapping. A
// present page that this process maps alone (pagemap's "exclusive" bit) is
// a page of its own, written: dirty. A present page that is not exclusive
// is the kernel's shared zero page, mapped by a read of untouched memory.
func LookAnon(m []byte) (View, error) {
	entries, smaps, err := pageTable(m)
	if err != nil {
		return View{}, err
	}
	v := View{Smaps: smaps, DirtyFrom: "pagemap (exclusive bit)", anon: true}
	for _, e := range entries {
		switch {
		case !e.Present():
			v.Table = append(v.Table, diagram.Missing)
		case e.Exclusive():
			v.Table = append(v.Table, diagram.Dirty)
		default:
			v.Table = append(v.Table, diagram.Zero)
		}
	}
	return v, nil
}

// LookShared reads the state of the pages of a shared mapping of memory
// that has no disk behind it: shared anonymous memory or a tmpfs file
// (memfd, /dev/shm). Such pages can never be synced, only kept or
// swapped, so the question is only which are present, and how many the
// kernel counts as dirty (smaps).
func LookShared(m []byte) (View, error) {
	entries, smaps, err := pageTable(m)
	if err != nil {
		return View{}, err
	}
	dirty, from := smapsDirty(entries, smaps)
	v := View{Smaps: smaps, DirtyFrom: from}
	for _, e := range entries {
		v.Table = append(v.Table, state(e.Present(), dirty))
	}
	return v, nil
}

// LookFile reads the state of the pages of a mapping of the file fd that
// starts at page firstPage of the file.
func LookFile(m []byte, fd, firstPage int) (View, error) {
	entries, smaps, err := pageTable(m)
	if err != nil {
		return View{}, err
	}
	resident, err := mem.Mincore(m)
	if err != nil {
		return View{}, err
	}
	v := View{Smaps: smaps}
	dirty, from, err := dirtyPages(fd, firstPage, entries, smaps)
	if err != nil {
		return View{}, err
	}
	v.DirtyFrom = from
	for i, e := range entries {
		v.Table = append(v.Table, state(e.Present(), dirty[i]))
		v.Cache = append(v.Cache, state(resident[i], dirty[i]))
	}
	return v, nil
}

// Show draws the view under the current step.
func (l *Lab) Show(v View) {
	rows := []diagram.Row{{
		Label: "virtual memory", Pages: v.Table, Note: "(pagemap)",
	}}
	legend := []diagram.State{diagram.Missing, diagram.Synced, diagram.Dirty}
	if v.Cache != nil {
		rows = append(rows, diagram.Row{
			Label: "page cache", Pages: v.Cache, Note: "(mincore)",
		})
	}
	if v.anon {
		legend = []diagram.State{diagram.Missing, diagram.Zero, diagram.Dirty}
	}
	if diagram.Count(v.Table, diagram.Unknown) > 0 {
		legend = append(legend, diagram.Unknown)
	}
	diagram.Fprint(l.Out, rows...)
	if !l.keyShown {
		l.Say("key: %s   (dirty: %s)", diagram.Legend(legend...), v.DirtyFrom)
		l.keyShown = true
	}
	ps := mem.PageSize()
	l.Say("smaps: Rss %s, Private_Dirty %d, Shared_Dirty %d",
		Plural(v.Smaps.Pages("Rss", ps), "page"),
		v.Smaps.Pages("Private_Dirty", ps),
		v.Smaps.Pages("Shared_Dirty", ps))
}

func state(present bool, dirty diagram.State) diagram.State {
	if !present {
		return diagram.Missing
	}
	return dirty
}

// pageTable reads pagemap and smaps for mapping m.
func pageTable(m []byte) ([]proc.PagemapEntry, proc.Mapping, error) {
	addr := mem.Addr(m)
	entries, err := proc.Pagemap(0, addr, mem.Pages(len(m)))
	if err != nil {
		return nil, proc.Mapping{}, err
	}
	smaps, err := proc.SmapsAt(0, addr)
	if err != nil {
		return nil, proc.Mapping{}, err
	}
	return entries, smaps, nil
}

// dirtyPages returns Synced or Dirty for each page of a file mapping, from
// the best facility this kernel and these privileges allow: cachestat
// (Linux 6.5+, per page, unprivileged), else kpageflags (per page, root
// only), else the smaps total of the mapping, which only settles every
// page when none or all of them are dirty.
func dirtyPages(fd, first int, entries []proc.PagemapEntry,
	smaps proc.Mapping) ([]diagram.State, string, error) {
	out := make([]diagram.State, len(entries))
	cache, err := mem.PageCache(fd, first, len(entries))
	if err == nil {
		for i, c := range cache {
			out[i] = clean(c.Dirty)
		}
		return out, "cachestat", nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return nil, "", err
	}
	if flags, err := presentFlags(entries); err == nil {
		for i, f := range flags {
			out[i] = clean(f>>proc.KPFDirty&1 == 1)
			if !entries[i].Present() {
				// Cached but not mapped here: no frame number, so
				// kpageflags cannot say.
				out[i] = diagram.Unknown
			}
		}
		return out, "kpageflags", nil
	}
	guess, from := smapsDirty(entries, smaps)
	for i := range out {
		out[i] = guess
	}
	return out, from + " (no cachestat; kpageflags needs root)", nil
}

// smapsDirty turns the mapping's smaps total into one state for all its
// present pages: Synced if none is dirty, Dirty if all are, else Unknown.
func smapsDirty(entries []proc.PagemapEntry,
	smaps proc.Mapping) (diagram.State, string) {
	ps := mem.PageSize()
	dirty := smaps.Pages("Private_Dirty", ps) + smaps.Pages("Shared_Dirty", ps)
	present := 0
	for _, e := range entries {
		if e.Present() {
			present++
		}
	}
	from := fmt.Sprintf("the smaps total (%d of %d present)", dirty, present)
	switch {
	case dirty == 0:
		return diagram.Synced, from
	case dirty >= present:
		return diagram.Dirty, from
	}
	return diagram.Unknown, from
}

// presentFlags returns the kpageflags of each present page (0 for the
// others), or an error where frame numbers or kpageflags are hidden.
func presentFlags(entries []proc.PagemapEntry) ([]uint64, error) {
	flags := make([]uint64, len(entries))
	for i, e := range entries {
		if !e.Present() {
			continue
		}
		f, err := proc.KPageFlags([]uint64{e.PFN()})
		if err != nil {
			return nil, err
		}
		flags[i] = f[0]
	}
	return flags, nil
}

func clean(dirty bool) diagram.State {
	if dirty {
		return diagram.Dirty
	}
	return diagram.Synced
}
