package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// plan is how much the lab measures: the chunk sizes, how many bytes a
// pass moves at most, and how many times each thing is measured.
type plan struct {
	chunks   []int // chunk sizes in bytes, from small to large
	maxBytes int   // the largest pass
	maxOps   int   // at most this many chunks in a pass
	runs     int   // passes per method and chunk size
	ringSize int   // the shared-memory ring, bytes
	rounds   int   // round trips per batch; 0: as many as fit batchFor
	batchFor time.Duration
	batches  int // batches of round trips per way
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// goalChunk is the chunk size of the goals: ring against pipe and
// copy().
const goalChunk = 64 * kib

// currentPlan returns the plan for the flags: -verify tiny, -quick
// small, else enough for steady medians in well under 30 seconds.
func currentPlan() plan {
	switch {
	case opts.verify:
		return plan{chunks: []int{64, 64 * kib, mib}, maxBytes: 2 * mib,
			maxOps: 256, runs: 1, ringSize: 2 * mib, rounds: 100,
			batches: 1}
	case opts.quick:
		return plan{chunks: []int{64, 4 * kib, goalChunk, mib},
			maxBytes: 64 * mib, maxOps: 8192, runs: 3, ringSize: 2 * mib,
			batchFor: 20 * time.Millisecond, batches: 3}
	}
	return plan{chunks: []int{64, kib, 16 * kib, goalChunk, 256 * kib, mib},
		maxBytes: 64 * mib, maxOps: 1 << 15, runs: 5, ringSize: 2 * mib,
		batchFor: 50 * time.Millisecond, batches: 7}
}

// passBytes is how many bytes one pass moves in chunks of chunk bytes.
func (pl plan) passBytes(chunk int) int {
	return min(pl.maxBytes, chunk*pl.maxOps)
}

// placement is where the two processes run.
type placement struct {
	cpus  []int  // the CPUs this process may use
	self  int    // this process's CPU, -1 if not pinned
	peer  int    // the child's CPU, -1 if not pinned
	apart bool   // they run on two CPUs (or may, unpinned)
	why   string // where they run, for the narrative
}

// place pins this process for the measurements, as -pin says, and
// returns where the child goes; undo lets it run anywhere again.
func place(mode pinMode) (placement, error) {
	cpus, err := usableCPUs()
	if err != nil {
		return placement{}, err
	}
	pl := placement{cpus: cpus, self: -1, peer: -1}
	switch {
	case mode == "off":
		pl.apart = len(cpus) > 1
		pl.why = "not pinned (-pin off): the kernel places both " +
			"processes; where it puts them on one CPU, a spinning side " +
			"keeps the other from running until the scheduler steps in"
		return pl, nil
	case mode == "one" || len(cpus) < 2:
		pl.self, pl.peer = cpus[0], cpus[0]
		pl.why = fmt.Sprintf("both processes pinned to CPU %d", cpus[0])
		if mode != "one" {
			pl.why += ": this process may use only one CPU"
		}
	default:
		pl.self, pl.peer, pl.apart = cpus[0], cpus[1], true
		pl.why = fmt.Sprintf("pinned: this process to CPU %d, the child "+
			"to CPU %d (sched_setaffinity)", cpus[0], cpus[1])
	}
	return pl, pinTo(pl.self)
}

// undo lets this process run on all its CPUs again.
func (pl placement) undo() error {
	if pl.self < 0 {
		return nil
	}
	return unpin(pl.cpus)
}

// spin is how many times a ring is checked before its reader or writer
// sleeps: spinning only helps while the other process runs on another
// CPU; on a shared one it only delays the other.
func (pl placement) spin(budget int) int {
	if !pl.apart {
		return 0
	}
	return budget
}

// settle collects the garbage of earlier sections and gives its memory
// back to the kernel now, so that the Go runtime does not do it during
// the measurements. Measured: after the throughput section, the
// collector and scavenger made spinning round trips five times slower.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}
