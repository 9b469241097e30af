package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// rules shows why a forked Go child lives by internal/fork's rules: it
// has one thread of the many the parent has; and that the helper lets a
// fault kill the child by its signal.
func rules(l *lab.Lab) error {
	ctl, err := newControl()
	if err != nil {
		return err
	}
	defer ctl.page.unmap()
	c, err := start(l, func() int {
		if ctl.start.WaitRaw(childWait) != 0 {
			return exitTimedOut
		}
		return 0
	})
	if noFork(l, err) {
		return nil
	}
	if err != nil {
		return err
	}
	l.Say("fork; the child waits on a semaphore")
	parent, errP := threads(0)
	child, errC := threads(c.Pid)
	if err := ctl.start.Post(); err != nil {
		return err
	}
	if _, err := c.Wait(); err != nil {
		return err
	}
	if errP != nil || errC != nil {
		return fmt.Errorf("count threads: %v, %v", errP, errC)
	}
	l.Claim(parent > 1 && child == 1, "the parent runs on several threads, "+
		"the child on 1 (Threads in /proc/PID/status): fork copies only "+
		"the thread that calls it")
	l.Say("the child has the memory of every goroutine and lock, but not " +
		"the threads that used them: it must not allocate, lock, start " +
		"goroutines or make ordinary system calls (internal/fork)")
	return faultingChild(l)
}

// faultingChild forks a child that writes to a read-only page.
func faultingChild(l *lab.Lab) error {
	ro, err := mem.MapAnon(1, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer mem.UnmapAnon(ro)
	l.Say("fork; the child writes to a PROT_READ page")
	c, err := start(l, func() int {
		noCoreFile()
		ro[0] = 1
		return 0
	})
	if err != nil {
		return err
	}
	st, err := c.Wait()
	if err != nil {
		return err
	}
	l.Claim(st.Signal == unix.SIGSEGV, "the child was %s, and wait4 "+
		"says so: internal/fork put back the default signal handlers in "+
		"the child, so the Go runtime's handler does not run without its "+
		"threads", st)
	return nil
}

// noLimit is an RLIMIT_CORE of 0, in static memory: the child may not
// allocate.
var noLimit unix.Rlimit

// noCoreFile keeps a child that will fault from writing a core file.
//
//go:nosplit
func noCoreFile() {
	unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_CORE,
		uintptr(unsafe.Pointer(&noLimit)), 0, 0, 0)
}

// threads returns the number of threads of process pid (0: this one).
func threads(pid int) (int, error) {
	name := "/proc/self/status"
	if pid != 0 {
		name = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			return strconv.Atoi(strings.TrimSpace(n))
		}
	}
	return 0, fmt.Errorf("%s: no Threads line", name)
}
