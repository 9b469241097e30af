package main

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/mem"
)

// sharedRing returns the two ends of a ring of size bytes in a
// MAP_SHARED anonymous mapping, as the processes have it.
func sharedRing(t *testing.T, size int) (writer, reader *ring) {
	t.Helper()
	ps := mem.PageSize()
	m, err := mem.MapAnon(1+mem.Pages(size), rw, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.UnmapAnon(m) })
	writer = newRing(m[:ringControlSize], m[ps:ps+size])
	reader = newRing(m[:ringControlSize], m[ps:ps+size])
	return writer, reader
}

// TestRingMovesEveryByte sends 4 MiB through a small ring in pieces of
// random sizes, some larger than the reader's, many wrapping around the
// end: the reader gets every byte in order.
func TestRingMovesEveryByte(t *testing.T) {
	for _, spin := range []int{0, 100} {
		w, r := sharedRing(t, 16<<10)
		w.spin, r.spin = spin, spin
		data := pattern(4 << 20)
		got := make([]byte, len(data))
		var wg sync.WaitGroup
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(1, 2))
			for sent := 0; sent < len(data); {
				n := min(1+rng.IntN(10<<10), len(data)-sent)
				if err := w.put(data[sent : sent+n]); err != nil {
					t.Error(err)
					return
				}
				sent += n
			}
		})
		rng := rand.New(rand.NewPCG(3, 4))
		for n := 0; n < len(got); {
			k, err := r.get(got[n:min(n+1+rng.IntN(3000), len(got))])
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
		wg.Wait()
		if !bytes.Equal(got, data) {
			t.Fatalf("spin %d: the bytes differ", spin)
		}
		t.Logf("spin %d: writer slept %d times, reader %d", spin,
			w.sleeps, r.sleeps)
	}
}

// TestRingTooLarge: a piece larger than the ring can never fit; put says
// so instead of waiting forever.
func TestRingTooLarge(t *testing.T) {
	w, _ := sharedRing(t, 4<<10)
	if err := w.put(make([]byte, 8<<10)); err == nil {
		t.Fatal("put of 8 KiB into a 4 KiB ring did not fail")
	}
}

// TestRingGone: a side that waits for a partner that is gone gives up.
func TestRingGone(t *testing.T) {
	_, r := sharedRing(t, 4<<10)
	r.gone = func() bool { return true }
	if _, err := r.get(make([]byte, 10)); err != errPeerGone {
		t.Fatalf("get from an empty ring, partner gone: %v", err)
	}
}

func TestPlans(t *testing.T) {
	for _, o := range []options{{}, {quick: true}, {verify: true}} {
		opts = o
		pl := currentPlan()
		big := pl.chunks[len(pl.chunks)-1]
		if pl.ringSize < 2*big || pl.ringSize&(pl.ringSize-1) != 0 {
			t.Errorf("%+v: ring of %d bytes for chunks of %d", o,
				pl.ringSize, big)
		}
		for _, c := range pl.chunks {
			if pl.passBytes(c)%c != 0 || pl.passBytes(c) > pl.maxBytes {
				t.Errorf("%+v: pass of %d bytes in chunks of %d", o,
					pl.passBytes(c), c)
			}
		}
		if pl.rounds == 0 && pl.batchFor == 0 {
			t.Errorf("%+v: no round trips", o)
		}
	}
	opts = options{}
}

func TestOffsets(t *testing.T) {
	seen := map[int]bool{}
	for k := range 200 {
		off := offsetOf(k)
		if off%64 != 0 || off < 0 || off >= slack || seen[off] {
			t.Fatalf("offsetOf(%d) = %d", k, off)
		}
		seen[off] = true
	}
}

func TestPattern(t *testing.T) {
	a, b := pattern(1<<20), pattern(1<<20)
	if !bytes.Equal(a, b) {
		t.Fatal("two patterns differ")
	}
	if bytes.Equal(a[:4096], a[4096:8192]) || checksum(a[:64]) ==
		checksum(a[64:128]) {
		t.Fatal("the pattern repeats itself")
	}
}

func TestPow2(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 4, 4096: 4096,
		4097: 8192} {
		if got := pow2(n); got != want {
			t.Errorf("pow2(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	if got := chunkList([]int{64, 64 << 10, 1 << 20}); got !=
		"64 B, 64 KiB and 1 MiB" {
		t.Errorf("chunkList = %q", got)
	}
	for x, want := range map[float64]string{0: "-", 0.256: "0.26",
		12.34: "12.3", 257.4: "257"} {
		if got := number(x); got != want {
			t.Errorf("number(%v) = %q, want %q", x, got, want)
		}
	}
	var m pinMode
	if m.String() != "two" || m.Set("three") == nil || m.Set("one") != nil ||
		m.String() != "one" {
		t.Errorf("pinMode: %q", m)
	}
}

// TestPeerFails: a peer that dies before it is ready is an error that
// says so, not a hang, and it is reaped.
func TestPeerFails(t *testing.T) {
	exe, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false command here")
	}
	var undo []func()
	cfg := peerConfig{exe: exe, kind: kindPipe, peerCPU: -1,
		make: func(do func() error, u func()) error {
			undo = append(undo, u)
			return do()
		}}
	p, err := startPeer(cfg)
	if err == nil || p != nil {
		t.Fatalf("startPeer with %s: %v, want an error", exe, err)
	}
	if !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("error %q does not say how the peer ended", err)
	}
	for _, u := range undo {
		u() // must not block: the child is reaped already
	}
}
