package trace

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// archMapFlags are the mmap flags only one architecture has: none here.
var archMapFlags []flagName

// archCall reads a syscall stop from the registers: the number is in x8,
// the arguments in x0-x5. At the exit x0 holds the result, which is why
// arguments must be read at the entry.
func archCall(tid int) (call, error) {
	var r unix.PtraceRegsArm64
	if err := unix.PtraceGetRegSetArm64(tid, unix.NT_PRSTATUS, &r); err != nil {
		return call{}, err
	}
	var c call
	c.nr = int(r.Regs[8])
	copy(c.args[:], r.Regs[:6])
	c.ret = int64(r.Regs[0])
	return c, nil
}

// On arm64 a watchpoint traps before the store: the tracer steps over it
// with the watchpoints removed, then puts them back.
const watchStepOver = true

// hwDebugState is struct user_hwdebug_state of arm64's uapi asm/ptrace.h,
// read and written with PTRACE_GETREGSET/SETREGSET and NT_ARM_HW_WATCH.
// The low byte of dbgInfo is the number of watchpoint registers.
type hwDebugState struct {
	dbgInfo uint32
	_       uint32
	regs    [16]hwDebugReg
}

type hwDebugReg struct {
	addr uint64
	ctrl uint32
	_    uint32
}

// Fields of a watchpoint control register (arch/arm64 hw_breakpoint.h):
// enable at bit 0, privilege at 1 (EL0 = 2), type at 3 (store = 2), and
// at bit 5 the byte address select: which bytes of the aligned
// doubleword at addr are watched.
const (
	ctrlEnable = 1
	ctrlEL0    = 2 << 1
	ctrlStore  = 2 << 3
	ctrlBASPos = 5
)

var errNoWatch = errors.New("hardware watchpoints not supported")

// regset runs PTRACE_GETREGSET or PTRACE_SETREGSET on the first n
// registers of st.
func regset(req, tid int, st *hwDebugState, n int) error {
	iov := unix.Iovec{Base: (*byte)(unsafe.Pointer(st))}
	iov.SetLen(8 + 16*n)
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid),
		unix.NT_ARM_HW_WATCH, uintptr(unsafe.Pointer(&iov)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// checkWatch checks that a watch fits in one aligned doubleword.
func checkWatch(addr uintptr, size int) error {
	if size != 1 && size != 2 && size != 4 && size != 8 {
		return errors.New("size must be 1, 2, 4 or 8")
	}
	if addr%uintptr(size) != 0 {
		return errors.New("address not aligned to the size")
	}
	return nil
}

// watchSlots returns how many watchpoint registers the CPU has.
func watchSlots(tid int) (int, error) {
	var st hwDebugState
	if err := regset(unix.PTRACE_GETREGSET, tid, &st, 16); err != nil {
		return 0, fmt.Errorf("watch: %w: %w", errNoWatch, err)
	}
	n := int(st.dbgInfo & 0xff)
	if n == 0 {
		return 0, fmt.Errorf("watch: %w: no watchpoint registers", errNoWatch)
	}
	return n, nil
}

// writeWatches sets the watchpoint registers of a stopped thread; all
// are disabled first, so that no old length meets a new address.
func writeWatches(tid int, watches []*watch) error {
	n, err := watchSlots(tid)
	if err != nil {
		return err
	}
	n = min(n, len(watches))
	var st hwDebugState
	if err := regset(unix.PTRACE_SETREGSET, tid, &st, n); err != nil {
		return err
	}
	for i, w := range watches[:n] {
		if w == nil {
			continue
		}
		base := w.addr &^ 7
		bas := uint32(1)<<w.size - 1
		bas <<= uint32(w.addr - base)
		st.regs[i] = hwDebugReg{addr: uint64(base),
			ctrl: bas<<ctrlBASPos | ctrlStore | ctrlEL0 | ctrlEnable}
	}
	return regset(unix.PTRACE_SETREGSET, tid, &st, n)
}

// hitSlots returns the watchpoint whose doubleword holds the address of
// the access (si_addr).
func hitSlots(_ int, addr uintptr, watches []*watch) []int {
	for i, w := range watches {
		if w != nil && addr&^7 == w.addr&^7 {
			return []int{i}
		}
	}
	for i, w := range watches {
		if w != nil {
			return []int{i} // the access began before the doubleword
		}
	}
	return nil
}
