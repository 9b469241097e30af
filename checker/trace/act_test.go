package trace

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// micros returns the number printed after key in out: "start 123 us".
func micros(t *testing.T, out, key string) time.Duration {
	t.Helper()
	var n int64
	for _, line := range strings.Split(out, "\n") {
		if _, err := fmt.Sscanf(line, key+" %d us", &n); err == nil {
			return time.Duration(n) * time.Microsecond
		}
	}
	t.Fatalf("no %q in %q", key, out)
	return 0
}

func TestHold(t *testing.T) {
	const d = 150 * time.Millisecond
	t.Run("new process", func(t *testing.T) {
		// The child is held before its first instruction; the parent
		// returns from clone and runs on meanwhile.
		opts := Options{OnNewProcess: func(s *Stop) {
			if s.Pid != s.Trace().Root.Pid {
				s.Hold(d)
			}
		}}
		_, out := run(t, opts, "rawfork")
		if start := micros(t, out, "start"); start < d {
			t.Errorf("child started %v after the fork, want >= %v", start, d)
		}
		if clone := micros(t, out, "clone"); clone > d/2 {
			t.Errorf("parent held too: clone took %v", clone)
		}
	})
	t.Run("syscall exit", func(t *testing.T) {
		// The parent is held at the exit of its fork; the child runs.
		opts := Options{OnSyscall: func(s *Stop) {
			if s.Exit && s.Syscall.Name == "clone" &&
				s.Syscall.CloneFlags == 0 {
				s.Hold(d)
			}
		}}
		_, out := run(t, opts, "rawfork")
		if clone := micros(t, out, "clone"); clone < d {
			t.Errorf("clone took %v, want >= %v", clone, d)
		}
		if start := micros(t, out, "start"); start > d/2 {
			t.Errorf("child held too: started after %v", start)
		}
	})
}

// TestHoldServes checks that the tracer serves the parent's syscalls
// while the child is held: the parent makes getppid calls for 100 ms.
func TestHoldServes(t *testing.T) {
	const d = 200 * time.Millisecond
	var from time.Duration
	opts := Options{OnNewProcess: func(s *Stop) {
		if s.Pid != s.Trace().Root.Pid {
			from = s.t.since()
			s.Hold(d)
		}
	}}
	tr, out := run(t, opts, "spin")
	during := 0
	for _, c := range tr.Calls("getppid") {
		if c.Enter > from && c.Leave < from+d {
			during++
		}
	}
	t.Logf("%s%d getppid calls during the hold", out, during)
	if during < 50 {
		t.Errorf("only %d getppid calls served during the hold", during)
	}
}

func TestSigbus(t *testing.T) {
	dir := t.TempDir()
	var mapping string
	opts := Options{OnSignal: func(s *Stop) {
		if s.Signal.Signo == unix.SIGBUS {
			m, err := s.Smaps(s.Signal.Addr)
			if err != nil {
				t.Errorf("smaps at SIGBUS: %v", err)
			}
			mapping = m.Path
		}
	}}
	tr, _ := run(t, opts, "sigbus", dir)
	if tr.Root.ExitCode != 2 || tr.Root.Signal != 0 {
		t.Errorf("exit %d, signal %v; want exit 2 (Go runtime)",
			tr.Root.ExitCode, tr.Root.Signal)
	}
	mmap := find(tr, tr.Root.Pid, "mmap", func(c *Syscall) bool {
		return strings.HasSuffix(c.FdPath, "/empty")
	})
	var bus *Signal
	for _, s := range tr.Signals {
		if s.Signo == unix.SIGBUS {
			bus = s
		}
	}
	if mmap == nil || bus == nil {
		dump(t, tr)
		t.Fatalf("mmap %v, SIGBUS %v", mmap, bus)
	}
	if bus.Addr != mmap.Addr()+100 || bus.Code != 2 || bus.Pid != tr.Root.Pid {
		t.Errorf("SIGBUS at %#x code %d, want %#x+100 BUS_ADRERR",
			bus.Addr, bus.Code, mmap.Addr())
	}
	want := fmt.Sprintf("--- SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRERR, "+
		"si_addr=%#x} ---", bus.Addr)
	if bus.String() != want {
		t.Errorf("got %s\nwant %s", bus, want)
	}
	if !strings.HasSuffix(mapping, "/empty") {
		t.Errorf("mapping at the fault: %q", mapping)
	}
}

func TestWatch(t *testing.T) {
	var shared uintptr
	var hits []string
	var watchErrs []error
	var atExit []byte
	var mmapTid, hitTid int
	onWrite := func(s *Stop) {
		b, err := s.ReadMem(shared, 128)
		if err != nil {
			t.Errorf("read at the hit: %v", err)
			return
		}
		hitTid = s.Tid
		if m, err := s.Smaps(s.Hit.TrapAddr); runtime.GOARCH == "amd64" &&
			(err != nil || !strings.HasSuffix(m.Path, "/watch")) {
			t.Errorf("trap at %#x: not in the program's code: %v %v",
				s.Hit.TrapAddr, m.Path, err)
		}
		hits = append(hits, fmt.Sprintf("ready=%d length=%d text=%q "+
			"after=%q at %#x", binary.NativeEndian.Uint32(b),
			binary.NativeEndian.Uint32(b[4:]), b[8:13], b[100:105],
			s.Hit.Addr-shared))
	}
	opts := Options{
		OnSyscall: func(s *Stop) {
			c := s.Syscall
			if !s.Exit || c.Name != "mmap" ||
				c.Arg(3) != unix.MAP_SHARED|unix.MAP_ANONYMOUS {
				return
			}
			shared, mmapTid = c.Addr(), s.Tid
			watchErrs = watchSlots4(s, shared)
			if err := s.Watch(shared, 4, onWrite); err != nil {
				t.Errorf("watch: %v", err)
			}
		},
		OnExit: func(s *Stop) { atExit, _ = s.ReadMem(shared+100, 5) },
	}
	tr, out := run(t, opts, "watch")
	want := `ready=1 length=5 text="hello" after="\x00\x00\x00\x00\x00" at 0x0`
	if len(hits) != 1 || hits[0] != want {
		dump(t, tr)
		t.Fatalf("hits:\n%s\nwant one: %s", strings.Join(hits, "\n"), want)
	}
	for _, err := range watchErrs {
		t.Error(err)
	}
	if out != "after\n" || string(atExit) != "after" {
		t.Errorf("output %q, at exit %q", out, atExit)
	}
	if hitTid == mmapTid {
		t.Logf("store on the thread that mapped (%d)", hitTid)
	}
	for _, s := range tr.Signals {
		if s.Signo == unix.SIGTRAP || s.Signo == unix.SIGSTOP {
			t.Errorf("tracer's own signal recorded: %s", s)
		}
	}
}

// watchSlots4 checks Watch's errors: a bad size, a misaligned address,
// five watchpoints when there are four registers; then removes the three
// it set. It returns what went wrong.
func watchSlots4(s *Stop, base uintptr) []error {
	var errs []error
	nop := func(*Stop) {}
	if s.Watch(base, 3, nop) == nil || s.Watch(base+2, 4, nop) == nil {
		errs = append(errs, fmt.Errorf("bad watch accepted"))
	}
	page := uintptr(os.Getpagesize())
	for i := range uintptr(3) {
		if err := s.Watch(base+2*page+8*i, 8, nop); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.Watch(base, 4, nop); err != nil {
		errs = append(errs, err) // the fourth
	}
	err := s.Watch(base+4, 4, nop)
	if err == nil || !strings.Contains(err.Error(), "no free debug register") {
		errs = append(errs, fmt.Errorf("fifth watch: %v", err))
	}
	for i := range uintptr(3) {
		if err := s.Unwatch(base + 2*page + 8*i); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.Unwatch(base); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func TestTimeout(t *testing.T) {
	// The deadline leaves the tree time to start even on a loaded
	// machine: the grandchild must be asleep when it comes.
	const deadline = time.Second
	program(t, "sleeper") // build before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	tr, out := run(t, Options{Context: ctx}, "sleeper")
	late := time.Since(start) - deadline
	if !tr.TimedOut || out != "ready\n" {
		dump(t, tr)
		t.Fatalf("timed out %v, output %q", tr.TimedOut, out)
	}
	if late > 300*time.Millisecond {
		t.Errorf("ended %v after the deadline", late)
	}
	ran := 0
	for _, p := range tr.Procs {
		if len(p.Execs) > 0 {
			ran++
			if p.Signal != unix.SIGKILL {
				t.Errorf("process %d: %s", p.Pid, p)
			}
		}
		if !p.Exited || running(p.Pid) {
			t.Errorf("process %d still running", p.Pid)
		}
	}
	if ran != 3 {
		t.Errorf("%d processes ran a program, want 3", ran)
	}
	setsid := tr.Calls("setsid")
	if len(setsid) != 1 || !setsid[0].OK() {
		t.Errorf("setsid: %v", setsid)
	}
}

// running reports whether pid is a process that is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(after, "Z")
}

// TestKillAll kills the tree from another goroutine once the grandchild
// says it is ready on a pipe, then from a callback.
func TestKillAll(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tracer, err := Start(Options{Path: program(t, "sleeper"), Stdout: w})
	w.Close() // the tree has it now
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "ready\n" {
		t.Errorf("read %q: %v", buf, err)
	}
	tracer.KillAll()
	tr, err := tracer.Wait()
	if err != nil || tr.TimedOut || tr.Root.Pid != tracer.Pid() ||
		tr.Root.Signal != unix.SIGKILL {
		t.Errorf("after KillAll: %v, timed out %v, root %s", err,
			tr.TimedOut, tr.Root)
	}
	for _, p := range tr.Procs {
		if running(p.Pid) {
			t.Errorf("process %d still running", p.Pid)
		}
	}
	t.Run("callback", testKillAllCallback)
}

// testKillAllCallback kills the tree at the grandchild's setsid.
func testKillAllCallback(t *testing.T) {
	opts := Options{OnSyscall: func(s *Stop) {
		if s.Exit && s.Syscall.Name == "setsid" {
			s.KillAll()
		}
	}}
	start := time.Now()
	tr, _ := run(t, opts, "sleeper")
	if time.Since(start) > 2*time.Second || tr.TimedOut {
		t.Errorf("took %v, timed out %v", time.Since(start), tr.TimedOut)
	}
	for _, p := range tr.Procs {
		if running(p.Pid) {
			t.Errorf("process %d still running", p.Pid)
		}
	}
}

func TestStartError(t *testing.T) {
	_, err := Run(context.Background(), Options{Path: "/nonexistent/prog"})
	if err == nil || !regexp.MustCompile(`^start /nonexistent/prog: `).
		MatchString(err.Error()) {
		t.Errorf("got %v", err)
	}
}

// TestConcurrent runs two tracers at once: each must see its own tree
// only, since wait4 in one tracer thread could take the other's events.
func TestConcurrent(t *testing.T) {
	path := program(t, "reexec")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			for range 5 {
				tr, err := Run(context.Background(),
					Options{Path: path})
				if err != nil {
					errs <- err
					return
				}
				kids := tr.Children(tr.Root.Pid)
				if tr.Root.ExitCode != 0 || len(kids) == 0 ||
					len(tr.Procs) != 1+len(kids) {
					errs <- fmt.Errorf("exit %d, %d children, %d processes",
						tr.Root.ExitCode, len(kids), len(tr.Procs))
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
