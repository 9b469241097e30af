package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
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
	if left := golden.LeftInDevShm("mmaplab-05-"); len(left) > 0 {
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
	env := golden.LabEnv(t)
	golden.Subreaper(t)
	golden.Stress(t, runs,
		func() ([]byte, int, error) { return runLab(exe, env, stressArgs...) },
		func(i, pid int) { checkDevShm(t, fmt.Sprintf("run %d", i), pid) })
}

// TestInterrupt interrupts the lab while its ping-pong child runs, as
// Ctrl-C in a terminal does (SIGINT to the whole process group) and as
// kill does (SIGINT to the lab alone): the lab must die of the signal
// after removing its objects and killing and reaping its child.
func TestInterrupt(t *testing.T) {
	needDevShm(t)
	exe := golden.Build(t, "")
	env := golden.LabEnv(t)
	golden.Subreaper(t)
	for _, group := range []bool{true, false} {
		cmd, out := golden.StartLab(t, exe, env, "-only", "pingpong",
			"-rounds", "1000000000")
		pid := cmd.Process.Pid
		err := golden.WaitFor("the ping-pong child and object", func() bool {
			return len(golden.Children(pid)) > 0 &&
				len(golden.LeftInDevShm(prefixOf(pid))) > 0
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
		if !golden.KilledBy(err, syscall.SIGINT) {
			t.Errorf("group %v: %v, want death by SIGINT\n%s", group, err,
				out)
		}
		checkDevShm(t, fmt.Sprintf("group %v", group), pid)
		golden.CheckReaped(t)
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
	env := golden.LabEnv(t)
	golden.Subreaper(t)
	golden.InParallel(runs, func(i int) {
		cmd, out := golden.StartLab(t, exe, env)
		pid := cmd.Process.Pid
		// The first line shows that the lab's signal handler is in
		// place: before it, Go's default action kills the lab at once.
		err := golden.WaitFor("the first line", func() bool { return out.Len() > 0 })
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
		time.Sleep(rand.N(25 * time.Millisecond))
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
	return perRun[0].Re.ReplaceAll(out, []byte(perRun[0].Repl)), pid, err
}

// checkDevShm fails the test if the lab run pid left an object in
// /dev/shm.
func checkDevShm(t *testing.T, run string, pid int) {
	t.Helper()
	golden.CheckDevShm(t, run, prefixOf(pid))
}

// prefixOf is the start of the names of the objects of the lab run pid.
func prefixOf(pid int) string { return fmt.Sprintf("mmaplab-05-%d-", pid) }
