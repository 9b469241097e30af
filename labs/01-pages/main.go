// Command 01-pages shows how memory is broken into pages and how the kernel
// gives a process a page only when it first touches it (a page fault).
//
// It follows the talk's "Pages" and "Virtual Memory" slides on real
// mappings and prints, after each step, what the kernel says about every
// page: present in the page table or not (/proc/self/pagemap), a page of
// its own or the shared zero page, and the fault counters (getrusage).
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

var program = &lab.Program{
	Name: "01-pages",
	Summary: `Memory is broken into pages. A new mapping has none: the kernel
gives a page on the first touch (a page fault), one page at a time, or a
whole huge page at once. One physical page can sit behind two virtual ones.`,
	Sections: []lab.Section{
		{Name: "size", Doc: "the page sizes the kernel uses", Run: size},
		{Name: "faults", Doc: "a write faults in that one page", Run: faults},
		{Name: "zero", Doc: "a read maps the shared zero page", Run: zero},
		{Name: "thp", Doc: "one write, one huge page", Run: thp},
		{Name: "alias", Doc: "one physical page, two virtual pages", Run: alias},
	},
}

// size prints the page size.
func size(l *lab.Lab) error {
	l.Talk("Default size is usually 4 KiB (x86), 16 KiB, or 64 KiB")
	l.Say("page size: %d bytes (getpagesize, the talk's "+
		"sysconf(_SC_PAGE_SIZE))", mem.PageSize())
	l.Say("every count in these labs is in pages of this size: " +
		"never assume one size")
	l.Talk("OS sometimes support huge pages (2 MiB, 1 GiB, etc.) at the " +
		"same time")
	if sizes, err := hugePageSizes(); err != nil {
		l.Skip("huge page sizes: %v", err)
	} else {
		l.Say("huge page sizes: %s (/sys/kernel/mm/hugepages)",
			strings.Join(sizes, ", "))
	}
	if mode, err := thpMode(); err != nil {
		l.Skip("transparent huge pages: %v", err)
	} else {
		l.Say("transparent huge pages: %s (/sys/kernel/mm/"+
			"transparent_hugepage/enabled)", mode)
	}
	return nil
}

// pages is the size of the mappings, as in the talk's diagrams.
const pages = 8

// faults maps eight pages and writes to two of them.
func faults(l *lab.Lab) error {
	var m []byte
	d, err := l.Step("mmap 8 pages, MAP_PRIVATE|MAP_ANONYMOUS", func() error {
		var err error
		m, err = mapNoHuge(pages)
		return err
	})
	if err != nil {
		return err
	}
	defer mem.UnmapAnon(m)
	v, err := show(l, m)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 0 && diagram.Count(v.Table, diagram.Missing) == pages,
		"no page yet, no fault: mmap only reserved the address range")
	for _, k := range []int{2, 5, 2} {
		before := v.Table[k]
		title := fmt.Sprintf("write m[page %d]", k)
		d, err := l.Step(title, func() error {
			m[k*mem.PageSize()] = 1
			return nil
		})
		if err != nil {
			return err
		}
		if v, err = show(l, m); err != nil {
			return err
		}
		if before == diagram.Missing {
			l.Claim(d.Minor == 1 && v.Table[k] == diagram.Dirty,
				"one minor fault gave page %d, and only page %d, a page "+
					"of its own", k, k)
		} else {
			l.Claim(d.Minor == 0, "page %d was present: no fault", k)
		}
	}
	return nil
}

// zero reads an untouched page, then writes it.
func zero(l *lab.Lab) error {
	m, err := mapNoHuge(pages)
	if err != nil {
		return err
	}
	defer mem.UnmapAnon(m)
	d, err := l.Step("read m[page 0] (never written)", func() error {
		mem.Touch(m, 0)
		return nil
	})
	if err != nil {
		return err
	}
	v, err := show(l, m)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && v.Table[0] == diagram.Zero &&
		v.Smaps.KB["Rss"] == 0,
		"the read faulted and the kernel mapped its shared page of zeros: "+
			"present, not this process's own (pagemap's exclusive bit is "+
			"0), not counted in Rss")
	d, err = l.Step("write m[page 0]", func() error {
		m[0] = 1
		return nil
	})
	if err != nil {
		return err
	}
	if v, err = show(l, m); err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && v.Table[0] == diagram.Dirty,
		"the write faulted again: copy-on-write replaced the zero page "+
			"with a page of its own")
	return nil
}

// mapNoHuge maps n private anonymous pages that the kernel must not back
// with a huge page, so that residency is decided page by page.
func mapNoHuge(n int) ([]byte, error) {
	m, err := mem.MapAnon(n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	if err := unix.Madvise(m, unix.MADV_NOHUGEPAGE); err != nil {
		mem.UnmapAnon(m)
		return nil, fmt.Errorf("madvise MADV_NOHUGEPAGE: %w", err)
	}
	return m, nil
}

// show draws the kernel's view of the anonymous mapping m.
func show(l *lab.Lab, m []byte) (lab.View, error) {
	v, err := lab.LookAnon(m)
	if err != nil {
		return lab.View{}, err
	}
	l.Show(v)
	return v, nil
}

// hugePageSizes lists the huge page sizes in /sys/kernel/mm/hugepages.
func hugePageSizes() ([]string, error) {
	entries, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil, err
	}
	var kbs []int64
	for _, e := range entries {
		var kb int64
		if _, err := fmt.Sscanf(e.Name(), "hugepages-%dkB", &kb); err == nil {
			kbs = append(kbs, kb)
		}
	}
	slices.Sort(kbs)
	sizes := make([]string, len(kbs))
	for i, kb := range kbs {
		sizes[i] = humanKB(kb)
	}
	return sizes, nil
}

// thpMode returns the selected transparent huge page mode, the word in
// brackets in "always [madvise] never".
func thpMode() (string, error) {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return "", err
	}
	return selected(string(b)), nil
}

// selected returns the bracketed word of a sysfs choice list.
func selected(s string) string {
	_, rest, ok := strings.Cut(s, "[")
	if !ok {
		return strings.TrimSpace(s)
	}
	word, _, _ := strings.Cut(rest, "]")
	return word
}

// humanKB turns 2048 into "2 MiB".
func humanKB(kb int64) string {
	switch {
	case kb >= 1<<20 && kb%(1<<20) == 0:
		return fmt.Sprintf("%d GiB", kb>>20)
	case kb >= 1<<10 && kb%(1<<10) == 0:
		return fmt.Sprintf("%d MiB", kb>>10)
	}
	return fmt.Sprintf("%d KiB", kb)
}

// pmdSize returns the size of a transparent huge page.
func pmdSize() (int, error) {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		return 0, err
	}
	var n int
	_, err = fmt.Sscanf(string(b), "%d", &n)
	return n, err
}
