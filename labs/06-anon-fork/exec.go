package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// Messages the exec section passes through the memfd, NUL-terminated.
const (
	fromParent = "hello from the parent"
	fromChild  = "hello from the child"
)

// anonShared is how /proc/PID/maps names a MAP_SHARED|MAP_ANONYMOUS
// mapping: the kernel backs it with a file on an internal tmpfs.
const anonShared = "/dev/zero (deleted)"

// execMemfd shares a memfd with a re-run of the lab's own binary, the
// idiomatic way in Go, and shows that exec drops an anonymous mapping.
func execMemfd(l *lab.Lab) error {
	l.Say("Go's way to share memory with a child: exec.Cmd runs a program, " +
		"and a file it passes stays open in the child")
	memfd, m, err := newMemfd()
	if err != nil {
		return err
	}
	defer memfd.Close()
	defer mem.Unmap(m)
	copy(m, fromParent+"\x00")
	l.Say("memfd_create, ftruncate to 1 page, mmap MAP_SHARED; the parent "+
		"writes %q", fromParent)
	anon, err := mapShared(1)
	if err != nil {
		return err
	}
	defer anon.unmap()
	anon.m[0] = 1
	inode, err := anonInode(anon.m)
	if err != nil {
		return err
	}
	l.Claim(inode != 0, "the parent also maps 1 page MAP_SHARED|"+
		"MAP_ANONYMOUS: its /proc/self/maps lists it as %q, shared",
		anonShared)
	l.Say("run %s -child mapfd, the memfd as fd 3 (exec.Cmd.ExtraFiles)",
		labName)
	if err := runMapfd(l, memfd, inode); err != nil {
		return err
	}
	got := cString(m)
	l.Claim(got == fromChild, "the parent reads %q through its own "+
		"mapping of the memfd", got)
	return nil
}

// newMemfd makes a memfd of one page and maps it shared.
func newMemfd() (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate("mmaplab-06", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	if err := f.Truncate(int64(mem.PageSize())); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("ftruncate memfd: %w", err)
	}
	m, err := mem.MapFile(fd, 0, mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, m, nil
}

// anonInode returns the inode of the mapping that holds m, as
// /proc/self/maps shows it, if it is a shared anonymous mapping.
func anonInode(m []byte) (uint64, error) {
	maps, err := proc.ReadMaps(0)
	if err != nil {
		return 0, err
	}
	mp, err := proc.Find(maps, mem.Addr(m))
	if err != nil {
		return 0, err
	}
	if mp.Path != anonShared || !mp.Shared() {
		return 0, nil
	}
	return mp.Inode, nil
}

// runMapfd runs the lab's binary again as the mapfd child, with the
// memfd as its fd 3, and waits for it.
func runMapfd(l *lab.Lab, memfd *os.File, inode uint64) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the lab's binary: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-child", "mapfd",
		strconv.FormatUint(inode, 10))
	cmd.ExtraFiles = []*os.File{memfd}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = l.Out, &stderr
	err = cmd.Run()
	l.Claim(err == nil, "the child ended: %s", cmd.ProcessState)
	if err != nil {
		return fmt.Errorf("child mapfd: %w: %s", err,
			bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// mapfdChild is the re-run child: it maps fd 3, reads the parent's
// message, answers, and looks for the parent's anonymous mapping (args:
// its inode) in its own /proc/self/maps.
func mapfdChild(l *lab.Lab, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want the inode of the parent's mapping")
	}
	inode, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("inode %q: %w", args[0], err)
	}
	m, err := mem.MapFile(3, 0, mem.PageSize(), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	got := cString(m)
	l.Claim(got == fromParent, "child: fd 3 is the memfd; mapped "+
		"MAP_SHARED, it reads %q", got)
	copy(m, fromChild+"\x00")
	maps, err := proc.ReadMaps(0)
	if err != nil {
		return err
	}
	inherited, anyAnon := false, false
	for _, mp := range maps {
		if mp.Path == anonShared {
			anyAnon = true
			inherited = inherited || mp.Inode == inode
		}
	}
	l.Claim(!inherited && !anyAnon, "child: its /proc/self/maps has no "+
		"%q line at all: exec replaced the whole address space, and only "+
		"the open file came across", anonShared)
	return nil
}

// cString returns the NUL-terminated string at the start of b.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}
