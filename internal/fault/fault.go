// Package fault turns a memory fault (SIGSEGV, SIGBUS) in a lab's own code
// into an ordinary error, so that a lab can show what the kernel did when a
// page could not be accessed instead of dying with a Go crash dump.
//
// It is built on debug.SetPanicOnFault, which makes the Go runtime panic
// with the faulting address instead of crashing. The runtime does not say
// which signal it was, so Catch asks the kernel's own state: it looks the
// address up in /proc/self/maps at once and applies the kernel's rule. An
// address outside every mapping, or in a mapping whose protection forbids
// the access, is SIGSEGV; an access the mapping allows that still faulted
// is SIGBUS (for a file mapping: the page lies past the end of the file).
// The tests check this against the signal the kernel really sends.
package fault

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// Access is the kind of memory access that faulted.
type Access byte

const (
	Read  Access = 'r'
	Write Access = 'w'
)

func (a Access) String() string {
	if a == Write {
		return "writing"
	}
	return "reading"
}

// Error describes one caught fault.
type Error struct {
	Signal unix.Signal // unix.SIGSEGV or unix.SIGBUS
	Access Access
	Addr   uintptr // the faulting address; never print it in lab output
	Reason string  // why the kernel refused, in plain words
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s", Name(e.Signal), e.Access, e.Reason)
}

// Page returns the index of the page of m that holds the faulting address,
// or -1 if the address is outside m.
func (e *Error) Page(m []byte) int {
	if len(m) == 0 {
		return -1
	}
	start := mem.Addr(m)
	if e.Addr < start || e.Addr >= start+uintptr(len(m)) {
		return -1
	}
	return int(e.Addr-start) / os.Getpagesize()
}

// Name returns the short name of a signal: "SIGBUS", "SIGSEGV".
func Name(sig unix.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return sig.String()
}

// ReadByte reads m[off] and returns the fault as an *Error if the page
// cannot be read.
func ReadByte(m []byte, off int) (b byte, err error) {
	err = Catch(Read, func() { b = m[off] })
	return b, err
}

// WriteByte stores v at m[off] and returns the fault as an *Error if the
// page cannot be written.
func WriteByte(m []byte, off int, v byte) error {
	return Catch(Write, func() { m[off] = v })
}

// Catch runs f, which makes one kind of access to memory, and returns nil,
// or an *Error if f faulted. Other panics pass through unchanged.
// Catch runs f on the calling goroutine.
func Catch(access Access, f func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		addr, ok := faultAddr(r)
		if !ok {
			panic(r)
		}
		err = classify(access, addr)
	}()
	f()
	return nil
}

// faultAddr returns the address of a memory fault panic. A fault near
// address 0 panics as a nil dereference without an address.
func faultAddr(r any) (uintptr, bool) {
	if e, ok := r.(interface{ Addr() uintptr }); ok {
		return e.Addr(), true
	}
	if e, ok := r.(runtime.Error); ok &&
		e.Error() == "runtime error: invalid memory address or nil pointer dereference" {
		return 0, true
	}
	return 0, false
}

// classify names the signal the kernel sent for an access at addr, from
// the process's mappings as they are now.
func classify(access Access, addr uintptr) *Error {
	e := &Error{Signal: unix.SIGSEGV, Access: access, Addr: addr}
	maps, err := proc.ReadMaps(0)
	if err != nil {
		e.Reason = "cannot read /proc/self/maps: " + err.Error()
		return e
	}
	m, err := proc.Find(maps, addr)
	switch {
	case err != nil:
		e.Reason = "no mapping at that address"
	case !m.Can(byte(access)):
		e.Reason = fmt.Sprintf("the mapping does not allow %s (%s)",
			access, protName(m.Perms))
	default:
		e.Signal = unix.SIGBUS
		e.Reason = busReason(m, addr)
	}
	return e
}

// busReason explains a SIGBUS in a mapping that allows the access.
func busReason(m proc.Mapping, addr uintptr) string {
	ps := uint64(os.Getpagesize())
	if m.Inode == 0 || m.Path == "" || m.Path[0] != '/' {
		return "the kernel could not provide the page"
	}
	var st unix.Stat_t
	if err := unix.Stat(m.Path, &st); err != nil {
		return "the page could not be read from the file"
	}
	offset := m.Offset + uint64(addr-m.Start)
	page := offset / ps
	if uint64(st.Size) <= page*ps {
		n := (uint64(st.Size) + ps - 1) / ps
		s := "s"
		if n == 1 {
			s = ""
		}
		return fmt.Sprintf("page %d of the file is past its end "+
			"(the file has %d page%s)", page, n, s)
	}
	return "the page could not be read from the file"
}

// protName turns "r--p" into "PROT_READ".
func protName(perms string) string {
	names := ""
	for i, n := range []string{"PROT_READ", "PROT_WRITE", "PROT_EXEC"} {
		if perms[i] != '-' {
			if names != "" {
				names += "|"
			}
			names += n
		}
	}
	if names == "" {
		return "PROT_NONE"
	}
	return names
}
