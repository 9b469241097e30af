// Command spin forks a child with a raw clone(SIGCHLD), then makes
// getppid calls for 100 ms and prints how many ("calls N"), then waits
// for the child. The child exits at once. Holding the child must not
// slow the parent down: its syscall stops are still served.
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE,
		uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		fmt.Fprintln(os.Stderr, "spin: clone:", errno)
		os.Exit(1)
	}
	if pid == 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	n := 0
	end := time.Now().Add(100 * time.Millisecond)
	for ; time.Now().Before(end); n++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	fmt.Printf("calls %d\n", n)
	var status syscall.WaitStatus
	if _, err := syscall.Wait4(int(pid), &status, 0, nil); err != nil {
		fmt.Fprintln(os.Stderr, "spin: wait4:", err)
		os.Exit(1)
	}
}
