// Command threadexec execs itself ("threadexec again", which exits 5)
// from a thread that is not the main one: the kernel then gives the
// exec'ing thread the pid of the process, a case a tracer must follow.
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "again" {
		os.Exit(5)
	}
	runtime.LockOSThread() // keep the main thread for main
	failed := make(chan error)
	go func() {
		runtime.LockOSThread() // so on another thread
		failed <- syscall.Exec(os.Args[0],
			[]string{os.Args[0], "again"}, os.Environ())
	}()
	fmt.Fprintln(os.Stderr, "threadexec: exec:", <-failed)
	os.Exit(1)
}
