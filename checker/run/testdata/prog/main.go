// Command prog misbehaves on request, for the tests of package run.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	switch os.Args[1] {
	case "echo":
		fmt.Println(strings.Join(os.Args[2:], " "))
		fmt.Fprintln(os.Stderr, "to stderr")
		os.Exit(3)
	case "flood":
		buf := []byte(strings.Repeat("x", 1<<20))
		for i := 0; i < 3; i++ {
			os.Stdout.Write(buf)
		}
	case "sigbus":
		f, _ := os.Create("empty")
		m, err := unix.Mmap(int(f.Fd()), 0, 4096*2, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			panic(err)
		}
		m[4096+1] = 1
	case "orphan":
		cmd := exec.Command(os.Args[0], "sleep")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Stdout = os.Stdout // holds the pipe open
		if err := cmd.Start(); err != nil {
			panic(err)
		}
		fmt.Println("parent exits")
	case "sleep":
		time.Sleep(time.Hour)
	case "outside": // writes in the directory above its own
		os.WriteFile("../outside-"+os.Args[2], []byte("x"), 0o644)
		fmt.Println("wrote")
	case "hog": // fills 1 GiB, page by page
		var keep [][]byte
		for i := 0; i < 1<<10; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		time.Sleep(time.Hour)
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		time.Sleep(time.Hour)
	case "stdin":
		b := make([]byte, 100)
		n, _ := os.Stdin.Read(b)
		fmt.Printf("%q\n", b[:n])
	}
}
