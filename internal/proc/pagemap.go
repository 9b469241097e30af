package proc

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// PagemapEntry is one 64-bit entry of /proc/PID/pagemap: what the page
// table of the process says about one virtual page.
// See Documentation/admin-guide/mm/pagemap.rst in the kernel.
type PagemapEntry uint64

// Present reports whether the virtual page has a physical page right now.
func (e PagemapEntry) Present() bool { return e>>63&1 == 1 }

// Swapped reports whether the page is in swap.
func (e PagemapEntry) Swapped() bool { return e>>62&1 == 1 }

// FileOrShared reports a page of a file or of shared anonymous memory.
func (e PagemapEntry) FileOrShared() bool { return e>>61&1 == 1 }

// Exclusive reports whether only this process maps the physical page. A
// present private page that is not exclusive is shared with someone else:
// for untouched anonymous memory that was read, the kernel's zero page.
func (e PagemapEntry) Exclusive() bool { return e>>56&1 == 1 }

// PFN returns the physical frame number. Without CAP_SYS_ADMIN the kernel
// reports 0, so treat 0 as "unknown".
func (e PagemapEntry) PFN() uint64 { return uint64(e) & (1<<55 - 1) }

// Pagemap reads the pagemap entries of pages consecutive pages from addr in
// process pid (0 for this process). No privileges are needed for the flag
// bits; physical frame numbers read as 0 without CAP_SYS_ADMIN.
func Pagemap(pid int, addr uintptr, pages int) ([]PagemapEntry, error) {
	f, err := os.Open(path(pid, "pagemap"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps := uintptr(os.Getpagesize())
	buf := make([]byte, 8*pages)
	if _, err := f.ReadAt(buf, int64(addr/ps*8)); err != nil {
		return nil, fmt.Errorf("read pagemap: %w", err)
	}
	entries := make([]PagemapEntry, pages)
	for i := range entries {
		entries[i] = PagemapEntry(binary.LittleEndian.Uint64(buf[8*i:]))
	}
	return entries, nil
}

// Kernel page flags, bit numbers in /proc/kpageflags
// (include/uapi/linux/kernel-page-flags.h).
const (
	KPFDirty        = 4
	KPFCompoundHead = 15
	KPFCompoundTail = 16
	KPFHuge         = 17
	KPFTHP          = 22
	KPFZeroPage     = 24
)

// KPageFlags returns the flags of each physical frame. It needs
// CAP_SYS_ADMIN (normally root): /proc/kpageflags is mode 0400, and without
// the capability pagemap hides the frame numbers anyway.
func KPageFlags(pfns []uint64) ([]uint64, error) {
	f, err := os.Open("/proc/kpageflags")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	flags := make([]uint64, len(pfns))
	var b [8]byte
	for i, pfn := range pfns {
		if pfn == 0 {
			return nil, fmt.Errorf("kpageflags: frame numbers hidden")
		}
		if _, err := f.ReadAt(b[:], int64(pfn*8)); err != nil {
			return nil, fmt.Errorf("read kpageflags: %w", err)
		}
		flags[i] = binary.LittleEndian.Uint64(b[:])
	}
	return flags, nil
}

// Faults is a pair of page-fault counters from getrusage.
type Faults struct {
	Minor int64 // served without I/O: zero page, page cache hit, new page
	Major int64 // needed I/O: the page was read from disk
}

// Sub returns the faults between before and f.
func (f Faults) Sub(before Faults) Faults {
	return Faults{Minor: f.Minor - before.Minor, Major: f.Major - before.Major}
}

// ThreadFaults returns the fault counters of the calling OS thread
// (RUSAGE_THREAD). Call runtime.LockOSThread first, so that the counters
// belong to the goroutine that touches the memory and not to the Go
// runtime's other threads.
func ThreadFaults() (Faults, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return Faults{}, fmt.Errorf("getrusage: %w", err)
	}
	return Faults{Minor: ru.Minflt, Major: ru.Majflt}, nil
}
