package fault

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTry faults past the end of a file and through a read-only mapping:
// Try must report the address, and Classify must name the same signal
// and page as Catch.
func TestTry(t *testing.T) {
	ps := os.Getpagesize()
	f, err := os.CreateTemp(t.TempDir(), "try")
	check(t, err)
	defer f.Close()
	check(t, f.Truncate(int64(ps)))
	m, err := unix.Mmap(int(f.Fd()), 0, 2*ps, unix.PROT_READ,
		unix.MAP_SHARED)
	check(t, err)
	defer unix.Munmap(m)

	var b byte
	addr, faulted := Try(func() { b = m[ps+1] })
	if !faulted {
		t.Fatalf("read past the end of the file did not fault")
	}
	e := Classify(Read, addr)
	if e.Signal != unix.SIGBUS || e.Page(m) != 1 {
		t.Errorf("past EOF: %v on page %d, want SIGBUS on page 1", e,
			e.Page(m))
	}
	addr, faulted = Try(func() { m[0] = 1 })
	if !faulted {
		t.Fatalf("write to a PROT_READ mapping did not fault")
	}
	if e := Classify(Write, addr); e.Signal != unix.SIGSEGV || e.Page(m) != 0 {
		t.Errorf("read-only: %v on page %d, want SIGSEGV on page 0", e,
			e.Page(m))
	}
	if _, faulted := Try(func() { b = m[1] }); faulted {
		t.Errorf("a read inside the file faulted")
	}
	_ = b
}

func TestTryPassesOtherPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "not a fault" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	Try(func() { panic("not a fault") })
}
