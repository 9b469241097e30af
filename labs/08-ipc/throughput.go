package main

import (
	"fmt"
	"strings"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// measured is what the passes of one method and chunk size found.
type measured struct {
	gbps     []float64 // one sample per timed pass
	passes   int       // timed passes, and the warm-up at goalChunk
	verified int       // passes whose bytes all arrived
	bytes    int64     // moved in all, warm-up included
	cpus     []int     // CPUs the child ran on
	sleeps   int       // futex sleeps, both sides (rings)

	pages     int // pages of data moved, warm-up included
	written   int // page faults of the child sending them
	read      int // page faults of this process receiving them
	faultless int // passes in which the writer did not fault
}

// results holds the measurements by method id and chunk size.
type results map[string]map[int]*measured

func (res results) at(id string, chunk int) *measured {
	if res[id] == nil {
		res[id] = map[int]*measured{}
	}
	if res[id][chunk] == nil {
		res[id][chunk] = &measured{}
	}
	return res[id][chunk]
}

// throughput moves the same bytes from a child process to this one by
// each method and chunk size, checks them, and compares the speeds.
func throughput(l *lab.Lab) error {
	l.Talk("Ways to Share Data Between Processes: Communicate by pipes; " +
		"Communicate by sockets; Read/write to the same file/s; " +
		"Read/write to the same memory")
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
	describe(l, pl, where)
	r, err := newRig(s, pl, where, usable(l, methods))
	if err != nil {
		return err
	}
	defer r.close()
	res, err := measure(r)
	if err != nil {
		return err
	}
	if err := r.close(); err != nil {
		return err
	}
	return reportThroughput(l, pl, where, res)
}

// describe says what the section does and where it runs.
func describe(l *lab.Lab, pl plan, where placement) {
	l.Say("the child (%s -child peer ...) sends the same pseudo-random "+
		"bytes by each method; this process receives them into one buffer "+
		"and checks each pass with CRC-32C against its own copy", labName)
	if opts.verify {
		l.Say("-verify: one small pass per method and chunk size, no " +
			"timings")
	} else {
		l.Say("each pass moves up to %s in chunks of %s; %d passes per "+
			"method and chunk size, interleaved; GB/s = 10^9 bytes/s, "+
			"the median of the passes", bench.Size(int64(pl.maxBytes)),
			chunkList(pl.chunks), pl.runs)
	}
	if !opts.verify {
		l.Say("%s", where.why)
	}
}

// measure warms each method up, then runs the timed passes, every
// method once per chunk size in turn, so that a busy moment of the
// machine hits all of them alike.
func measure(r *rig) (results, error) {
	res := results{}
	for i, m := range r.use {
		ps, total, err := r.move(i, goalChunk)
		if err != nil {
			return nil, fmt.Errorf("%s: warm-up: %w", m.name, err)
		}
		count(res.at(m.id, goalChunk), ps, total)
	}
	for range r.plan.runs {
		for _, chunk := range r.plan.chunks {
			for i, m := range r.use {
				ps, total, err := r.move(i, chunk)
				if err != nil {
					return nil, fmt.Errorf("%s, chunks of %s: %w", m.name,
						bench.Size(int64(chunk)), err)
				}
				record(res.at(m.id, chunk), ps, total)
			}
		}
	}
	return res, nil
}

// record adds one timed pass to what was measured.
func record(m *measured, ps pass, total int) {
	count(m, ps, total)
	m.gbps = append(m.gbps, bench.GBps(int64(total), ps.took))
}

// count adds what any pass shows, timed or warm-up: its check, where the
// child ran, and the page faults on each side.
func count(m *measured, ps pass, total int) {
	m.passes++
	if ps.verified {
		m.verified++
	}
	m.bytes += int64(total)
	pages := mem.Pages(total)
	m.pages += pages
	m.written += ps.written
	m.read += ps.read
	if ps.written == 0 {
		m.faultless++
	}
	if ps.peerCPU >= 0 && !containsInt(m.cpus, ps.peerCPU) {
		m.cpus = append(m.cpus, ps.peerCPU)
	}
	m.sleeps += ps.sleeps
}

// reportThroughput prints the checks, and without -verify the table,
// the chart and the goals.
func reportThroughput(l *lab.Lab, pl plan, where placement,
	res results) error {
	if !opts.verify {
		printTable(l, pl, res)
		printChart(l, res, goalChunk)
	}
	claimVerified(l, pl, res)
	claimFaults(l, pl, res)
	claimPlacement(l, where, res)
	if opts.verify {
		return nil
	}
	explainPipe(l, res)
	if median(res, "shm-ring", goalChunk) > 0 {
		explainRing(l, pl, res)
		for _, g := range throughputGoals(res) {
			l.Say("%s", g)
		}
	}
	return saveResults(throughputRows(pl, res))
}

// claimVerified states, per method, that every byte arrived.
func claimVerified(l *lab.Lab, pl plan, res results) {
	for _, m := range methods {
		passes, verified := 0, 0
		for _, chunk := range pl.chunks {
			passes += res.at(m.id, chunk).passes
			verified += res.at(m.id, chunk).verified
		}
		switch {
		case passes == 0:
			// skipped here, and said so
		case m.kind == "":
			l.Claim(verified == passes, "%s, the reference: its copies "+
				"pass the same check (%s)", m.name,
				passCount(verified, passes))
		default:
			l.Claim(verified == passes, "%s: every byte arrived, in "+
				"order, in chunks of %s (%s): the CRC-32C of each pass "+
				"matches the bytes sent", m.name, chunkList(pl.chunks),
				passCount(verified, passes))
		}
	}
	file := res.at("file", goalChunk)
	if file.passes > 0 {
		l.Claim(file.verified == file.passes, "shared file: the reader "+
			"saw what the writer stored without msync: both processes "+
			"map the same pages of the page cache")
	}
}

// total sums what the passes of method id found at every chunk size.
func (res results) total(id string, pl plan) measured {
	var t measured
	for _, c := range pl.chunks {
		m := res.at(id, c)
		t.passes += m.passes
		t.pages += m.pages
		t.bytes += m.bytes
		t.written += m.written
		t.read += m.read
		t.faultless += m.faultless
	}
	return t
}

// claimFaults states what the page faults of the child, the writer,
// show: the shared file meets new pages in every pass, the ring reuses
// its own.
func claimFaults(l *lab.Lab, pl plan, res results) {
	file, ring := res.total("file", pl), res.total("shm-ring", pl)
	if file.passes > 0 {
		l.Claim(file.faultless == 0, "shared file: the writer faulted in "+
			"every pass (getrusage in the child): each pass stores into "+
			"pages the new file did not have")
	}
	if ring.passes > 0 {
		l.Claim(ring.written < pl.ringSize/mem.PageSize(), "shm ring: "+
			"in all its passes the writer faulted fewer times than the "+
			"ring has pages: both processes populated them once, before "+
			"the first pass (MADV_POPULATE_WRITE), and reuse them")
	}
	if opts.verify || file.passes == 0 || ring.passes == 0 {
		return
	}
	l.Say("page faults, writer and reader: shared file %d and %d, shm "+
		"ring %d and %d, for %s each; fewer faults than pages: one "+
		"fault can map several pages of the page cache at once (README)",
		file.written, file.read, ring.written, ring.read,
		lab.Plural(file.pages, "page"))
}

// passCount is "6 passes" in -verify runs, "6 of 30 passes" when some
// failed, and just the count otherwise.
func passCount(verified, passes int) string {
	if verified == passes {
		return lab.Plural(passes, "pass")
	}
	return fmt.Sprintf("%d of %s", verified, lab.Plural(passes, "pass"))
}

// claimPlacement states where the child ran, from what getcpu said in
// the child after each pass.
func claimPlacement(l *lab.Lab, where placement, res results) {
	var seen []int
	for _, byChunk := range res {
		for _, m := range byChunk {
			for _, cpu := range m.cpus {
				if !containsInt(seen, cpu) {
					seen = append(seen, cpu)
				}
			}
		}
	}
	self := getcpu()
	switch {
	case where.peer >= 0 && where.apart:
		l.Claim(len(seen) == 1 && seen[0] == where.peer &&
			self == where.self, "this process ran on one CPU and the "+
			"child on another, as pinned (getcpu in each)")
	case where.peer >= 0:
		l.Claim(len(seen) == 1 && seen[0] == where.peer &&
			self == where.self, "both processes ran on the same CPU, as "+
			"pinned (getcpu in each): they take turns on it")
	default:
		l.Say("the child ran on CPU %s (getcpu), this process ends on "+
			"CPU %d", intList(seen), self)
	}
}

// chunkList is "64 B, 64 KiB and 1 MiB".
func chunkList(chunks []int) string {
	words := make([]string, len(chunks))
	for i, c := range chunks {
		words[i] = bench.Size(int64(c))
	}
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " +
		words[len(words)-1]
}

// intList is "0, 1".
func intList(xs []int) string {
	words := make([]string, len(xs))
	for i, x := range xs {
		words[i] = fmt.Sprint(x)
	}
	return strings.Join(words, ", ")
}
