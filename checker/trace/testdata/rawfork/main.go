// Command rawfork maps a shared anonymous page, forks with a raw
// clone(SIGCHLD) (or clone3, with the argument "clone3") and waits for
// the child. The child stores 42 and its
// CLOCK_MONOTONIC start time in the page, then calls exit_group: nothing
// else, since a forked Go child must not touch the runtime. The parent
// prints how long after the fork the child started ("start N us") and how
// long the clone call itself took ("clone N us").
package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	mem, err := unix.Mmap(-1, 0, os.Getpagesize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawfork: mmap:", err)
		os.Exit(1)
	}
	word := (*uint64)(unsafe.Pointer(&mem[0]))
	clock := uintptr(unsafe.Pointer(&mem[8]))
	var before, after unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &before)
	pid, errno := fork(len(os.Args) > 1 && os.Args[1] == "clone3")
	if errno != 0 {
		fmt.Fprintln(os.Stderr, "rawfork: clone:", errno)
		os.Exit(1)
	}
	if pid == 0 {
		syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME,
			unix.CLOCK_MONOTONIC, clock, 0)
		atomic.StoreUint64(word, 42)
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &after)
	var status syscall.WaitStatus
	if _, err := syscall.Wait4(int(pid), &status, 0, nil); err != nil {
		fmt.Fprintln(os.Stderr, "rawfork: wait4:", err)
		os.Exit(1)
	}
	start := (*unix.Timespec)(unsafe.Pointer(&mem[8]))
	fmt.Printf("value %d\n", atomic.LoadUint64(word))
	fmt.Printf("start %d us\n", (start.Nano()-before.Nano())/1000)
	fmt.Printf("clone %d us\n", (after.Nano()-before.Nano())/1000)
}

// cloneArgs is struct clone_args of linux/sched.h, version 0.
type cloneArgs struct {
	flags, pidfd, childTid, parentTid, exitSignal, stack, stackSize,
	tls uint64
}

// fork makes a child process with clone(SIGCHLD), or with clone3.
func fork(clone3 bool) (uintptr, syscall.Errno) {
	if !clone3 {
		pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE,
			uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
		return pid, errno
	}
	args := cloneArgs{exitSignal: uint64(syscall.SIGCHLD)}
	pid, _, errno := syscall.RawSyscall(unix.SYS_CLONE3,
		uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), 0)
	return pid, errno
}
