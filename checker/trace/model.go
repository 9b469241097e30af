package trace

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Trace is what a traced run left: its processes, syscalls and signals.
type Trace struct {
	Root     *Process
	Procs    []*Process // every process, in the order they appeared
	Syscalls []*Syscall // every syscall, in the order of their entries
	Signals  []*Signal  // every signal delivered, in order

	// TimedOut says the context ended (deadline or cancel) before the
	// tree did; every process was then killed with SIGKILL.
	TimedOut bool
	// TooMany says the tree passed Options.MaxTasks and was killed.
	TooMany  bool
	Duration time.Duration // from the start to the last exit
}

// Proc returns the process whose tgid is pid, or nil. If the pid was
// reused in the run, it returns the last process that had it.
func (tr *Trace) Proc(pid int) *Process {
	for i := len(tr.Procs) - 1; i >= 0; i-- {
		if tr.Procs[i].Pid == pid {
			return tr.Procs[i]
		}
	}
	return nil
}

// ProcOf returns the process that thread tid belongs to, or nil. A tid
// that is not a Pid is a thread, not a process.
func (tr *Trace) ProcOf(tid int) *Process {
	for i := len(tr.Procs) - 1; i >= 0; i-- {
		for _, th := range tr.Procs[i].Threads {
			if th == tid {
				return tr.Procs[i]
			}
		}
	}
	return nil
}

// Children returns the processes made by process pid, in order.
func (tr *Trace) Children(pid int) []*Process {
	var kids []*Process
	for _, p := range tr.Procs {
		if p.Parent == pid && p.Pid != pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// Calls returns the syscalls named name, of every process, in order.
func (tr *Trace) Calls(name string) []*Syscall {
	var calls []*Syscall
	for _, c := range tr.Syscalls {
		if c.Name == name {
			calls = append(calls, c)
		}
	}
	return calls
}

// Of returns the syscalls made by the threads of process pid.
func (tr *Trace) Of(pid int) []*Syscall {
	var calls []*Syscall
	for _, c := range tr.Syscalls {
		if c.Pid == pid {
			calls = append(calls, c)
		}
	}
	return calls
}

// Process is one thread group of the traced tree.
type Process struct {
	Pid     int   // thread-group id, what getpid returns
	Parent  int   // Pid of the process that made it; 0 for the root
	Creator int   // tid of the thread whose fork or clone made it; 0 if unknown
	Threads []int // tids of its threads, in order of creation; Pid first

	// Execs are the programs this process exec'd, as passed to execve. The
	// root's list starts with Options.Path, which it was started with; a
	// forked child that never exec'd has none, and runs its parent's.
	Execs []string

	Exited   bool           // its exit was seen
	ExitCode int            // exit status if it exited normally, else -1
	Signal   syscall.Signal // the signal that killed it, or 0
	Start    time.Duration  // when it appeared, from the start of the trace
	End      time.Duration  // when it exited
}

// Syscall is one syscall of one thread, entry and exit merged.
type Syscall struct {
	Seq int // position among all records (syscalls and signals)
	Tid int // thread that made the call
	Pid int // its process
	// Gen counts the programs the process had run at entry: the root
	// starts at 1 (the execve that started it), a child starts with its
	// parent's count, each execve adds 1. A launcher's calls before it
	// exec'd the real program have a smaller Gen than the program's.
	Gen  int
	Prog string // program the process was running at entry
	Nr   int    // syscall number
	Name string // "openat", "mmap", ...; "syscall_N" if unknown

	Args  [6]uint64  // raw arguments, read at entry
	Done  bool       // the exit was seen (exit_group never returns)
	Ret   int64      // return value: fd, count, address...
	Errno unix.Errno // nonzero if the call failed

	// Strs holds, by argument position, the strings read at entry: path
	// arguments, the path of a file descriptor argument (from
	// /proc/TID/fd/N), the name of a memfd.
	Strs   [6]string
	Path   string   // the first path argument
	FdPath string   // the path of the first file descriptor argument
	Argv   []string // execve's argv
	Data   []byte   // the first bytes written (write) or read (read)

	// CloneFlags are the CLONE_* flags of clone, clone3, fork and vfork,
	// without the exit signal.
	CloneFlags uint64
	exitSig    int // exit signal of a clone or clone3

	Enter time.Duration // entry time, from the start of the trace
	Leave time.Duration // exit time
}

// Arg returns argument i as an unsigned number.
func (c *Syscall) Arg(i int) uint64 { return c.Args[i] }

// Int returns argument i as a signed int, as an int parameter (32 bits:
// descriptors, flags of type int) is seen by the kernel.
func (c *Syscall) Int(i int) int { return int(int32(c.Args[i])) }

// Failed reports whether the call returned an error.
func (c *Syscall) Failed() bool { return c.Errno != 0 }

// OK reports whether the call returned without an error.
func (c *Syscall) OK() bool { return c.Done && c.Errno == 0 }

// Addr returns the return value as an address (mmap, mremap, shmat).
func (c *Syscall) Addr() uintptr { return uintptr(c.Ret) }

// Signal is the delivery of a signal to one thread, as ptrace reported it
// before the thread's handler (or default action) ran.
type Signal struct {
	Seq    int
	Tid    int
	Pid    int
	Signo  syscall.Signal
	Code   int32   // si_code: SI_USER, SI_TKILL, BUS_ADRERR, SEGV_MAPERR...
	Addr   uintptr // si_addr: faulting address (SIGSEGV, SIGBUS, SIGTRAP...)
	Sender int     // si_pid: the sender of kill or tgkill, or the child of SIGCHLD
	Status int     // si_status of SIGCHLD
	At     time.Duration
}
