package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// shared writes through a mapping and reads the page back with read(),
// from a second process, and the other way round, before any msync.
func shared(l *lab.Lab) error {
	if !onDisk(l) {
		return nil
	}
	fd, err := newFile(l, "shared", 1)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	reader, err := unix.Open(l.Path("shared"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open shared again: %w", err)
	}
	defer unix.Close(reader)
	l.Say("a file of 1 page, fsynced, opened twice; the first descriptor " +
		"is mapped MAP_SHARED")
	m, err := mem.MapFile(fd, 0, mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	if err := writeThenRead(l, m, fd, reader); err != nil {
		return err
	}
	l.Talk("Use msync with MAP_INVALIDATE to guarantee that changes are " +
		"propagated to other process")
	unblock, err := blockSIGCHLD()
	if err != nil {
		return err
	}
	defer unblock()
	if err := childPeeks(l); err != nil {
		return err
	}
	if err := childPokes(l, m); err != nil {
		return err
	}
	return invalidateThenSync(l, m, fd)
}

// writeThenRead writes "hello" through the mapping and reads it with
// read() on another descriptor.
func writeThenRead(l *lab.Lab, m []byte, fd, reader int) error {
	d, err := l.Step(`write "hello" to m[0]`, func() error {
		copy(m, "hello")
		return nil
	})
	if err != nil {
		return err
	}
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && v.Cache[0] == diagram.Dirty, "one fault, "+
		"and page 0 is dirty: changed in memory, not yet on the disk")
	buf := make([]byte, len("hello"))
	var n int
	_, err = l.Step("pread 5 bytes on the second descriptor", func() error {
		var err error
		n, err = unix.Pread(reader, buf, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("pread: %w", err)
	}
	l.Claim(string(buf[:n]) == "hello" && v.Cache[0] == diagram.Dirty,
		"read() returned %q, before any msync and while page 0 is dirty: "+
			"read() copies from the page cache, the very page the mapping "+
			"wrote to", buf[:n])
	return nil
}

// childPeeks runs a second process that maps the file and reads it.
func childPeeks(l *lab.Lab) error {
	c, err := startChild(l, "peek", l.Path("shared"), "5")
	if err != nil {
		return err
	}
	_, err = l.Step("child: mmap MAP_SHARED, read 5 bytes", c.read)
	if err != nil {
		return err
	}
	report, err := c.wait()
	if err != nil {
		return err
	}
	var got string
	var table, cache diagram.State
	if _, err := fmt.Sscanf(report, "%q %c %c", &got, &table, &cache); err != nil {
		return fmt.Errorf("child peek reported %q: %w", report, err)
	}
	diagram.Fprint(l.Out, diagram.Row{Label: "child's memory",
		Pages: []diagram.State{table}, Note: "(the child's pagemap)"})
	l.Claim(got == "hello" && table == diagram.Dirty && cache == diagram.Dirty,
		"another process, the lab run again, mapped the file MAP_SHARED "+
			"and read %q at once, no msync anywhere: its page 0 is the "+
			"parent's dirty page in the page cache, not a copy from the "+
			"disk", got)
	return nil
}

// childPokes runs a second process that writes through its own mapping,
// then reads the parent's mapping.
func childPokes(l *lab.Lab, m []byte) error {
	c, err := startChild(l, "poke", l.Path("shared"), "5", " world")
	if err != nil {
		return err
	}
	_, err = l.Step(`child: write " world" to its m[5], exit`, c.read)
	if err != nil {
		return err
	}
	if _, err := c.wait(); err != nil {
		return err
	}
	var got [len("hello world")]byte
	d, err := l.Step("read m[0:11] in the parent", func() error {
		copy(got[:], m)
		return nil
	})
	if err != nil {
		return err
	}
	l.Claim(string(got[:]) == "hello world" && d.Minor == 0,
		"the parent's mapping reads %q, without a fault: the child's "+
			"write, with no msync, no MS_INVALIDATE and no new mmap. Both "+
			"mappings are the same page: there is nothing to propagate",
		got[:])
	return nil
}

// invalidateThenSync calls msync with MS_INVALIDATE, then MS_SYNC.
func invalidateThenSync(l *lab.Lab, m []byte, fd int) error {
	_, callErr := l.Step("msync(MS_INVALIDATE)", func() error {
		return unix.Msync(m, unix.MS_INVALIDATE)
	})
	v, err := look(l, m, fd)
	if err != nil {
		return err
	}
	l.Claim(callErr == nil && v.Table[0] == diagram.Dirty,
		"MS_INVALIDATE returned %s and changed nothing: page 0 is still "+
			"mapped and dirty. Linux keeps one copy of each page of a file, "+
			"so there is no other copy to invalidate", errnoName(callErr))
	_, callErr = l.Step("msync(MS_SYNC)", func() error {
		return unix.Msync(m, unix.MS_SYNC)
	})
	if v, err = look(l, m, fd); err != nil {
		return err
	}
	l.Claim(callErr == nil && v.Table[0] == diagram.Synced,
		"msync is for the disk, not for other processes: MS_SYNC wrote "+
			"page 0 back and it is clean")
	return nil
}

// blockSIGCHLD keeps SIGCHLD, which a child's exit sends, off this
// thread until unblock: the kernel gives it to another thread of the
// process instead. Handled here during a step, it could fault in pages
// of the thread's signal stack, counted as the step's.
func blockSIGCHLD() (unblock func(), err error) {
	var chld, old unix.Sigset_t
	chld.Val[0] |= 1 << (unix.SIGCHLD - 1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &chld, &old); err != nil {
		return nil, fmt.Errorf("block SIGCHLD: %w", err)
	}
	return func() { unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }, nil
}

// child is the lab's own binary, run again in a child role, with its
// standard output on a pipe.
type child struct {
	role   string
	cmd    *exec.Cmd
	out    int // the read end of the pipe
	buf    [512]byte
	n      int // bytes of buf that the child wrote
	stderr bytes.Buffer
}

// startChild runs this program again as "-child role args...". Its
// standard output is a plain pipe, read with read(2), so that waiting for
// the child involves no Go runtime machinery that could fault.
func startChild(l *lab.Lab, role string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the lab's binary: %w", err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe for child %s: %w", role, err)
	}
	w := os.NewFile(uintptr(p[1]), "child stdout")
	defer w.Close()
	c := &child{role: role, out: p[0]}
	clear(c.buf[:]) // fault the buffer in now, not in the step that reads
	c.cmd = exec.Command(exe, append([]string{"-child", role}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = w, &c.stderr
	if err := c.cmd.Start(); err != nil {
		unix.Close(c.out)
		return nil, fmt.Errorf("start child %s: %w", role, err)
	}
	l.OnClose(func() { c.cmd.Process.Kill() })
	return c, nil
}

// read waits for the child to write its report and close its output,
// which it does when it exits. It reads into a buffer made beforehand,
// so that a step that only waits for the child takes no page fault.
func (c *child) read() error {
	for c.n < len(c.buf) {
		k, err := unix.Read(c.out, c.buf[c.n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read child %s's report: %w", c.role, err)
		}
		if k == 0 {
			break
		}
		c.n += k
	}
	return nil
}

// wait reaps the child and returns its report, or its error if it
// failed.
func (c *child) wait() (string, error) {
	unix.Close(c.out)
	if err := c.cmd.Wait(); err != nil {
		return "", fmt.Errorf("child %s: %v: %s", c.role, err,
			strings.TrimSpace(c.stderr.String()))
	}
	return string(c.buf[:c.n]), nil
}

// peek is a child role: "peek FILE N" maps page 0 of FILE MAP_SHARED,
// read-only, reads its first N bytes, and reports them with the state of
// page 0 in its page table and in the page cache: "hello" D D.
func peek(l *lab.Lab, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: peek FILE N")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 || n > mem.PageSize() {
		return fmt.Errorf("bad byte count %q", args[1])
	}
	fd, err := unix.Open(args[0], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", args[0], err)
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, mem.PageSize(), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	got := string(m[:n])
	v, err := lab.LookFile(m, fd, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(l.Out, "%q %c %c\n", got, v.Table[0], v.Cache[0])
	return nil
}

// poke is a child role: "poke FILE OFFSET TEXT" maps page 0 of FILE
// MAP_SHARED and writes TEXT at OFFSET through the mapping, with no
// msync. It reports "wrote N bytes".
func poke(l *lab.Lab, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: poke FILE OFFSET TEXT")
	}
	off, err := strconv.Atoi(args[1])
	text := args[2]
	if err != nil || off < 0 || off+len(text) > mem.PageSize() {
		return fmt.Errorf("bad offset %q", args[1])
	}
	fd, err := unix.Open(args[0], unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", args[0], err)
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	copy(m[off:], text)
	fmt.Fprintf(l.Out, "wrote %d bytes\n", len(text))
	return nil
}
