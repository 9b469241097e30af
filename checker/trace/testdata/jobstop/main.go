// Command jobstop runs itself as a child ("jobstop child") that stops
// itself with SIGSTOP, sent to its own thread: a signal sent to the whole
// process could be taken by another thread, and the one that sent it
// could then run a little further before it stops. The parent waits until waitid reports the child
// stopped, prints "stopped", sends it SIGCONT and waits for it; the
// child prints "continued" and exits 0.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		runtime.LockOSThread()
		unix.Tgkill(unix.Getpid(), unix.Gettid(), unix.SIGSTOP)
		fmt.Println("continued")
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "jobstop:", err)
		os.Exit(1)
	}
}

func run() error {
	cmd := exec.Command(os.Args[0], "child")
	cmd.Stdout = os.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WSTOPPED, nil)
	if err != nil {
		return fmt.Errorf("waitid: %w", err)
	}
	fmt.Println("stopped")
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	return cmd.Wait()
}
