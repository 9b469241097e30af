package main

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/futex"
)

// ringControl is the shared part of a ring: what the writer has put in,
// what the reader has taken out, and two futex words to sleep on. Each
// side's counter has a cache line of its own, so that the writer storing
// head does not take the line the reader stores tail in, and back.
type ringControl struct {
	head atomic.Uint64 // bytes put in so far, stored by the writer only
	_    [56]byte
	tail atomic.Uint64 // bytes taken out so far, stored by the reader only
	_    [56]byte
	data sleeper // the reader sleeps here while the ring is empty
	_    [56]byte
	room sleeper // the writer sleeps here while the ring is full
	_    [56]byte
}

// sleeper is a futex word and a flag that says someone may sleep on it.
type sleeper struct {
	seq      atomic.Uint32 // bumped by each wake-up: the futex word
	sleeping atomic.Uint32 // 1 while the other side may be asleep
}

// ringControlSize is the number of bytes ringControl takes.
const ringControlSize = int(unsafe.Sizeof(ringControl{}))

// ring is one end of a single-writer, single-reader byte queue in shared
// memory: data is the buffer (a power of two bytes), ctl the counters.
// A side that finds the ring empty (reader) or full (writer) spins up to
// spin times, then sleeps in futex(FUTEX_WAIT) until the other side wakes
// it.
type ring struct {
	ctl  *ringControl
	data []byte
	mask uint64

	seen uint64 // the other side's counter, as this side last loaded it

	spin   int         // checks before sleeping; 0 sleeps at once
	sleeps int         // how many times this side slept
	gone   func() bool // reports that the other side died: stop waiting
}

// errPeerGone is returned when the other side stopped taking part.
var errPeerGone = errors.New("the other process is gone")

// wakeCheck is how often a sleeping side wakes by itself to see whether
// the other one is still there.
const wakeCheck = 50 * time.Millisecond

// newRing makes a ring end over ctl (ringControlSize bytes, 8-byte
// aligned, in shared memory) and data (a power of two bytes).
func newRing(ctl, data []byte) *ring {
	if len(ctl) < ringControlSize || len(data)&(len(data)-1) != 0 ||
		uintptr(unsafe.Pointer(&ctl[0]))%8 != 0 {
		panic("newRing: bad control block or data size")
	}
	return &ring{
		ctl:  (*ringControl)(unsafe.Pointer(&ctl[0])),
		data: data,
		mask: uint64(len(data) - 1),
		gone: func() bool { return false },
	}
}

// put copies p into the ring, waiting while it is full. p must not be
// larger than the ring.
func (r *ring) put(p []byte) error {
	if len(p) > len(r.data) {
		return fmt.Errorf("put %d bytes into a ring of %d", len(p),
			len(r.data))
	}
	head := r.ctl.head.Load() // only this side stores head
	end := head + uint64(len(p))
	// r.seen is the tail this side last loaded: the ring has at least
	// that much room. Loading tail again takes the reader's cache line,
	// so do it only when the old value is not enough.
	fits := func() bool {
		if end-r.seen > uint64(len(r.data)) {
			r.seen = r.ctl.tail.Load()
		}
		return end-r.seen <= uint64(len(r.data))
	}
	if !fits() {
		if err := r.wait(&r.ctl.room, fits); err != nil {
			return err
		}
	}
	at := head & r.mask
	n := copy(r.data[at:], p)
	copy(r.data, p[n:]) // the part that wraps around, if any
	r.ctl.head.Store(end)
	return r.wake(&r.ctl.data)
}

// get copies up to len(p) bytes out of the ring into p, waiting while it
// is empty, and returns how many it copied.
func (r *ring) get(p []byte) (int, error) {
	tail := r.ctl.tail.Load() // only this side stores tail
	// r.seen is the head this side last loaded: what lies before it is
	// there to take without loading head again.
	ready := func() bool {
		if r.seen == tail {
			r.seen = r.ctl.head.Load()
		}
		return r.seen != tail
	}
	if !ready() {
		if err := r.wait(&r.ctl.data, ready); err != nil {
			return 0, err
		}
	}
	n := min(r.seen-tail, uint64(len(p)))
	at := tail & r.mask
	k := copy(p[:n], r.data[at:])
	copy(p[k:n], r.data)
	r.ctl.tail.Store(tail + n)
	return int(n), r.wake(&r.ctl.room)
}

// wait returns once ok() holds. It spins first, then sleeps on s: it
// says it is sleeping, checks ok() again (the other side may have acted
// before it saw the flag), and sleeps only while s.seq is unchanged.
func (r *ring) wait(s *sleeper, ok func() bool) error {
	for i := 0; i < r.spin; i++ {
		if ok() {
			return nil
		}
	}
	for {
		seq := s.seq.Load()
		s.sleeping.Store(1)
		if ok() {
			s.sleeping.Store(0)
			return nil
		}
		err := futex.Wait(word(&s.seq), seq, wakeCheck)
		s.sleeping.Store(0)
		r.sleeps++
		if ok() {
			return nil
		}
		switch err {
		case nil, unix.EAGAIN, unix.EINTR, unix.ETIMEDOUT:
		default:
			return err
		}
		if r.gone() {
			return errPeerGone
		}
	}
}

// wake wakes the other side if it said it may be asleep on s. The store
// that made its condition true comes first: either the sleeper's check
// sees that store, or this load sees its flag (atomics in Go are
// sequentially consistent), so no wake-up is lost.
func (r *ring) wake(s *sleeper) error {
	if s.sleeping.Load() == 0 {
		return nil
	}
	s.seq.Add(1)
	_, err := futex.Wake(word(&s.seq), 1)
	return err
}

// word returns the address of an atomic 32-bit word, for futex(2).
func word(w *atomic.Uint32) *uint32 { return (*uint32)(unsafe.Pointer(w)) }
