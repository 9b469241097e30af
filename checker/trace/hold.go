package trace

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// hold is a thread the tracer keeps stopped: until a time (Stop.Hold),
// or, for a thread in a group-stop, until a SIGCONT is pending for it.
// It is then resumed with sig.
type hold struct {
	tk    *task
	sig   unix.Signal
	until time.Time // for a timed hold
	cont  bool      // held until SIGCONT: the thread is in a group-stop
}

// The pauses of the tracer while it polls wait4 during holds.
const (
	minBackoff = 10 * time.Microsecond
	maxBackoff = time.Millisecond
)

// sigcont is the bit of SIGCONT in the pending masks of /proc/PID/status.
const sigcont = 1 << (unix.SIGCONT - 1)

// groupStop handles a thread that reports a group-stop: after a stop
// signal (SIGSTOP, SIGTSTP...) every thread of the process stops, and
// stays stopped, as it would without a tracer, so that its parent sees it
// stopped. A tracer that did not seize it is not told of the SIGCONT that
// ends the stop, so it polls for one. A report that comes after that
// SIGCONT is stale: the thread resumes at once.
func (t *Tracer) groupStop(tk *task) {
	if !tk.ps.stopping {
		t.resume(tk, 0)
		return
	}
	t.holds = append(t.holds, hold{tk: tk, cont: true})
}

// isStopSignal reports a signal whose default action stops the process.
func isStopSignal(sig unix.Signal) bool {
	switch sig {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return true
	}
	return false
}

// pause sleeps a little, while holds are pending and no tracee has
// anything to report: 10 µs after a report, doubling up to 1 ms while
// all is quiet, never past the end of the earliest hold. A raw nanosleep
// keeps the tracer thread; time.Sleep would park it, and waking a locked
// thread through the scheduler takes far longer.
func (t *Tracer) pause() {
	d := t.backoff
	for _, h := range t.holds {
		if !h.cont {
			d = min(d, time.Until(h.until))
		}
	}
	if d > 0 {
		ts := unix.NsecToTimespec(d.Nanoseconds())
		unix.Nanosleep(&ts, nil)
	}
	t.backoff = min(2*t.backoff, maxBackoff)
}

// releaseHolds resumes the held threads whose time is up, and the
// threads of a group-stopped process once a SIGCONT is pending for it:
// all of them together, since the first to run takes the SIGCONT.
func (t *Tracer) releaseHolds() {
	if len(t.holds) == 0 {
		return
	}
	now := time.Now()
	var continued map[*pstate]bool
	if now.Sub(t.contChecked) >= maxBackoff {
		// Reading /proc for each stopped thread at every stop of
		// another tracee would slow them all: once a millisecond.
		continued = t.continued()
		t.contChecked = now
	}
	kept := t.holds[:0]
	for _, h := range t.holds {
		if (h.cont && !continued[h.tk.ps]) || (!h.cont && now.Before(h.until)) {
			kept = append(kept, h)
			continue
		}
		t.resume(h.tk, h.sig)
	}
	t.holds = kept
}

// continued returns the group-stopped processes that have a SIGCONT
// pending, and marks them as no longer stopping.
func (t *Tracer) continued() map[*pstate]bool {
	var cont map[*pstate]bool
	for _, h := range t.holds {
		ps := h.tk.ps
		if h.cont && !cont[ps] && contPending(h.tk.tid) {
			if cont == nil {
				cont = map[*pstate]bool{}
			}
			cont[ps] = true
			ps.stopping = false
		}
	}
	return cont
}

// dropHold forgets a hold of tk, whose thread is gone.
func (t *Tracer) dropHold(tk *task) {
	kept := t.holds[:0]
	for _, h := range t.holds {
		if h.tk != tk {
			kept = append(kept, h)
		}
	}
	t.holds = kept
}

// contPending reports whether a SIGCONT is pending for thread tid or its
// process, or if the thread is gone (there is nothing left to hold).
func contPending(tid int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		if key != "SigPnd" && key != "ShdPnd" {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err == nil && mask&sigcont != 0 {
			return true
		}
	}
	return false
}
