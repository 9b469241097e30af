package main

import (
	"github.com/mmaplab/mmaplab/internal/golden"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mmaplab/mmaplab/internal/bench"
)

// The benchmarks measure what the lab measures, in the form benchstat
// compares:
//
//	go test ./labs/08-ipc -run '^$' -bench . -count 10 > new.txt
//	benchstat old.txt new.txt
//
// BenchmarkIPC/METHOD/CHUNK moves b.N chunks from the peer process (the
// lab's binary, built by the test, run as "-child peer") and checks each
// pass with the timer stopped. BenchmarkRoundTrip/WAY bounces b.N
// messages. BenchmarkGoals measures the goals' ratios within one run and
// reports them as metrics and log lines; goals are never test failures.

// benchChunks are the chunk sizes of BenchmarkIPC.
var benchChunks = []int{64, kib, 16 * kib, goalChunk, 256 * kib, mib}

// benchPlan is the plan of the benchmarks: passes of up to 64 MiB.
var benchPlan = plan{chunks: benchChunks, maxBytes: 64 * mib, maxOps: 1 << 15,
	runs: 1, ringSize: 2 * mib}

func BenchmarkIPC(b *testing.B) {
	r, where := benchRig(b, methods)
	for i, m := range r.use {
		for _, chunk := range benchChunks {
			b.Run(m.id+"/"+chunkName(chunk), func(b *testing.B) {
				defer pinned(b, where)()
				b.SetBytes(int64(chunk))
				moveN(b, r, i, chunk, b.N)
			})
		}
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	s, where := benchSetup(b)
	peers := map[string]*peer{}
	for _, t := range trips {
		if whyNot(t.kind, 0) != "" || t.spin && !where.apart {
			continue
		}
		if peers[t.kind] == nil {
			peers[t.kind] = benchPeer(b, s, t.kind, where)
		}
		b.Run(t.id, func(b *testing.B) {
			defer pinned(b, where)()
			spin := 0
			if t.spin {
				spin = spinForever
			}
			_, _, wrong, err := peers[t.kind].roundTrips(b.N, 0,
				messageSize, spin)
			if err != nil || wrong > 0 {
				b.Fatalf("%d wrong answers, %v", wrong, err)
			}
		})
	}
}

// BenchmarkGoals measures, in one run, what the goals compare: the shm
// ring, the default pipe and copy() at 64 KiB chunks, interleaved, and
// spinning round trips through shared memory. Run it with -benchtime 3x
// or so: each iteration moves 64 MiB per method.
func BenchmarkGoals(b *testing.B) {
	want := []method{methodByID("copy"), methodByID("pipe"),
		methodByID("shm-ring")}
	r, where := benchRig(b, want)
	defer pinned(b, where)()
	for i := range r.use { // warm up, as the lab does
		if _, _, err := r.move(i, goalChunk); err != nil {
			b.Fatal(err)
		}
	}
	res := results{}
	for range b.N {
		for i, m := range r.use {
			ps, total, err := r.move(i, goalChunk)
			if err != nil || !ps.verified {
				b.Fatalf("%s: %v (verified %v)", m.name, err, ps.verified)
			}
			record(res.at(m.id, goalChunk), ps, total)
		}
	}
	goals := throughputGoals(res)
	b.ReportMetric(goals[0].Got, "ring/pipe")
	b.ReportMetric(goals[1].Got, "ring/copy")
	if where.apart {
		spin := spinTrip(b, where)
		goals = append(goals, spinGoal(spin))
		b.ReportMetric(spin, "spin-µs")
	}
	for _, g := range goals {
		b.Log(g)
	}
}

// spinTrip returns the median µs of spinning round trips through shared
// memory, in batches of 100 ms.
func spinTrip(b *testing.B, where placement) float64 {
	s, _ := benchSetup(b)
	p := benchPeer(b, s, kindShm, where)
	var r tripResult
	pl := plan{batchFor: 100 * time.Millisecond}
	for range 5 {
		if err := batch(p, spinning, pl, &r); err != nil {
			b.Fatal(err)
		}
	}
	return bench.Summarize(r.micros).Median
}

// moveN moves n chunks of method i, in passes of up to the plan's size,
// and checks each pass with the timer stopped.
func moveN(b *testing.B, r *rig, i, chunk, n int) {
	b.ResetTimer()
	for left := n * chunk; left > 0; {
		total := min(left, r.plan.passBytes(chunk))
		off := offsetOf(r.passes)
		r.passes++
		b.StopTimer()
		if err := r.movers[i].prepare(total); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		_, err := r.movers[i].transfer(r.dst, chunk, total, off)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if !verify(r.dst, r.src, total, off) {
			b.Fatalf("%s: the bytes of a pass differ", r.use[i].name)
		}
		left -= total
		b.StartTimer()
	}
}

// benchRig starts a rig with the methods of ms that run here.
func benchRig(b *testing.B, ms []method) (*rig, placement) {
	s, where := benchSetup(b)
	var use []method
	for _, m := range ms {
		if why := whyNot(m.kind, m.pipeSize); why != "" {
			b.Logf("skipped: %s: %s", m.name, why)
			continue
		}
		use = append(use, m)
	}
	defer pinned(b, where)() // the children inherit this thread's CPUs
	r, err := newRig(s, benchPlan, where, use)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.close() })
	return r, where
}

// benchPeer starts a peer of kind for round trips.
func benchPeer(b *testing.B, s setup, kind string, where placement) *peer {
	p, err := startMethod(s, method{name: kind, kind: kind}, 0,
		benchPlan.ringSize, where)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.close() })
	return p
}

// benchSetup returns how to start peers from a benchmark, and where the
// processes run: as the lab does with -pin two.
func benchSetup(b *testing.B) (setup, placement) {
	b.Helper()
	exe := golden.Build(b, "")
	dir := b.TempDir()
	runtime.LockOSThread()
	where, err := place("two")
	where.undo()
	runtime.UnlockOSThread()
	if err != nil {
		b.Fatal(err)
	}
	register := func(do func() error, undo func()) error {
		if err := do(); err != nil {
			return err
		}
		b.Cleanup(undo)
		return nil
	}
	return setup{exe: exe, dir: dir, make: register}, where
}

// pinned pins the benchmark's goroutine where the lab pins itself, and
// returns the function that lets it go.
func pinned(b *testing.B, where placement) func() {
	runtime.LockOSThread()
	if where.self >= 0 {
		if err := pinTo(where.self); err != nil {
			b.Fatal(err)
		}
	}
	return func() {
		where.undo()
		runtime.UnlockOSThread()
	}
}

// chunkName is a chunk size in a benchmark name: "64KiB".
func chunkName(n int) string {
	return strings.ReplaceAll(bench.Size(int64(n)), " ", "")
}
