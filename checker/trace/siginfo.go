package trace

import (
	"encoding/binary"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// siginfo is the kernel's siginfo_t (128 bytes) as PTRACE_GETSIGINFO
// returns it. On 64-bit Linux si_code is at byte 8 and the union at 16:
// si_addr for faults, si_pid then si_uid for kill, si_status at 24 for
// SIGCHLD.
type siginfo [128]byte

// getSiginfo reads the siginfo of the signal a thread is stopped for. It
// fails with EINVAL at a group-stop, which has no signal to deliver.
func getSiginfo(tid int) (siginfo, error) {
	var si siginfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO,
		uintptr(tid), 0, uintptr(unsafe.Pointer(&si[0])), 0, 0)
	if e != 0 {
		return si, e
	}
	return si, nil
}

func (si *siginfo) int32At(off int) int32 {
	return int32(binary.NativeEndian.Uint32(si[off:]))
}

// code returns si_code.
func (si *siginfo) code() int32 { return si.int32At(8) }

// addr returns si_addr.
func (si *siginfo) addr() uintptr {
	return uintptr(binary.NativeEndian.Uint64(si[16:]))
}

// pidStatus returns si_pid, and si_status for SIGCHLD. Only signals sent
// by a process (si_code <= 0) and SIGCHLD have them.
func (si *siginfo) pidStatus(sig unix.Signal) (pid, status int) {
	if sig == unix.SIGCHLD {
		return int(si.int32At(16)), int(si.int32At(24))
	}
	if si.code() <= 0 {
		return int(si.int32At(16)), 0
	}
	return 0, 0
}

// siTkill is the si_code of a signal sent with tkill or tgkill.
const siTkill = -6

// fromTracer reports a signal this process sent with tgkill.
func (si *siginfo) fromTracer() bool {
	return si.code() == siTkill && int(si.int32At(16)) == os.Getpid()
}

// attachStop reports the SIGSTOP that the kernel queues for a new thread
// of a traced process: it has no sender (si_code SI_USER, si_pid 0), and
// comes from nowhere else. A new thread may report a group-stop, or
// another signal, before it.
func (si *siginfo) attachStop() bool {
	return si.code() == 0 && si.int32At(16) == 0
}

// trapHWBKPT is the si_code of a SIGTRAP caused by a hardware breakpoint
// or watchpoint.
const trapHWBKPT = 4
