// Package fork starts a child process the way C's fork(2) does: the child
// is a copy of this process, with the same memory mappings, and runs a Go
// function of the parent instead of a new program. Lab 06 uses it to show
// what a child inherits: a MAP_SHARED|MAP_ANONYMOUS mapping is shared with
// it, a MAP_PRIVATE one is copied on write.
//
// Go has no fork without exec (golang/go#227), because a Go program is
// many threads and fork copies only the one that calls it. The child gets
// the memory of every goroutine, lock and run queue, but none of the
// threads that were using them: a lock another thread held at the fork
// stays held forever, and the garbage collector, the scheduler and the
// timers have no thread left to run on. So the child function must need
// none of them. The rules, each with its reason:
//
//   - No allocation (no new, make, append, string concatenation, maps,
//     closures created in the child, values put in interfaces): the
//     allocator takes locks and may start the garbage collector.
//   - No locks, channels, goroutines, defer, time.Sleep, fmt or log:
//     they need the scheduler or allocate.
//   - System calls only through unix.RawSyscall and RawSyscall6. The
//     ordinary ones (unix.Write, os.File...) tell the scheduler that the
//     thread is leaving and ask for it back, and may park the goroutine.
//   - Store plain values (numbers, bytes), never pointers: storing a
//     pointer may need the garbage collector's threads (write barrier).
//   - Keep it small: the child's stack cannot grow. Fork leaves it at
//     least 32 KiB, enough for loops and a few calls, not for recursion.
//   - Return the exit code; never call os.Exit. Fork ends the child with
//     exit_group(2), so nothing else of the runtime runs.
//   - Do not panic (no index out of range, no nil map writes): a panic
//     needs the runtime. If one happens all the same, Fork stops it
//     before it reaches the parent's code and the child exits with
//     status 2; but a panic allocates, and if the fork came during a
//     garbage collection, that allocation waits for the collector's
//     threads, which the child does not have: the child hangs, and Wait
//     with it.
//
// Before the call, Fork does what package syscall does around its own
// fork before exec: it holds syscall.ForkLock and blocks signals, and
// keeps the scheduler from preempting this goroutine while it forks. In
// the child it resets the signal handlers that the Go runtime installed
// to the defaults, so a fault in the child (SIGSEGV, SIGBUS) kills it by
// that signal, which Wait reports, instead of running the runtime's
// handler in a process without its threads.
//
// The race detector runs threads of its own and instruments every memory
// access: a forked child of a -race binary would need them. Under -race,
// Fork refuses with ErrRace.
package fork

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe" // and for go:linkname

	"golang.org/x/sys/unix"
)

// ErrRace is returned by Fork in a program built with -race.
var ErrRace = errors.New("fork: not available under the race detector " +
	"(it needs its own threads in the child)")

// Child is a process started by Fork.
type Child struct {
	Pid    int
	waited bool
}

// Fork starts a child process that is a copy of this one and runs child
// in it; the value child returns is the child's exit code. In the parent,
// Fork returns at once. child must follow the rules in the package
// documentation. Every child must be waited for (Wait), or it stays a
// zombie until this process ends.
//
// The child is made by a raw clone system call with only SIGCHLD in its
// flags, which is what fork(2) is: arm64 has no fork system call.
func Fork(child func() int) (*Child, error) {
	if raceEnabled {
		return nil, ErrRace
	}
	if !cloneChecked {
		return nil, fmt.Errorf("fork: clone's arguments are not checked "+
			"on %s", runtime.GOARCH)
	}
	// No other goroutine may create a file descriptor without
	// close-on-exec, or fork and exec, while we fork.
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	stackRoom()
	pid, errno := forkAndRun(child)
	if errno != 0 {
		return nil, fmt.Errorf("fork: clone: %w", errno)
	}
	return &Child{Pid: pid}, nil
}

// forkAndRun forks. In the parent it returns the child's pid. In the
// child it runs child and ends the process with its exit code.
//
// Between beforeFork and afterFork the parent must call only functions
// marked go:nosplit (beforeFork makes any stack check fail on purpose);
// the system call functions of unix and syscall are.
//
//go:noinline
func forkAndRun(child func() int) (int, unix.Errno) {
	beforeFork()
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD),
		0, 0, 0, 0, 0)
	if errno != 0 || pid != 0 {
		afterFork() // in the parent
		return int(pid), errno
	}
	// In the child: one thread, a copy of the parent's memory.
	afterForkInChild() // signal handlers to SIG_DFL, signals unblocked
	afterFork()        // undo beforeFork's stack trap: child may call Go
	runChild(child)
	return 0, 0 // not reached
}

// runChild runs child and ends the process with its exit code. If child
// panics (or calls runtime.Goexit), it ends the process with exit status
// 2, as a Go program that panics does: the panic must not unwind into the
// frames of the code that called Fork, whose deferred calls belong to the
// parent.
//
//go:noinline
func runChild(child func() int) {
	defer func() {
		recover()
		say(childPanicked)
		exitGroup(2)
	}()
	exitGroup(child())
}

const childPanicked = "fork: the child panicked: exit status 2\n"

// say writes msg to standard error with a raw system call.
//
//go:nosplit
func say(msg string) {
	unix.RawSyscall(unix.SYS_WRITE, 2,
		uintptr(unsafe.Pointer(unsafe.StringData(msg))), uintptr(len(msg)))
}

// exitGroup ends the process with code, running nothing else.
//
//go:nosplit
func exitGroup(code int) {
	for {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(code), 0, 0)
	}
}

// childStack is the stack the child can count on. stackRoom grows the
// stack to twice that at least: the garbage collector halves a stack at
// most once before forkAndRun starts.
const childStack = 32 << 10

// stackRoom grows this goroutine's stack before the fork, so that the
// child does not need to: growing a stack allocates.
//
//go:noinline
func stackRoom() byte {
	var pad [2 * childStack]byte
	pad[0], pad[len(pad)-1] = 1, 1
	return pad[len(pad)/2]
}

// The runtime's own fork protocol, which package syscall uses around the
// fork of fork+exec. The runtime keeps these names for that purpose
// (see go.dev/issue/67401).
//
// beforeFork blocks all signals on this thread and keeps the goroutine
// from being preempted (the child would inherit a pending preemption and
// run the scheduler); it also poisons the stack guard, so that a stack
// check fails loudly instead of growing the stack.
//
//go:linkname beforeFork syscall.runtime_BeforeFork
func beforeFork()

// afterFork undoes beforeFork: stack guard, signal mask, preemption.
//
//go:linkname afterFork syscall.runtime_AfterFork
func afterFork()

// afterForkInChild resets the signals the runtime handles to SIG_DFL and
// restores the signal mask.
//
//go:linkname afterForkInChild syscall.runtime_AfterForkInChild
func afterForkInChild()

// Status is how a child ended.
type Status struct {
	Code   int         // exit code, when it exited
	Signal unix.Signal // the signal that killed it, or 0
	Core   bool        // it dumped core
}

// Success reports whether the child exited with code 0.
func (s Status) Success() bool { return s.Signal == 0 && s.Code == 0 }

// String returns "exit status 3" or "killed by SIGSEGV".
func (s Status) String() string {
	if s.Signal == 0 {
		return fmt.Sprintf("exit status %d", s.Code)
	}
	name := unix.SignalName(s.Signal)
	if name == "" {
		name = s.Signal.String()
	}
	if s.Core {
		return "killed by " + name + " (core dumped)"
	}
	return "killed by " + name
}

// Wait waits for the child to end (wait4 on its pid) and reports how.
func (c *Child) Wait() (Status, error) {
	if c.waited {
		return Status{}, errors.New("wait4: child already waited for")
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(c.Pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Status{}, fmt.Errorf("wait4: %w", err)
		}
		break
	}
	c.waited = true
	if ws.Signaled() {
		return Status{Signal: ws.Signal(), Core: ws.CoreDump()}, nil
	}
	return Status{Code: ws.ExitStatus()}, nil
}

// Kill sends SIGKILL to a child that has not been waited for: for
// cleanups. Wait for it afterwards.
func (c *Child) Kill() error {
	if c.waited {
		return nil
	}
	if err := unix.Kill(c.Pid, unix.SIGKILL); err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	return nil
}
