// Command forkmany forks N children (the argument) with raw
// clone(SIGCHLD) while a goroutine keeps the garbage collector busy;
// child k stores k+1 in slot k of a shared page and exits. The parent
// reaps them all and prints the sum of the slots. A fork interrupted by
// a SIGCHLD is restarted, so the trace shows more clone entries than
// children.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var sink []byte

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	mem, err := unix.Mmap(-1, 0, os.Getpagesize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forkmany: mmap:", err)
		os.Exit(1)
	}
	go func() {
		for {
			sink = make([]byte, 1<<16) // keep the GC busy
		}
	}()
	slots := (*[512]uint64)(unsafe.Pointer(&mem[0]))
	for k := range n {
		pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE,
			uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
		if errno != 0 {
			fmt.Fprintln(os.Stderr, "forkmany: clone:", errno)
			os.Exit(1)
		}
		if pid == 0 {
			atomic.StoreUint64(&slots[k], uint64(k+1))
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
	}
	for range n {
		var status syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &status, 0, nil); err != nil {
			fmt.Fprintln(os.Stderr, "forkmany: wait4:", err)
			os.Exit(1)
		}
	}
	sum := uint64(0)
	for k := range n {
		sum += atomic.LoadUint64(&slots[k])
	}
	fmt.Printf("sum %d\n", sum)
}
