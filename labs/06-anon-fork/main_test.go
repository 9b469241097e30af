package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mmaplab/mmaplab/internal/golden"
)

func TestMain(m *testing.M) {
	code := m.Run()
	golden.Cleanup()
	os.Exit(code)
}

// runs hides what differs from run to run: how many copy-on-write faults
// the fork itself cost the parent (its claim says that it varies).
var runs = []golden.Rule{
	{Re: regexp.MustCompile(`(?m)^(step \d+: fork: .*minflt )\+\d+`),
		Repl: "${1}+N"},
}

func TestGolden(t *testing.T) {
	skipRace(t)
	golden.Suite{Dir: "testdata", Command: labName, Rules: runs}.Run(t)
}

// TestGolden4K pins the shared section where the kernel maps a 16-page
// fault-around window of 4 KiB pages (its default, 64 KiB): the pages a
// read fault maps with it depend on both.
func TestGolden4K(t *testing.T) {
	skipRace(t)
	if ps := os.Getpagesize(); ps != 4096 {
		t.Skipf("%d-byte pages: the golden is for 4 KiB pages", ps)
	}
	b, err := os.ReadFile("/sys/kernel/debug/fault_around_bytes")
	if err == nil && strings.TrimSpace(string(b)) != "65536" {
		t.Skipf("fault_around_bytes is %s, the golden is for 65536",
			strings.TrimSpace(string(b)))
	}
	golden.Suite{Dir: "testdata/4k", Command: labName, Rules: runs}.Run(t)
}

func skipRace(t *testing.T) {
	if raceBuild {
		t.Skip("built with -race: the lab's forks refuse to run")
	}
}

// multiProcess are the sections that start processes.
const multiProcess = "shared,private,workers,rules,exec"

// TestStress runs every multi-process section 200 times (20 with -short),
// two lab processes at a time, and checks each run: it ends within 10
// seconds (no hang), exits 0 without UNEXPECTED, prints what the first
// run printed (no wrong answer), and leaves nothing in $TMPDIR or
// /dev/shm. This test is the subreaper of the lab's orphans: a child the
// lab did not reap, or left running, ends up as a child of the test.
func TestStress(t *testing.T) {
	skipRace(t)
	n := 200
	if testing.Short() {
		n = 20
	}
	exe := golden.Build(t, "")
	env := golden.LabEnv(t)
	golden.Subreaper(t)
	golden.Stress(t, n, func() ([]byte, int, error) {
		out, pid, err := golden.RunLab(exe, env, "-only", multiProcess)
		return runs[0].Re.ReplaceAll(out, []byte(runs[0].Repl)), pid, err
	}, nil)
	golden.CheckDevShm(t, "stress", "mmaplab-06")
}

func TestShare(t *testing.T) {
	// The shares of the workers cover 1..n once, in order.
	for _, n := range []uint64{0, 1, 3, 10, 1000001} {
		for _, w := range []uint64{1, 3, 4, 64} {
			next := uint64(1)
			for k := uint64(0); k < w; k++ {
				from, to := share(k, w, n)
				if from != next || to+1 < from {
					t.Fatalf("n=%d w=%d k=%d: %d..%d, want from %d",
						n, w, k, from, to, next)
				}
				next = to + 1
			}
			if next != n+1 {
				t.Errorf("n=%d w=%d: shares end at %d", n, w, next-1)
			}
		}
	}
}

func TestClosedForm(t *testing.T) {
	for _, n := range []uint64{0, 1, 2, 10, 1000} {
		if got, want := closedForm(n), sumSquares(1, n); got != want {
			t.Errorf("closedForm(%d) = %d, want %d", n, got, want)
		}
	}
	// Past 2⁶⁴ the sum wraps: both must wrap the same way.
	n := uint64(5_000_000)
	if got, want := closedForm(n), sumSquares(1, n); got != want {
		t.Errorf("closedForm(%d) = %d, want %d (mod 2⁶⁴)", n, got, want)
	}
}

func TestPageList(t *testing.T) {
	for want, ps := range map[string][]int{
		"page 3": {3}, "pages 2 and 5": {2, 5}, "pages 1, 2 and 5": {1, 2, 5},
	} {
		if got := pagesNamed(ps); got != want {
			t.Errorf("pagesNamed(%v) = %q, want %q", ps, got, want)
		}
	}
}
