package trace

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// find returns the first syscall of process pid named name for which ok
// returns true (ok may be nil).
func find(tr *Trace, pid int, name string, ok func(*Syscall) bool) *Syscall {
	for _, c := range tr.Of(pid) {
		if c.Name == name && (ok == nil || ok(c)) {
			return c
		}
	}
	return nil
}

// match checks a record's strace line against a regular expression.
func match(t *testing.T, c *Syscall, what, pattern string) {
	t.Helper()
	if c == nil {
		t.Errorf("no %s", what)
		return
	}
	if !regexp.MustCompile("^" + pattern + "$").MatchString(c.String()) {
		t.Errorf("%s:\n got %s\nwant %s", what, c, pattern)
	}
}

func TestMmapFile(t *testing.T) {
	for _, regs := range []bool{false, true} {
		t.Run(fmt.Sprintf("regs=%v", regs), func(t *testing.T) {
			forceRegMode = regs
			defer func() { forceRegMode = false }()
			testMmapFile(t)
		})
	}
}

func testMmapFile(t *testing.T) {
	dir := t.TempDir()
	tr, out := run(t, Options{}, "mmapfile", dir)
	root := tr.Root
	if out != "done\n" || root.ExitCode != 0 {
		dump(t, tr)
		t.Fatalf("exit %d, output %q", root.ExitCode, out)
	}
	x := filepath.Join(dir, "x")
	q := regexp.QuoteMeta
	isX := func(c *Syscall) bool { return c.Path == x }
	open := find(tr, root.Pid, "openat", isX)
	match(t, open, "openat", `openat\(AT_FDCWD, "`+q(x)+
		`", O_RDWR\|O_CREAT\|O_EXCL\|O_CLOEXEC, 0600\) = \d+`)
	missing := find(tr, root.Pid, "openat", func(c *Syscall) bool {
		return filepath.Base(c.Path) == "missing"
	})
	match(t, missing, "failed openat", `openat\(AT_FDCWD, ".*/missing", `+
		`O_RDONLY\) = -1 ENOENT \(No such file or directory\)`)
	if missing != nil && (!missing.Failed() || missing.Errno != unix.ENOENT) {
		t.Errorf("failed openat: Failed %v, Errno %v",
			missing.Failed(), missing.Errno)
	}
	if open == nil {
		dump(t, tr)
		t.FailNow()
	}
	fd := strconv.FormatInt(open.Ret, 10)
	onX := func(c *Syscall) bool { return c.Int(0) == int(open.Ret) }
	trunc := find(tr, root.Pid, "ftruncate", onX)
	match(t, trunc, "ftruncate", `ftruncate\(`+fd+"<"+q(x)+`>, 8192\) = 0`)
	mmap := find(tr, root.Pid, "mmap", func(c *Syscall) bool {
		return c.Int(4) == int(open.Ret)
	})
	match(t, mmap, "mmap", `mmap\(NULL, 8192, PROT_READ\|PROT_WRITE, `+
		`MAP_SHARED, `+fd+"<"+q(x)+`>, 0\) = 0x[0-9a-f]+`)
	if mmap == nil {
		t.FailNow()
	}
	addr := fmt.Sprintf("%#x", mmap.Ret)
	atAddr := func(c *Syscall) bool { return c.Arg(0) == uint64(mmap.Ret) }
	msync := find(tr, root.Pid, "msync", atAddr)
	match(t, msync, "msync", `msync\(`+addr+`, 8192, MS_SYNC\) = 0`)
	munmap := find(tr, root.Pid, "munmap", atAddr)
	match(t, munmap, "munmap", `munmap\(`+addr+`, 8192\) = 0`)
	unlink := find(tr, root.Pid, "unlinkat", isX)
	match(t, unlink, "unlinkat", `unlinkat\(AT_FDCWD, "`+q(x)+`", 0\) = 0`)
	closeX := find(tr, root.Pid, "close", onX)
	match(t, closeX, "close", `close\(`+fd+"<"+q(x)+` \(deleted\)>\) = 0`)
	write := find(tr, root.Pid, "write", func(c *Syscall) bool {
		return c.Int(0) == 1
	})
	match(t, write, "write", `write\(1<.*>, "done\\n", 5\) = 5`)
	exit := find(tr, root.Pid, "exit_group", nil)
	match(t, exit, "exit_group", `exit_group\(0\) = \?`)

	checkOrder(t, open, trunc, mmap, msync, munmap, unlink)
	if trunc != nil && mmap != nil &&
		(trunc.FdPath != x || mmap.FdPath != x) {
		t.Errorf("fd paths: ftruncate %q, mmap %q", trunc.FdPath, mmap.FdPath)
	}
	for _, c := range tr.Syscalls {
		if c.Gen != 1 || c.Prog != root.Execs[0] || c.Pid != root.Pid {
			t.Fatalf("record %d: pid %d gen %d prog %q", c.Seq, c.Pid,
				c.Gen, c.Prog)
		}
		if len(c.Name) > 8 && c.Name[:8] == "syscall_" {
			t.Errorf("unnamed syscall: %s", c)
		}
	}
}

// checkOrder checks that the records are in this order.
func checkOrder(t *testing.T, calls ...*Syscall) {
	t.Helper()
	for i := 1; i < len(calls); i++ {
		if calls[i-1] != nil && calls[i] != nil &&
			calls[i-1].Seq >= calls[i].Seq {
			t.Errorf("%s before %s", calls[i], calls[i-1])
		}
	}
}

func TestReexec(t *testing.T) {
	for i := range 20 {
		tr, _ := run(t, Options{}, "reexec")
		if !checkReexec(t, tr) {
			t.Logf("run %d:", i)
			dump(t, tr)
			t.FailNow()
		}
	}
}

// checkReexec checks one run of reexec; it reports whether it passed.
func checkReexec(t *testing.T, tr *Trace) bool {
	t.Helper()
	root, path := tr.Root, tr.Root.Execs[0]
	if root.ExitCode != 0 || root.Parent != 0 {
		t.Errorf("root: exit %d, parent %d", root.ExitCode, root.Parent)
		return false
	}
	var child *Process
	for _, p := range tr.Children(root.Pid) {
		switch {
		case len(p.Execs) == 1 && p.Execs[0] == path:
			if child != nil {
				t.Errorf("two children exec'd %s", path)
			}
			child = p
		case len(p.Execs) != 0:
			t.Errorf("child %d exec'd %q", p.Pid, p.Execs)
		}
		if !p.Exited {
			t.Errorf("child %d did not exit", p.Pid)
		}
	}
	if child == nil {
		t.Errorf("no child exec'd %s", path)
		return false
	}
	if child.ExitCode != 3 {
		t.Errorf("child exit %d, want 3", child.ExitCode)
	}
	exec := find(tr, child.Pid, "execve", nil)
	if exec == nil || !exec.OK() || exec.Path != path ||
		fmt.Sprint(exec.Argv) != fmt.Sprint([]string{path, "child"}) {
		t.Errorf("execve of the child: %v", exec)
		return false
	}
	for _, c := range tr.Of(child.Pid) {
		gen := 1
		if c.Seq > exec.Seq {
			gen = 2
		}
		if c.Gen != gen {
			t.Errorf("gen %d, want %d: %s", c.Gen, gen, c)
			return false
		}
	}
	return !t.Failed()
}

func TestRawFork(t *testing.T) {
	t.Run("clone", func(t *testing.T) { testRawFork(t, "clone") })
	t.Run("clone3", func(t *testing.T) { testRawFork(t, "clone3") })
}

func testRawFork(t *testing.T, call string) {
	var shared uintptr
	var atExit []byte
	var rss int64
	var news []int
	opts := Options{
		OnSyscall: func(s *Stop) {
			c := s.Syscall
			if s.Exit && c.Name == "mmap" && c.Arg(3) ==
				unix.MAP_SHARED|unix.MAP_ANONYMOUS {
				shared = c.Addr()
			}
		},
		OnNewProcess: func(s *Stop) { news = append(news, s.Pid) },
		OnExit: func(s *Stop) {
			if s.Pid == s.Trace().Root.Pid {
				return
			}
			atExit, _ = s.ReadMem(shared, 8)
			if m, err := s.Smaps(shared); err == nil {
				rss = m.KB["Rss"]
			}
		},
	}
	tr, out := run(t, opts, "rawfork", call)
	root := tr.Root
	kids := tr.Children(root.Pid)
	if root.ExitCode != 0 || len(kids) != 1 {
		dump(t, tr)
		t.Fatalf("exit %d, %d children, output %q", root.ExitCode,
			len(kids), out)
	}
	child := kids[0]
	if fmt.Sprint(child.Threads) != fmt.Sprint([]int{child.Pid}) ||
		child.ExitCode != 0 || len(child.Execs) != 0 {
		t.Errorf("child: threads %v, exit %d, execs %q", child.Threads,
			child.ExitCode, child.Execs)
	}
	if fmt.Sprint(news) != fmt.Sprint([]int{root.Pid, child.Pid}) {
		t.Errorf("OnNewProcess for %v, want root then child", news)
	}
	if len(atExit) != 8 || atExit[0] != 42 || rss == 0 {
		t.Errorf("at the child's exit: word %v, Rss %d kB", atExit, rss)
	}
	checkThreads(t, tr, root)
	fork := find(tr, root.Pid, call, func(c *Syscall) bool {
		return c.Ret == int64(child.Pid)
	})
	want := `clone\(child_stack=NULL, flags=SIGCHLD\)`
	if call == "clone3" {
		want = `clone3\(\{flags=0, exit_signal=SIGCHLD\}, 64\)`
	}
	match(t, fork, "fork", want+" = "+strconv.Itoa(child.Pid))
	wait := find(tr, root.Pid, "wait4", nil)
	match(t, wait, "wait4", `wait4\(`+strconv.Itoa(child.Pid)+
		`, 0x[0-9a-f]+, 0, NULL\) = `+strconv.Itoa(child.Pid))
	exit := find(tr, child.Pid, "exit_group", nil)
	match(t, exit, "child's exit_group", `exit_group\(0\) = \?`)
}

// checkThreads checks that the Go runtime's threads of p are threads:
// none is a process, each was made by a clone with CLONE_THREAD.
func checkThreads(t *testing.T, tr *Trace, p *Process) {
	t.Helper()
	if len(p.Threads) < 2 || p.Threads[0] != p.Pid {
		t.Errorf("threads of %d: %v", p.Pid, p.Threads)
	}
	for _, tid := range p.Threads[1:] {
		if tr.Proc(tid) != nil || tr.ProcOf(tid) != p {
			t.Errorf("thread %d: a process, or not of %d", tid, p.Pid)
		}
		c := find(tr, p.Pid, "clone", func(c *Syscall) bool {
			return c.Ret == int64(tid)
		})
		if c == nil || c.CloneFlags&unix.CLONE_THREAD == 0 {
			t.Errorf("thread %d: made by %v", tid, c)
		}
	}
}

// TestThreadExec follows an execve made by a thread other than the
// leader: the kernel moves the thread to the leader's tid.
func TestThreadExec(t *testing.T) {
	tr, _ := run(t, Options{}, "threadexec")
	root := tr.Root
	path := root.Execs[0]
	if root.ExitCode != 5 ||
		fmt.Sprint(root.Execs) != fmt.Sprint([]string{path, path}) {
		dump(t, tr)
		t.Fatalf("exit %d, execs %q", root.ExitCode, root.Execs)
	}
	exec := find(tr, root.Pid, "execve", nil)
	if exec == nil || exec.Tid == root.Pid || !exec.OK() {
		dump(t, tr)
		t.Fatalf("execve: %v from thread %d", exec, exec.Tid)
	}
	exit := find(tr, root.Pid, "exit_group", nil)
	if exit == nil || exit.Gen != 2 || exit.Tid != root.Pid {
		t.Errorf("exit_group after the exec: %v", exit)
	}
}

// TestJobStop checks that a tracee that stops itself stays stopped, as
// its parent sees with waitid, until the parent sends it SIGCONT.
func TestJobStop(t *testing.T) {
	tr, out := run(t, Options{}, "jobstop")
	if out != "stopped\ncontinued\n" || tr.Root.ExitCode != 0 {
		dump(t, tr)
		t.Fatalf("output %q, exit %d", out, tr.Root.ExitCode)
	}
	var stop, cont *Signal
	for _, s := range tr.Signals {
		switch {
		case s.Signo == unix.SIGSTOP && stop == nil:
			stop = s
		case s.Signo == unix.SIGCONT && cont == nil:
			cont = s
		}
	}
	if stop == nil || cont == nil || stop.Seq > cont.Seq ||
		stop.Pid != cont.Pid || stop.Pid == tr.Root.Pid {
		t.Errorf("SIGSTOP %v, then SIGCONT %v, in the child", stop, cont)
	}
}

// TestManyForks counts children from fork events, not from clone
// entries, which restarts make more numerous.
func TestManyForks(t *testing.T) {
	const n = 32
	tr, out := run(t, Options{}, "forkmany", strconv.Itoa(n))
	kids := tr.Children(tr.Root.Pid)
	if out != fmt.Sprintf("sum %d\n", n*(n+1)/2) || len(kids) != n {
		dump(t, tr)
		t.Fatalf("output %q, %d children", out, len(kids))
	}
	for _, k := range kids {
		if k.ExitCode != 0 || len(k.Threads) != 1 {
			t.Errorf("child %d: %s, threads %v", k.Pid, k, k.Threads)
		}
	}
	entries := 0
	for _, c := range tr.Of(tr.Root.Pid) {
		if c.Name == "clone" && c.CloneFlags == 0 {
			entries++
		}
	}
	t.Logf("%d children, %d fork entries", len(kids), entries)
	checkThreads(t, tr, tr.Root)
}
