package trace

import (
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// flagName names one flag, or one value of a field of several bits.
type flagName struct {
	v    uint64
	name string
}

// flagString writes v as NAME|NAME|0x..., taking the names in order;
// each one consumes its bits. Zero is "0".
func flagString(v uint64, names []flagName) string {
	var parts []string
	for _, f := range names {
		if f.v != 0 && v&f.v == f.v {
			parts = append(parts, f.name)
			v &^= f.v
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// valueName returns the name of v in names, or v in decimal.
func valueName(v uint64, names []flagName) string {
	for _, f := range names {
		if f.v == v {
			return f.name
		}
	}
	return strconv.FormatInt(int64(v), 10)
}

// openFlags are the O_* flags after the access mode, in strace's order.
// O_SYNC and O_TMPFILE include other bits, so they come first.
var openFlags = []flagName{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"},
	{unix.O_NOCTTY, "O_NOCTTY"}, {unix.O_TRUNC, "O_TRUNC"},
	{unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_SYNC, "O_SYNC"}, {unix.O_DSYNC, "O_DSYNC"},
	{unix.O_ASYNC, "O_ASYNC"}, {unix.O_DIRECT, "O_DIRECT"},
	{unix.O_LARGEFILE, "O_LARGEFILE"}, {unix.O_TMPFILE, "O_TMPFILE"},
	{unix.O_DIRECTORY, "O_DIRECTORY"}, {unix.O_NOFOLLOW, "O_NOFOLLOW"},
	{unix.O_NOATIME, "O_NOATIME"}, {unix.O_CLOEXEC, "O_CLOEXEC"},
	{unix.O_PATH, "O_PATH"},
}

var accessModes = []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}

// OpenString formats the flags of open or openat:
// "O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC".
func OpenString(flags uint64) string {
	s := accessModes[flags&unix.O_ACCMODE]
	if rest := flags &^ unix.O_ACCMODE; rest != 0 {
		s += "|" + flagString(rest, openFlags)
	}
	return s
}

// fdFlagString formats the flags of pipe2, dup3, eventfd2...: O_* flags
// without an access mode.
func fdFlagString(flags uint64) string {
	return flagString(flags, openFlags)
}

// creates reports whether open flags take a mode argument.
func creates(flags uint64) bool {
	return flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE
}

// modeString formats a file mode in octal, as 0644.
func modeString(mode uint64) string {
	s := strconv.FormatUint(mode, 8)
	for len(s) < 3 {
		s = "0" + s
	}
	if s[0] != '0' {
		s = "0" + s
	}
	return s
}

var protFlags = []flagName{
	{unix.PROT_READ, "PROT_READ"}, {unix.PROT_WRITE, "PROT_WRITE"},
	{unix.PROT_EXEC, "PROT_EXEC"}, {0x8, "PROT_SEM"},
	{unix.PROT_GROWSDOWN, "PROT_GROWSDOWN"},
	{unix.PROT_GROWSUP, "PROT_GROWSUP"},
}

// ProtString formats PROT_* flags: "PROT_READ|PROT_WRITE", "PROT_NONE".
func ProtString(prot uint64) string {
	if prot == 0 {
		return "PROT_NONE"
	}
	return flagString(prot, protFlags)
}

// mapTypes are the values of the low four bits of mmap's flags.
var mapTypes = []flagName{
	{unix.MAP_SHARED, "MAP_SHARED"}, {unix.MAP_PRIVATE, "MAP_PRIVATE"},
	{unix.MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE"},
	{unix.MAP_DROPPABLE, "MAP_DROPPABLE"},
}

var mapFlags = append([]flagName{
	{unix.MAP_FIXED, "MAP_FIXED"}, {unix.MAP_ANONYMOUS, "MAP_ANONYMOUS"},
}, append(archMapFlags, []flagName{
	{unix.MAP_GROWSDOWN, "MAP_GROWSDOWN"},
	{unix.MAP_DENYWRITE, "MAP_DENYWRITE"},
	{unix.MAP_EXECUTABLE, "MAP_EXECUTABLE"},
	{unix.MAP_LOCKED, "MAP_LOCKED"}, {unix.MAP_NORESERVE, "MAP_NORESERVE"},
	{unix.MAP_POPULATE, "MAP_POPULATE"}, {unix.MAP_NONBLOCK, "MAP_NONBLOCK"},
	{unix.MAP_STACK, "MAP_STACK"}, {unix.MAP_HUGETLB, "MAP_HUGETLB"},
	{unix.MAP_SYNC, "MAP_SYNC"},
	{unix.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
}...)...)

// mapUninitialized shares bit 26 with the huge page size of MAP_HUGETLB.
const mapUninitialized = 0x4000000

// MapString formats the flags of mmap: "MAP_SHARED|MAP_ANONYMOUS". With
// MAP_HUGETLB, bits 26-31 are log2 of the page size: "21<<MAP_HUGE_SHIFT".
func MapString(flags uint64) string {
	s := valueName(flags&0xf, mapTypes)
	if flags&0xf == 0 {
		s = "0"
	}
	rest := flags &^ 0xf
	var huge uint64
	if rest&unix.MAP_HUGETLB != 0 {
		huge = rest >> unix.MAP_HUGE_SHIFT & 0x3f
		rest &^= 0x3f << unix.MAP_HUGE_SHIFT
	}
	if rest&mapUninitialized != 0 {
		s += "|MAP_UNINITIALIZED"
		rest &^= mapUninitialized
	}
	if rest != 0 {
		s += "|" + flagString(rest, mapFlags)
	}
	if huge != 0 {
		s += "|" + strconv.FormatUint(huge, 10) + "<<MAP_HUGE_SHIFT"
	}
	return s
}

var msFlags = []flagName{
	{unix.MS_ASYNC, "MS_ASYNC"}, {unix.MS_INVALIDATE, "MS_INVALIDATE"},
	{unix.MS_SYNC, "MS_SYNC"},
}

// MsyncString formats the flags of msync: "MS_SYNC".
func MsyncString(flags uint64) string { return flagString(flags, msFlags) }

var madvNames = []flagName{
	{unix.MADV_NORMAL, "MADV_NORMAL"}, {unix.MADV_RANDOM, "MADV_RANDOM"},
	{unix.MADV_SEQUENTIAL, "MADV_SEQUENTIAL"},
	{unix.MADV_WILLNEED, "MADV_WILLNEED"},
	{unix.MADV_DONTNEED, "MADV_DONTNEED"}, {unix.MADV_FREE, "MADV_FREE"},
	{unix.MADV_REMOVE, "MADV_REMOVE"}, {unix.MADV_DONTFORK, "MADV_DONTFORK"},
	{unix.MADV_DOFORK, "MADV_DOFORK"},
	{unix.MADV_MERGEABLE, "MADV_MERGEABLE"},
	{unix.MADV_UNMERGEABLE, "MADV_UNMERGEABLE"},
	{unix.MADV_HUGEPAGE, "MADV_HUGEPAGE"},
	{unix.MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"},
	{unix.MADV_DONTDUMP, "MADV_DONTDUMP"}, {unix.MADV_DODUMP, "MADV_DODUMP"},
	{unix.MADV_WIPEONFORK, "MADV_WIPEONFORK"},
	{unix.MADV_KEEPONFORK, "MADV_KEEPONFORK"},
	{unix.MADV_COLD, "MADV_COLD"}, {unix.MADV_PAGEOUT, "MADV_PAGEOUT"},
	{unix.MADV_POPULATE_READ, "MADV_POPULATE_READ"},
	{unix.MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE"},
	{24, "MADV_DONTNEED_LOCKED"}, {unix.MADV_COLLAPSE, "MADV_COLLAPSE"},
	{unix.MADV_HWPOISON, "MADV_HWPOISON"},
	{101, "MADV_SOFT_OFFLINE"},
	{unix.MADV_GUARD_INSTALL, "MADV_GUARD_INSTALL"},
	{unix.MADV_GUARD_REMOVE, "MADV_GUARD_REMOVE"},
}

// MadviseString names an madvise advice: "MADV_NOHUGEPAGE".
func MadviseString(advice uint64) string { return valueName(advice, madvNames) }

var cloneFlags = []flagName{
	{unix.CLONE_VM, "CLONE_VM"}, {unix.CLONE_FS, "CLONE_FS"},
	{unix.CLONE_FILES, "CLONE_FILES"}, {unix.CLONE_SIGHAND, "CLONE_SIGHAND"},
	{unix.CLONE_PIDFD, "CLONE_PIDFD"}, {unix.CLONE_PTRACE, "CLONE_PTRACE"},
	{unix.CLONE_VFORK, "CLONE_VFORK"}, {unix.CLONE_PARENT, "CLONE_PARENT"},
	{unix.CLONE_THREAD, "CLONE_THREAD"}, {unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {unix.CLONE_SETTLS, "CLONE_SETTLS"},
	{unix.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
	{unix.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{unix.CLONE_DETACHED, "CLONE_DETACHED"},
	{unix.CLONE_UNTRACED, "CLONE_UNTRACED"},
	{unix.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"}, {unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"}, {unix.CLONE_IO, "CLONE_IO"},
	{unix.CLONE_CLEAR_SIGHAND, "CLONE_CLEAR_SIGHAND"},
	{unix.CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"},
	{unix.CLONE_NEWTIME, "CLONE_NEWTIME"},
}

// CloneString formats CLONE_* flags and, if sig is not 0, the exit
// signal, as clone's first argument: "CLONE_VM|CLONE_VFORK|SIGCHLD".
func CloneString(flags uint64, sig int) string {
	var s string
	if flags != 0 {
		s = flagString(flags, cloneFlags)
	}
	if sig != 0 {
		if s != "" {
			s += "|"
		}
		s += SignalString(syscall.Signal(sig))
	}
	if s == "" {
		return "0"
	}
	return s
}

// SignalString names a signal: "SIGBUS"; real-time signals count from
// the kernel's SIGRTMIN (32): "SIGRTMIN+2".
func SignalString(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	switch {
	case sig == 32:
		return "SIGRTMIN"
	case sig > 32 && sig <= 64:
		return "SIGRTMIN+" + strconv.Itoa(int(sig)-32)
	}
	return "SIG" + strconv.Itoa(int(sig))
}

// restartErrnos are the kernel's internal codes for an interrupted call
// that is restarted; a tracer sees them at the exit of such a call.
var restartErrnos = map[unix.Errno][2]string{
	512: {"ERESTARTSYS", "To be restarted if SA_RESTART is set"},
	513: {"ERESTARTNOINTR", "To be restarted"},
	514: {"ERESTARTNOHAND", "To be restarted if no handler"},
	515: {"ENOIOCTLCMD", "No ioctl command"},
	516: {"ERESTART_RESTARTBLOCK", "Interrupted by signal"},
}

// ErrnoString names an errno: "ENOENT".
func ErrnoString(e unix.Errno) string {
	if r, ok := restartErrnos[e]; ok {
		return r[0]
	}
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return "E" + strconv.Itoa(int(e))
}

// errnoText is the message of an errno, capitalized as strace prints it:
// "No such file or directory".
func errnoText(e unix.Errno) string {
	if r, ok := restartErrnos[e]; ok {
		return r[1]
	}
	s := e.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
