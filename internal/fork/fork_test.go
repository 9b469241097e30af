package fork

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if raceEnabled {
		// Nothing else can run: check the refusal and stop.
		if _, err := Fork(func() int { return 0 }); !errors.Is(err, ErrRace) {
			println("under -race, Fork returned", err, "; want ErrRace")
			os.Exit(1)
		}
		println("fork: tests skipped under -race (Fork refuses: ErrRace)")
	}
	os.Exit(m.Run())
}

// skipRace skips a test that forks when the binary is built with -race.
func skipRace(t *testing.T) {
	if raceEnabled {
		t.Skip("built with -race: Fork refuses (ErrRace)")
	}
}

// start forks child and fails the test if Fork does.
func start(t *testing.T, child func() int) *Child {
	t.Helper()
	c, err := Fork(child)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitWithin waits for c, killing it and failing the test if it has not
// ended after d: a hung child must fail the test, not hang it.
func waitWithin(t *testing.T, c *Child, d time.Duration) Status {
	t.Helper()
	type result struct {
		st  Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := c.Wait()
		done <- result{st, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.st
	case <-time.After(d):
		c.Kill()
		<-done
		t.Fatalf("child still running after %v: killed it", d)
		return Status{}
	}
}

// sharedPage maps one page of MAP_SHARED|MAP_ANONYMOUS memory.
func sharedPage(t *testing.T) []byte {
	m, err := unix.Mmap(-1, 0, os.Getpagesize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

func TestExitCodesReachTheParent(t *testing.T) {
	skipRace(t)
	for _, code := range []int{0, 1, 3, 42, 255} {
		st := waitWithin(t, start(t, func() int { return code }), 5*time.Second)
		if st.Signal != 0 || st.Code != code || st.Success() != (code == 0) {
			t.Errorf("child returned %d: parent got %v", code, st)
		}
	}
}

// TestFaultIsReported makes the child fault in three ways: each must kill
// it by the signal the kernel sends, and the parent must hear of it.
func TestFaultIsReported(t *testing.T) {
	skipRace(t)
	readOnly, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(readOnly)
	pastEOF := emptyFileMapping(t)
	var nilPtr *uint64
	cases := []struct {
		name  string
		child func() int
		want  unix.Signal
	}{
		{"nil pointer", func() int { *nilPtr = 1; return 0 }, unix.SIGSEGV},
		{"read-only page", func() int { readOnly[0] = 1; return 0 }, unix.SIGSEGV},
		{"past end of file", func() int { pastEOF[0] = 1; return 0 }, unix.SIGBUS},
	}
	for _, c := range cases {
		noCore(t)
		st := waitWithin(t, start(t, c.child), 5*time.Second)
		if st.Signal != c.want {
			t.Errorf("%s: parent got %v, want killed by %s", c.name, st,
				unix.SignalName(c.want))
		}
	}
}

// emptyFileMapping maps one page of an empty memfd: the page is past the
// end of the file, so touching it is SIGBUS.
func emptyFileMapping(t *testing.T) []byte {
	fd, err := unix.MemfdCreate("fork-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	m, err := unix.Mmap(fd, 0, os.Getpagesize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

// noCore keeps the children of the test from writing core files.
func noCore(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &old); err != nil {
		t.Fatal(err)
	}
	if old.Cur == 0 {
		return
	}
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: old.Max})
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_CORE, &old) })
}

func TestSharedAndPrivateMemory(t *testing.T) {
	skipRace(t)
	shared := sharedPage(t)
	private := make([]byte, 8)
	private[0] = 'P'
	st := waitWithin(t, start(t, func() int {
		shared[0] = 'C'
		private[0] = 'C'
		return 0
	}), 5*time.Second)
	if !st.Success() {
		t.Fatalf("child: %v", st)
	}
	if shared[0] != 'C' {
		t.Errorf("shared mapping: parent reads %q, want the child's 'C'", shared[0])
	}
	if private[0] != 'P' {
		t.Errorf("Go heap (private): parent reads %q, want its own 'P'", private[0])
	}
}

func TestWaitTwice(t *testing.T) {
	skipRace(t)
	c := start(t, func() int { return 0 })
	waitWithin(t, c, 5*time.Second)
	if _, err := c.Wait(); err == nil {
		t.Error("second Wait: no error")
	}
	if err := c.Kill(); err != nil {
		t.Errorf("Kill after Wait: %v", err)
	}
}

func TestKill(t *testing.T) {
	skipRace(t)
	c := start(t, func() int {
		for {
			unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	})
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if st := waitWithin(t, c, 5*time.Second); st.Signal != unix.SIGKILL {
		t.Errorf("killed child: %v", st)
	}
}

func TestStatusString(t *testing.T) {
	for st, want := range map[Status]string{
		{Code: 3}:                         "exit status 3",
		{Signal: unix.SIGSEGV}:            "killed by SIGSEGV",
		{Signal: unix.SIGBUS, Core: true}: "killed by SIGBUS (core dumped)",
		{Signal: unix.SIGKILL}:            "killed by SIGKILL",
	} {
		if got := st.String(); got != want {
			t.Errorf("%#v: %q, want %q", st, got, want)
		}
	}
}

// sumSquares is a child's work: a loop, no allocation. It is not inlined,
// so that the child makes a call with a stack check, where a pending
// preemption would strike.
//
//go:noinline
func sumSquares(from, to uint64) uint64 {
	var s uint64
	for i := from; i <= to; i++ {
		s += i * i
	}
	return s
}

// TestManyForksWhileGCRuns forks while other goroutines allocate as fast
// as they can, so that garbage collections, stack scans and preemption
// requests are under way at the moments of the forks. A child that
// inherited a pending preemption would run the scheduler and hang: with
// a plain clone and no runtime fork protocol, every one of 5 runs of this
// test hung a child.
func TestManyForksWhileGCRuns(t *testing.T) {
	skipRace(t)
	const forks = 200
	slots := unsafe.Slice((*uint64)(unsafe.Pointer(&sharedPage(t)[0])), 8)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < runtime.GOMAXPROCS(0); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			allocate(&stop)
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for i := 0; i < forks; i++ {
		k := uint64(i % len(slots))
		want := sumSquares(1, 1000+uint64(i))
		c := start(t, func() int {
			atomic.StoreUint64(&slots[k], sumSquares(1, 1000+uint64(i)))
			return int(k)
		})
		st := waitWithin(t, c, 5*time.Second)
		if st.Signal != 0 || st.Code != int(k) {
			t.Fatalf("fork %d: child %v, want exit status %d", i, st, k)
		}
		if got := atomic.LoadUint64(&slots[k]); got != want {
			t.Fatalf("fork %d: slot holds %d, want %d", i, got, want)
		}
	}
}

// allocate makes garbage until stop, keeping some of it alive so that
// each collection has work to do.
func allocate(stop *atomic.Bool) {
	var live [][]byte
	for !stop.Load() {
		live = append(live, make([]byte, 4<<10))
		if len(live) == 1000 {
			live = nil
		}
	}
}

// TestPanicInChild: a panic is against the rules, but it must end the
// child with exit status 2, not hang it, and must not run the deferred
// calls of the code that called Fork: they belong to the parent. (With
// no garbage collection running at the fork: during one, the panic's
// allocation would wait for the collector, see the package comment.)
func TestPanicInChild(t *testing.T) {
	skipRace(t)
	runtime.GC() // the collections of the tests before are over
	shared := sharedPage(t)
	parent := unix.Getpid()
	c := func() *Child {
		defer func() {
			if unix.Getpid() != parent {
				shared[0] = 'D' // a deferred call of the parent ran in the child
			}
		}()
		index := 3
		var small [2]int
		return start(t, func() int {
			devNull()
			small[index%4] = 1 // index out of range: a run-time panic
			return 0
		})
	}()
	st := waitWithin(t, c, 5*time.Second)
	if st.Signal != 0 || st.Code != 2 {
		t.Errorf("child that panicked: %v, want exit status 2", st)
	}
	if shared[0] != 0 {
		t.Error("the panic unwound into the parent's frames in the child")
	}
}

// devNull points the child's stderr at /dev/null, so that its message
// does not clutter the test output.
//
//go:nosplit
func devNull() {
	fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, 0, // absolute path
		uintptr(unsafe.Pointer(&devNullPath[0])), unix.O_WRONLY, 0, 0, 0)
	if errno == 0 {
		unix.RawSyscall(unix.SYS_DUP3, fd, 2, 0)
	}
}

var devNullPath = []byte("/dev/null\x00")
