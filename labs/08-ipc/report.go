package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/lab"
)

// printTable prints the median GB/s of each method (rows) and chunk
// size (columns).
func printTable(l *lab.Lab, pl plan, res results) {
	var t bench.Table
	t.Header = []string{"GB/s"}
	for _, c := range pl.chunks {
		t.Header = append(t.Header, bench.Size(int64(c)))
	}
	for _, m := range methods {
		row := []string{m.name}
		for _, c := range pl.chunks {
			s := bench.Summarize(res.at(m.id, c).gbps)
			row = append(row, number(s.Median))
		}
		t.Add(row...)
	}
	fmt.Fprintln(l.Out)
	indented(l.Out, t.Fprint)
	fmt.Fprintln(l.Out)
}

// printChart draws the methods at one chunk size: the median, and the
// spread up to the fastest pass.
func printChart(l *lab.Lab, res results, chunk int) {
	var bars []bench.Bar
	for i, m := range methods {
		s := bench.Summarize(res.at(m.id, chunk).gbps)
		if s.N == 0 {
			return // not measured at this size (-quick)
		}
		bars = append(bars, bench.Bar{Label: m.name, Value: s.Median,
			Max: s.Max, Text: number(s.Median) + " GB/s", Group: i})
	}
	l.Say("chunks of %s (light: up to the fastest pass):",
		bench.Size(int64(chunk)))
	indented(l.Out, func(w io.Writer) { bench.Bars(w, bars, 40) })
	fmt.Fprintln(l.Out)
}

// number prints a measurement with three significant digits or so.
func number(x float64) string {
	switch {
	case x == 0:
		return "-"
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// indented runs print into a buffer and copies its lines to w, indented
// like the lab's narrative. internal/bench prints flush left.
func indented(w io.Writer, print func(io.Writer)) {
	var b bytes.Buffer
	print(&b)
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			fmt.Fprint(w, "  "+line)
		}
	}
}

// median returns the median GB/s of a method at a chunk size.
func median(res results, id string, chunk int) float64 {
	return bench.Summarize(res.at(id, chunk).gbps).Median
}

// whyMissed points to where the README explains a missed goal.
const whyMissed = "README: what limits it"

// throughputGoals are the goals for the ring, measured in this
// run: against the default pipe and against copy(), at 64 KiB.
func throughputGoals(res results) []bench.Goal {
	ring := median(res, "shm-ring", goalChunk)
	at := bench.Size(goalChunk)
	return []bench.Goal{
		{What: "shm ring ≥ 10× pipe at " + at, Target: 10, Unit: "×",
			Got: bench.Ratio(ring, median(res, "pipe", goalChunk)),
			Why: whyMissed},
		{What: "shm ring ≥ 0.8× copy() at " + at, Target: 0.8, Unit: "×",
			Got: bench.Ratio(ring, median(res, "copy", goalChunk)),
			Why: whyMissed},
	}
}

// explainPipe prints what a 64 KiB chunk costs through the default
// pipe, to compare with a round trip: when a chunk fills the pipe, the
// two sides take turns, and each chunk waits for a wake-up.
func explainPipe(l *lab.Lab, res results) {
	gbps := median(res, "pipe", goalChunk)
	if gbps == 0 {
		return
	}
	micros := float64(goalChunk) / (gbps * 1e3)
	l.Say("pipe, chunks of %s: %s µs per chunk; the default pipe holds "+
		"%s pages, so the writer of a chunk that fills it waits until "+
		"the reader has woken up and emptied it: compare with a pipe "+
		"round trip (section roundtrip)", bench.Size(goalChunk),
		number(micros), fmt.Sprint(defaultPipePages))
}

// explainRing prints the ring's ratios at each chunk size and how often
// its two sides slept.
func explainRing(l *lab.Lab, pl plan, res results) {
	for _, id := range []string{"pipe", "copy", "copy-twice"} {
		other := methodByID(id)
		var ratios []string
		for _, c := range pl.chunks {
			ratio := bench.Ratio(median(res, "shm-ring", c),
				median(res, other.id, c))
			ratios = append(ratios, fmt.Sprintf("%s %s×",
				bench.Size(int64(c)), number(ratio)))
		}
		l.Say("shm ring / %s: %s", other.name, strings.Join(ratios, ", "))
	}
	sleeps, passes := 0, 0
	for _, c := range pl.chunks {
		sleeps += res.at("shm-ring", c).sleeps
		passes += res.at("shm-ring", c).passes
	}
	l.Say("the ring's two sides slept in futex_wait %d times in %s "+
		"(after checking it %d times in a loop, when on two CPUs)", sleeps,
		lab.Plural(passes, "pass"), spinBudget)
}

// row is one line of -json and -csv output.
type row struct {
	Test    string        `json:"test"`   // throughput or roundtrip
	Method  string        `json:"method"` // as in benchmark names
	Chunk   int           `json:"chunk_bytes"`
	Unit    string        `json:"unit"` // GB/s or µs
	Value   bench.Summary `json:"value"`
	Checked bool          `json:"checked"` // every byte arrived
}

// throughputRows are the throughput results as rows.
func throughputRows(pl plan, res results) []row {
	var rows []row
	for _, m := range methods {
		for _, c := range pl.chunks {
			r := res.at(m.id, c)
			rows = append(rows, row{Test: "throughput", Method: m.id,
				Chunk: c, Unit: "GB/s", Value: bench.Summarize(r.gbps),
				Checked: r.passes > 0 && r.verified == r.passes})
		}
	}
	return rows
}

// saved holds the rows of the sections that ran so far: each section
// rewrites the files with all of them.
var saved []row

// saveResults adds rows to the -json and -csv files, if asked for.
func saveResults(rows []row) error {
	saved = append(saved, rows...)
	if opts.json != "" {
		if err := writeFile(opts.json, bench.WriteJSON); err != nil {
			return err
		}
	}
	if opts.csv != "" {
		return writeFile(opts.csv, bench.WriteCSV)
	}
	return nil
}

func writeFile(path string, write func(io.Writer, any) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f, saved); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
