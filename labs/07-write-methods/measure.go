package main

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// job is one run of one method: write src to a new file at path.
type job struct {
	path    string
	src     []byte
	durable bool
	place   *place

	// What the mmap methods report about themselves.
	copyFaults int64 // page faults during the copy alone
	hugeKB     int64 // mapped with huge pages before munmap (smaps)

	// Work done aside (reading smaps): not the method's, not timed.
	asideTime   time.Duration
	asideFaults int64
}

func (j *job) name() string { return filepath.Base(j.path) }

// aside runs f, which inspects what the method did, and takes its time
// and its page faults out of the run's.
func (j *job) aside(f func()) {
	before, _ := proc.ThreadFaults()
	start := time.Now()
	f()
	j.asideTime += time.Since(start)
	after, _ := proc.ThreadFaults()
	j.asideFaults += after.Sub(before).Minor
}

// sample is what one run measured and found.
type sample struct {
	took       time.Duration
	faults     int64 // minor page faults on this thread, whole run
	copyFaults int64 // of which during the copy (mmap methods)
	hugeKB     int64 // mapped with huge pages (mmap methods)
	cache      pageCache
	verified   bool // the file reads back with the source's checksum
}

// pageCache is what cachestat says about a file's pages right after the
// run, before the lab reads the file back.
type pageCache struct {
	known  bool   // cachestat worked (Linux 6.5+)
	cached uint64 // pages in the page cache
	dirty  uint64 // of which dirty: not yet written to the disk
}

// source is the bytes every method writes: pseudo-random, so that a file
// of zeros or an old file never passes for the right one, in a mapping of
// its own, already faulted in.
type source struct {
	data []byte
	sum  uint32 // CRC-32C of data
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// newSource maps and fills size bytes.
func newSource(size int) (*source, error) {
	data, err := mem.MapAnon(mem.Pages(size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	rand.NewChaCha8([32]byte{'m', 'm', 'a', 'p', 'l', 'a', 'b'}).Read(data)
	data = data[:size]
	return &source{data: data, sum: crc32.Checksum(data, castagnoli)}, nil
}

// runOnce runs the method once in place p and checks the file it wrote.
func runOnce(m method, p *place, src *source, durable bool) (sample,
	error) {
	j := &job{path: filepath.Join(p.dir, m.name), src: src.data,
		durable: durable, place: p}
	os.Remove(j.path)
	defer os.Remove(j.path)
	runtime.GC()
	var s sample
	var err error
	blockErr := proc.WithoutPreemption(func() {
		s, err = timed(m, j)
	})
	if err != nil {
		return sample{}, err
	}
	if blockErr != nil {
		return sample{}, blockErr
	}
	s.cache = cacheState(j.path)
	s.verified, err = verify(j.path, src)
	return s, err
}

// timed runs the method and measures its time and its page faults.
func timed(m method, j *job) (sample, error) {
	before, err := proc.ThreadFaults()
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	err = m.write(j)
	took := time.Since(start)
	after, ferr := proc.ThreadFaults()
	if err != nil {
		return sample{}, err
	}
	if ferr != nil {
		return sample{}, ferr
	}
	return sample{
		took:       took - j.asideTime,
		faults:     after.Sub(before).Minor - j.asideFaults,
		copyFaults: j.copyFaults,
		hugeKB:     j.hugeKB,
	}, nil
}

// cacheState asks cachestat how many pages of the file are in the page
// cache, and how many of them are dirty.
func cacheState(path string) pageCache {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return pageCache{}
	}
	defer unix.Close(fd)
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(fd), &unix.CachestatRange{}, &cs,
		0); err != nil {
		return pageCache{}
	}
	return pageCache{known: true, cached: cs.Cache, dirty: cs.Dirty}
}

// verify maps the file and compares its length and checksum with the
// source's. Reading through a mapping checks the bytes without copying
// them first.
func verify(path string, src *source) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("open %s to verify: %w",
			filepath.Base(path), err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, fmt.Errorf("fstat %s: %w", filepath.Base(path), err)
	}
	if st.Size != int64(len(src.data)) {
		return false, nil
	}
	m, err := mem.MapFile(fd, 0, len(src.data), unix.PROT_READ,
		unix.MAP_SHARED)
	if err != nil {
		return false, err
	}
	defer mem.Unmap(m)
	unix.Madvise(m, unix.MADV_SEQUENTIAL) // read ahead: a hint only
	return checksum(m) == src.sum, nil
}

// result is a method's runs in one place, summed up. Its exported fields
// are what -json and -csv write.
type result struct {
	Method       string        `json:"method"`
	Label        string        `json:"label"`
	Place        string        `json:"place"`
	FS           string        `json:"fs"`
	Durable      bool          `json:"durable"`
	Bytes        int           `json:"bytes"`
	GBps         bench.Summary `json:"gbps"`
	XCopy        float64       `json:"x_copy"`
	XWrite1M     float64       `json:"x_write_1m"`
	FaultsPerMiB float64       `json:"faults_per_mib"`
	USPerFault   float64       `json:"us_per_fault"`
	Verified     bool          `json:"verified"`
	Skipped      string        `json:"skipped,omitempty"`

	group   int
	samples []sample
}

// measure runs the method the given number of times and sums it up. A
// method the place cannot run comes back with Skipped set.
func measure(m method, p *place, src *source, durable bool,
	runs int) (*result, error) {
	r := &result{Method: m.name, Label: m.label, Place: p.name, FS: p.fs,
		Durable: durable, Bytes: len(src.data), group: m.group}
	for range runs {
		s, err := runOnce(m, p, src, durable)
		if why, ok := skipReason(err); ok {
			r.Skipped = why
			return r, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s in %s: %w", r.title(), p.name, err)
		}
		r.samples = append(r.samples, s)
	}
	r.sum()
	return r, nil
}

// title names the method with its durability: "write 1 MiB +fsync".
func (r *result) title() string {
	switch {
	case !r.Durable:
		return r.Label
	case r.group == 2:
		return r.Label + " +msync"
	}
	return r.Label + " +fsync"
}

// sum fills in the summary fields from the samples.
func (r *result) sum() {
	rates := make([]float64, len(r.samples))
	faults := make([]float64, len(r.samples))
	r.Verified = true
	for i, s := range r.samples {
		rates[i] = bench.GBps(int64(r.Bytes), s.took)
		faults[i] = float64(s.faults)
		r.Verified = r.Verified && s.verified
	}
	r.GBps = bench.Summarize(rates)
	r.FaultsPerMiB = bench.Summarize(faults).Median / float64(r.Bytes>>20)
}

// all reports whether every sample satisfies f.
func (r *result) all(f func(s sample) bool) bool {
	for _, s := range r.samples {
		if !f(s) {
			return false
		}
	}
	return len(r.samples) > 0
}

// checksum is the CRC-32C of b.
func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
