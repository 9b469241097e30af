package trace

// argKind says how to read and print one syscall argument.
type argKind uint8

const (
	aInt     argKind = iota // signed decimal
	aUint                   // unsigned decimal: sizes, counts
	aHex                    // hexadecimal
	aPtr                    // address: NULL or 0x...
	aFd                     // descriptor; its path is read at entry
	aDirFd                  // AT_FDCWD, or a descriptor with its path
	aMapFd                  // mmap's descriptor: a path unless anonymous
	aPath                   // path string, read at entry
	aStr                    // other string, read at entry
	aOpen                   // O_* flags with the access mode
	aFdFlags                // O_* flags without access mode (pipe2...)
	aCreat                  // mode, shown with O_CREAT or O_TMPFILE only
	aMode                   // file mode in octal
	aProt                   // PROT_*
	aMap                    // MAP_*
	aMsync                  // MS_*
	aMadv                   // MADV_*
	aClone3                 // struct clone_args *, read at entry
	aSig                    // signal number
	aAt                     // AT_* flags
	aUnlink                 // 0 or AT_REMOVEDIR
	aFutex                  // FUTEX_* operation
	aWhence                 // SEEK_*
	aMremap                 // MREMAP_*
	aMemfd                  // MFD_*
	aWait                   // WNOHANG, __WALL...
	aIDType                 // P_PID, P_PIDFD...
	aSigHow                 // SIG_BLOCK...
	aAccess                 // F_OK, R_OK...
	aFalloc                 // FALLOC_FL_*
	aFcntl                  // F_* command
	aIPC                    // IPC_CREAT|IPC_EXCL|mode
	aShmat                  // SHM_RDONLY...
	aRename                 // RENAME_*
	aWBuf                   // buffer written: its first bytes, at entry
	aRBuf                   // buffer read: its first bytes, at exit
	aArgv                   // execve's argv, read at entry
)

// signature is how a syscall's arguments and result are read and shown.
type signature struct {
	args []argKind
	hex  bool // the result is an address
}

// sig builds a signature with a decimal result.
func sig(args ...argKind) signature { return signature{args: args} }

// sigAddr builds a signature whose result is an address.
func sigAddr(args ...argKind) signature {
	return signature{args: args, hex: true}
}

// signatures covers the calls a memory-mapping lab makes, and those the
// Go runtime makes around them. Other calls show six hex arguments.
var signatures = map[string]signature{
	"read":              sig(aFd, aRBuf, aUint),
	"write":             sig(aFd, aWBuf, aUint),
	"pread64":           sig(aFd, aRBuf, aUint, aInt),
	"pwrite64":          sig(aFd, aWBuf, aUint, aInt),
	"readv":             sig(aFd, aPtr, aInt),
	"writev":            sig(aFd, aPtr, aInt),
	"preadv":            sig(aFd, aPtr, aInt, aInt),
	"pwritev":           sig(aFd, aPtr, aInt, aInt),
	"preadv2":           sig(aFd, aPtr, aInt, aInt, aHex),
	"pwritev2":          sig(aFd, aPtr, aInt, aInt, aHex),
	"close":             sig(aFd),
	"open":              sig(aPath, aOpen, aCreat),
	"openat":            sig(aDirFd, aPath, aOpen, aCreat),
	"creat":             sig(aPath, aMode),
	"openat2":           sig(aDirFd, aPath, aPtr, aUint),
	"stat":              sig(aPath, aPtr),
	"lstat":             sig(aPath, aPtr),
	"fstat":             sig(aFd, aPtr),
	"newfstatat":        sig(aDirFd, aPath, aPtr, aAt),
	"statx":             sig(aDirFd, aPath, aAt, aHex, aPtr),
	"statfs":            sig(aPath, aPtr),
	"fstatfs":           sig(aFd, aPtr),
	"lseek":             sig(aFd, aInt, aWhence),
	"mmap":              sigAddr(aPtr, aUint, aProt, aMap, aMapFd, aHex),
	"mprotect":          sig(aPtr, aUint, aProt),
	"pkey_mprotect":     sig(aPtr, aUint, aProt, aInt),
	"munmap":            sig(aPtr, aUint),
	"mremap":            sigAddr(aPtr, aUint, aUint, aMremap, aPtr),
	"msync":             sig(aPtr, aUint, aMsync),
	"madvise":           sig(aPtr, aUint, aMadv),
	"process_madvise":   sig(aInt, aPtr, aUint, aMadv, aHex),
	"mincore":           sig(aPtr, aUint, aPtr),
	"mlock":             sig(aPtr, aUint),
	"mlock2":            sig(aPtr, aUint, aHex),
	"munlock":           sig(aPtr, aUint),
	"mlockall":          sig(aHex),
	"munlockall":        sig(),
	"brk":               sigAddr(aPtr),
	"ftruncate":         sig(aFd, aInt),
	"truncate":          sig(aPath, aInt),
	"fallocate":         sig(aFd, aFalloc, aInt, aInt),
	"fsync":             sig(aFd),
	"fdatasync":         sig(aFd),
	"sync_file_range":   sig(aFd, aInt, aInt, aHex),
	"fadvise64":         sig(aFd, aInt, aInt, aInt),
	"readahead":         sig(aFd, aInt, aUint),
	"sendfile":          sig(aFd, aFd, aPtr, aUint),
	"copy_file_range":   sig(aFd, aPtr, aFd, aPtr, aUint, aHex),
	"splice":            sig(aFd, aPtr, aFd, aPtr, aUint, aHex),
	"tee":               sig(aFd, aFd, aUint, aHex),
	"unlink":            sig(aPath),
	"unlinkat":          sig(aDirFd, aPath, aUnlink),
	"mkdir":             sig(aPath, aMode),
	"mkdirat":           sig(aDirFd, aPath, aMode),
	"rmdir":             sig(aPath),
	"rename":            sig(aPath, aPath),
	"renameat":          sig(aDirFd, aPath, aDirFd, aPath),
	"renameat2":         sig(aDirFd, aPath, aDirFd, aPath, aRename),
	"link":              sig(aPath, aPath),
	"linkat":            sig(aDirFd, aPath, aDirFd, aPath, aAt),
	"symlink":           sig(aPath, aPath),
	"symlinkat":         sig(aPath, aDirFd, aPath),
	"readlink":          sig(aPath, aPtr, aUint),
	"readlinkat":        sig(aDirFd, aPath, aPtr, aUint),
	"access":            sig(aPath, aAccess),
	"faccessat":         sig(aDirFd, aPath, aAccess),
	"faccessat2":        sig(aDirFd, aPath, aAccess, aAt),
	"chdir":             sig(aPath),
	"fchdir":            sig(aFd),
	"getcwd":            sig(aPtr, aUint),
	"chmod":             sig(aPath, aMode),
	"fchmod":            sig(aFd, aMode),
	"fchmodat":          sig(aDirFd, aPath, aMode),
	"chown":             sig(aPath, aInt, aInt),
	"lchown":            sig(aPath, aInt, aInt),
	"fchown":            sig(aFd, aInt, aInt),
	"fchownat":          sig(aDirFd, aPath, aInt, aInt, aAt),
	"utimensat":         sig(aDirFd, aPath, aPtr, aAt),
	"mknodat":           sig(aDirFd, aPath, aMode, aHex),
	"memfd_create":      sig(aStr, aMemfd),
	"execve":            sig(aPath, aArgv, aPtr),
	"execveat":          sig(aDirFd, aPath, aArgv, aPtr, aAt),
	"exit":              sig(aInt),
	"exit_group":        sig(aInt),
	"clone3":            sig(aClone3, aUint),
	"fork":              sig(),
	"vfork":             sig(),
	"wait4":             sig(aInt, aPtr, aWait, aPtr),
	"waitid":            sig(aIDType, aInt, aPtr, aWait, aPtr),
	"kill":              sig(aInt, aSig),
	"tkill":             sig(aInt, aSig),
	"tgkill":            sig(aInt, aInt, aSig),
	"rt_sigaction":      sig(aSig, aPtr, aPtr, aUint),
	"rt_sigprocmask":    sig(aSigHow, aPtr, aPtr, aUint),
	"rt_sigreturn":      sig(),
	"sigaltstack":       sig(aPtr, aPtr),
	"futex":             sig(aPtr, aFutex, aInt, aPtr, aPtr, aInt),
	"sched_yield":       sig(),
	"nanosleep":         sig(aPtr, aPtr),
	"clock_nanosleep":   sig(aInt, aInt, aPtr, aPtr),
	"clock_gettime":     sig(aInt, aPtr),
	"getpid":            sig(),
	"getppid":           sig(),
	"gettid":            sig(),
	"getuid":            sig(),
	"geteuid":           sig(),
	"getgid":            sig(),
	"getegid":           sig(),
	"setsid":            sig(),
	"getpgrp":           sig(),
	"setpgid":           sig(aInt, aInt),
	"getpgid":           sig(aInt),
	"getsid":            sig(aInt),
	"pause":             sig(),
	"sync":              sig(),
	"pipe":              sig(aPtr),
	"pipe2":             sig(aPtr, aFdFlags),
	"dup":               sig(aFd),
	"dup2":              sig(aFd, aInt),
	"dup3":              sig(aFd, aInt, aFdFlags),
	"fcntl":             sig(aFd, aFcntl, aHex),
	"ioctl":             sig(aFd, aHex, aHex),
	"getdents64":        sig(aFd, aPtr, aUint),
	"flock":             sig(aFd, aInt),
	"epoll_create1":     sig(aFdFlags),
	"epoll_ctl":         sig(aInt, aInt, aInt, aPtr),
	"epoll_wait":        sig(aInt, aPtr, aInt, aInt),
	"epoll_pwait":       sig(aInt, aPtr, aInt, aInt, aPtr, aUint),
	"eventfd2":          sig(aUint, aFdFlags),
	"pidfd_open":        sig(aInt, aHex),
	"pidfd_send_signal": sig(aInt, aSig, aPtr, aHex),
	"sched_getaffinity": sig(aInt, aUint, aPtr),
	"arch_prctl":        sig(aHex, aPtr),
	"prctl":             sig(aInt, aHex, aHex, aHex, aHex),
	"set_tid_address":   sig(aPtr),
	"set_robust_list":   sig(aPtr, aUint),
	"rseq":              sig(aPtr, aUint, aHex, aHex),
	"uname":             sig(aPtr),
	"getrandom":         sig(aPtr, aUint, aHex),
	"prlimit64":         sig(aInt, aInt, aPtr, aPtr),
	"getrusage":         sig(aInt, aPtr),
	"shmget":            sig(aHex, aUint, aIPC),
	"shmat":             sigAddr(aInt, aPtr, aShmat),
	"shmdt":             sig(aPtr),
	"shmctl":            sig(aInt, aInt, aPtr),
	"membarrier":        sig(aInt, aHex, aInt),
	"userfaultfd":       sig(aFdFlags),
	"process_vm_readv":  sig(aInt, aPtr, aUint, aPtr, aUint, aHex),
	"process_vm_writev": sig(aInt, aPtr, aUint, aPtr, aUint, aHex),
}

// unknown is the signature of a syscall without one: six raw arguments.
var unknown = sig(aHex, aHex, aHex, aHex, aHex, aHex)

// signatureOf returns the signature of the syscall named name.
func signatureOf(name string) signature {
	if s, ok := signatures[name]; ok {
		return s
	}
	return unknown
}
