package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Classic BPF, as seccomp filters are written (linux/filter.h).
const (
	bpfLD  = 0x00
	bpfW   = 0x00
	bpfABS = 0x20
	bpfJMP = 0x05
	bpfJEQ = 0x10
	bpfK   = 0x00
	bpfRET = 0x06

	seccompModeFilter = 2          // SECCOMP_MODE_FILTER
	seccompRetAllow   = 0x7fff0000 // SECCOMP_RET_ALLOW
	seccompRetErrno   = 0x00050000 // SECCOMP_RET_ERRNO | errno
)

// Offsets in struct seccomp_data: nr, arch, instruction pointer, args.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits of args[0] on a little-endian machine
)

// auditArch is the AUDIT_ARCH value of this architecture's syscalls.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("seccomp: no filter for %s", runtime.GOARCH)
}

// inetFilter makes socket(AF_INET or AF_INET6, ...) fail with EACCES and
// allows every other call. A call from another architecture's syscall
// table (a 32-bit call on a 64-bit kernel) is refused too.
func inetFilter(arch uint32) []unix.SockFilter {
	stmt := func(code uint16, k uint32) unix.SockFilter {
		return unix.SockFilter{Code: code, K: k}
	}
	jeq := func(k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: bpfJMP | bpfJEQ | bpfK, Jt: jt, Jf: jf,
			K: k}
	}
	deny := seccompRetErrno | uint32(unix.EACCES)
	return []unix.SockFilter{
		stmt(bpfLD|bpfW|bpfABS, offArch),
		jeq(arch, 1, 0),
		stmt(bpfRET|bpfK, deny),
		stmt(bpfLD|bpfW|bpfABS, offNr),
		jeq(unix.SYS_SOCKET, 0, 3),
		stmt(bpfLD|bpfW|bpfABS, offArg0),
		jeq(unix.AF_INET, 2, 0),
		jeq(unix.AF_INET6, 1, 0),
		stmt(bpfRET|bpfK, seccompRetAllow),
		stmt(bpfRET|bpfK, deny),
	}
}

// denyInetSockets installs the filter on the calling thread; the program
// it execs keeps it. It needs no_new_privs (or CAP_SYS_ADMIN).
func denyInetSockets() error {
	arch, err := auditArch()
	if err != nil {
		return err
	}
	filter := inetFilter(arch)
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	err = unix.Prctl(unix.PR_SET_SECCOMP, seccompModeFilter,
		uintptr(unsafe.Pointer(&prog)), 0, 0)
	if err != nil {
		return fmt.Errorf("prctl PR_SET_SECCOMP: %w", err)
	}
	return nil
}
