// Command sleeper starts a tree: "sleeper" runs "sleeper child", which
// runs "sleeper grandchild" in a new session (setsid); the grandchild
// prints "ready" and sleeps for an hour. Every level waits for the next.
package main

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	role := ""
	if len(os.Args) > 1 {
		role = os.Args[1]
	}
	switch role {
	case "grandchild":
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Hour)
	case "child":
		run("grandchild", &syscall.SysProcAttr{Setsid: true})
	default:
		run("child", nil)
	}
}

func run(role string, attr *syscall.SysProcAttr) {
	cmd := exec.Command(os.Args[0], role)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = attr
	cmd.Run()
}
