// Package futex is the kernel's fast user-space mutex, used across
// processes: a 32-bit word in shared memory that a process can sleep on
// until another one changes it and wakes it.
//
// It is the Go counterpart of what POSIX semaphores (sem_post, sem_wait
// with pshared=1) are built on in glibc. golang.org/x/sys/unix has no
// FUTEX constants, so they are defined here. FUTEX_PRIVATE_FLAG is never
// added: a private futex is keyed by the process's own address and would
// not wake a process that maps the word at another address.
package futex

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations (linux/futex.h).
const (
	opWait = 0 // FUTEX_WAIT: sleep if *addr still equals val
	opWake = 1 // FUTEX_WAKE: wake up to n sleepers on addr
)

// Wait sleeps while *addr == val, until a Wake on addr, or until timeout
// (0 means no limit). It returns nil when woken, unix.EAGAIN if *addr was
// no longer val, unix.ETIMEDOUT, or unix.EINTR. Callers re-check the word
// in a loop: a wake-up is a hint, not a promise.
func Wait(addr *uint32, val uint32, timeout time.Duration) error {
	var ts *unix.Timespec
	if timeout > 0 {
		t := unix.NsecToTimespec(timeout.Nanoseconds())
		ts = &t
	}
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)),
		opWait, uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// Wake wakes up to n processes sleeping on addr and returns how many it
// woke.
func Wake(addr *uint32, n int) (int, error) {
	woken, _, errno := unix.Syscall6(unix.SYS_FUTEX,
		uintptr(unsafe.Pointer(addr)), opWake, uintptr(n), 0, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("futex wake: %w", errno)
	}
	return int(woken), nil
}

// Semaphore is a counting semaphore that works across processes when it
// lives in memory they share (a MAP_SHARED mapping): place it with At.
// Its zero value is a semaphore with count 0. It is 8 bytes.
type Semaphore struct {
	count   atomic.Uint32 // tokens available
	waiters atomic.Uint32 // processes that may be asleep in Wait
}

// SemaphoreSize is the number of bytes a Semaphore occupies.
const SemaphoreSize = int(unsafe.Sizeof(Semaphore{}))

// At returns the Semaphore stored at b[0:SemaphoreSize]. b must be
// 4-byte aligned, which the start of a mapping and any multiple of 8 from
// it are.
func At(b []byte) *Semaphore {
	if len(b) < SemaphoreSize || uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		panic("futex.At: need 8 bytes, 4-byte aligned")
	}
	return (*Semaphore)(unsafe.Pointer(&b[0]))
}

// Post adds a token and wakes one waiter if any may be asleep: sem_post.
func (s *Semaphore) Post() error {
	s.count.Add(1)
	if s.waiters.Load() > 0 {
		_, err := Wake(s.countWord(), 1)
		return err
	}
	return nil
}

// Wait takes a token, sleeping until one is posted or until timeout (0
// means no limit): sem_timedwait. It returns unix.ETIMEDOUT on time-out.
func (s *Semaphore) Wait(timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if s.tryTake() {
			return nil
		}
		left := time.Duration(0)
		if timeout > 0 {
			if left = time.Until(deadline); left <= 0 {
				return unix.ETIMEDOUT
			}
		}
		s.waiters.Add(1)
		err := Wait(s.countWord(), 0, left)
		s.waiters.Add(^uint32(0))
		switch err {
		case nil, unix.EAGAIN, unix.EINTR, unix.ETIMEDOUT:
			// Loop: take a token if there is one, or check the deadline.
		default:
			return fmt.Errorf("futex wait: %w", err)
		}
	}
}

// Value returns the number of tokens available now.
func (s *Semaphore) Value() uint32 { return s.count.Load() }

// tryTake takes a token if the count is above zero.
func (s *Semaphore) tryTake() bool {
	for {
		c := s.count.Load()
		if c == 0 {
			return false
		}
		if s.count.CompareAndSwap(c, c-1) {
			return true
		}
	}
}

func (s *Semaphore) countWord() *uint32 {
	return (*uint32)(unsafe.Pointer(&s.count))
}
