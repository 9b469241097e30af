package main

import (
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// usableCPUs lists the CPUs this thread may run on (sched_getaffinity).
func usableCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []int
	for cpu := 0; cpu < len(set)*64 && len(cpus) < set.Count(); cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	return cpus, nil
}

// pinTo keeps every thread of this process on one CPU
// (sched_setaffinity): the lab's own, locked to its goroutine, and the Go
// runtime's, which would otherwise run its garbage collector on the
// other process's CPU. Threads made later inherit the CPU.
func pinTo(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	return setAffinity(&set)
}

// unpin lets every thread of this process run on cpus again.
func unpin(cpus []int) error {
	var set unix.CPUSet
	for _, cpu := range cpus {
		set.Set(cpu)
	}
	return setAffinity(&set)
}

// setAffinity sets the CPUs of every thread of this process: the
// calling one first, then the others listed in /proc/self/task.
func setAffinity(set *unix.CPUSet) error {
	if err := unix.SchedSetaffinity(0, set); err != nil {
		return fmt.Errorf("sched_setaffinity: %w", err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// A thread may have exited since the listing: ESRCH is fine.
		if err := unix.SchedSetaffinity(tid, set); err != nil &&
			err != unix.ESRCH {
			return fmt.Errorf("sched_setaffinity thread %d: %w", tid, err)
		}
	}
	return nil
}

// getcpu returns the CPU the calling thread runs on now (getcpu(2);
// golang.org/x/sys/unix has no wrapper).
func getcpu() int {
	var cpu uint32
	_, _, errno := unix.RawSyscall(unix.SYS_GETCPU,
		uintptr(unsafe.Pointer(&cpu)), 0, 0)
	if errno != 0 {
		return -1
	}
	return int(cpu)
}
