package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/sandbox"
)

var (
	progOnce sync.Once
	progExe  string
	progErr  error
)

// prog builds testdata/prog once.
func prog(t *testing.T) string {
	t.Helper()
	progOnce.Do(func() {
		root, err := ModuleRoot(".")
		if err != nil {
			progErr = err
			return
		}
		progExe, progErr = Build(context.Background(), root, "testdata/prog", "prog")
	})
	if progErr != nil {
		t.Fatal(progErr)
	}
	return progExe
}

func TestMain(m *testing.M) {
	code := m.Run()
	if progExe != "" {
		os.RemoveAll(filepath.Dir(progExe))
	}
	os.Exit(code)
}

func runProg(t *testing.T, lim Limits, args ...string) *Exec {
	t.Helper()
	dir := t.TempDir()
	return Run(context.Background(), Program{Exe: prog(t), Name: "prog",
		Args: args, Dir: dir}, lim)
}

func TestOutputAndExitCode(t *testing.T) {
	e := runProg(t, Limits{}, "echo", "a", "b c")
	if e.Err != nil || e.ExitCode != 3 || string(e.Stdout) != "a b c\n" ||
		string(e.Stderr) != "to stderr\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q, err %v",
			e.ExitCode, e.Stdout, e.Stderr, e.Err)
	}
	if got := e.Program.CommandLine(); got != "prog echo a 'b c'" {
		t.Errorf("CommandLine = %q", got)
	}
}

func TestStdin(t *testing.T) {
	dir := t.TempDir()
	e := Run(context.Background(), Program{Exe: prog(t), Args: []string{"stdin"},
		Dir: dir, Stdin: []byte("hi")}, Limits{})
	if string(e.Stdout) != "\"hi\"\n" {
		t.Errorf("stdout %q", e.Stdout)
	}
}

func TestOutputCap(t *testing.T) {
	e := runProg(t, Limits{Output: 1000}, "flood")
	if len(e.Stdout) != 1000 || e.StdoutLost != 3<<20-1000 {
		t.Errorf("kept %d, lost %d", len(e.Stdout), e.StdoutLost)
	}
}

func TestSigbusDiagnosis(t *testing.T) {
	if os.Getpagesize() != 4096 {
		t.Skip("the test program assumes 4 KiB pages")
	}
	e := runProg(t, Limits{}, "sigbus")
	if !e.Crashed() || len(e.Faults) != 1 || e.Faults[0].Signal != unix.SIGBUS {
		t.Fatalf("exit %d, faults %+v, stderr %s", e.ExitCode, e.Faults, e.Stderr)
	}
	f := e.Faults[0]
	if f.Page != 1 || f.FileLen != 0 || filepath.Base(f.Path) != "empty" {
		t.Errorf("fault %+v", f)
	}
	d := e.Diagnosis(map[string]string{f.Path: "DST"})
	for _, want := range []string{"SIGBUS touching page 1 of the mapping of DST",
		"the file has 0 bytes", "ftruncate", "the Go runtime crashed"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagnosis %q lacks %q", d, want)
		}
	}
}

func TestOrphanIsKilledAndReported(t *testing.T) {
	start := time.Now()
	e := runProg(t, Limits{Timeout: 5 * time.Second}, "orphan")
	if e.ExitCode != 0 || len(e.Leftovers) != 1 || e.TimedOut {
		t.Fatalf("exit %d, leftovers %d, timed out %v", e.ExitCode,
			len(e.Leftovers), e.TimedOut)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the orphan held the checker", d)
	}
	if !strings.Contains(e.Diagnosis(nil), "still ran after") {
		t.Errorf("diagnosis %q", e.Diagnosis(nil))
	}
}

func TestTimeout(t *testing.T) {
	start := time.Now()
	e := runProg(t, Limits{Timeout: 200 * time.Millisecond}, "sleep")
	if !e.TimedOut || e.Signal != unix.SIGTERM || e.Limit != LimitTime {
		t.Fatalf("timed out %v, signal %v, limit %q", e.TimedOut, e.Signal,
			e.Limit)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestTermIgnorer: a program that ignores SIGTERM when its time is up is
// killed with SIGKILL after Grace.
func TestTermIgnorer(t *testing.T) {
	start := time.Now()
	e := runProg(t, Limits{Timeout: 200 * time.Millisecond}, "ignoreterm")
	if !e.TimedOut || e.Signal != unix.SIGKILL {
		t.Fatalf("timed out %v, signal %v", e.TimedOut, e.Signal)
	}
	if d := time.Since(start); d > 200*time.Millisecond+Grace+time.Second {
		t.Errorf("took %v", d)
	}
}

// TestOutsideWithoutLandlock: where the kernel cannot confine writes, the
// files the program made outside its directory are found from the trace
// and removed; with Landlock the write is refused.
func TestOutsideWithoutLandlock(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	os.Mkdir(work, 0o755)
	name := fmt.Sprint(time.Now().UnixNano())
	e := Run(context.Background(), Program{Exe: prog(t), Name: "prog",
		Args: []string{"outside", name}, Dir: work}, Limits{NoLandlock: true})
	escaped := filepath.Join(dir, "outside-"+name)
	if len(e.Outside) != 1 || e.Outside[0] != escaped {
		t.Errorf("Outside = %v, want [%s]", e.Outside, escaped)
	}
	if _, err := os.Stat(escaped); err == nil {
		t.Error("the file outside is still there")
	}
	if strings.Contains(e.Confinement, "Landlock)") {
		t.Errorf("confinement %q", e.Confinement)
	}
	if sandboxHasLandlock() {
		e := Run(context.Background(), Program{Exe: prog(t), Name: "prog",
			Args: []string{"outside", name}, Dir: work}, Limits{})
		if len(e.Outside) != 0 || len(e.Refused()) != 1 {
			t.Errorf("with Landlock: outside %v, refused %v", e.Outside,
				e.Refused())
		}
	}
}

// TestMemoryWatch: without a memory cgroup, the checker adds up the
// tree's resident memory itself and kills it over the limit.
func TestMemoryWatch(t *testing.T) {
	e := runProg(t, Limits{NoCgroup: true, Memory: 256 << 20,
		Timeout: 20 * time.Second}, "hog")
	if e.Limit != LimitMemory || !strings.Contains(e.Confinement,
		"watched resident memory") {
		t.Errorf("limit %q, confinement %q", e.Limit, e.Confinement)
	}
}

func TestCrashSummary(t *testing.T) {
	report := `panic: runtime error: index out of range [3] with length 3

goroutine 1 [running]:
main.copyPages(...)
	/home/s/labs/03/exercise/main.go:27 +0x1d
main.main()
	/home/s/labs/03/exercise/main.go:12 +0x18
exit status 2
`
	want := "panic: runtime error: index out of range [3] with length 3 " +
		"at main.go:27 in main.copyPages"
	if got := CrashSummary(report); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if CrashSummary("open x: no such file\n") != "" {
		t.Error("an ordinary error is not a crash")
	}
}

func sandboxHasLandlock() bool { return sandbox.LandlockABI() > 0 }
