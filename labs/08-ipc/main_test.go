package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"syscall"
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
	env := golden.LabEnv(t)
	golden.Subreaper(t)
	args := []string{"-verify", "-only", "throughput,roundtrip"}
	golden.Stress(t, runs,
		func() ([]byte, int, error) { return runLab(exe, env, args...) },
		func(i, pid int) { checkDevShm(t, fmt.Sprintf("run %d", i), pid) })
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
	env := golden.LabEnv(t)
	golden.Subreaper(t)
	golden.InParallel(runs, func(i int) {
		cmd, out := golden.StartLab(t, exe, env, "-quick")
		pid := cmd.Process.Pid
		err := golden.WaitFor("a child process", func() bool {
			return len(golden.Children(pid)) > 0
		})
		if err != nil {
			t.Errorf("run %d: %v\n%s", i, err, out)
		}
		time.Sleep(rand.N(300 * time.Millisecond))
		unix.Kill(-pid, unix.SIGINT)
		err = cmd.Wait()
		var exit *exec.ExitError
		failed := errors.As(err, &exit) && exit.ExitCode() == 1
		if err != nil && !golden.KilledBy(err, syscall.SIGINT) && !failed {
			t.Errorf("run %d: %v\n%s", i, err, out)
		}
		checkDevShm(t, fmt.Sprintf("run %d", i), pid)
	})
	golden.CheckReaped(t)
}

// runLab runs the lab's binary to the end and returns its normalised
// output and process ID.
func runLab(exe string, env []string, args ...string) ([]byte, int, error) {
	out, pid, err := golden.RunLab(exe, env, args...)
	for _, r := range machineRules {
		out = r.Re.ReplaceAll(out, []byte(r.Repl))
	}
	return out, pid, err
}

// checkDevShm fails the test if the lab run pid (0: any run of this
// lab) left an object in /dev/shm.
func checkDevShm(t *testing.T, run string, pid int) {
	t.Helper()
	prefix := "mmaplab-08-"
	if pid > 0 {
		prefix = fmt.Sprintf("mmaplab-08-%d-", pid)
	}
	golden.CheckDevShm(t, run, prefix)
}
