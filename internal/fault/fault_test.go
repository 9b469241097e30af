package fault

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Each case makes a real fault. In the test binary it is caught; run again
// as a child without the catcher (FAULT_CASE set), it kills the program,
// and the Go runtime's crash report names the signal the kernel sent: the
// catcher must have named the same one.
var cases = map[string]struct {
	access Access
	signal unix.Signal
	setup  func(t testing.TB) ([]byte, int) // mapping and offset to touch
}{
	"past-eof-read":  {Read, unix.SIGBUS, pastEOF},
	"past-eof-write": {Write, unix.SIGBUS, pastEOF},
	"readonly-write": {Write, unix.SIGSEGV, readOnly},
	"prot-none-read": {Read, unix.SIGSEGV, protNone},
}

func TestMain(m *testing.M) {
	if name := os.Getenv("FAULT_CASE"); name != "" {
		c := cases[name]
		b, off := c.setup(nil)
		if c.access == Write {
			b[off] = 1
		} else {
			fmt.Println(b[off])
		}
		os.Exit(0) // not reached: the access faults
	}
	os.Exit(m.Run())
}

func TestCatch(t *testing.T) {
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b, off := c.setup(t)
			var err error
			if c.access == Write {
				err = WriteByte(b, off, 1)
			} else {
				_, err = ReadByte(b, off)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *fault.Error", err)
			}
			if fe.Signal != c.signal {
				t.Errorf("signal %s, want %s (%v)", Name(fe.Signal),
					Name(c.signal), fe)
			}
			if p := fe.Page(b); p != off/os.Getpagesize() {
				t.Errorf("Page = %d, want %d", p, off/os.Getpagesize())
			}
			if got := kernelSignal(t, name); got != Name(c.signal) {
				t.Errorf("the kernel sent %s, the catcher said %s",
					got, Name(fe.Signal))
			}
		})
	}
}

func TestCatchNoFault(t *testing.T) {
	b := make([]byte, 1)
	if err := WriteByte(b, 0, 7); err != nil || b[0] != 7 {
		t.Fatalf("WriteByte on ordinary memory: %v", err)
	}
}

func TestCatchPassesOtherPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "not a fault" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	Catch(Read, func() { panic("not a fault") })
}

// kernelSignal runs the case in a child process without the catcher and
// returns the signal named by the Go runtime's crash report.
func kernelSignal(t *testing.T, name string) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FAULT_CASE="+name)
	out, _ := cmd.CombinedOutput()
	_, rest, ok := strings.Cut(string(out), "[signal ")
	if !ok {
		t.Fatalf("no signal in the child's crash report:\n%s", out)
	}
	sig, _, _ := strings.Cut(rest, ":")
	return sig
}

// pastEOF maps two pages of a one-page file: the second page has no file
// behind it.
func pastEOF(t testing.TB) ([]byte, int) {
	ps := os.Getpagesize()
	f := tempFile(t, ps)
	m, err := unix.Mmap(int(f.Fd()), 0, 2*ps, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	check(t, err)
	unmapLater(t, m)
	return m, ps + 10
}

func readOnly(t testing.TB) ([]byte, int) {
	ps := os.Getpagesize()
	m, err := unix.Mmap(-1, 0, ps, unix.PROT_READ,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	check(t, err)
	unmapLater(t, m)
	return m, 0
}

func protNone(t testing.TB) ([]byte, int) {
	ps := os.Getpagesize()
	m, err := unix.Mmap(-1, 0, 2*ps, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	check(t, err)
	check(t, unix.Mprotect(m[ps:], unix.PROT_NONE))
	unmapLater(t, m)
	return m, ps
}

func tempFile(t testing.TB, size int) *os.File {
	dir := os.TempDir()
	if t != nil {
		dir = t.TempDir()
	}
	f, err := os.CreateTemp(dir, "fault")
	check(t, err)
	if t == nil {
		os.Remove(f.Name()) // the child needs only the open file
	}
	check(t, f.Truncate(int64(size)))
	if t != nil {
		t.Cleanup(func() { f.Close() })
	}
	return f
}

func unmapLater(t testing.TB, m []byte) {
	if t != nil {
		t.Cleanup(func() { unix.Munmap(m) })
	}
}

func check(t testing.TB, err error) {
	if err == nil {
		return
	}
	if t == nil {
		panic(err)
	}
	t.Helper()
	t.Fatal(err)
}
