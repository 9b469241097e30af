package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// goalOfCopy is the goal for the best mmap method: this share of copy().
const goalOfCopy = 0.8

// summary puts the results side by side: a table and a bar chart per
// place, the goal, and the -json and -csv files.
func summary(l *lab.Lab) error {
	s, err := sessionFor(l)
	if err != nil {
		return err
	}
	lim, err := s.copyLimit()
	if err != nil {
		return err
	}
	s.compare(lim)
	if opts.verify {
		l.Claim(lim.Verified && allVerified(s.results), "every file "+
			"read back with the source's checksum")
		l.Say("-verify prints no numbers: run without it for the table")
	} else if len(s.results) == 0 {
		l.Say("nothing measured but copy(): run the syscalls and mmap " +
			"sections")
	} else {
		s.tables(l, lim)
		s.goal(l, lim)
	}
	return s.export(lim)
}

func allVerified(rs []*result) bool {
	for _, r := range rs {
		if !r.Verified {
			return false
		}
	}
	return true
}

// compare fills in each result's ratios to copy() and to write() with
// 1 MiB buffers, and the time it spent beyond copy() per fault.
func (s *session) compare(lim *result) {
	lim.XCopy = 1
	for _, r := range s.results {
		r.XCopy = bench.Ratio(r.GBps.Median, lim.GBps.Median)
		if ref := s.find(referenceMethod, r.Place, r.Durable); ref != nil {
			r.XWrite1M = bench.Ratio(r.GBps.Median, ref.GBps.Median)
		}
		r.USPerFault = beyondCopyPerFault(r, lim)
	}
}

// beyondCopyPerFault charges the time a method took beyond a copy() of
// the same bytes to its page faults: for mmap + copy, what each fault
// cost. The methods that hand write() a buffer take almost no faults
// and get 0.
func beyondCopyPerFault(r, lim *result) float64 {
	if r.group != 2 || r.FaultsPerMiB == 0 || lim.GBps.Median == 0 {
		return 0
	}
	took := float64(r.Bytes) / (r.GBps.Median * 1e9)
	copyTook := float64(r.Bytes) / (lim.GBps.Median * 1e9)
	faults := r.FaultsPerMiB * float64(r.Bytes>>20)
	return (took - copyTook) / faults * 1e6
}

// tables prints, for each place, a table and a bar chart of the methods
// with copy() on top.
func (s *session) tables(l *lab.Lab, lim *result) {
	for _, p := range s.places {
		rows := []*result{lim}
		for _, r := range s.results {
			if r.Place == p.name {
				rows = append(rows, r)
			}
		}
		fmt.Fprintln(l.Out)
		l.Say("in %s (%s), %s per run:", p.name, p.fs,
			bench.Size(int64(s.size)))
		var buf bytes.Buffer
		table(rows).Fprint(&buf)
		fmt.Fprintln(&buf)
		bench.Bars(&buf, bars(rows), 30)
		indent(l, buf.String())
	}
	fmt.Fprintln(l.Out)
	l.Say("×copy: throughput over copy()'s; ×write: over write 1 MiB's, " +
		"in the same place, both durable or both not; µs/flt: the time " +
		"beyond a copy() of the same bytes, per fault")
}

func table(rows []*result) *bench.Table {
	t := &bench.Table{Header: []string{"method", "GB/s", "min-max",
		"×copy", "×write", "flt/MiB", "µs/flt"}}
	for _, r := range rows {
		name := r.title()
		if !r.Verified {
			name += " (CHECKSUM WRONG)"
		}
		t.Add(name, fmt.Sprintf("%.2f", r.GBps.Median),
			fmt.Sprintf("%.2f-%.2f", r.GBps.Min, r.GBps.Max),
			fmt.Sprintf("%.2f", r.XCopy), orDash(r.XWrite1M, "%.2f"),
			fmt.Sprintf("%.1f", r.FaultsPerMiB), orDash(r.USPerFault, "%.2f"))
	}
	return t
}

func orDash(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func bars(rows []*result) []bench.Bar {
	var bs []bench.Bar
	for _, r := range rows {
		bs = append(bs, bench.Bar{Label: r.title(), Value: r.GBps.Median,
			Max: r.GBps.Max, Group: r.group,
			Text: fmt.Sprintf("%.2f GB/s", r.GBps.Median)})
	}
	return bs
}

// indent prints text under the section, two columns in.
func indent(l *lab.Lab, text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" {
			fmt.Fprintln(l.Out)
			continue
		}
		fmt.Fprintf(l.Out, "  %s\n", line)
	}
}

// goal reports how close the best mmap method came to copy(), and, when
// it missed, what its time went to.
func (s *session) goal(l *lab.Lab, lim *result) {
	var best *result
	for _, r := range s.results {
		if r.group == 2 && !r.Durable && r.Verified &&
			(best == nil || r.GBps.Median > best.GBps.Median) {
			best = r
		}
	}
	if best == nil {
		return
	}
	g := bench.Goal{What: fmt.Sprintf("best mmap (%s in %s) ≥ %.1f× "+
		"copy()", best.Label, best.Place, goalOfCopy), Got: best.XCopy,
		Target: goalOfCopy, Unit: "×", Why: "see README"}
	fmt.Fprintln(l.Out)
	l.Say("%s", g)
	if g.Met() {
		return
	}
	s.whyMissed(l, best, lim)
}

// whyMissed splits the best mmap method's time into the copy() it must
// do and the rest, charges the rest to its faults, and compares with the
// faults section: what such a fault costs alone, and what the cheapest
// page costs, which every new page of a mapping must pay before the copy.
func (s *session) whyMissed(l *lab.Lab, best, lim *result) {
	ms := func(gbps float64) float64 { return float64(best.Bytes) / gbps / 1e6 }
	took, copyTook := ms(best.GBps.Median), ms(lim.GBps.Median)
	l.Say("its %.1f ms per run: %.1f ms is the copy() itself, %.1f ms the "+
		"rest, with %.1f faults per MiB (%.2f µs each, if the faults are "+
		"all of it)", took, copyTook, took-copyTook, best.FaultsPerMiB,
		best.USPerFault)
	alone := "file in " + best.Place
	if best.Method == "huge" {
		alone += " HUGEPAGE"
	}
	if fc, ok := s.faultCost(alone); ok {
		l.Say("the faults section measured %.2f µs per fault, %.2f µs "+
			"per page, for a %s", fc.perFault(), fc.perPage(), alone)
	}
	if fc, ok := s.faultCost("anonymous HUGEPAGE"); ok {
		floor := fc.perPage() * float64(mem.Pages(best.Bytes)) / 1e3
		l.Say("even the cheapest new page it measured, anonymous "+
			"HUGEPAGE, costs %.2f µs: %.1f ms per run on top of the "+
			"copy(), at best %.2f× copy() for pages that are new",
			fc.perPage(), floor, copyTook/(copyTook+floor))
	}
}

// faultCost returns what the faults section measured for a case.
func (s *session) faultCost(label string) (faultCost, bool) {
	for _, fc := range s.faultCosts {
		if fc.label == label {
			return fc, true
		}
	}
	return faultCost{}, false
}

// export writes the results to the -json and -csv files, copy() first.
func (s *session) export(lim *result) error {
	rows := append([]*result{lim}, s.results...)
	flat := make([]result, len(rows))
	for i, r := range rows {
		flat[i] = *r
	}
	for _, out := range []struct {
		path  string
		write func(*os.File) error
	}{
		{opts.json, func(f *os.File) error { return bench.WriteJSON(f, flat) }},
		{opts.csv, func(f *os.File) error { return bench.WriteCSV(f, flat) }},
	} {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, out.write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
