package proc

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// blocked reports whether this thread blocks SIGURG, from the SigBlk mask
// of /proc/thread-self/status.
func blocked(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask>>(unix.SIGURG-1)&1 == 1
		}
	}
	t.Fatal("no SigBlk line")
	return false
}

func TestWithoutPreemption(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if blocked(t) {
		t.Fatal("SIGURG blocked before the call")
	}
	var inside bool
	if err := WithoutPreemption(func() { inside = blocked(t) }); err != nil {
		t.Fatal(err)
	}
	if !inside || blocked(t) {
		t.Errorf("SIGURG blocked inside: %v, after: %v; want true, false",
			inside, blocked(t))
	}
}
