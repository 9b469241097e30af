package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmaplab/mmaplab/internal/bench"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{
		"256MiB": 256 << 20, "1GiB": 1 << 30, "64M": 64 << 20,
		"2G": 2 << 30, "1048576": 1 << 20,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "3KiB", "1536", "1.5G",
		"100GiB", "MiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestNames(t *testing.T) {
	n := names{allowed: []string{"a", "b"}}
	if !n.has("a") || !n.has("b") {
		t.Error("with none chosen, all should be")
	}
	if err := n.Set("b"); err != nil || n.has("a") || !n.has("b") {
		t.Errorf("after Set(b): %v %v", n.chosen, err)
	}
	if err := n.Set("a,c"); err == nil {
		t.Error("Set(a,c) took an unknown name")
	}
}

func TestEffective(t *testing.T) {
	defer func(saved options) { opts = saved }(opts)
	opts.verify = true
	if size, runs := opts.effective(); size != verifySize || runs != 1 {
		t.Errorf("-verify: %d bytes, %d runs", size, runs)
	}
	opts.verify, opts.quick = false, true
	if size, runs := opts.effective(); size != quickSize ||
		runs != quickRuns {
		t.Errorf("-quick: %d bytes, %d runs", size, runs)
	}
	opts.size.Set("64MiB")
	if size, _ := opts.effective(); size != 64<<20 {
		t.Errorf("-quick -size 64MiB: %d bytes", size)
	}
}

const mountinfo = `25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=100k
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=10k,huge=advise
31 27 0:28 / /dev/shmx rw - tmpfs tmpfs rw,huge=always
`

func TestHugeOption(t *testing.T) {
	for dir, want := range map[string]string{
		"/dev/shm/x": "/dev/shm advise", "/dev/shm": "/dev/shm advise",
		"/tmp/a": "/ never", "/dev/shmx/y": "/dev/shmx always",
	} {
		mount, huge := hugeOption(strings.NewReader(mountinfo), dir)
		if got := mount + " " + huge; got != want {
			t.Errorf("hugeOption(%s) = %s, want %s", dir, got, want)
		}
	}
}

func TestNearly(t *testing.T) {
	for _, c := range []struct {
		n, want int64
		ok      bool
	}{{2048, 2048, true}, {2047, 2048, true}, {2069, 2048, true},
		{2100, 2048, false}, {0, 0, true}, {2, 0, false}} {
		if nearly(c.n, c.want) != c.ok {
			t.Errorf("nearly(%d, %d) = %v", c.n, c.want, !c.ok)
		}
	}
}

func TestAbout(t *testing.T) {
	if !about(10.9, 11.1) || !about(256, 256) || about(256, 200) ||
		about(0, 1) {
		t.Error("about is not within 10%")
	}
}

// TestVerify checks that a file with the right bytes passes, and that
// one too short, one of zeros of the right length, or one with a single
// byte changed does not.
func TestVerify(t *testing.T) {
	src, err := newSource(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := append([]byte(nil), src.data...)
	bad[len(bad)/2] ^= 1
	for name, c := range map[string]struct {
		data []byte
		ok   bool
	}{
		"right":   {src.data, true},
		"short":   {src.data[:len(src.data)-1], false},
		"zeros":   {make([]byte, len(src.data)), false},
		"one bit": {bad, false},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if ok, err := verify(path, src); err != nil || ok != c.ok {
			t.Errorf("%s: verify = %v, %v; want %v", name, ok, err, c.ok)
		}
	}
}

// TestEveryMethodWrites runs each method once, small, in a temporary
// directory and checks the file, as the lab does.
func TestEveryMethodWrites(t *testing.T) {
	src, err := newSource(4 << 20)
	if err != nil {
		t.Fatal(err)
	}
	p := newPlace("test", t.TempDir())
	p.huge, _ = probeHuge(p.dir, p.fs, p.tmpfs)
	for _, m := range methods {
		for _, durable := range []bool{false, true} {
			r, err := measure(m, p, src, durable, 1)
			switch {
			case err != nil:
				t.Errorf("%s: %v", m.name, err)
			case r.Skipped != "":
				t.Logf("%s: skipped: %s", m.name, r.Skipped)
			case !r.Verified:
				t.Errorf("%s (durable %v): checksum wrong", m.name, durable)
			}
		}
	}
	if left, _ := os.ReadDir(p.dir); len(left) > 0 {
		t.Errorf("left behind: %s", left[0].Name())
	}
}

func TestBeyondCopyPerFault(t *testing.T) {
	lim := &result{GBps: summaryOf(2)}
	r := &result{group: 2, Bytes: 1 << 30, GBps: summaryOf(1),
		FaultsPerMiB: 256}
	// 1 GiB at 1 GB/s is 1.074 s; at copy()'s 2 GB/s 0.537 s. The
	// difference over 262144 faults is 2.048 µs each.
	got := beyondCopyPerFault(r, lim)
	if d := time.Duration(got*1000) - 2048; d < -1 || d > 1 {
		t.Errorf("beyondCopyPerFault = %v µs, want 2.048", got)
	}
	r.group = 1
	if got := beyondCopyPerFault(r, lim); got != 0 {
		t.Errorf("a write() method got %v µs per fault", got)
	}
}

func summaryOf(median float64) bench.Summary {
	return bench.Summary{Median: median, Min: median, Max: median, N: 1}
}
