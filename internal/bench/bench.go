// Package bench holds what the measuring labs (07-write-methods, 08-ipc)
// share: a summary of repeated measurements (median, min, max), goals
// that are reported and never asserted, a text table, a bar chart
// (coloured on a terminal), and CSV and JSON output for plotting.
//
// It measures nothing itself: each lab times its own methods and hands
// the samples here.
package bench

import (
	"fmt"
	"slices"
	"time"
)

// Summary is the spread of repeated measurements of one thing.
type Summary struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// Summarize returns the median, min and max of samples. The median of an
// even number of samples is the mean of the middle two. An empty slice
// gives the zero Summary.
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{Median: median, Min: s[0], Max: s[n-1], N: n}
}

// GBps is the throughput of moving n bytes in d, in gigabytes (10^9
// bytes) per second; 0 if d is not positive.
func GBps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds() / 1e9
}

// Ratio returns a/b, or 0 when b is 0, so that a missing reference never
// prints as Inf or NaN.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Size formats a byte count in the largest binary unit that divides it:
// "256 MiB", "64 KiB", "1000 B".
func Size(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// Goal is a target a measurement should reach. Labs report goals in
// their output and benchmarks, never as test failures: a timing depends
// on the machine and on what else runs on it.
type Goal struct {
	What   string  // "best mmap ≥ 0.8× copy()"
	Got    float64 // what was measured
	Target float64 // the threshold
	Below  bool    // met when Got < Target; otherwise when Got ≥ Target
	Unit   string  // printed after the number: "×", " µs"
	Why    string  // where to read what limits it, printed when missed
}

// Met reports whether the measurement reached the target.
func (g Goal) Met() bool {
	if g.Below {
		return g.Got < g.Target
	}
	return g.Got >= g.Target
}

// String is the goal's report line:
//
//	goal: best mmap ≥ 0.8× copy(): 0.62× — missed (see README)
func (g Goal) String() string {
	verdict := "met"
	if !g.Met() {
		verdict = "missed"
		if g.Why != "" {
			verdict += " (" + g.Why + ")"
		}
	}
	return fmt.Sprintf("goal: %s: %.2f%s — %s", g.What, g.Got, g.Unit,
		verdict)
}
