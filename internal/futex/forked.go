package futex

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The methods in this file are Post and Wait for a child made by
// internal/fork, which may not allocate, read the clock through the
// runtime or make system calls that involve the scheduler: they use raw
// system calls only and return an errno instead of an error. They work
// with Post and Wait in the other processes: the protocol is the same.

// PostRaw is Post for a forked child.
//
//go:nosplit
func (s *Semaphore) PostRaw() unix.Errno {
	s.count.Add(1)
	if s.waiters.Load() == 0 {
		return 0
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_FUTEX,
		uintptr(unsafe.Pointer(s.countWord())), opWake, 1, 0, 0, 0)
	return errno
}

// WaitRaw is Wait for a forked child: it takes a token, sleeping until
// one is posted or until timeout has passed (0: no limit). It returns 0,
// unix.ETIMEDOUT, or the errno of a failed futex wait.
//
//go:nosplit
func (s *Semaphore) WaitRaw(timeout time.Duration) unix.Errno {
	end := monotonic() + int64(timeout)
	for {
		if s.tryTake() {
			return 0
		}
		var ts unix.Timespec
		var tsp uintptr // nil: no time-out
		if timeout > 0 {
			left := end - monotonic()
			if left <= 0 {
				return unix.ETIMEDOUT
			}
			ts.Sec, ts.Nsec = left/1e9, left%1e9
			tsp = uintptr(unsafe.Pointer(&ts))
		}
		s.waiters.Add(1)
		_, _, errno := unix.RawSyscall6(unix.SYS_FUTEX,
			uintptr(unsafe.Pointer(s.countWord())), opWait, 0, tsp, 0, 0)
		s.waiters.Add(^uint32(0))
		switch errno {
		case 0, unix.EAGAIN, unix.EINTR, unix.ETIMEDOUT:
			// Loop: take a token if there is one, or check the time.
		default:
			return errno
		}
	}
}

// monotonic returns CLOCK_MONOTONIC in nanoseconds, by a raw system call.
//
//go:nosplit
func monotonic() int64 {
	var ts unix.Timespec
	unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC,
		uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Sec*1e9 + ts.Nsec
}
