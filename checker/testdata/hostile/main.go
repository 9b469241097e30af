// Command hostile is a program that misbehaves on purpose, with lab 03's
// command line ("mmapcopy SRC DST"): the checker's tests run it as a
// student's submission and expect the checker to end it, say what it
// did, and leave the machine as it was. MMAPLAB_HOSTILE names the
// misbehaviour; the ones that only spoil a correct run then copy SRC to
// DST correctly, so that nothing else fails.
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		time.Sleep(time.Hour) // the fork bomb's and the orphan's children
		return
	}
	misbehave(os.Getenv("MMAPLAB_HOSTILE"))
	copyFile()
}

var sink int

func misbehave(what string) {
	switch what {
	case "hang":
		time.Sleep(time.Hour)
	case "busyloop":
		for {
			sink++
		}
	case "forkbomb": // bounded: 300 copies of itself at most
		for i := 0; i < 300; i++ {
			if exec.Command(os.Args[0], "child").Start() != nil {
				break
			}
		}
		time.Sleep(time.Hour)
	case "flood": // 400 MiB on stdout
		line := bytes.Repeat([]byte("flood "), 1<<20/6)
		for i := 0; i < 400; i++ {
			os.Stdout.Write(line)
		}
	case "memhog": // bounded: 3 GiB at most, touched page by page
		var keep [][]byte
		for i := 0; i < 3<<10; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		time.Sleep(time.Hour)
	case "nilptr":
		var p *struct{ size int }
		fmt.Println(p.size)
	case "panic":
		panic("the copy went wrong")
	case "shmleak":
		name := fmt.Sprintf("/dev/shm/mmaplab-hostile-%d", os.Getpid())
		os.WriteFile(name, []byte("leak"), 0o600)
	case "outside": // in /tmp and in the scratch directory's parent
		for _, p := range []string{
			fmt.Sprintf("/tmp/mmaplab-hostile-%d", os.Getpid()),
			fmt.Sprintf("../mmaplab-hostile-%d", os.Getpid()),
		} {
			os.WriteFile(p, []byte("escaped"), 0o644)
		}
	case "orphan": // a child in a session of its own, holding stdout
		cmd := exec.Command(os.Args[0], "child")
		cmd.Stdout = os.Stdout
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Start()
	case "termignore":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		time.Sleep(time.Hour)
	case "inet":
		if conn, err := net.Dial("tcp", "127.0.0.1:9"); err == nil {
			conn.Close()
		}
	}
}
