package trace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysInfo is struct ptrace_syscall_info of linux/ptrace.h (Linux 5.3):
// what PTRACE_GET_SYSCALL_INFO says about a syscall stop, on any
// architecture, without reading registers.
type sysInfo struct {
	Op   uint8 // PTRACE_SYSCALL_INFO_ENTRY, _EXIT...
	_    [3]uint8
	Arch uint32
	IP   uint64
	SP   uint64
	Nr   uint64    // entry: the syscall number; exit: the return value
	Args [6]uint64 // entry: the arguments; exit: Args[0] is is_error
	_    uint64    // room for the seccomp variant
}

// call is what the tracer reads at a syscall stop.
type call struct {
	entry bool
	nr    int
	args  [6]uint64
	ret   int64
}

// getSyscallInfo runs PTRACE_GET_SYSCALL_INFO on a stopped thread.
func getSyscallInfo(tid int, info *sysInfo) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE,
		unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// probeSyscallInfo checks, at the root's first stop, that the kernel has
// PTRACE_GET_SYSCALL_INFO; without it the tracer reads registers.
func (t *Tracer) probeSyscallInfo(tid int) {
	var info sysInfo
	if getSyscallInfo(tid, &info) != nil {
		t.regMode = true
	}
}

// readCall reads the syscall at a syscall stop of tk. In register mode
// entries and exits alternate; PTRACE_GET_SYSCALL_INFO says which it is.
func (t *Tracer) readCall(tk *task) (call, error) {
	if t.regMode {
		c, err := archCall(tk.tid)
		c.entry = !tk.inCall
		tk.inCall = c.entry
		return c, err
	}
	var info sysInfo
	if err := getSyscallInfo(tk.tid, &info); err != nil {
		return call{}, err
	}
	if info.Op == unix.PTRACE_SYSCALL_INFO_EXIT {
		return call{ret: int64(info.Nr)}, nil
	}
	return call{entry: true, nr: int(info.Nr), args: info.Args}, nil
}

// syscallStop handles a syscall entry or exit stop.
func (t *Tracer) syscallStop(tk *task) {
	c, err := t.readCall(tk)
	switch {
	case err != nil:
		// The thread was killed under us: its exit comes next.
	case c.entry:
		t.enter(tk, c)
	default:
		t.leave(tk, c.ret)
	}
	t.proceed(tk, 0)
}

// enter records a syscall at its entry, reads the strings it needs while
// they are there, and calls OnSyscall.
func (t *Tracer) enter(tk *task, c call) {
	ps := tk.ps
	rec := &Syscall{Seq: t.nextSeq(), Tid: tk.tid, Pid: ps.p.Pid,
		Gen: ps.gen, Prog: ps.prog, Nr: c.nr, Name: SyscallName(c.nr),
		Args: c.args, Enter: t.since()}
	decodeEntry(tk.tid, rec)
	tk.cur = rec
	t.trace.Syscalls = append(t.trace.Syscalls, rec)
	if rec.Name == "exit_group" {
		ps.groupExit = true
	}
	t.onSyscall(tk, rec, false)
}

// leave completes the record of the syscall of tk at its exit.
func (t *Tracer) leave(tk *task, ret int64) {
	rec := tk.cur
	if rec == nil {
		return // an exit without an entry: nothing to merge it with
	}
	rec.Done, rec.Ret, rec.Leave = true, ret, t.since()
	if ret < 0 && ret >= -4095 {
		rec.Errno = unix.Errno(-ret)
	}
	decodeExit(tk.tid, rec)
	t.onSyscall(tk, rec, true)
	tk.cur = nil
}

// onSyscall calls OnSyscall, if set, at an entry or an exit.
func (t *Tracer) onSyscall(tk *task, rec *Syscall, exit bool) {
	if t.opts.OnSyscall == nil {
		return
	}
	s := t.stop(tk)
	s.Syscall, s.Exit = rec, exit
	t.opts.OnSyscall(s)
}

// SyscallName returns the name of syscall number nr on this architecture,
// or "syscall_NR" if it has none.
func SyscallName(nr int) string {
	if nr >= 0 && nr < len(sysNames) && sysNames[nr] != "" {
		return sysNames[nr]
	}
	return "syscall_" + itoa(int64(nr))
}

// SyscallNumber returns the number of the syscall named name on this
// architecture, and false if it has none (arm64 has no open or fork).
func SyscallNumber(name string) (int, bool) {
	for nr, n := range sysNames {
		if n == name {
			return nr, true
		}
	}
	return 0, false
}
