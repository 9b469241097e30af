package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
)

// child is another process running this lab's own binary in one of the
// roles of program.Children: "05-shm -child ROLE ARGS...".
type child struct {
	role string
	cmd  *exec.Cmd
	once sync.Once
	err  error
}

// startChild starts the lab's binary again as "-child role args...".
// The child is killed and reaped when the lab ends, also on Ctrl-C; if
// the lab dies without cleaning up, the kernel kills it (Pdeathsig).
func startChild(l *lab.Lab, role string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the lab's binary: %w", err)
	}
	cmd := exec.Command(exe, append([]string{"-child", role}, args...)...)
	cmd.Stderr = os.Stderr // a child says nothing unless it fails
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	c := &child{role: role}
	err = l.Make(func() error {
		if err := cmd.Start(); err != nil {
			return err
		}
		c.cmd = cmd
		return nil
	}, c.kill)
	if err != nil {
		return nil, fmt.Errorf("start child %s: %w", role, err)
	}
	return c, nil
}

// command is how the child was started, for the narrative: the lab's
// name for its binary, and NAME for the object name.
func (c *child) command(name string) string {
	words := []string{"05-shm"}
	for _, arg := range c.cmd.Args[1:] {
		switch {
		case arg == name:
			arg = "NAME"
		case strings.ContainsAny(arg, " \"'"):
			arg = strconv.Quote(arg)
		}
		words = append(words, arg)
	}
	return strings.Join(words, " ")
}

// wait reaps the child and returns an error unless it exited 0. It may
// be called more than once.
func (c *child) wait() error {
	c.once.Do(func() {
		if err := c.cmd.Wait(); err != nil {
			c.err = fmt.Errorf("child %s: %w", c.role, err)
		}
	})
	return c.err
}

// kill ends the child if it still runs, and reaps it.
func (c *child) kill() {
	if c.cmd == nil {
		return // never started
	}
	c.cmd.Process.Kill()
	c.wait()
}

// cldStopped is the siginfo code of a child that has stopped
// (CLD_STOPPED); golang.org/x/sys/unix does not define it.
const cldStopped = 5

// waitStopped waits until the child is stopped by a signal. It only
// looks (WNOWAIT): if the child exited instead, wait still reaps it.
func (c *child) waitStopped() error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, c.cmd.Process.Pid, &info,
			unix.WSTOPPED|unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("waitid child %s: %w", c.role, err)
		}
		if info.Code != cldStopped {
			return fmt.Errorf("child %s ended before it stopped: %v",
				c.role, c.wait())
		}
		return nil
	}
}

// resume lets a stopped child go on (SIGCONT).
func (c *child) resume() error {
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("SIGCONT child %s: %w", c.role, err)
	}
	return nil
}
