package fault

import (
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// Try runs f, which makes one memory access, and reports whether it
// faulted and at which address. Unlike Catch it looks nothing up while
// it runs: no file is read and nothing is allocated, so that a lab that
// counts the page faults around f sees only the access itself (the
// kernel does not count a fault it answers with a signal). Name the
// signal afterwards, before the mappings change, with Classify.
func Try(f func()) (addr uintptr, faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		a, ok := faultAddr(r)
		if !ok {
			panic(r)
		}
		addr, faulted = a, true
	}()
	f()
	return 0, false
}

// Classify names the signal the kernel sent for an access at addr that
// Try reported, from the process's mappings as they are now, and says
// why, as Catch does.
func Classify(access Access, addr uintptr) *Error {
	return classify(access, addr)
}

// Warm takes one fault and catches it, so that the Go runtime's first
// recovery from a fault (which faults in runtime memory of its own) is
// over before a lab counts the faults of a step that catches one.
func Warm() {
	m, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return
	}
	Try(func() { sink = m[0] })
	unix.Munmap(m)
}

// sink keeps Warm's read from being optimised away.
var sink byte
