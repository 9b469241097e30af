package trace

import (
	"time"

	"github.com/mmaplab/mmaplab/internal/proc"
	"golang.org/x/sys/unix"
)

// Stop is a tracee stopped for a callback. It is valid only during the
// callback, which runs on the tracer thread: every other tracee keeps
// running meanwhile, but no other stop is handled until it returns.
type Stop struct {
	Tid  int      // the stopped thread
	Pid  int      // its process
	Proc *Process // its process, as traced so far

	Exit    bool     // OnSyscall: true at the exit, false at the entry
	Syscall *Syscall // OnSyscall: the call (Ret is set at the exit)
	Signal  *Signal  // OnSignal: the signal about to be delivered
	Hit     *Hit     // a watch callback: the watchpoint that fired

	t  *Tracer
	tk *task
}

// Hit says which watchpoint a store hit.
type Hit struct {
	Addr uintptr // the watched address
	Size int     // the watched size
	// TrapAddr is the si_addr of the trap: on amd64 the instruction after
	// the store, on arm64 the address stored to.
	TrapAddr uintptr
}

// ReadMem reads n bytes of the tracee's memory at addr.
func (s *Stop) ReadMem(addr uintptr, n int) ([]byte, error) {
	return readMem(s.Tid, addr, n)
}

// ReadString reads a NUL-terminated string of the tracee at addr.
func (s *Stop) ReadString(addr uintptr) (string, error) {
	return readString(s.Tid, addr, maxPath)
}

// Smaps returns the mapping of the tracee that contains addr, with its
// smaps counters (Rss, Private_Dirty...).
func (s *Stop) Smaps(addr uintptr) (proc.Mapping, error) {
	return proc.SmapsAt(s.Pid, addr)
}

// Maps returns the mappings of the tracee, from /proc/PID/maps.
func (s *Stop) Maps() ([]proc.Mapping, error) { return proc.ReadMaps(s.Pid) }

// FdPath returns the path of descriptor fd of the tracee, now.
func (s *Stop) FdPath(fd int) string { return fdPath(s.Tid, fd) }

// Hold keeps this thread stopped for d after the callback returns, while
// every other tracee runs on and is served. Its other threads run too.
func (s *Stop) Hold(d time.Duration) {
	s.tk.hold = max(s.tk.hold, d)
}

// Kill sends SIGKILL to the tracee's process.
func (s *Stop) Kill() { unix.Kill(s.Pid, unix.SIGKILL) }

// KillAll kills every process of the tree (see Tracer.KillAll).
func (s *Stop) KillAll() { s.t.KillAll() }

// Trace returns the trace so far. It is complete up to this stop.
func (s *Stop) Trace() *Trace { return s.t.trace }
