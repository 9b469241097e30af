package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/golden"
	"github.com/mmaplab/mmaplab/internal/shm"
)

func TestMain(m *testing.M) {
	code := m.Run()
	golden.Cleanup()
	os.Exit(code)
}

// perRun hides what differs from run to run: the process ID and the
// random number in the object names.
var perRun = []golden.Rule{{
	Re:   regexp.MustCompile(`mmaplab-05-\d+-[0-9a-f]{8}`),
	Repl: "mmaplab-05-RUN",
}}

func TestGolden(t *testing.T) {
	golden.Suite{Dir: "testdata", Command: "05-shm", Rules: perRun}.Run(t)
}

// TestGoldenDevShm pins the sections, which need POSIX shared memory:
// /dev/shm, a tmpfs, that does not hand out huge pages by itself.
func TestGoldenDevShm(t *testing.T) {
	needDevShm(t)
	if why := hugeDevShm(); why != "" {
		t.Skipf("%s: the page counts of the goldens are for small pages",
			why)
	}
	golden.Suite{Dir: "testdata/devshm", Command: "05-shm",
		Rules: perRun}.Run(t)
	if left := leftInDevShm("mmaplab-05-"); len(left) > 0 {
		t.Errorf("left in /dev/shm: %v", left)
	}
}

func needDevShm(t *testing.T) {
	t.Helper()
	if why := noDevShm(); why != "" {
		t.Skipf("%s: no POSIX shared memory", why)
	}
}

// hugeDevShm says why tmpfs may back /dev/shm with huge pages, or "".
func hugeDevShm() string {
	b, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
	if strings.Contains(string(b), "[force]") {
		return "shmem_enabled is force"
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == shm.Dir &&
			strings.Contains(f[3], "huge=always") {
			return shm.Dir + " is mounted huge=always"
		}
	}
	return ""
}

// leftInDevShm lists the names in /dev/shm that start with prefix.
func leftInDevShm(prefix string) []string {
	entries, _ := os.ReadDir(shm.Dir)
	var left []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			left = append(left, e.Name())
		}
	}
	return left
}

// stressArgs run the sections that start child processes, with 100
// round trips of ping-pong: 200 runs make 20,000.
var stressArgs = []string{"-only", "lifetime,race,private,pingpong",
	"-rounds", "100"}

// TestStress runs the sections that start processes again and again, two
// runs at a time: no run may hang, print anything but what the first run
// printed, leave an object in /dev/shm or a file in $TMPDIR, or leave a
// child unreaped. With -short it does 20 runs instead of 200.
func TestStress(t *testing.T) {
	needDevShm(t)
	runs := 200
	if testing.Short() {
		runs = 20
	}
	exe := golden.Build(t, "")
	env := labEnv(t)
	becomeSubreaper(t)
	first, _, err := runLab(exe, env, stressArgs...)
	if err != nil || bytes.Contains(first, []byte("UNEXPECTED")) {
		t.Fatalf("run 0: %v\n%s", err, first)
	}
	inParallel(runs-1, func(i int) {
		out, pid, err := runLab(exe, env, stressArgs...)
		switch {
		case err != nil:
			t.Errorf("run %d: %v\n%s", i+1, err, out)
		case !bytes.Equal(out, first):
			t.Errorf("run %d printed something else than run 0:\n%s\n"+
				"run 0:\n%s", i+1, out, first)
		}
		checkDevShm(t, fmt.Sprintf("run %d", i+1), pid)
	})
	checkReaped(t)
}

// inParallel calls run(0) ... run(n-1), two at a time: one per core of
// a small machine, and each run is itself two processes taking turns.
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

// TestInterrupt interrupts the lab while its ping-pong child runs, as
// Ctrl-C in a terminal does (SIGINT to the whole process group) and as
// kill does (SIGINT to the lab alone): the lab must die of the signal
// after removing its objects and killing and reaping its child.
func TestInterrupt(t *testing.T) {
	needDevShm(t)
	exe := golden.Build(t, "")
	env := labEnv(t)
	becomeSubreaper(t)
	for _, group := range []bool{true, false} {
		cmd, out := startLab(t, exe, env, "-only", "pingpong",
			"-rounds", "1000000000")
		pid := cmd.Process.Pid
		err := waitFor("the ping-pong child and object", func() bool {
			return len(childrenOf(pid)) > 0 &&
				len(leftInDevShm(prefixOf(pid))) > 0
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond) // a few thousand round trips
		target := pid
		if group {
			target = -pid // the lab leads its own process group
		}
		if err := unix.Kill(target, unix.SIGINT); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if !killedBy(err, syscall.SIGINT) {
			t.Errorf("group %v: %v, want death by SIGINT\n%s", group, err,
				out)
		}
		checkDevShm(t, fmt.Sprintf("group %v", group), pid)
		checkReaped(t)
	}
}

// TestInterruptAnywhere sends SIGINT to the lab and its children at
// random moments: whenever it comes, nothing may be left behind. The lab
// ends by the signal, or, where a section saw its child die of it first,
// with exit status 1 and that error.
func TestInterruptAnywhere(t *testing.T) {
	needDevShm(t)
	runs := 40
	if testing.Short() {
		runs = 5
	}
	exe := golden.Build(t, "")
	env := labEnv(t)
	becomeSubreaper(t)
	inParallel(runs, func(i int) {
		cmd, out := startLab(t, exe, env)
		pid := cmd.Process.Pid
		// The first line shows that the lab's signal handler is in
		// place: before it, Go's default action kills the lab at once.
		err := waitFor("the first line", func() bool { return out.Len() > 0 })
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
		time.Sleep(rand.N(25 * time.Millisecond))
		unix.Kill(-pid, unix.SIGINT)
		err = cmd.Wait()
		var exit *exec.ExitError
		failed := errors.As(err, &exit) && exit.ExitCode() == 1
		if err != nil && !killedBy(err, syscall.SIGINT) && !failed {
			t.Errorf("run %d: %v\n%s", i, err, out)
		}
		checkDevShm(t, fmt.Sprintf("run %d", i), pid)
	})
	checkReaped(t)
}

// runLab runs the lab's binary to the end, within 10 seconds, and
// returns its normalised output and process ID.
func runLab(exe string, env []string, args ...string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("hung: killed after 10s")
	}
	return perRun[0].Re.ReplaceAll(out, []byte(perRun[0].Repl)),
		cmd.Process.Pid, err
}

// startLab starts the lab's binary in a process group of its own, as a
// shell does, and collects its output.
func startLab(t *testing.T, exe string, env []string,
	args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(10*time.Second, func() {
		unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	})
	t.Cleanup(func() { timer.Stop() })
	return cmd, out
}

// labEnv returns the environment for runs of the lab: no colours, and a
// $TMPDIR of their own that must be empty at the end of the test.
func labEnv(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("left in $TMPDIR: %v", left)
		}
	})
	return append(os.Environ(), "NO_COLOR=1", "TMPDIR="+dir)
}

// syncBuffer collects a process's output while the test reads its
// length.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// becomeSubreaper makes this test process the one that inherits the
// lab's orphans: a child that the lab did not reap becomes ours, and
// checkNothingLeft finds it.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// checkDevShm fails the test if the lab run pid left an object in
// /dev/shm.
func checkDevShm(t *testing.T, run string, pid int) {
	t.Helper()
	if left := leftInDevShm(prefixOf(pid)); len(left) > 0 {
		t.Errorf("%s: left in /dev/shm: %v", run, left)
		for _, name := range left {
			os.Remove(filepath.Join(shm.Dir, name))
		}
	}
}

// checkReaped fails the test if a lab left a child that it did not reap.
// This process inherits such orphans (becomeSubreaper): once every lab
// it started is reaped, it must have no child at all.
func checkReaped(t *testing.T) {
	t.Helper()
	for _, p := range childrenOf(os.Getpid()) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		t.Errorf("a lab left a process it did not reap: %s", b)
		unix.Kill(p, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(p, &ws, 0, nil)
	}
}

// prefixOf is the start of the names of the objects of the lab run pid.
func prefixOf(pid int) string { return fmt.Sprintf("mmaplab-05-%d-", pid) }

// childrenOf lists the children of process pid, zombies included: the
// processes whose parent (the 4th field of /proc/PID/stat) is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, f := range stats {
		b, _ := os.ReadFile(f)
		// "PID (COMM) STATE PPID ...": COMM may hold spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		var state string
		var ppid, kid int
		if i < 0 || len(b) < i+2 {
			continue
		}
		if _, err := fmt.Sscan(string(b[i+2:]), &state, &ppid); err != nil {
			continue
		}
		if ppid == pid {
			fmt.Sscan(string(b), &kid)
			kids = append(kids, kid)
		}
	}
	return kids
}

// waitFor polls cond for up to 10 seconds.
func waitFor(what string, cond func() bool) error {
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// killedBy reports whether err says the process died of signal sig.
func killedBy(err error, sig syscall.Signal) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
