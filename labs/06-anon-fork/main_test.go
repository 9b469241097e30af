package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
	runs := 200
	if testing.Short() {
		runs = 20
	}
	exe := golden.Build(t, "")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("NO_COLOR", "1")
	shmBefore := devShm()
	subreaper(t)
	first, err := stressRun(exe)
	if err != nil {
		t.Fatalf("run 0: %v", err)
	}
	inParallel(runs-1, func(i int) {
		out, err := stressRun(exe)
		switch {
		case err != nil:
			t.Errorf("run %d: %v", i+1, err)
		case !bytes.Equal(out, first):
			t.Errorf("run %d printed something else:\n%s\nrun 0:\n%s",
				i+1, out, first)
		}
	})
	for _, orphan := range leftChildren() {
		t.Errorf("a lab left a child it did not reap: %s", orphan)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left in $TMPDIR: %v", left)
	}
	for name := range devShm() {
		if !shmBefore[name] && strings.Contains(name, "06") {
			t.Errorf("left in /dev/shm: %s", name)
		}
	}
}

// stressRun runs the multi-process sections once and returns the output,
// normalised.
func stressRun(exe string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "-only",
		multiProcess).CombinedOutput()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("hung: killed after 10 s\n%s", out)
	case err != nil:
		return nil, fmt.Errorf("%v\n%s", err, out)
	case bytes.Contains(out, []byte("UNEXPECTED")):
		return nil, fmt.Errorf("a claim failed:\n%s", out)
	}
	return runs[0].Re.ReplaceAll(out, []byte(runs[0].Repl)), nil
}

// inParallel calls run(0) ... run(n-1), two at a time: a run is mostly
// one process that waits for its children, so two keep two cores busy.
func inParallel(n int, run func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i := range next {
				run(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// subreaper makes this test process the reaper of the orphans of its
// descendants for the duration of the test.
func subreaper(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// leftChildren kills and reaps the children of this process, zombies
// included, and describes them: once every lab run has been waited for,
// only the labs' orphans can be there.
func leftChildren() []string {
	var left []string
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, name := range stats {
		b, err := os.ReadFile(name)
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		// "PID (COMM) STATE PPID ...": COMM may hold spaces and ')'.
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		var pid int
		fmt.Sscan(string(b), &pid)
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		left = append(left, fmt.Sprintf("%s, state %s", b[:i+1], f[0]))
	}
	return left
}

// devShm lists the names in /dev/shm.
func devShm() map[string]bool {
	entries, _ := os.ReadDir("/dev/shm")
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
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
