package golden

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Helpers for the tests that run a lab's binary many times, interrupt it,
// and check that it left nothing behind: no process, no file in $TMPDIR,
// no object in /dev/shm.

// Subreaper makes the test process the one that inherits the orphans of
// the processes it starts, for the rest of the test: a child that a lab
// left running or did not reap becomes a child of the test, and
// CheckReaped finds it.
func Subreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// Children lists the children of process pid, zombies included: the
// processes whose parent (the 4th field of /proc/PID/stat) is pid.
func Children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		// "PID (COMM) STATE PPID ...": COMM may hold spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		if kid, err := strconv.Atoi(strings.Fields(string(b))[0]); err == nil {
			kids = append(kids, kid)
		}
	}
	return kids
}

// CheckReaped fails the test for every child the test process has left,
// then kills and reaps it. Call it once every process the test started
// has been waited for: with Subreaper, what remains are the orphans that
// a lab left behind.
func CheckReaped(t *testing.T) {
	t.Helper()
	for _, pid := range Children(os.Getpid()) {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		t.Errorf("a process was left behind, or not reaped: %s", stat)
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}
}

// CheckRunning is CheckReaped for processes still running: zombies are
// reaped without a word. A test that is the subreaper of a tree the
// checker killed gets the tree's dead orphans; only live ones are left
// behind.
func CheckRunning(t *testing.T) {
	t.Helper()
	for _, pid := range Children(os.Getpid()) {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || len(stat) < i+3 || stat[i+2] != 'Z' {
			t.Errorf("a process was left running: %s", stat)
			unix.Kill(pid, unix.SIGKILL)
		}
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}
}

// InParallel calls run(0) ... run(n-1), two at a time: one per core of a
// small machine.
func InParallel(n int, run func(i int)) {
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

// LabEnv returns the environment for runs of a lab in a test: no colours,
// and a $TMPDIR of their own that must be empty when the test ends.
func LabEnv(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("left in $TMPDIR: %v", left)
		}
	})
	return append(os.Environ(), "NO_COLOR=1", "TMPDIR="+dir)
}

// RunLab runs exe to the end, killing it after 10 seconds, and returns
// its output (stdout and stderr) and its process ID.
func RunLab(exe string, env []string, args ...string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("hung: killed after 10s")
	}
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	return out, pid, err
}

// StartLab starts exe in a process group of its own, as a shell does,
// and collects its output; it is killed if it still runs after 10
// seconds.
func StartLab(t *testing.T, exe string, env []string,
	args ...string) (*exec.Cmd, *Buffer) {
	t.Helper()
	out := &Buffer{}
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

// Buffer collects a process's output while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Len returns the number of bytes collected so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor polls cond for up to 10 seconds.
func WaitFor(what string, cond func() bool) error {
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// KilledBy reports whether err says the process died of signal sig.
func KilledBy(err error, sig syscall.Signal) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// LeftInDevShm lists the names in /dev/shm that start with prefix.
func LeftInDevShm(prefix string) []string {
	entries, _ := os.ReadDir("/dev/shm")
	var left []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			left = append(left, e.Name())
		}
	}
	return left
}

// CheckDevShm fails the test if /dev/shm holds names that start with
// prefix, and removes them.
func CheckDevShm(t *testing.T, what, prefix string) {
	t.Helper()
	if left := LeftInDevShm(prefix); len(left) > 0 {
		t.Errorf("%s: left in /dev/shm: %v", what, left)
		for _, name := range left {
			os.Remove(filepath.Join("/dev/shm", name))
		}
	}
}

// Stress runs a lab n times, two at a time, and fails the test for a run
// that fails, makes a claim that did not hold (UNEXPECTED), or prints
// something other than the first run. run runs the lab once and returns
// its output, normalised, and its process ID; after, if not nil, checks
// what a run left, by its number and process ID.
func Stress(t *testing.T, n int, run func() ([]byte, int, error),
	after func(i, pid int)) {
	t.Helper()
	check := func(i int) []byte {
		out, pid, err := run()
		switch {
		case err != nil:
			t.Errorf("run %d: %v\n%s", i, err, out)
		case bytes.Contains(out, []byte("UNEXPECTED")):
			t.Errorf("run %d: a claim did not hold:\n%s", i, out)
		}
		if after != nil {
			after(i, pid)
		}
		return out
	}
	first := check(0)
	if t.Failed() {
		t.FailNow()
	}
	InParallel(n-1, func(i int) {
		if out := check(i + 1); !bytes.Equal(out, first) {
			t.Errorf("run %d printed something else than run 0:\n%s\n"+
				"run 0:\n%s", i+1, out, first)
		}
	})
	CheckReaped(t)
}
