package trace

import (
	"testing"

	"golang.org/x/sys/unix"
)

// rec makes a finished record of the syscall named name.
func rec(name string, ret int64, args ...uint64) *Syscall {
	c := &Syscall{Name: name, Done: true, Ret: ret}
	copy(c.Args[:], args)
	if ret < 0 && ret >= -4095 {
		c.Errno = unix.Errno(-ret)
	}
	return c
}

func TestFormat(t *testing.T) {
	const addr = 0x7f0000001000
	negOne := ^uint64(0)
	fdcwd := uint64(0xffffffffffffff9c) // AT_FDCWD, -100
	open := rec("openat", 3, fdcwd, 1, unix.O_RDWR|unix.O_CREAT|
		unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	open.Strs[1] = "/dev/shm/x"
	tmp := rec("openat", -int64(unix.EISDIR), fdcwd, 1,
		unix.O_RDWR|unix.O_TMPFILE, 0o640)
	tmp.Strs[1] = "/tmp"
	ro := rec("openat", -int64(unix.ENOENT), fdcwd, 1, unix.O_RDONLY, 0o777)
	ro.Strs[1] = "/nope"
	mmap := rec("mmap", addr, 0, 8192, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED, 3, 0)
	mmap.Strs[4] = "/tmp/x/dst"
	anon := rec("mmap", addr, addr, 4096, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE|
			unix.MAP_POPULATE|unix.MAP_NORESERVE|unix.MAP_STACK, negOne, 0)
	huge := rec("mmap", addr, 0, 2<<20, unix.PROT_READ,
		unix.MAP_SHARED_VALIDATE|unix.MAP_ANONYMOUS|unix.MAP_HUGETLB|
			21<<unix.MAP_HUGE_SHIFT, negOne, 0)
	clone := rec("clone", 1234, unix.CLONE_VM|unix.CLONE_VFORK|
		uint64(unix.SIGCHLD), 0)
	decodeEntry(0, clone)
	clone3 := rec("clone3", 1235, 0x1000, 88)
	clone3.CloneFlags = unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_PIDFD
	clone3.exitSig = int(unix.SIGCHLD)
	write := rec("write", 100, 1, 0x1000, 100)
	write.Data = []byte("hello, world, this is 32 bytes..")
	exec := rec("execve", 0, 0x1000, 0x2000, 0x3000)
	exec.Strs[0], exec.Argv = "/bin/prog", []string{"prog", "-x"}
	exit := &Syscall{Name: "exit_group"}
	memfd := rec("memfd_create", 4, 0x1000,
		unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	memfd.Strs[0] = "ring"
	unl := rec("unlinkat", 0, fdcwd, 0x1000, unix.AT_REMOVEDIR)
	unl.Strs[1] = "/tmp/d"
	futexWait := rec("futex", -int64(unix.EAGAIN), 0xc000, 128, 0, 0)
	futexWake := rec("futex", 1, 0xc000, 129, 1)
	sigsys := rec("futex", -512, 0xc000, 128, 0, 0x2000)
	mystery := rec("syscall_999", 0, 1, 2)

	tests := []struct {
		c    *Syscall
		want string
	}{
		{open, `openat(AT_FDCWD, "/dev/shm/x", O_RDWR|O_CREAT|O_EXCL|` +
			`O_NOFOLLOW|O_CLOEXEC, 0600) = 3`},
		{tmp, `openat(AT_FDCWD, "/tmp", O_RDWR|O_TMPFILE, 0640) = -1 ` +
			`EISDIR (Is a directory)`},
		{ro, `openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT ` +
			`(No such file or directory)`},
		{mmap, `mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, ` +
			`3</tmp/x/dst>, 0) = 0x7f0000001000`},
		{anon, `mmap(0x7f0000001000, 4096, PROT_NONE, MAP_PRIVATE|` +
			`MAP_ANONYMOUS|MAP_NORESERVE|MAP_POPULATE|MAP_STACK|` +
			`MAP_FIXED_NOREPLACE, -1, 0) = 0x7f0000001000`},
		{huge, `mmap(NULL, 2097152, PROT_READ, MAP_SHARED_VALIDATE|` +
			`MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = ` +
			`0x7f0000001000`},
		{rec("msync", 0, addr, 4096, unix.MS_SYNC),
			`msync(0x7f0000001000, 4096, MS_SYNC) = 0`},
		{rec("msync", 0, addr, 4096, unix.MS_ASYNC|unix.MS_INVALIDATE),
			`msync(0x7f0000001000, 4096, MS_ASYNC|MS_INVALIDATE) = 0`},
		{rec("munmap", 0, addr, 4096), `munmap(0x7f0000001000, 4096) = 0`},
		{rec("madvise", 0, addr, 32768, unix.MADV_NOHUGEPAGE),
			`madvise(0x7f0000001000, 32768, MADV_NOHUGEPAGE) = 0`},
		{rec("madvise", 0, addr, 4096, unix.MADV_POPULATE_WRITE),
			`madvise(0x7f0000001000, 4096, MADV_POPULATE_WRITE) = 0`},
		{rec("mincore", 0, addr, 8192, 0xc000),
			`mincore(0x7f0000001000, 8192, 0xc000) = 0`},
		{rec("ftruncate", -int64(unix.EINVAL), 3, negOne),
			`ftruncate(3, -1) = -1 EINVAL (Invalid argument)`},
		{clone, `clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|` +
			`SIGCHLD) = 1234`},
		{clone3, `clone3({flags=CLONE_VM|CLONE_PIDFD|CLONE_VFORK, ` +
			`exit_signal=SIGCHLD}, 88) = 1235`},
		{rec("wait4", 1234, 1234, 0xc000, unix.WNOHANG|unix.WALL, 0),
			`wait4(1234, 0xc000, WNOHANG|__WALL, NULL) = 1234`},
		{rec("waitid", 0, unix.P_PIDFD, 5, 0xc000, unix.WEXITED, 0),
			`waitid(P_PIDFD, 5, 0xc000, WEXITED, NULL) = 0`},
		{exec, `execve("/bin/prog", ["prog", "-x"], 0x3000) = 0`},
		{exit, `exit_group(0) = ?`},
		{unl, `unlinkat(AT_FDCWD, "/tmp/d", AT_REMOVEDIR) = 0`},
		{write, `write(1, "hello, world, this is 32 bytes.."..., 100) = 100`},
		{memfd, `memfd_create("ring", MFD_CLOEXEC|MFD_ALLOW_SEALING) = 4`},
		{futexWait, `futex(0xc000, FUTEX_WAIT_PRIVATE, 0, NULL) = -1 ` +
			`EAGAIN (Resource temporarily unavailable)`},
		{futexWake, `futex(0xc000, FUTEX_WAKE_PRIVATE, 1) = 1`},
		{sigsys, `futex(0xc000, FUTEX_WAIT_PRIVATE, 0, 0x2000) = ? ` +
			`ERESTARTSYS (To be restarted if SA_RESTART is set)`},
		{rec("tgkill", 0, 10, 11, uint64(unix.SIGURG)),
			`tgkill(10, 11, SIGURG) = 0`},
		{rec("rt_sigaction", 0, 34, 0, 0x1000, 8),
			`rt_sigaction(SIGRTMIN+2, NULL, 0x1000, 8) = 0`},
		{rec("lseek", 10, 3, 10, 0), `lseek(3, 10, SEEK_SET) = 10`},
		{rec("shmget", 5, 0, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600),
			`shmget(0, 4096, IPC_CREAT|IPC_EXCL|0600) = 5`},
		{mystery, `syscall_999(0x1, 0x2, 0, 0, 0, 0) = 0`},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestSignalString(t *testing.T) {
	tests := []struct {
		s    Signal
		want string
	}{
		{Signal{Signo: unix.SIGSEGV, Code: 1, Addr: 0x10},
			"--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, " +
				"si_addr=0x10} ---"},
		{Signal{Signo: unix.SIGURG, Code: -6, Sender: 42},
			"--- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=42} ---"},
		{Signal{Signo: unix.SIGCHLD, Code: 1, Sender: 7, Status: 3},
			"--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, " +
				"si_pid=7, si_status=3} ---"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestSyscallNames(t *testing.T) {
	for name, nr := range map[string]int{"mmap": unix.SYS_MMAP,
		"openat": unix.SYS_OPENAT, "clone3": unix.SYS_CLONE3,
		"exit_group": unix.SYS_EXIT_GROUP, "msync": unix.SYS_MSYNC} {
		if got := SyscallName(nr); got != name {
			t.Errorf("SyscallName(%d) = %q, want %q", nr, got, name)
		}
		if got, ok := SyscallNumber(name); !ok || got != nr {
			t.Errorf("SyscallNumber(%q) = %d, %v", name, got, ok)
		}
	}
	if got := SyscallName(100000); got != "syscall_100000" {
		t.Errorf("SyscallName(100000) = %q", got)
	}
}
