package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// defaultPipePages is how many pages a new pipe holds on Linux
// (PIPE_DEF_BUFFERS in the kernel's pipe_fs_i.h).
const defaultPipePages = 16

// machine shows what the measurements run on: the CPUs, how much a pipe
// holds, and where the shared memory and the shared file live.
func machine(l *lab.Lab) error {
	if err := cpus(l); err != nil {
		return err
	}
	if err := pipes(l); err != nil {
		return err
	}
	files(l)
	return nil
}

// cpus says which CPUs the lab may use and where it puts the processes.
func cpus(l *lab.Lab) error {
	cpus, err := usableCPUs()
	if err != nil {
		return err
	}
	l.Say("CPUs this lab may use: %d (sched_getaffinity)", len(cpus))
	idle(l)
	where, err := place(opts.pin)
	if err != nil {
		return err
	}
	defer where.undo()
	l.Say("%s", where.why)
	if !where.apart {
		l.Say("the two processes take turns on one CPU: each hand-over " +
			"is a context switch, and spinning on a ring is pointless")
	}
	return nil
}

// idle says how this machine's idle CPUs wait: waking a process that
// sleeps on another CPU means waking that CPU first.
func idle(l *lab.Lab) {
	vm := "unknown (no flags line in /proc/cpuinfo)"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			name, flags, _ := strings.Cut(line, ":")
			if strings.TrimSpace(name) != "flags" {
				continue
			}
			vm = "no"
			if strings.Contains(flags+" ", " hypervisor ") {
				vm = "yes"
			}
			break
		}
	}
	l.Say("virtual machine: %s", vm)
	l.Say("(the hypervisor flag in /proc/cpuinfo)")
	drv, err := os.ReadFile("/sys/devices/system/cpu/cpuidle/current_driver")
	if err != nil {
		drv = []byte("none")
	}
	l.Say("cpuidle driver: %s", strings.TrimSpace(string(drv)))
	l.Say("(how an idle CPU waits; waking a process that sleeps on another " +
		"CPU wakes that CPU first: the roundtrip section measures it)")
}

// pipes shows how much a pipe holds before its writer has to wait.
func pipes(l *lab.Lab) error {
	l.Talk("Communicate by pipes")
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return fmt.Errorf("pipe2: %w", err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	n, err := pipeSize(fds[1])
	if err != nil {
		return err
	}
	ps := mem.PageSize()
	l.Claim(n == defaultPipePages*ps, "a new pipe holds %s (F_GETPIPE_SZ)",
		lab.Plural(n/ps, "page"))
	pages, err := fill(fds[1], ps)
	if err != nil {
		return err
	}
	l.Claim(pages == n/ps, "one-page writes that nobody reads: %d go in, "+
		"the next one gets EAGAIN (O_NONBLOCK; a blocking writer would "+
		"sleep until the reader takes some)", pages)
	drain(fds[0], ps)
	small, err := fill(fds[1], 64)
	if err != nil {
		return err
	}
	l.Claim(small*64 == n, "64-byte writes fill the same %s: a small "+
		"write goes into the last page when it has room; what costs is "+
		"one system call per 64 bytes", lab.Plural(n/ps, "page"))
	return enlarge(l, fds[1])
}

// fill writes size-byte pieces into the nonblocking pipe fd until it is
// full, and returns how many went in.
func fill(fd, size int) (int, error) {
	piece := make([]byte, size)
	for n := 0; ; n++ {
		_, err := unix.Write(fd, piece)
		if err == unix.EAGAIN {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("write to a pipe: %w", err)
		}
	}
}

// drain reads the nonblocking pipe fd empty.
func drain(fd, size int) {
	buf := make([]byte, size)
	for {
		if n, err := unix.Read(fd, buf); n <= 0 || err != nil {
			return
		}
	}
}

// enlarge asks for a 1 MiB pipe, as the "pipe 1 MiB" method does.
func enlarge(l *lab.Lab, fd int) error {
	limit := "unknown"
	if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
		var n int64
		fmt.Sscan(strings.TrimSpace(string(b)), &n)
		limit = bench.Size(n)
	}
	l.Say("/proc/sys/fs/pipe-max-size: %s", limit)
	l.Say("(the most an unprivileged process may ask for)")
	got, err := setPipeSize(fd, mib)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
		l.Skip("a 1 MiB pipe is not allowed here: %v", err)
		return nil
	}
	if err != nil {
		return err
	}
	l.Claim(got == mib, "F_SETPIPE_SZ 1 MiB: the pipe now holds %s "+
		"(F_GETPIPE_SZ)", bench.Size(int64(got)))
	return nil
}

// files says where the ring and the shared file live.
func files(l *lab.Lab) {
	l.Talk("Read/write to the same file/s")
	l.Say("the shared file is in the lab's scratch directory, made anew " +
		"for each pass")
	l.Say("scratch directory: %s (statfs)", lab.FileSystem(l.Dir))
	l.Talk("Read/write to the same memory")
	fs := lab.FileSystem(shm.Dir)
	l.Claim(fs == "tmpfs", "the ring is an object in %s, a %s (statfs): "+
		"memory, no disk; the lab removes its name as soon as both "+
		"processes have mapped it", shm.Dir, fs)
}
