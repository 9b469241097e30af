package trace

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// maxWatch is how many watchpoints a process can have: x86 has four
// debug address registers; arm64 has 2 to 16, of which four are used.
const maxWatch = 4

// stopWait bounds how long Watch waits for the running threads of the
// process to stop, so that their debug registers are set before they run
// on. A thread that does not stop in time (one blocked in a vfork, say)
// gets them at its next stop.
const stopWait = 100 * time.Millisecond

// watch is one write watchpoint of a process.
type watch struct {
	addr    uintptr
	size    int
	onWrite func(*Stop)
}

// watching reports whether the process has a watchpoint.
func (ps *pstate) watching() bool {
	for _, w := range ps.watches {
		if w != nil {
			return true
		}
	}
	return false
}

// Watch sets a hardware write watchpoint on size bytes (1, 2, 4 or 8,
// aligned) at addr in the tracee's process, on all its threads, present
// and future. When a thread stores there, onWrite is called at that
// instant, with s.Hit set; the SIGTRAP is not delivered. On amd64 the
// store is done when onWrite runs; on arm64 it is about to be done.
// The watchpoint lasts until Unwatch, or until the process execs.
func (s *Stop) Watch(addr uintptr, size int, onWrite func(*Stop)) error {
	if err := checkWatch(addr, size); err != nil {
		return fmt.Errorf("watch %#x: %w", addr, err)
	}
	n, err := watchSlots(s.Tid)
	if err != nil {
		return err
	}
	ps := s.tk.ps
	for i := 0; i < min(n, maxWatch); i++ {
		if ps.watches[i] == nil {
			ps.watches[i] = &watch{addr: addr, size: size, onWrite: onWrite}
			return s.t.rearm(ps, i)
		}
	}
	return fmt.Errorf("watch %#x in %d: no free debug register", addr, s.Pid)
}

// Unwatch removes the watchpoint at addr from the tracee's process.
func (s *Stop) Unwatch(addr uintptr) error {
	ps := s.tk.ps
	for i, w := range ps.watches {
		if w != nil && w.addr == addr {
			ps.watches[i] = nil
			return s.t.rearm(ps, -1)
		}
	}
	return fmt.Errorf("unwatch %#x in %d: not watched", addr, s.Pid)
}

// rearm writes the changed watchpoints into every thread of ps. If that
// fails, the new watchpoint in slot added is taken back.
func (t *Tracer) rearm(ps *pstate, added int) error {
	ps.watchGen++
	err := t.armAll(ps)
	if err != nil && added >= 0 {
		ps.watches[added] = nil
		ps.watchGen++
		t.armAll(ps)
	}
	return err
}

// armAll sets the watchpoints of ps in its threads. A thread that is
// stopped takes them at once; a running one is stopped with a SIGSTOP
// first, since the kernel changes registers of stopped threads only.
func (t *Tracer) armAll(ps *pstate) error {
	var running []*task
	for _, tid := range ps.p.Threads {
		tk := t.tasks[tid]
		if tk == nil || tk.ps != ps || tk.exiting {
			continue
		}
		err := t.arm(tk)
		switch {
		case errors.Is(err, unix.ESRCH):
			running = append(running, tk)
		case err != nil:
			return fmt.Errorf("watch: debug registers of %d: %w", tk.tid, err)
		}
	}
	t.stopAndArm(ps, running)
	return nil
}

// arm writes the watchpoints of its process into a stopped thread.
func (t *Tracer) arm(tk *task) error {
	if err := writeWatches(tk.tid, tk.ps.watches[:]); err != nil {
		return err
	}
	tk.armed = tk.ps.watchGen
	return nil
}

// stopAndArm stops running threads with tgkill(SIGSTOP) and arms each one
// as it stops. Their stops are kept in t.deferred, to be handled by the
// loop afterwards like any other; the SIGSTOPs are swallowed there.
func (t *Tracer) stopAndArm(ps *pstate, running []*task) {
	for _, tk := range running {
		unix.Tgkill(ps.p.Pid, tk.tid, unix.SIGSTOP)
	}
	deadline := time.Now().Add(stopWait)
	for len(running) > 0 && time.Now().Before(deadline) {
		kept := running[:0]
		for _, tk := range running {
			if !t.collect(tk) {
				kept = append(kept, tk)
			}
		}
		running = kept
		if len(running) > 0 {
			// time.Sleep would park the locked thread: too slow to wake.
			unix.Nanosleep(&unix.Timespec{Nsec: 20000}, nil)
		}
	}
}

// collect takes the next status of tk if there is one, keeps it for the
// loop, and arms tk if it stopped. It reports whether tk is done with.
func (t *Tracer) collect(tk *task) bool {
	var ws unix.WaitStatus
	tid, err := unix.Wait4(tk.tid, &ws,
		unix.WALL|unix.WNOTHREAD|unix.WNOHANG, nil)
	switch {
	case err != nil && err != unix.EINTR:
		return true // gone
	case tid != tk.tid:
		return false
	}
	t.deferred = append(t.deferred, waitResult{tid, ws})
	if ws.Stopped() {
		t.arm(tk)
	}
	return true
}

// watchHit handles the SIGTRAP of a watchpoint: it calls the callbacks
// of the watchpoints that fired, then resumes the thread without the
// signal.
func (t *Tracer) watchHit(tk *task, si siginfo) {
	ps := tk.ps
	for _, i := range hitSlots(tk.tid, si.addr(), ps.watches[:]) {
		w := ps.watches[i]
		if w == nil {
			continue
		}
		s := t.stop(tk)
		s.Hit = &Hit{Addr: w.addr, Size: w.size, TrapAddr: si.addr()}
		w.onWrite(s)
	}
	if watchStepOver && ps.watching() {
		// The store has not happened yet: step over it unwatched.
		writeWatches(tk.tid, make([]*watch, maxWatch))
		tk.step = true
	}
	t.proceed(tk, 0)
}
