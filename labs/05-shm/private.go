package main

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/futex"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// The private section's object: the futex word, and words through which
// the child reports what it did.
const (
	futexAt  = 0  // the word both processes call futex on
	asleepAt = 4  // 1 while this process sleeps in the private wait
	stopAt   = 8  // 1 when the child should stop waking
	callsAt  = 12 // FUTEX_WAKE calls the child made while asleep = 1
	wokenAt  = 16 // sleepers those calls woke
)

// Futex operations and the flag that internal/futex never uses
// (linux/futex.h; golang.org/x/sys/unix does not define them).
const (
	futexWait        = 0
	futexWake        = 1
	futexPrivateFlag = 128
)

// This process sleeps in the private wait, privateSleep at a time, until
// the child has called FUTEX_WAKE minCalls times meanwhile.
const (
	privateSleep = 10 * time.Millisecond
	minCalls     = 10
)

// private shows that a futex wait with FUTEX_PRIVATE_FLAG cannot be woken
// by another process, while one without it can.
func private(l *lab.Lab) error {
	if why := noDevShm(); why != "" {
		l.Skip("%s: POSIX shared memory lives there on Linux", why)
		return nil
	}
	name := newName(l, "private")
	l.Say("NAME = %s", name)
	m, err := createSized(l, name, 1)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	c, err := startChild(l, "waker", name)
	if err != nil {
		return err
	}
	l.Say("a child process maps NAME and calls futex(FUTEX_WAKE) on its "+
		"first word, again and again: %s", c.command(name))
	w := word(m, futexAt)
	sharedErr := waitWoken(w)
	l.Claim(sharedErr == nil, "futex(FUTEX_WAIT) on the word returned 0: "+
		"a FUTEX_WAKE of the child woke this process. Without "+
		"FUTEX_PRIVATE_FLAG the kernel finds the sleeper by the page of "+
		"the object, whatever address each process maps it at")
	atomic.StoreUint32(word(m, asleepAt), 1)
	privateErr := waitPrivate(w, word(m, callsAt))
	atomic.StoreUint32(word(m, asleepAt), 0)
	atomic.StoreUint32(word(m, stopAt), 1)
	childErr := c.wait()
	calls, woken := load(word(m, callsAt)), load(word(m, wokenAt))
	l.Claim(privateErr == unix.ETIMEDOUT && calls >= minCalls &&
		woken == 0 && childErr == nil, "futex(FUTEX_WAIT|"+
		"FUTEX_PRIVATE_FLAG) on the same word only ever timed out: the "+
		"child's FUTEX_WAKE calls meanwhile (%d at least), with the flag "+
		"and without, woke nobody. A private futex is found by this "+
		"process's own address: it is for threads, not for processes",
		minCalls)
	if sharedErr != nil {
		return sharedErr
	}
	return childErr
}

// waitWoken sleeps on the shared word until a FUTEX_WAKE wakes it.
func waitWoken(w *uint32) error {
	deadline := time.Now().Add(turnTimeout)
	for {
		err := futex.Wait(w, 0, time.Until(deadline))
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue // a signal, not a wake-up: sleep again
		}
		return fmt.Errorf("futex wait: %w", err)
	}
}

// waitPrivate sleeps on w with FUTEX_PRIVATE_FLAG, privateSleep at a
// time, until the count of the child's calls reaches minCalls. It
// returns unix.ETIMEDOUT if no wait was ever woken, nil if one was.
func waitPrivate(w, calls *uint32) error {
	deadline := time.Now().Add(turnTimeout)
	for load(calls) < minCalls {
		if time.Now().After(deadline) {
			return fmt.Errorf("the child made %d calls, not %d: %w",
				load(calls), minCalls, unix.ETIMEDOUT)
		}
		ts := unix.NsecToTimespec(privateSleep.Nanoseconds())
		_, _, errno := unix.Syscall6(unix.SYS_FUTEX,
			uintptr(unsafe.Pointer(w)), futexWait|futexPrivateFlag, 0,
			uintptr(unsafe.Pointer(&ts)), 0, 0)
		switch errno {
		case 0:
			return nil // woken: what a private futex should not be
		case unix.ETIMEDOUT, unix.EINTR:
			continue
		}
		return fmt.Errorf("futex wait private: %w", errno)
	}
	return unix.ETIMEDOUT
}

// wakerChild is the child role "waker NAME": it calls FUTEX_WAKE on the
// first word of the object NAME until that wakes someone, then keeps
// calling it, with FUTEX_PRIVATE_FLAG and without, until told to stop,
// and counts the calls made while the parent sleeps and what they woke.
func wakerChild(l *lab.Lab, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want NAME, got %d arguments", len(args))
	}
	m, err := openMapped(args[0])
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	w := word(m, futexAt)
	deadline := time.Now().Add(turnTimeout)
	for {
		n, err := futex.Wake(w, 1)
		if err != nil {
			return err
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nobody slept on the word: %w", unix.ETIMEDOUT)
		}
		time.Sleep(50 * time.Microsecond)
	}
	for load(word(m, stopAt)) == 0 {
		asleep := load(word(m, asleepAt)) == 1
		shared, err := futex.Wake(w, 1)
		if err != nil {
			return err
		}
		private, _, errno := unix.Syscall6(unix.SYS_FUTEX,
			uintptr(unsafe.Pointer(w)), futexWake|futexPrivateFlag, 1,
			0, 0, 0)
		if errno != 0 {
			return fmt.Errorf("futex wake private: %w", errno)
		}
		if asleep {
			atomic.AddUint32(word(m, callsAt), 2)
		}
		atomic.AddUint32(word(m, wokenAt), uint32(shared)+uint32(private))
		if time.Now().After(deadline) {
			return fmt.Errorf("never told to stop: %w", unix.ETIMEDOUT)
		}
		time.Sleep(50 * time.Microsecond)
	}
	return nil
}
