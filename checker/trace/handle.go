package trace

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// handle acts on one status from wait4.
func (t *Tracer) handle(r waitResult) {
	tk := t.tasks[r.tid]
	if tk == nil {
		tk = t.adopt(r.tid)
	}
	if tk == nil {
		if r.ws.Stopped() {
			unix.PtraceSyscall(r.tid, 0) // never leave a tracee stopped
		} else {
			t.gone[r.tid] = nil // never known: its fork event may come
		}
		return
	}
	switch {
	case r.ws.Exited() || r.ws.Signaled():
		t.exited(tk, r.ws)
	case r.ws.Stopped():
		t.stopped(tk, r.ws)
	}
}

// stopped dispatches a stop by its kind: syscall, ptrace event, signal.
func (t *Tracer) stopped(tk *task, ws unix.WaitStatus) {
	if tk.armed != tk.ps.watchGen && !tk.step {
		t.arm(tk) // a new thread, or one that was running at Watch
	}
	sig := ws.StopSignal()
	switch {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(tk)
	case sig == unix.SIGTRAP && ws.TrapCause() > 0:
		t.event(tk, ws.TrapCause())
	default:
		t.signalStop(tk, sig)
	}
}

// resume restarts a stopped thread until its next syscall stop (or for
// one instruction, while it steps over a watched store), with sig
// delivered (0 for none). An error means that the thread was killed
// while stopped: its exit is reported next.
func (t *Tracer) resume(tk *task, sig unix.Signal) {
	req := unix.PTRACE_SYSCALL
	if tk.step {
		req = unix.PTRACE_SINGLESTEP
	}
	unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tk.tid), 0,
		uintptr(sig), 0, 0)
}

// proceed ends the handling of a stop: the thread resumes with sig, unless
// a callback asked to hold it.
func (t *Tracer) proceed(tk *task, sig unix.Signal) {
	if tk.hold > 0 {
		t.holds = append(t.holds,
			hold{tk: tk, sig: sig, until: time.Now().Add(tk.hold)})
		tk.hold = 0
		return
	}
	t.resume(tk, sig)
}

// stop makes the Stop given to callbacks at a stop of tk.
func (t *Tracer) stop(tk *task) *Stop {
	return &Stop{Tid: tk.tid, Pid: tk.ps.p.Pid, Proc: tk.ps.p, t: t, tk: tk}
}

// event handles a PTRACE_EVENT stop: fork, clone, exec or exit.
func (t *Tracer) event(tk *task, cause int) {
	msg, err := unix.PtraceGetEventMsg(tk.tid)
	switch cause {
	case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK:
		if err == nil {
			t.newChild(tk, int(msg), false, t.cloneFlags(tk))
		}
	case unix.PTRACE_EVENT_CLONE:
		if err == nil {
			flags := t.cloneFlags(tk)
			thread := flags&unix.CLONE_THREAD != 0
			if tk.cur == nil {
				tgid, _, _ := readStatus(int(msg))
				thread = tgid != int(msg)
			}
			t.newChild(tk, int(msg), thread, flags)
		}
	case unix.PTRACE_EVENT_EXEC:
		tk = t.execed(tk, int(msg))
	case unix.PTRACE_EVENT_EXIT:
		t.exiting(tk, int(msg))
	}
	t.proceed(tk, 0)
}

// cloneFlags returns the CLONE_* flags of the call tk is in.
func (t *Tracer) cloneFlags(tk *task) uint64 {
	if tk.cur == nil {
		return 0
	}
	return tk.cur.CloneFlags
}

// execed handles a successful execve of tk. If a thread other than the
// leader called it, the kernel gave it the leader's tid (former is its
// old tid): its state moves there. It returns the task now at work.
func (t *Tracer) execed(tk *task, former int) *task {
	ps := tk.ps
	if former != 0 && former != tk.tid {
		if old := t.tasks[former]; old != nil {
			delete(t.tasks, former)
			old.tid = tk.tid
			t.dropHold(tk)
			t.tasks[tk.tid] = old
			tk = old
		}
	}
	path := ""
	if tk.cur != nil {
		path = tk.cur.Path
	}
	if path == "" {
		path, _ = os.Readlink("/proc/" + strconv.Itoa(tk.tid) + "/exe")
	}
	ps.p.Execs = append(ps.p.Execs, path)
	ps.gen++
	ps.prog = path
	// The other threads are gone; some may still report their exit.
	for _, tid := range ps.p.Threads {
		if other := t.tasks[tid]; other != nil && other != tk {
			other.exiting = true
		}
	}
	ps.live, ps.groupExit, ps.exitCalled = 1, false, false
	tk.exiting = false
	// The new program has a new address space and clean debug registers.
	ps.watches = [maxWatch]*watch{}
	ps.watchGen++
	tk.armed = ps.watchGen
	return tk
}

// exiting handles PTRACE_EVENT_EXIT of tk: OnExit runs once per process,
// at the first thread to exit if the process is ending as a whole, else
// at its last thread, while the memory is still there.
func (t *Tracer) exiting(tk *task, status int) {
	ps := tk.ps
	if !tk.exiting {
		tk.exiting = true
		ps.live--
	}
	killed := unix.WaitStatus(status).Signaled()
	whole := ps.groupExit || ps.live == 0 || killed
	if ps.exitCalled || !whole {
		return
	}
	ps.exitCalled = true
	if t.opts.OnExit != nil {
		t.opts.OnExit(t.stop(tk))
	}
}

// signalStop handles a stop with a signal: the first stop of a new
// thread, a group-stop, or a signal about to be delivered.
func (t *Tracer) signalStop(tk *task, sig unix.Signal) {
	if tk.root {
		tk.root, tk.fresh = false, false
		t.firstStop(tk, true)
		return
	}
	si, err := getSiginfo(tk.tid)
	switch {
	case errors.Is(err, unix.EINVAL):
		t.groupStop(tk) // no signal to deliver: a group-stop
	case tk.fresh && sig == unix.SIGSTOP && si.attachStop():
		tk.fresh = false
		t.firstStop(tk, false)
	case !t.swallowed(tk, sig, si):
		t.deliver(tk, sig, si)
	}
}

// firstStop handles the first stop of a thread, whose signal (the SIGSTOP
// of a new thread, the SIGTRAP of the root after its execve) is dropped.
// At the root's, setup sets the ptrace options, inherited by all others.
func (t *Tracer) firstStop(tk *task, setup bool) {
	if setup {
		err := unix.PtraceSetOptions(tk.tid, ptraceOptions)
		if err != nil {
			t.fail(fmt.Errorf("ptrace setoptions %d: %w", tk.tid, err))
		}
		t.probeSyscallInfo(tk.tid)
	}
	if tk.tid == tk.ps.p.Pid && t.opts.OnNewProcess != nil {
		t.opts.OnNewProcess(t.stop(tk))
	}
	t.proceed(tk, 0)
}

// swallowed handles the signals that are the tracer's own: a SIGSTOP it
// sent to stop a thread, and the SIGTRAPs of watchpoints.
func (t *Tracer) swallowed(tk *task, sig unix.Signal, si siginfo) bool {
	switch {
	case sig == unix.SIGSTOP && si.fromTracer():
		// Sent by stopAndArm; two may have merged into one.
	case sig == unix.SIGTRAP && tk.step:
		tk.step = false // stepped over the watched store: arm again
		t.arm(tk)
	case sig == unix.SIGTRAP && si.code() == trapHWBKPT && tk.ps.watching():
		t.watchHit(tk, si)
		return true // watchHit resumes it, or holds it
	default:
		return false
	}
	t.resume(tk, 0)
	return true
}

// deliver records a signal delivery, calls OnSignal, and resumes the
// thread with the signal.
func (t *Tracer) deliver(tk *task, sig unix.Signal, si siginfo) {
	rec := &Signal{Seq: t.nextSeq(), Tid: tk.tid, Pid: tk.ps.p.Pid,
		Signo: sig, Code: si.code(), Addr: si.addr(), At: t.since()}
	rec.Sender, rec.Status = si.pidStatus(sig)
	t.trace.Signals = append(t.trace.Signals, rec)
	switch {
	case isStopSignal(sig):
		tk.ps.stopping = true // its threads will report a group-stop
	case sig == unix.SIGCONT:
		tk.ps.stopping = false
	}
	if t.opts.OnSignal != nil {
		s := t.stop(tk)
		s.Signal = rec
		t.opts.OnSignal(s)
	}
	t.proceed(tk, sig)
}
