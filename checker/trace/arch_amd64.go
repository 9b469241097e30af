package trace

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// archMapFlags are the mmap flags only amd64 has.
var archMapFlags = []flagName{{unix.MAP_32BIT, "MAP_32BIT"}}

// archCall reads a syscall stop from the registers: the number is in
// orig_rax (rax holds -ENOSYS at entry, the result at exit), the
// arguments in rdi, rsi, rdx, r10, r8, r9.
func archCall(tid int) (call, error) {
	var r unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &r); err != nil {
		return call{}, err
	}
	return call{
		nr:   int(int64(r.Orig_rax)),
		args: [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9},
		ret:  int64(r.Rax),
	}, nil
}

// debugRegs is offsetof(struct user, u_debugreg) in sys/user.h: where
// PTRACE_POKEUSER finds DR0..DR7 of a thread.
const debugRegs = 848

// On amd64 a data watchpoint traps after the store.
const watchStepOver = false

// dr7 bits: L0 enables DR0 for this thread (Li at bit 2i); R/Wi at bit
// 16+4i (01: break on writes); LENi at bit 18+4i.
const (
	dr7Write = 0b01
	dr6Hits  = 0b1111 // DR6 bits 0-3: which of DR0-DR3 fired
)

// dr7Len encodes a watch size in the LEN field of DR7.
var dr7Len = map[int]uint64{1: 0b00, 2: 0b01, 4: 0b11, 8: 0b10}

// checkWatch checks a watch's size and alignment: the CPU compares
// aligned addresses only.
func checkWatch(addr uintptr, size int) error {
	if _, ok := dr7Len[size]; !ok {
		return errors.New("size must be 1, 2, 4 or 8")
	}
	if addr%uintptr(size) != 0 {
		return errors.New("address not aligned to the size")
	}
	return nil
}

// watchSlots returns how many debug address registers there are.
func watchSlots(tid int) (int, error) { return 4, nil }

// pokeUser writes a word of a stopped thread's struct user.
func pokeUser(tid int, off uintptr, v uint64) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_POKEUSR,
		uintptr(tid), off, uintptr(v), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// peekUser reads a word of a stopped thread's struct user.
func peekUser(tid int, off uintptr) (uint64, error) {
	var v uint64
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKUSR,
		uintptr(tid), off, uintptr(unsafe.Pointer(&v)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return v, nil
}

// writeWatches sets DR0-DR3 and DR7 of a stopped thread. DR7 is cleared
// first: the kernel checks each new address against the old length.
func writeWatches(tid int, watches []*watch) error {
	if err := pokeUser(tid, debugRegs+7*8, 0); err != nil {
		return err
	}
	var dr7 uint64
	for i, w := range watches {
		if w == nil {
			continue
		}
		if err := pokeUser(tid, debugRegs+uintptr(i)*8,
			uint64(w.addr)); err != nil {
			return err
		}
		dr7 |= 1 << (2 * i)
		dr7 |= (dr7Write | dr7Len[w.size]<<2) << (16 + 4*i)
	}
	if dr7 == 0 {
		return nil
	}
	return pokeUser(tid, debugRegs+7*8, dr7)
}

// hitSlots returns which watchpoints fired, from DR6, and clears DR6.
func hitSlots(tid int, _ uintptr, watches []*watch) []int {
	dr6, err := peekUser(tid, debugRegs+6*8)
	pokeUser(tid, debugRegs+6*8, 0)
	var hits, set []int
	for i, w := range watches {
		if w != nil {
			set = append(set, i)
		}
		if err == nil && dr6&dr6Hits&(1<<i) != 0 {
			hits = append(hits, i)
		}
	}
	if len(hits) == 0 && len(set) == 1 {
		return set // DR6 unreadable: the only one must have fired
	}
	return hits
}
