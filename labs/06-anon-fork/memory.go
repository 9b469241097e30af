package main

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/fork"
	"github.com/mmaplab/mmaplab/internal/futex"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// faultAround is the kernel's default fault-around window
// (/sys/kernel/debug/fault_around_bytes): on a read fault of a file or
// shared page, it maps the pages of the window already in memory too.
const faultAround = 64 << 10

// sharedMapping is MAP_SHARED|MAP_ANONYMOUS memory placed at the start of
// a fault-around window, between PROT_NONE guards. Aligned, the kernel
// maps the same neighbours on every run, wherever mmap put it.
type sharedMapping struct {
	m       []byte // the mapping
	reserve []byte // the guards and the mapping, for munmap
}

// mapShared maps n pages of shared anonymous memory, read and write. It
// allocates nothing, so that a step that only maps shows no fault.
func mapShared(n int) (sharedMapping, error) {
	ps := mem.PageSize()
	align := max(faultAround, ps)
	size := n*ps + align + 2*ps
	base, err := unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return sharedMapping{}, fmt.Errorf("mmap %d pages PROT_NONE: %w",
			size/ps, err)
	}
	reserve := unsafe.Slice((*byte)(base), size)
	// The first aligned address after one guard page.
	skip := uintptr(ps) + (-(uintptr(base) + uintptr(ps)))&uintptr(align-1)
	p, err := unix.MmapPtr(-1, 0, unsafe.Add(base, skip), uintptr(n*ps), rw,
		unix.MAP_SHARED|unix.MAP_ANONYMOUS|unix.MAP_FIXED)
	if err != nil {
		mem.Unmap(reserve)
		return sharedMapping{}, fmt.Errorf("mmap %d pages "+
			"MAP_SHARED|MAP_ANONYMOUS: %w", n, err)
	}
	return sharedMapping{m: unsafe.Slice((*byte)(p), n*ps),
		reserve: reserve}, nil
}

// unmap removes the mapping and its guards.
func (s *sharedMapping) unmap() error { return mem.Unmap(s.reserve) }

// control is one page of shared anonymous memory through which the lab
// talks with the children it forks: two semaphores and report words.
type control struct {
	page   sharedMapping
	start  *futex.Semaphore // the parent lets the children go on
	done   *futex.Semaphore // a child has done its part
	report []uint64         // what the children saw, a word each
}

// reportOffset is where the report words start in the control page,
// after the two semaphores.
const reportOffset = 64

// newControl maps the control page.
func newControl() (*control, error) {
	page, err := mapShared(1)
	if err != nil {
		return nil, err
	}
	b := page.m
	words := (len(b) - reportOffset) / 8
	return &control{
		page:   page,
		start:  futex.At(b[0:]),
		done:   futex.At(b[futex.SemaphoreSize:]),
		report: unsafe.Slice((*uint64)(unsafe.Pointer(&b[reportOffset])), words),
	}, nil
}

// start forks a child that runs f (under internal/fork's rules) and
// arranges for it to be killed if the lab ends before it is waited for.
func start(l *lab.Lab, f func() int) (*fork.Child, error) {
	c, err := fork.Fork(f)
	if err != nil {
		return nil, err
	}
	l.OnClose(func() { c.Kill() })
	return c, nil
}

// noFork reports whether err is fork's refusal under the race detector,
// and says so as a skip: the lab then goes on without that section.
func noFork(l *lab.Lab, err error) bool {
	if errors.Is(err, fork.ErrRace) {
		l.Skip("%v", err)
		return true
	}
	return false
}
