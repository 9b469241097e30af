package main

import (
	"math"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// explain states what a method's runs in one place showed about the
// kernel: where the pages are, which are dirty, which faults happened.
// rs holds the run without durability and, if measured, the one with.
func explain(l *lab.Lab, s *session, rs []*result) {
	if len(rs) == 0 {
		return
	}
	p := s.placeOf(rs[0])
	switch rs[0].Method {
	case referenceMethod:
		explainPageCache(l, p, rs)
	case "direct":
		explainDirect(l, p, rs)
	case "mmap":
		explainFaults(l, s, rs[0])
		if len(rs) > 1 && !p.tmpfs && known(rs[1]) {
			l.Claim(clean(rs[1]), "after msync(MS_SYNC) no page of the "+
				"file is dirty (cachestat): msync waited for the disk")
		}
	case "populate":
		explainPopulate(l, s, rs[0])
	case "map-populate":
		explainMapPopulate(l, p, s, rs[0])
	case "huge":
		explainHuge(l, s, rs[0])
	}
}

// placeOf returns the place a result was measured in.
func (s *session) placeOf(r *result) *place {
	for _, p := range s.places {
		if p.name == r.Place {
			return p
		}
	}
	return nil
}

// pages is the number of pages each run writes.
func (s *session) pages() int64 { return int64(mem.Pages(s.size)) }

// known reports whether cachestat answered after every run.
func known(r *result) bool {
	return r.all(func(s sample) bool { return s.cache.known })
}

// clean reports whether no page of the file was dirty after any run.
func clean(r *result) bool {
	return r.all(func(s sample) bool { return s.cache.dirty == 0 })
}

// whole returns a test of a run: were all the pages of r's file in the
// page cache after it?
func whole(r *result) func(sample) bool {
	pages := uint64(mem.Pages(r.Bytes))
	return func(s sample) bool { return s.cache.cached == pages }
}

// explainPageCache says where write() left the pages, and what fsync did.
func explainPageCache(l *lab.Lab, p *place, rs []*result) {
	if !known(rs[0]) {
		l.Skip("no page cache counts: cachestat needs Linux 6.5")
		return
	}
	all := whole(rs[0])
	if p.tmpfs {
		l.Claim(rs[0].all(all) && clean(rs[0]), "every page is in the "+
			"page cache, and cachestat counts none dirty: tmpfs keeps "+
			"no dirty state, it has no disk to write pages back to")
		if len(rs) > 1 {
			l.Claim(clean(rs[1]), "after fsync, as before, no page is "+
				"dirty: on tmpfs fsync has nothing to write")
		}
		return
	}
	dirty := func(s sample) bool {
		return all(s) && s.cache.dirty == s.cache.cached
	}
	l.Claim(rs[0].all(dirty), "when close() returns, every page of the "+
		"file is in the page cache, dirty (cachestat): the disk has not "+
		"seen the data yet")
	if len(rs) > 1 {
		l.Claim(rs[1].all(all) && clean(rs[1]), "after fsync every page "+
			"is still cached and none is dirty: fsync waited until the "+
			"disk had them all")
	}
}

// explainDirect says whether O_DIRECT went around the page cache.
func explainDirect(l *lab.Lab, p *place, rs []*result) {
	if !known(rs[0]) {
		return
	}
	if p.tmpfs {
		l.Claim(rs[0].all(whole(rs[0])), "tmpfs accepts O_DIRECT (Linux "+
			"6.6+) and every page is in the page cache all the same: on "+
			"tmpfs the page cache is the file, there is nothing to go "+
			"around")
		return
	}
	l.Claim(rs[0].all(func(s sample) bool { return s.cache.cached == 0 }),
		"no page of the file is in the page cache (cachestat): O_DIRECT "+
			"sent the data from the buffer to the disk")
}

// nearly reports whether n is within 1% (and one) of want.
func nearly(n, want int64) bool {
	d := n - want
	return d >= -(want/100+1) && d <= want/100+1
}

// about reports whether two fault rates are within 10% of each other.
func about(a, b float64) bool { return math.Abs(a-b) <= 0.1*max(a, b) }

// explainFaults says how many faults the copy into a plain mapping took:
// one per page, or, where the page cache holds large folios, fewer.
func explainFaults(l *lab.Lab, s *session, r *result) {
	pages := s.pages()
	if r.all(func(x sample) bool { return nearly(x.copyFaults, pages) }) {
		l.Claim(r.all(func(x sample) bool { return x.hugeKB == 0 }),
			"one page fault per page: the copy trapped into the kernel "+
				"at each new page, which found or made the page and "+
				"mapped it")
		return
	}
	l.Claim(r.all(func(x sample) bool { return x.copyFaults < pages }),
		"fewer faults than pages: the page cache gave the file large "+
			"folios, and one fault mapped a whole folio")
	if huge := r.all(func(x sample) bool { return x.hugeKB > 0 }); huge {
		l.Claim(huge, "some folios were huge pages and the kernel mapped "+
			"them whole (smaps FilePmdMapped), though nobody asked")
	}
}

// explainPopulate says where MADV_POPULATE_WRITE moved the faults.
func explainPopulate(l *lab.Lab, s *session, r *result) {
	l.Claim(r.all(func(x sample) bool { return x.copyFaults == 0 }),
		"the copy took no page fault: MADV_POPULATE_WRITE had made every "+
			"page present and writable")
	plain := s.find("mmap", r.Place, false)
	if plain == nil {
		return
	}
	l.Claim(about(r.FaultsPerMiB, plain.FaultsPerMiB),
		"getrusage counts about as many faults as for plain mmap: "+
			"madvise faulted the pages in through the same kernel path, "+
			"without a trap into the kernel per page")
}

// explainMapPopulate says what MAP_POPULATE did to the copy's faults.
func explainMapPopulate(l *lab.Lab, p *place, s *session, r *result) {
	if p.tmpfs {
		l.Claim(r.all(func(x sample) bool { return x.copyFaults == 0 }),
			"on tmpfs MAP_POPULATE made the pages present and writable: "+
				"the copy took no page fault")
		return
	}
	pages := s.pages()
	l.Claim(r.all(func(x sample) bool {
		return x.copyFaults > 0 && x.copyFaults <= pages+1
	}), "MAP_POPULATE read the pages in, but mapped them read-only: the "+
		"copy still faulted at its first write to them, so that %s can "+
		"mark each page dirty (page_mkwrite)", p.fs)
}

// explainHuge says how many faults the huge pages saved.
func explainHuge(l *lab.Lab, s *session, r *result) {
	huge := int64(s.size / s.placeOf(r).huge.size)
	l.Claim(r.all(func(x sample) bool {
		return x.copyFaults <= huge+1 && x.hugeKB*1024 == int64(s.size)
	}), "at most one fault per huge page, and huge pages map the whole "+
		"file (smaps FilePmdMapped, ShmemPmdMapped)")
}

// find returns the result of a method in a place, if measured.
func (s *session) find(method, place string, durable bool) *result {
	for _, r := range s.results {
		if r.Method == method && r.Place == place && r.Durable == durable {
			return r
		}
	}
	return nil
}
