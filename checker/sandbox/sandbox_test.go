package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary is also the program the launcher runs: with
// SANDBOX_PROG set it does one thing and exits.
func TestMain(m *testing.M) {
	if what := os.Getenv("SANDBOX_PROG"); what != "" {
		prog(what)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func prog(what string) {
	cmd, arg, _ := strings.Cut(what, ":")
	switch cmd {
	case "create":
		for _, p := range strings.Split(arg, ",") {
			err := os.WriteFile(p, []byte("x"), 0o666)
			fmt.Printf("%s: %v\n", filepath.Base(p), err)
		}
	case "inet":
		_, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		fmt.Printf("inet: %v\n", err)
		_, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
		fmt.Printf("inet6: %v\n", err)
		_, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		fmt.Printf("socketpair: %v\n", err)
	case "umask":
		fmt.Printf("umask: %#o\n", unix.Umask(0))
	case "spin":
		for {
		}
	case "hog":
		var keep [][]byte
		for i := 0; i < 64; i++ {
			b := make([]byte, 8<<20)
			for j := range b {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep))
	}
}

// launchProg runs the test binary as the program, confined by c.
func launchProg(t *testing.T, c Config, what string) (string, error) {
	t.Helper()
	env := append(os.Environ(), "SANDBOX_PROG="+what)
	path, args, env, err := Command(c, os.Args[0], nil, env)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func TestLandlockConfinesWrites(t *testing.T) {
	if LandlockABI() == 0 {
		t.Skip("this kernel has no Landlock")
	}
	inside, outside := t.TempDir(), t.TempDir()
	out, err := launchProg(t, Config{Writable: []string{inside}},
		"create:"+filepath.Join(inside, "in")+","+filepath.Join(outside, "out"))
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "in: <nil>\nout: open " + filepath.Join(outside, "out") +
		": permission denied\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(outside, "out")); err == nil {
		t.Error("the file outside was created")
	}
}

func TestNoInetSockets(t *testing.T) {
	out, err := launchProg(t, Config{NoInet: true}, "inet")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "inet: permission denied\ninet6: permission denied\n" +
		"socketpair: <nil>\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestUmask(t *testing.T) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	out, err := launchProg(t, Config{}, "umask")
	if err != nil || out != "umask: 022\n" {
		t.Errorf("got %q, %v", out, err)
	}
}

func TestCPULimit(t *testing.T) {
	start := time.Now()
	_, err := launchProg(t, Config{CPUSeconds: 1}, "spin")
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want death by a signal", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || (ws.Signal() != unix.SIGXCPU && ws.Signal() != unix.SIGKILL) {
		t.Errorf("status %v, want SIGXCPU or SIGKILL", ws)
	}
	ru := ee.SysUsage().(*syscall.Rusage)
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if used > 3*time.Second {
		t.Errorf("used %v of CPU (in %v) with a 1 s CPU limit", used,
			time.Since(start))
	}
}

func TestMemoryCgroup(t *testing.T) {
	cg, err := NewMemoryCgroup(64 << 20)
	if err != nil {
		t.Skipf("no memory cgroup here: %v", err)
	}
	defer func() {
		if err := cg.Remove(); err != nil {
			t.Error(err)
		}
	}()
	out, err := launchProg(t, Config{Cgroup: cg.Dir}, "hog")
	if err == nil {
		t.Fatalf("a 512 MiB program ran in a 64 MiB cgroup: %s", out)
	}
	if !cg.OOMKilled() {
		t.Errorf("the cgroup reports no OOM kill (%v)", err)
	}
}

func TestInetFilterJumps(t *testing.T) {
	// Every jump must land inside the program.
	f := inetFilter(1)
	for i, ins := range f {
		if ins.Code&0x07 == bpfJMP {
			for _, off := range []uint8{ins.Jt, ins.Jf} {
				if i+1+int(off) >= len(f) {
					t.Errorf("instruction %d jumps out of the filter", i)
				}
			}
		}
	}
}
