package main

import (
	"fmt"
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

// pinTo keeps the calling thread on one CPU (sched_setaffinity). The
// labs lock their goroutine to its thread, so the goroutine stays there.
func pinTo(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("sched_setaffinity CPU %d: %w", cpu, err)
	}
	return nil
}

// unpin lets the calling thread run on cpus again.
func unpin(cpus []int) error {
	var set unix.CPUSet
	for _, cpu := range cpus {
		set.Set(cpu)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("sched_setaffinity: %w", err)
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
