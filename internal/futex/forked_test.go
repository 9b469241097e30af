package futex

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/fork"
)

func TestWaitRawTimesOut(t *testing.T) {
	s := shared(t)
	start := time.Now()
	if errno := s.WaitRaw(20 * time.Millisecond); errno != unix.ETIMEDOUT {
		t.Fatalf("WaitRaw on an empty semaphore: %v, want ETIMEDOUT", errno)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("returned after %v, before the timeout", d)
	}
}

func TestPostRawWaitRaw(t *testing.T) {
	s := shared(t)
	if errno := s.PostRaw(); errno != 0 {
		t.Fatal(errno)
	}
	if errno := s.WaitRaw(time.Second); errno != 0 || s.Value() != 0 {
		t.Fatalf("WaitRaw after PostRaw: %v, %d tokens left", errno, s.Value())
	}
}

// TestForkedChildren bounces tokens between the parent (Post, Wait) and
// forked children (WaitRaw, PostRaw) that sleep in the kernel.
func TestForkedChildren(t *testing.T) {
	start, done := shared(t), shared(t)
	const children = 4
	var kids []*fork.Child
	for i := 0; i < children; i++ {
		c, err := fork.Fork(func() int {
			if start.WaitRaw(5*time.Second) != 0 {
				return 1
			}
			if done.PostRaw() != 0 {
				return 2
			}
			return 0
		})
		if errors.Is(err, fork.ErrRace) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, c)
	}
	time.Sleep(10 * time.Millisecond) // let them fall asleep
	for range kids {
		if err := start.Post(); err != nil {
			t.Fatal(err)
		}
	}
	for range kids {
		if err := done.Wait(5 * time.Second); err != nil {
			t.Fatalf("wait for the children's posts: %v", err)
		}
	}
	for _, c := range kids {
		st, err := c.Wait()
		if err != nil || !st.Success() {
			t.Errorf("child: %v %v", st, err)
		}
	}
}
