package trace

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ptraceOptions make the kernel follow every thread and child, stop at
// exec and exit, mark syscall stops (SIGTRAP|0x80) and kill the tree if
// the tracer dies.
const ptraceOptions = unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC |
	unix.PTRACE_O_TRACEEXIT | unix.PTRACE_O_TRACESYSGOOD |
	unix.PTRACE_O_EXITKILL

// Tracer runs one traced program tree. Start it with Start, collect the
// result with Wait.
type Tracer struct {
	opts    Options
	started time.Time
	trace   *Trace
	err     error
	done    chan struct{}

	// The fields below belong to the tracer thread.
	tasks       map[int]*task    // live threads by tid
	gone        map[int]*Process // tids that exited before their fork event
	holds       []hold           // threads kept stopped (Hold, group-stop)
	deferred    []waitResult     // statuses collected early (by Watch)
	seq         int              // last record number
	regMode     bool             // no PTRACE_GET_SYSCALL_INFO: read registers
	backoff     time.Duration    // next pause while polling for holds
	contChecked time.Time        // last look for a SIGCONT (see releaseHolds)
	procs       map[int]*pstate  // live processes by tgid

	mu       sync.Mutex   // guards the fields below, shared with KillAll
	alive    map[int]bool // tgids of live processes
	killing  bool         // KillAll was called: kill every new process
	timedOut bool
	tooMany  bool // MaxTasks was passed
}

// waitResult is one status returned by wait4.
type waitResult struct {
	tid int
	ws  unix.WaitStatus
}

// forceRegMode makes new tracers read registers instead of using
// PTRACE_GET_SYSCALL_INFO; tests set it to cover that path.
var forceRegMode = false

// Run starts the program of opts traced, waits for the whole tree to end
// and returns the trace. When ctx ends first, the tree is killed and the
// trace says TimedOut.
func Run(ctx context.Context, opts Options) (*Trace, error) {
	opts.Context = ctx
	t, err := Start(opts)
	if err != nil {
		return nil, err
	}
	return t.Wait()
}

// Start starts the program of opts traced and returns once it runs (or
// failed to start). Every ptrace call happens on one goroutine locked to
// its OS thread, which also forks the program: the kernel takes ptrace
// requests only from the tracer thread.
func Start(opts Options) (*Tracer, error) {
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if err := opts.Context.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Path, err)
	}
	t := &Tracer{
		opts:    opts,
		trace:   &Trace{},
		done:    make(chan struct{}),
		tasks:   map[int]*task{},
		gone:    map[int]*Process{},
		procs:   map[int]*pstate{},
		alive:   map[int]bool{},
		backoff: minBackoff,
		regMode: forceRegMode,
	}
	startErr := make(chan error, 1)
	go t.run(startErr)
	if err := <-startErr; err != nil {
		return nil, err
	}
	go t.watchContext()
	return t, nil
}

// Pid returns the pid of the root process.
func (t *Tracer) Pid() int { return t.trace.Root.Pid }

// Wait waits until every process of the tree has exited and returns the
// trace. A time-out is not an error: the trace says TimedOut.
func (t *Tracer) Wait() (*Trace, error) {
	<-t.done
	return t.trace, t.err
}

// KillAll sends SIGKILL to every live process of the tree, by pid: a
// process that moved to its own session or process group is killed too.
// Processes forked afterwards are killed as soon as they appear. It may be
// called from any goroutine.
func (t *Tracer) KillAll() { t.killAll(false) }

func (t *Tracer) killAll(timedOut bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.killing = true
	t.timedOut = t.timedOut || timedOut
	for pid := range t.alive {
		unix.Kill(pid, unix.SIGKILL)
	}
}

// Signal sends sig to every live process of the tree, by pid, as KillAll
// does: SIGTERM first gives a program the chance to end on its own. It
// may be called from any goroutine.
func (t *Tracer) Signal(sig unix.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pid := range t.alive {
		unix.Kill(pid, sig)
	}
}

// watchContext kills the tree when the context or the timeout ends.
func (t *Tracer) watchContext() {
	ctx := t.opts.Context
	if t.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.opts.Timeout)
		defer cancel()
	}
	select {
	case <-ctx.Done():
		t.killAll(true)
	case <-t.done:
	}
}

// run is the tracer thread: it starts the program, then serves stops
// until every tracee has exited. The goroutine never unlocks its thread,
// so the thread ends with it and is never reused for other goroutines.
func (t *Tracer) run(startErr chan<- error) {
	runtime.LockOSThread()
	defer close(t.done)
	// Pauses while holds are pending are short; the default timer slack
	// of 50 µs would stretch them. The setting is per thread.
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	cmd, err := t.startChild()
	if err != nil {
		startErr <- err
		return
	}
	startErr <- nil
	if err := t.loop(); err != nil {
		t.fail(err)
	}
	cmd.Process.Release()
	t.finish()
}

// startChild forks and execs the program with PTRACE_TRACEME: it stops
// with SIGTRAP right after its execve, before its first instruction.
func (t *Tracer) startChild() (*exec.Cmd, error) {
	o := t.opts
	cmd := &exec.Cmd{
		Path:        o.Path,
		Args:        append([]string{o.Path}, o.Args...),
		Dir:         o.Dir,
		Env:         o.Env,
		Stdin:       o.Stdin,
		Stdout:      o.Stdout,
		Stderr:      o.Stderr,
		ExtraFiles:  o.ExtraFiles,
		SysProcAttr: &syscall.SysProcAttr{Ptrace: true},
	}
	// Stdin etc. are *os.File values stored in interfaces: a nil *os.File
	// must become a nil interface, or exec would use it.
	if o.Stdin == nil {
		cmd.Stdin = nil
	}
	if o.Stdout == nil {
		cmd.Stdout = nil
	}
	if o.Stderr == nil {
		cmd.Stderr = nil
	}
	t.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Path, err)
	}
	ps := t.addProcess(cmd.Process.Pid, 0, 0, 1, o.Path)
	ps.p.Execs = []string{o.Path}
	t.trace.Root = ps.p
	tk := t.addTask(cmd.Process.Pid, ps)
	tk.root = true
	return cmd, nil
}

// fail records the first error that makes the trace unreliable, and
// kills the tree: a tracer that cannot follow it must not leave it.
func (t *Tracer) fail(err error) {
	if t.err == nil {
		t.err = err
	}
	t.KillAll()
}

// finish completes the trace once the loop is over.
func (t *Tracer) finish() {
	t.trace.Duration = t.since()
	t.mu.Lock()
	t.trace.TimedOut = t.timedOut
	t.trace.TooMany = t.tooMany
	t.mu.Unlock()
}

// since returns the time elapsed since the program started.
func (t *Tracer) since() time.Duration { return time.Since(t.started) }

// loop serves stops until no tracee is left.
func (t *Tracer) loop() error {
	for len(t.tasks) > 0 {
		r, err := t.next()
		if errors.Is(err, unix.ECHILD) {
			return nil // nothing left to wait for
		}
		if err != nil {
			return err
		}
		t.handle(r)
	}
	return nil
}

// next returns the next stop or exit to handle: one collected early, else
// one from wait4. While a hold is pending, wait4 must not block: next
// polls it, and pauses between polls.
func (t *Tracer) next() (waitResult, error) {
	if len(t.deferred) > 0 {
		r := t.deferred[0]
		t.deferred = t.deferred[1:]
		return r, nil
	}
	for {
		t.releaseHolds()
		flags := unix.WALL | unix.WNOTHREAD
		if len(t.holds) > 0 {
			flags |= unix.WNOHANG
		}
		var ws unix.WaitStatus
		tid, err := unix.Wait4(-1, &ws, flags, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return waitResult{}, fmt.Errorf("wait4: %w", err)
		case tid == 0:
			t.pause()
			continue
		}
		t.backoff = minBackoff
		return waitResult{tid, ws}, nil
	}
}

// nextSeq numbers records of both kinds, syscalls and signals.
func (t *Tracer) nextSeq() int {
	t.seq++
	return t.seq
}
