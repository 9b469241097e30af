package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// WithoutPreemption runs f with SIGURG and SIGCHLD blocked on the
// calling thread, so that the page faults f causes are counted as the
// kernel first sees them. Call runtime.LockOSThread first.
//
// A signal handled on this thread runs the Go runtime's handler here,
// and the handler's first use of its signal stack faults too: a child
// that exits during f (SIGCHLD) would add faults f did not cause.
//
// The Go runtime preempts a goroutine that runs for long with SIGURG. A
// page fault that waits for the disk gives up when a signal is pending:
// the kernel returns to the program, the handler runs, the access is
// made again, and that second fault finds the page read in and counts as
// minor. Blocked, the signal waits until f returns, and the fault counts
// as major, as it was.
func WithoutPreemption(f func()) error {
	var urg, old unix.Sigset_t
	urg.Val[0] |= 1<<(unix.SIGURG-1) | 1<<(unix.SIGCHLD-1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &urg, &old); err != nil {
		return fmt.Errorf("block SIGURG: %w", err)
	}
	f()
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil); err != nil {
		return fmt.Errorf("unblock SIGURG: %w", err)
	}
	return nil
}
