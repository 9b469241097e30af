package main

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// session is what the sections of one run of the lab share: the source
// bytes, the places, and the results so far.
type session struct {
	size, runs int
	src        *source
	places     []*place
	limit      *result // copy() in memory, once measured
	results    []*result
	faultCosts []faultCost // from the faults section
}

// current is the session of this run of the lab; the first section that
// runs starts it.
var current *session

// sessionFor returns the lab's session, starting it if needed: it maps
// the source, makes the places and probes them for huge pages.
func sessionFor(l *lab.Lab) (*session, error) {
	if current != nil {
		return current, nil
	}
	size, runs := opts.effective()
	places, err := openPlaces(l)
	if err != nil {
		return nil, err
	}
	// The source stays mapped until the lab exits: unmapping it in a
	// cleanup could pull it away from a method that Ctrl-C interrupted.
	src, err := newSource(size)
	if err != nil {
		return nil, err
	}
	for _, p := range places {
		if !opts.methods.has("huge") {
			continue
		}
		if p.huge, err = probeHuge(p.dir, p.fs, p.tmpfs); err != nil {
			return nil, err
		}
	}
	current = &session{size: size, runs: runs, src: src, places: places}
	current.introduce(l)
	return current, nil
}

// introduce says what the lab will measure and where.
func (s *session) introduce(l *lab.Lab) {
	if opts.verify {
		l.Say("-verify: one run of each method, its file checked; " +
			"no numbers")
	} else {
		l.Say("each run writes %s (%s) to a new file; %s per "+
			"method: median and min-max", bench.Size(int64(s.size)),
			lab.Plural(mem.Pages(s.size), "page"), lab.Plural(s.runs, "run"))
	}
	for _, p := range s.places {
		l.Say("%-8s  a new directory on %s", p.name, p.fs)
	}
	l.Say("every file is read back and its checksum compared with the " +
		"source's: no speed comes from skipped work")
}

// copyLimit measures copy() from the source into memory that is already
// present: no system call, no fault, no file. Writing into the page
// cache cannot go faster than that.
func (s *session) copyLimit() (*result, error) {
	if s.limit != nil {
		return s.limit, nil
	}
	dst, err := mem.MapAnon(mem.Pages(s.size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	defer mem.UnmapAnon(dst)
	for off := 0; off < len(dst); off += mem.PageSize() {
		dst[off] = 1 // fault every page in now, outside the timing
	}
	r := &result{Method: "copy", Label: "copy()", Place: "memory",
		Bytes: s.size}
	for range s.runs {
		smp, err := timedCopy(dst[:s.size], s.src.data)
		if err != nil {
			return nil, err
		}
		smp.verified = checksum(dst[:s.size]) == s.src.sum
		r.samples = append(r.samples, smp)
	}
	r.sum()
	s.limit = r
	return r, nil
}

// timedCopy times one copy() and counts its page faults.
func timedCopy(dst, src []byte) (sample, error) {
	var smp sample
	var err error
	blockErr := proc.WithoutPreemption(func() {
		var before, after proc.Faults
		if before, err = proc.ThreadFaults(); err != nil {
			return
		}
		start := time.Now()
		copy(dst, src)
		smp.took = time.Since(start)
		if after, err = proc.ThreadFaults(); err != nil {
			return
		}
		smp.faults = after.Sub(before).Minor
	})
	if err == nil {
		err = blockErr
	}
	return smp, err
}

// run measures every chosen method of a group in every place, without
// and with durability, and says what each showed.
func (s *session) run(l *lab.Lab, group int) error {
	for _, p := range s.places {
		fmt.Fprintln(l.Out)
		l.Say("in %s (%s):", p.name, p.fs)
		if p.tmpfs && opts.durable {
			l.Say("(+fsync, +msync on tmpfs: only for write 1 MiB and " +
				"mmap; there is no disk)")
		}
		for _, m := range chosenMethods() {
			if m.group != group {
				continue
			}
			rs, err := s.measureBoth(l, m, p)
			if err != nil {
				return err
			}
			explain(l, s, rs)
		}
	}
	return nil
}

// measureBoth measures a method without durability and, unless -durable
// is off or the method cannot run here, with it; it prints each result.
func (s *session) measureBoth(l *lab.Lab, m method, p *place) ([]*result,
	error) {
	var rs []*result
	for _, durable := range []bool{false, true} {
		if durable && !wantDurable(m, p) {
			break
		}
		r, err := measure(m, p, s.src, durable, s.runs)
		if err != nil {
			return nil, err
		}
		if r.Skipped != "" {
			l.Skip("%s: %s", r.Label, r.Skipped)
			return rs, nil
		}
		s.results = append(s.results, r)
		rs = append(rs, r)
		report(l, r)
	}
	return rs, nil
}

// wantDurable says whether to run a method with fsync or msync too. On
// tmpfs there is nothing to make durable: the lab shows that fsync and
// msync cost nothing there with write 1 MiB and mmap, and spares the time
// of the others.
func wantDurable(m method, p *place) bool {
	return opts.durable &&
		(!p.tmpfs || m.name == referenceMethod || m.name == "mmap")
}

// report prints one result: its numbers, or in -verify mode its check.
// A file that did not read back right is an UNEXPECTED claim in both.
func report(l *lab.Lab, r *result) {
	what := "the file reads back with"
	if r.Method == "copy" {
		what = "the copy has"
	}
	if opts.verify || !r.Verified {
		l.Claim(r.Verified, "%s: %s the source's checksum", r.title(),
			what)
	}
	if opts.verify {
		return
	}
	l.Say("%-26s %6.2f GB/s  %5.2f-%-5.2f  %6.1f flt/MiB", r.title(),
		r.GBps.Median, r.GBps.Min, r.GBps.Max, r.FaultsPerMiB)
}
