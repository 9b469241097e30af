// Package mem holds the small memory-mapping helpers the labs share: the
// page size, page arithmetic, anonymous and file mappings, and the residency
// questions the kernel answers per page (mincore, cachestat).
//
// The helpers are thin on purpose: each one is a single system call with its
// arguments spelled out, so that a student can read what the kernel was asked.
package mem

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PageSize returns the kernel's page size: 4 KiB on most x86-64 machines,
// 16 or 64 KiB on some arm64 ones. Never assume 4096.
func PageSize() int { return os.Getpagesize() }

// Pages returns how many pages n bytes occupy, rounding up.
func Pages(n int) int {
	ps := PageSize()
	return (n + ps - 1) / ps
}

// Addr returns the address of the first byte of b, for system calls that
// take a pointer and for lookups in /proc. b must not be empty.
func Addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// MapAnon maps pages pages of anonymous memory with the given protection
// and flags (MAP_ANONYMOUS is added), between two PROT_NONE guard pages.
// Remove it with UnmapAnon.
//
// The guards keep the kernel from merging the mapping with a neighbour
// that has the same flags (the Go runtime makes such mappings too): then
// /proc/self/smaps describes this mapping alone.
func MapAnon(pages, prot, flags int) ([]byte, error) {
	ps := PageSize()
	flags |= unix.MAP_ANONYMOUS
	all, err := mmap(-1, 0, (pages+2)*ps, unix.PROT_NONE, flags)
	if err != nil {
		return nil, fmt.Errorf("mmap %d anonymous pages: %w", pages+2, err)
	}
	p, err := unix.MmapPtr(-1, 0, unsafe.Pointer(&all[ps]),
		uintptr(pages*ps), prot, flags|unix.MAP_FIXED)
	if err != nil {
		Unmap(all)
		return nil, fmt.Errorf("mmap %d anonymous pages: %w", pages, err)
	}
	return unsafe.Slice((*byte)(p), pages*ps), nil
}

// UnmapAnon removes a mapping made by MapAnon, with its guard pages.
func UnmapAnon(m []byte) error {
	ps := PageSize()
	all := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&m[0]), -ps)),
		len(m)+2*ps)
	return Unmap(all)
}

// MapFile maps length bytes of the file fd from offset with the given
// protection and flags.
func MapFile(fd int, offset int64, length, prot, flags int) ([]byte, error) {
	m, err := mmap(fd, offset, length, prot, flags)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes of fd %d: %w", length, fd, err)
	}
	return m, nil
}

// mmap is the system call and nothing else. unix.Mmap also records each
// mapping in a Go map, which allocates: that would add page faults to a
// step that only maps.
func mmap(fd int, offset int64, length, prot, flags int) ([]byte, error) {
	p, err := unix.MmapPtr(fd, offset, nil, uintptr(length), prot, flags)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), length), nil
}

// Unmap removes a mapping made by MapAnon or MapFile, or any part of one
// that starts on a page boundary.
func Unmap(m []byte) error {
	err := unix.MunmapPtr(unsafe.Pointer(&m[0]), uintptr(len(m)))
	if err != nil {
		return fmt.Errorf("munmap %d pages: %w", Pages(len(m)), err)
	}
	return nil
}

// Mincore asks the kernel which pages of m are resident in memory: for a
// file mapping, whether the page is in the page cache (mapped here or not);
// for anonymous memory, whether it has a page. golang.org/x/sys/unix has no
// Mincore on Linux, so this is the raw system call.
func Mincore(m []byte) ([]bool, error) {
	n := Pages(len(m))
	vec := make([]byte, n)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE,
		Addr(m), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return nil, fmt.Errorf("mincore %d pages: %w", n, errno)
	}
	resident := make([]bool, n)
	for i, v := range vec {
		resident[i] = v&1 == 1
	}
	return resident, nil
}

// CacheState is what cachestat reports for one page of a file.
type CacheState struct {
	Cached bool // in the page cache
	Dirty  bool // changed in memory, not yet written back to the file
}

// PageCache asks the kernel, page by page, which pages of the file fd from
// page index first are in the page cache and which of them are dirty
// (cachestat, Linux 6.5+, no privileges needed).
func PageCache(fd, first, pages int) ([]CacheState, error) {
	ps := uint64(PageSize())
	states := make([]CacheState, pages)
	for i := range states {
		r := unix.CachestatRange{Off: uint64(first+i) * ps, Len: ps}
		var cs unix.Cachestat_t
		if err := unix.Cachestat(uint(fd), &r, &cs, 0); err != nil {
			return nil, fmt.Errorf("cachestat page %d: %w", first+i, err)
		}
		states[i] = CacheState{Cached: cs.Cache > 0, Dirty: cs.Dirty > 0}
	}
	return states, nil
}

// sink keeps the compiler from dropping reads whose value is not used.
var sink byte

// Touch reads one byte at offset off of m, so that the page holding it is
// faulted in for reading. The read is never optimised away.
//
//go:noinline
func Touch(m []byte, off int) {
	sink = m[off]
}
