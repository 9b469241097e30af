package main

import (
	"fmt"
	"io"
	"time"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/lab"
)

// trip is one way of sending a message to the child and getting the
// answer back.
type trip struct {
	name string // in tables: "shm spin"
	id   string // in benchmark names, JSON and CSV
	kind string
	spin bool // check the ring in a loop instead of sleeping at once
}

// spinning is the way the round-trip goal is about.
var spinning = trip{name: "shm spin", id: "shm-spin", kind: kindShm,
	spin: true}

// trips are the round-trip section's ways.
var trips = []trip{
	{name: "pipe", id: "pipe", kind: kindPipe},
	{name: "socketpair", id: "socketpair", kind: kindSocket},
	{name: "shm futex", id: "shm-futex", kind: kindShm},
	spinning,
}

// messageSize is the size of a round trip's message: one cache line.
const messageSize = 64

// spinForever is the spin budget of "shm spin": about a second of
// checks, then it sleeps as the others do, so that a stuck partner never
// keeps a CPU busy for long.
const spinForever = 1 << 28

// tripResult is what the batches of one way found.
type tripResult struct {
	micros  []float64 // µs per round trip, one sample per batch
	rounds  int
	wrong   int
	skipped string // why this way did not run here
}

// roundtrip bounces a small message off the child, each way, and
// compares how long a round trip takes.
func roundtrip(l *lab.Lab) error {
	settle()
	pl := currentPlan()
	where, err := place(opts.pin)
	if err != nil {
		return err
	}
	defer where.undo()
	s, err := labSetup(l)
	if err != nil {
		return err
	}
	l.Talk("Use atomics and semaphores for synchronization!")
	l.Say("this process sends a %d-byte message with a number in it; the "+
		"child answers with the number plus one. shm futex waits as a "+
		"semaphore does, asleep in futex_wait; shm spin uses atomics "+
		"alone, checking the ring in a loop", messageSize)
	if pl.rounds > 0 {
		l.Say("%d round trips each way", pl.rounds*pl.batches)
	} else {
		l.Say("%d batches each way, of as many round trips as fit in "+
			"%v; µs per round trip: the median of the batches",
			pl.batches, pl.batchFor)
	}
	if !opts.verify {
		l.Say("%s", where.why)
	}
	res, err := measureTrips(s, pl, where)
	if err != nil {
		return err
	}
	return reportTrips(l, pl, where, res)
}

// measureTrips runs the batches, every way once per batch in turn.
func measureTrips(s setup, pl plan, where placement) (map[string]*tripResult,
	error) {
	peers := map[string]*peer{}
	defer func() {
		for _, p := range peers {
			p.close()
		}
	}()
	res := map[string]*tripResult{}
	for _, t := range trips {
		res[t.id] = &tripResult{}
		if why := whyNot(t.kind, 0); why != "" {
			res[t.id].skipped = why
			continue
		}
		if t.spin && !where.apart {
			res[t.id].skipped = "both processes share one CPU: a " +
				"spinning side would keep the other from running"
			continue
		}
		if peers[t.kind] != nil {
			continue
		}
		p, err := startMethod(s, method{name: t.name, kind: t.kind}, 0,
			pl.ringSize, where)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		peers[t.kind] = p
	}
	for range pl.batches {
		for _, t := range trips {
			if res[t.id].skipped != "" {
				continue
			}
			if err := batch(peers[t.kind], t, pl, res[t.id]); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range peers {
		if err := p.close(); err != nil {
			return nil, err
		}
	}
	clear(peers)
	return res, nil
}

// batch runs one batch of round trips of way t.
func batch(p *peer, t trip, pl plan, r *tripResult) error {
	spin := 0
	if t.spin {
		spin = spinForever
	}
	n, took, wrong, err := p.roundTrips(pl.rounds, pl.batchFor,
		messageSize, spin)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	r.rounds += n
	r.wrong += wrong
	r.micros = append(r.micros, float64(took)/float64(time.Microsecond)/
		float64(n))
	return nil
}

// reportTrips prints the checks, and without -verify the table, the
// chart and the goal.
func reportTrips(l *lab.Lab, pl plan, where placement,
	res map[string]*tripResult) error {
	if !opts.verify {
		printTrips(l, res)
		l.Say("pipe, socketpair and shm futex put the waiting side to " +
			"sleep in the kernel: a round trip is two wake-ups. shm spin " +
			"never sleeps: a round trip is two cache lines handed from " +
			"one CPU to the other. Try -pin one: wake-ups on one CPU")
	}
	for _, t := range trips {
		r := res[t.id]
		if r.skipped != "" {
			l.Skip("%s: %s", t.name, r.skipped)
			continue
		}
		l.Claim(r.rounds > 0 && r.wrong == 0, "%s: each of the %s "+
			"carried its message's number plus one", t.name,
			lab.Plural(r.rounds, "answer"))
	}
	if opts.verify {
		return nil
	}
	if spin := res[spinning.id]; spin.skipped == "" {
		l.Say("%s", spinGoal(bench.Summarize(spin.micros).Median))
	}
	return saveResults(tripRows(res))
}

// spinGoal is the round-trip goal: under 1 µs through shared memory,
// spinning.
func spinGoal(micros float64) bench.Goal {
	return bench.Goal{What: "round trip through shared memory < 1 µs " +
		"spinning", Target: 1, Below: true, Unit: " µs", Got: micros,
		Why: whyMissed}
}

// printTrips prints the table and the chart of round-trip times.
func printTrips(l *lab.Lab, res map[string]*tripResult) {
	var t bench.Table
	t.Header = []string{"round trip", "median µs", "min", "max"}
	var bars []bench.Bar
	for i, tr := range trips {
		s := bench.Summarize(res[tr.id].micros)
		if s.N == 0 {
			t.Add(tr.name, "skipped")
			continue
		}
		t.Add(tr.name, number(s.Median), number(s.Min), number(s.Max))
		bars = append(bars, bench.Bar{Label: tr.name, Value: s.Median,
			Max: s.Max, Text: number(s.Median) + " µs", Group: i})
	}
	fmt.Fprintln(l.Out)
	indented(l.Out, t.Fprint)
	fmt.Fprintln(l.Out)
	indented(l.Out, func(w io.Writer) { bench.Bars(w, bars, 40) })
	fmt.Fprintln(l.Out)
}

// tripRows are the round-trip results as rows.
func tripRows(res map[string]*tripResult) []row {
	var rows []row
	for _, t := range trips {
		r := res[t.id]
		if r.skipped != "" {
			continue
		}
		rows = append(rows, row{Test: "roundtrip", Method: t.id,
			Chunk: messageSize, Unit: "µs", Value: bench.Summarize(r.micros),
			Checked: r.rounds > 0 && r.wrong == 0})
	}
	return rows
}
