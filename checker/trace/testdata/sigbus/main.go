// Command sigbus maps an empty file DIR/empty and touches the mapping:
// the kernel sends SIGBUS, and the Go runtime exits with status 2.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func main() {
	f, err := os.Create(filepath.Join(os.Args[1], "empty"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sigbus:", err)
		os.Exit(1)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 4096,
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sigbus: mmap:", err)
		os.Exit(1)
	}
	mem[100] = 1 // past the end of the file: SIGBUS
	fmt.Println("not reached")
}
