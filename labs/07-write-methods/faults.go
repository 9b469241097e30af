package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// faultSize is the most each row of the faults section maps: enough
// faults to time, few enough to stay quick.
const faultSize = 64 << 20

// faultCase is one kind of memory whose page faults the lab times.
type faultCase struct {
	label  string
	place  *place // nil: anonymous memory
	huge   bool   // MADV_HUGEPAGE; otherwise MADV_NOHUGEPAGE
	cached bool   // the file's pages are in the page cache already
}

// faultCost is what one case measured: medians over the runs.
type faultCost struct {
	label         string
	faults, pages int64
	took          time.Duration
}

// faults times the page fault itself: a fresh mapping, one byte written
// per page, no copy. The time divided by the faults is the cost of one.
func faults(l *lab.Lab) error {
	s, err := sessionFor(l)
	if err != nil {
		return err
	}
	l.Talk("Page fault if program accesses page not in the page table")
	size := min(s.size, faultSize)
	l.Say("each case maps %s that no one has touched and writes one "+
		"byte per page: the time is the faults' time",
		bench.Size(int64(size)))
	t := &bench.Table{Header: []string{"memory", "µs/fault", "µs/page",
		"pages/fault"}}
	for _, c := range s.faultCases() {
		fc, err := s.timeFaults(c, size)
		if err != nil {
			return err
		}
		if why := fc.skip(c, size); why != "" {
			l.Skip("%s: %s", c.label, why)
			continue
		}
		s.faultCosts = append(s.faultCosts, fc)
		if opts.verify {
			l.Claim(true, "%s: %s", c.label, fc.perWhat(c))
			continue
		}
		t.Add(c.label, fmt.Sprintf("%.2f", fc.perFault()),
			fmt.Sprintf("%.2f", fc.perPage()),
			fmt.Sprintf("%.1f", fc.pagesPerFault()))
	}
	if !opts.verify {
		var buf bytes.Buffer
		t.Fprint(&buf)
		indent(l, buf.String())
	}
	return nil
}

// faultCases lists anonymous memory and a new file in each place, with
// small pages and, where the kernel gives them, huge pages; and a file
// whose pages are already in the page cache, so that a fault only has to
// find its page and map it.
func (s *session) faultCases() []faultCase {
	cases := []faultCase{{label: "anonymous"},
		{label: "anonymous HUGEPAGE", huge: true}}
	for _, p := range s.places {
		cases = append(cases,
			faultCase{label: "file in " + p.name, place: p},
			faultCase{label: "file in " + p.name + ", cached", place: p,
				cached: true})
		if p.huge.ok {
			cases = append(cases, faultCase{label: "file in " + p.name +
				" HUGEPAGE", place: p, huge: true})
		}
	}
	return cases
}

// timeFaults measures one case as many times as the lab runs each
// method, and returns the medians.
func (s *session) timeFaults(c faultCase, size int) (faultCost, error) {
	var costs []faultCost
	for range s.runs {
		fc, err := faultOnce(c, size)
		if err != nil {
			return faultCost{}, err
		}
		costs = append(costs, fc)
	}
	return medianCost(c.label, costs), nil
}

// skip says why a huge page case did not get huge pages, if it did not.
func (fc faultCost) skip(c faultCase, size int) string {
	if !c.huge {
		return ""
	}
	huge, err := hugePageSize()
	switch {
	case err != nil:
		return fmt.Sprintf("no transparent huge pages (%v)", err)
	case size%huge != 0:
		return "the mapping is not a whole number of huge pages"
	case fc.faults > int64(size/huge)+1:
		return fmt.Sprintf("the kernel gave no huge pages (transparent "+
			"huge pages: %s)", sysfsChoice("/sys/kernel/mm/"+
			"transparent_hugepage/enabled"))
	}
	return ""
}

// perWhat says how many pages each fault brought in: one, a huge page's
// worth, or, from a file system with large folios, several.
func (fc faultCost) perWhat(c faultCase) string {
	switch {
	case c.huge:
		return "at most one fault per huge page"
	case nearly(fc.faults, fc.pages):
		return "one fault per page"
	}
	return "fewer faults than pages: the page cache gave the file large " +
		"folios, and one fault mapped a whole folio"
}

func (fc faultCost) pagesPerFault() float64 {
	return float64(fc.pages) / float64(max(fc.faults, 1))
}

func (fc faultCost) perFault() float64 {
	return fc.took.Seconds() * 1e6 / float64(max(fc.faults, 1))
}

func (fc faultCost) perPage() float64 {
	return fc.took.Seconds() * 1e6 / float64(max(fc.pages, 1))
}

// medianCost takes the median time and fault count of the runs.
func medianCost(label string, costs []faultCost) faultCost {
	took := make([]float64, len(costs))
	faults := make([]float64, len(costs))
	for i, c := range costs {
		took[i] = float64(c.took)
		faults[i] = float64(c.faults)
	}
	return faultCost{label: label, pages: costs[0].pages,
		faults: int64(bench.Summarize(faults).Median),
		took:   time.Duration(bench.Summarize(took).Median)}
}

// faultOnce maps size bytes of the case's memory, fresh, and times a
// write of one byte to each page.
func faultOnce(c faultCase, size int) (faultCost, error) {
	m, done, err := freshMapping(c, size)
	if err != nil {
		return faultCost{}, err
	}
	defer done()
	advice := unix.MADV_NOHUGEPAGE
	if c.huge {
		advice = unix.MADV_HUGEPAGE
	}
	if err := unix.Madvise(m, advice); err != nil {
		return faultCost{}, fmt.Errorf("madvise: %w", err)
	}
	fc := faultCost{label: c.label, pages: int64(mem.Pages(size))}
	var ferr error
	err = proc.WithoutPreemption(func() {
		fc.took, fc.faults, ferr = touchEachPage(m)
	})
	if ferr != nil {
		return faultCost{}, ferr
	}
	return fc, err
}

// touchEachPage writes one byte to each page of m and returns the time
// it took and the minor faults it caused. A fault the kernel answers
// with SIGBUS (a full file system) becomes an error.
func touchEachPage(m []byte) (time.Duration, int64, error) {
	ps := mem.PageSize()
	before, err := proc.ThreadFaults()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	addr, faulted := fault.Try(func() {
		for off := 0; off < len(m); off += ps {
			m[off] = 1
		}
	})
	took := time.Since(start)
	if faulted {
		return 0, 0, fmt.Errorf("write to each page: %v",
			fault.Classify(fault.Write, addr))
	}
	after, err := proc.ThreadFaults()
	return took, after.Sub(before).Minor, err
}

// freshMapping maps size bytes of new anonymous memory, or of a new file
// in the case's place, and returns a function that removes both.
func freshMapping(c faultCase, size int) ([]byte, func(), error) {
	rw := unix.PROT_READ | unix.PROT_WRITE
	if c.place == nil {
		return anonAligned(size, c.huge)
	}
	path := filepath.Join(c.place.dir, "faults")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|
		unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open faults: %w", err)
	}
	defer unix.Close(fd)
	if err := sizeFile(fd, size, c.cached); err != nil {
		os.Remove(path)
		return nil, nil, err
	}
	m, err := mem.MapFile(fd, 0, size, rw, unix.MAP_SHARED)
	if err != nil {
		os.Remove(path)
		return nil, nil, err
	}
	return m, func() { mem.Unmap(m); os.Remove(path) }, nil
}

// anonAligned maps size bytes of anonymous memory. For huge pages it maps
// one huge page more and returns a part that starts on a huge page
// boundary, so that every huge page of it can be a huge page.
func anonAligned(size int, huge bool) ([]byte, func(), error) {
	extra := 0
	if huge {
		if h, err := hugePageSize(); err == nil {
			extra = h
		}
	}
	m, err := mem.MapAnon(mem.Pages(size+extra),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, err
	}
	skip := 0
	if extra > 0 {
		skip = (extra - int(mem.Addr(m))%extra) % extra
	}
	return m[skip : skip+size], func() { mem.UnmapAnon(m) }, nil
}

// sizeFile makes the file size bytes long: with ftruncate, which gives it
// no page, or, for a file whose pages should be cached, with write().
func sizeFile(fd, size int, cached bool) error {
	if !cached {
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			return fmt.Errorf("ftruncate faults: %w", err)
		}
		return nil
	}
	zeros := make([]byte, 1<<20)
	for off := 0; off < size; off += len(zeros) {
		if err := writeAll(fd, zeros); err != nil {
			return err
		}
	}
	return nil
}
