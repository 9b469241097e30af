package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// The benchmarks are the lab's measurements for go test -bench, so that
// benchstat can compare two machines or two kernels:
//
//	go test ./labs/07-write-methods -run '^$' -bench . -count 6 >old.txt
//	benchstat old.txt new.txt
//
// Each writes -benchsize bytes per iteration in $TMPDIR ("scratch": make
// it a disk-backed directory) and in /dev/shm.
var benchSize = flag.String("benchsize", "64MiB", "bytes each benchmark "+
	"iteration writes, a whole number of MiB")

// benchPlaces makes a directory in $TMPDIR and one in /dev/shm.
func benchPlaces(b *testing.B) []*place {
	places := []*place{newPlace("scratch", b.TempDir())}
	if lab.OnTmpfs(shm.Dir) {
		dir, err := os.MkdirTemp(shm.Dir, "mmaplab-07-write-methods-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		places = append(places, newPlace("shm", dir))
	}
	for _, p := range places {
		h, err := probeHuge(p.dir, p.fs, p.tmpfs)
		if err != nil {
			b.Fatal(err)
		}
		p.huge = h
	}
	return places
}

func benchSource(b *testing.B) *source {
	size, err := parseSize(*benchSize)
	if err != nil {
		b.Fatalf("-benchsize: %v", err)
	}
	src, err := newSource(size)
	if err != nil {
		b.Fatal(err)
	}
	return src
}

// BenchmarkWrite runs each method in each place, without and with
// durability (BenchmarkWrite/write-1m+fsync/shm), and copy() in memory
// (BenchmarkWrite/copy/memory), the limit. It reports throughput (MB/s)
// and minor page faults per MiB, and fails if a file does not read back
// with the source's checksum.
func BenchmarkWrite(b *testing.B) {
	src := benchSource(b)
	b.Run("copy/memory", func(b *testing.B) { benchCopy(b, src) })
	for _, p := range benchPlaces(b) {
		for _, m := range methods {
			for _, durable := range []bool{false, true} {
				name := benchName(m, durable) + "/" + p.name
				b.Run(name, func(b *testing.B) {
					benchMethod(b, m, p, src, durable)
				})
			}
		}
	}
}

// benchName is the method's name with its durability: "mmap+msync".
func benchName(m method, durable bool) string {
	switch {
	case !durable:
		return m.name
	case m.group == 2:
		return m.name + "+msync"
	}
	return m.name + "+fsync"
}

// benchCopy times copy() from the source into memory that is already
// present, as the lab's limit section does.
func benchCopy(b *testing.B, src *source) {
	dst, err := mem.MapAnon(mem.Pages(len(src.data)),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		b.Fatal(err)
	}
	defer mem.UnmapAnon(dst)
	dst = dst[:len(src.data)]
	copy(dst, src.data) // fault every page in before the timer runs
	b.SetBytes(int64(len(src.data)))
	b.ResetTimer()
	for range b.N {
		copy(dst, src.data)
	}
	b.StopTimer()
	if checksum(dst) != src.sum {
		b.Fatal("copy: checksum wrong")
	}
}

// benchMethod times only the method: making way for the file before and
// reading it back after are outside the timer.
func benchMethod(b *testing.B, m method, p *place, src *source,
	durable bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(len(src.data)))
	var faults int64
	b.StopTimer()
	for range b.N {
		s, err := runOnceTimed(b, m, p, src, durable)
		if why, ok := skipReason(err); ok {
			b.Skip(why)
		}
		if err != nil {
			b.Fatal(err)
		}
		if !s.verified {
			b.Fatalf("%s: checksum wrong", m.name)
		}
		faults += s.faults
	}
	b.ReportMetric(float64(faults)/float64(b.N)/
		float64(len(src.data)>>20), "faults/MiB")
}

// runOnceTimed is runOnce with the benchmark's timer running around the
// method alone.
func runOnceTimed(b *testing.B, m method, p *place, src *source,
	durable bool) (sample, error) {
	j := &job{path: filepath.Join(p.dir, m.name), src: src.data,
		durable: durable, place: p}
	os.Remove(j.path)
	defer os.Remove(j.path)
	runtime.GC()
	b.StartTimer()
	s, err := timed(m, j)
	b.StopTimer()
	if err != nil {
		return sample{}, err
	}
	s.verified, err = verify(j.path, src)
	return s, err
}

// BenchmarkGoal measures copy() and the mmap methods in one run and
// reports how close the best came to copy(): the x-copy metric, and the
// goal line in the log. A missed goal is a number to explain, not a
// failure.
func BenchmarkGoal(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src := benchSource(b)
	places := benchPlaces(b)
	for range b.N {
		s := &session{size: len(src.data), runs: 3, src: src,
			places: places}
		lim, err := s.copyLimit()
		if err != nil {
			b.Fatal(err)
		}
		best := &result{}
		for _, p := range places {
			for _, m := range methods {
				if m.group != 2 {
					continue
				}
				r, err := measure(m, p, src, false, s.runs)
				if err != nil {
					b.Fatal(err)
				}
				if r.Skipped == "" && r.GBps.Median > best.GBps.Median {
					best = r
				}
			}
		}
		g := bench.Goal{What: "best mmap (" + best.Label + " in " +
			best.Place + ") ≥ 0.8× copy()", Got: bench.Ratio(
			best.GBps.Median, lim.GBps.Median), Target: goalOfCopy,
			Unit: "×", Why: "see labs/07-write-methods/README.md"}
		b.ReportMetric(g.Got, "x-copy")
		b.Log(g)
	}
}
