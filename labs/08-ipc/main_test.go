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
	removeLabBuild()
	os.Exit(code)
}

// machineRules hide what differs from machine to machine but is no
// claim: how many CPUs, which ones, whether it is a virtual machine and
// how its idle CPUs wait, the scratch directory's file system, the pipe
// size limit, and the note the lab prints where $TMPDIR is tmpfs (its
// scratch files then move to a disk).
var machineRules = []golden.Rule{
	{Re: regexp.MustCompile(`(?m)^note: .*\n`), Repl: ""},
	{Re: regexp.MustCompile(`may use: \d+`), Repl: "may use: N"},
	{Re: regexp.MustCompile(`CPU \d+`), Repl: "CPU N"},
	{Re: regexp.MustCompile(`scratch directory: \S+`),
		Repl: "scratch directory: FS"},
	{Re: regexp.MustCompile(`pipe-max-size: .*`),
		Repl: "pipe-max-size: SIZE"},
	{Re: regexp.MustCompile(`virtual machine: .*`),
		Repl: "virtual machine: YES/NO"},
	{Re: regexp.MustCompile(`cpuidle driver: .*`),
		Repl: "cpuidle driver: DRIVER"},
}

func TestGolden(t *testing.T) {
	golden.Suite{Dir: "testdata", Command: labName,
		Rules: machineRules}.Run(t)
}

// TestGoldenIPC pins the sections. They need what every method needs:
// POSIX shared memory (/dev/shm, a tmpfs), two CPUs to pin the
// processes to, and a 1 MiB pipe.
func TestGoldenIPC(t *testing.T) {
	if why := noIPC(); why != "" {
		t.Skip(why)
	}
	golden.Suite{Dir: "testdata/ipc", Command: labName,
		Rules: machineRules}.Run(t)
	checkDevShm(t, "the golden runs", 0)
}

// noIPC says why the sections cannot run here as pinned, or "".
func noIPC() string {
	if why := noDevShm(); why != "" {
		return why + ": no POSIX shared memory"
	}
	if cpus, err := usableCPUs(); err != nil || len(cpus) < 2 {
		return fmt.Sprintf("CPUs %v (%v): the goldens pin two processes "+
			"to two CPUs", cpus, err)
	}
	if why := whyNot(kindPipe, mib); why != "" {
		return why + ": no 1 MiB pipe"
	}
	return ""
}

// TestStress runs the measuring sections with -verify again and again,
// two runs at a time: each must print what the first printed and leave
// nothing behind (in /dev/shm, $TMPDIR, or an unreaped child). Set
// STRESS=N for more runs than the default 10 (3 with -short).
func TestStress(t *testing.T) {
	if why := noIPC(); why != "" {
		t.Skip(why)
	}
	runs := 10
	if testing.Short() {
		runs = 3
	}
	fmt.Sscan(os.Getenv("STRESS"), &runs)
	exe := golden.Build(t, "")
	env := labEnv(t)
	becomeSubreaper(t)
	args := []string{"-verify", "-only", "throughput,roundtrip"}
	first, _, err := runLab(exe, env, args...)
	if err != nil || bytes.Contains(first, []byte("UNEXPECTED")) {
		t.Fatalf("run 0: %v\n%s", err, first)
	}
	inParallel(runs-1, func(i int) {
		out, pid, err := runLab(exe, env, args...)
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

// TestInterrupt sends SIGINT to the lab and its children (as Ctrl-C
// does) at random moments of -quick runs: whenever it comes, nothing
// may be left behind. The lab dies of the signal or, where it saw a
// child die of it first, fails with exit status 1.
func TestInterrupt(t *testing.T) {
	if why := noIPC(); why != "" {
		t.Skip(why)
	}
	runs := 8
	if testing.Short() {
		runs = 2
	}
	exe := golden.Build(t, "")
	env := labEnv(t)
	becomeSubreaper(t)
	inParallel(runs, func(i int) {
		cmd, out := startLab(t, exe, env, "-quick")
		pid := cmd.Process.Pid
		err := waitFor("a child process", func() bool {
			return len(childrenOf(pid)) > 0
		})
		if err != nil {
			t.Errorf("run %d: %v\n%s", i, err, out)
		}
		time.Sleep(rand.N(300 * time.Millisecond))
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

// runLab runs the lab's binary to the end, within a minute, and returns
// its normalised output and process ID.
func runLab(exe string, env []string, args ...string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("hung: killed after a minute")
	}
	for _, r := range machineRules {
		out = r.Re.ReplaceAll(out, []byte(r.Repl))
	}
	return out, cmd.Process.Pid, err
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
	timer := time.AfterFunc(time.Minute, func() {
		unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	})
	t.Cleanup(func() { timer.Stop() })
	return cmd, out
}

// inParallel calls run(0) ... run(n-1), two at a time.
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

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// becomeSubreaper makes this test process the one that inherits the
// lab's orphans: a child that the lab did not reap becomes ours, and
// checkReaped finds it.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// checkDevShm fails the test if the lab run pid (0: any run of this
// lab) left an object in /dev/shm.
func checkDevShm(t *testing.T, run string, pid int) {
	t.Helper()
	prefix := "mmaplab-08-"
	if pid > 0 {
		prefix = fmt.Sprintf("mmaplab-08-%d-", pid)
	}
	entries, _ := os.ReadDir(shm.Dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			t.Errorf("%s: left in /dev/shm: %s", run, e.Name())
			os.Remove(filepath.Join(shm.Dir, e.Name()))
		}
	}
}

// checkReaped fails the test if a lab left a child that it did not reap.
// This process inherits such orphans (becomeSubreaper): once every lab
// it started is reaped, it must have no child process at all. Children
// that are still exiting get a moment to do so.
func checkReaped(t *testing.T) {
	t.Helper()
	waitFor("the orphans to exit", func() bool {
		return len(childrenOf(os.Getpid())) == 0
	})
	for _, p := range childrenOf(os.Getpid()) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		t.Errorf("a lab left a process it did not reap: %s", b)
		unix.Kill(p, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(p, &ws, 0, nil)
	}
}

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
