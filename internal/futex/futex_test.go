package futex

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// shared returns a Semaphore in a MAP_SHARED anonymous page, where the
// labs put theirs.
func shared(t *testing.T) *Semaphore {
	m, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return At(m)
}

func TestWaitReturnsEAGAINWhenChanged(t *testing.T) {
	var word uint32 = 1
	if err := Wait(&word, 0, time.Second); err != unix.EAGAIN {
		t.Fatalf("futex wait on a changed word: %v, want EAGAIN", err)
	}
}

func TestWaitTimesOut(t *testing.T) {
	var word uint32
	start := time.Now()
	if err := Wait(&word, 0, 20*time.Millisecond); err != unix.ETIMEDOUT {
		t.Fatalf("futex wait: %v, want ETIMEDOUT", err)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("returned after %v, before the timeout", d)
	}
}

func TestSemaphoreTimeout(t *testing.T) {
	s := shared(t)
	if err := s.Wait(10 * time.Millisecond); err != unix.ETIMEDOUT {
		t.Fatalf("Wait on an empty semaphore: %v, want ETIMEDOUT", err)
	}
}

// TestSemaphorePingPong bounces a token between two goroutines that each
// sleep in the kernel: every Post must wake the other side.
func TestSemaphorePingPong(t *testing.T) {
	ping, pong := shared(t), shared(t)
	const rounds = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			if err := ping.Wait(5 * time.Second); err != nil {
				t.Error(err)
				return
			}
			pong.Post()
		}
	}()
	for i := 0; i < rounds; i++ {
		ping.Post()
		if err := pong.Wait(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if ping.Value() != 0 || pong.Value() != 0 {
		t.Errorf("tokens left: %d, %d", ping.Value(), pong.Value())
	}
}

func TestSemaphoreCounts(t *testing.T) {
	s := shared(t)
	for i := 0; i < 3; i++ {
		s.Post()
	}
	for i := 0; i < 3; i++ {
		if err := s.Wait(time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if s.Value() != 0 {
		t.Errorf("Value = %d after 3 posts and 3 waits", s.Value())
	}
}
