package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// thp asks for a transparent huge page and writes one byte to it.
func thp(l *lab.Lab) error {
	mode, err := thpMode()
	if err != nil {
		l.Skip("no transparent huge pages here: %v", err)
		return nil
	}
	if mode == "never" {
		l.Skip("transparent huge pages are switched off (mode never)")
		return nil
	}
	huge, err := pmdSize()
	if err != nil {
		l.Skip("no huge page size for this kernel: %v", err)
		return nil
	}
	ps := mem.PageSize()
	per := huge / ps
	// Map two huge pages' worth, so that an aligned huge page fits inside.
	m, err := mem.MapAnon(2*per, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer mem.UnmapAnon(m)
	skip := (huge - int(mem.Addr(m))%huge) % huge
	region := m[skip : skip+huge]
	if err := unix.Madvise(region, unix.MADV_HUGEPAGE); err != nil {
		return fmt.Errorf("madvise MADV_HUGEPAGE: %w", err)
	}
	l.Say("mapped %d pages, aligned to a huge page boundary, "+
		"MADV_HUGEPAGE", per)
	d, err := l.Step("write one byte at the start", func() error {
		region[0] = 1
		return nil
	})
	if err != nil {
		return err
	}
	v, err := lab.LookAnon(region)
	if err != nil {
		return err
	}
	l.Show(v)
	present := per - diagram.Count(v.Table, diagram.Missing)
	hugeKB := v.Smaps.KB["AnonHugePages"]
	if present != per || hugeKB*1024 != int64(huge) {
		l.Skip("the kernel gave %d of %d pages and no huge page "+
			"(AnonHugePages %d kB): none was free, or khugepaged "+
			"settings forbid it", present, per, hugeKB)
		return nil
	}
	l.Claim(d.Minor == 1, "one fault made all %d pages present: one huge "+
		"page (smaps AnonHugePages = %s)", per, humanKB(hugeKB))
	return nil
}

// alias maps one page of a memfd at two addresses.
func alias(l *lab.Lab) error {
	l.Talk("Physical page can be mapped to 1+ virtual pages")
	fd, err := unix.MemfdCreate("mmaplab-alias", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(fd)
	ps := mem.PageSize()
	if err := unix.Ftruncate(fd, int64(ps)); err != nil {
		return fmt.Errorf("ftruncate memfd: %w", err)
	}
	rw := unix.PROT_READ | unix.PROT_WRITE
	first, err := mem.MapFile(fd, 0, ps, rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(first)
	second, err := mem.MapFile(fd, 0, ps, rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(second)
	l.Say("memfd_create, ftruncate to 1 page, mmap it twice (MAP_SHARED)")
	showTwo := func() error { return showAliases(l, first, second) }
	if err := showTwo(); err != nil {
		return err
	}
	_, err = l.Step("write 'A' through the first address", func() error {
		first[0] = 'A'
		return nil
	})
	if err != nil {
		return err
	}
	if err := showTwo(); err != nil {
		return err
	}
	var got byte
	d, err := l.Step("read through the second address", func() error {
		got = second[0]
		return nil
	})
	if err != nil {
		return err
	}
	if err := showTwo(); err != nil {
		return err
	}
	l.Claim(got == 'A', "the second address reads %q: the byte written "+
		"through the first", got)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat memfd: %w", err)
	}
	held := int(st.Blocks * 512 / int64(ps))
	l.Claim(held == 1, "the memfd holds %s of memory (fstat st_blocks): "+
		"one physical page behind two virtual pages", lab.Plural(held, "page"))
	l.Claim(d.Minor == 1 && d.Major == 0, "the read faulted (minor): the "+
		"page existed, the kernel only added it to the page table at the "+
		"second address")
	return nil
}

func showAliases(l *lab.Lab, first, second []byte) error {
	a, err := lab.LookShared(first)
	if err != nil {
		return err
	}
	b, err := lab.LookShared(second)
	if err != nil {
		return err
	}
	diagram.Fprint(l.Out,
		diagram.Row{Label: "first address", Pages: a.Table, Note: "(pagemap)"},
		diagram.Row{Label: "second address", Pages: b.Table, Note: "(pagemap)"})
	return nil
}
