// Command watch maps a shared anonymous region of three pages and, from
// a goroutine locked to another thread, writes a message at byte 8, its
// length at byte 4, then the word ready = 1 at byte 0, then "after" at
// byte 100. A tracer watching byte 0 sees the message, not "after".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	runtime.LockOSThread()
	mem, err := unix.Mmap(-1, 0, 3*os.Getpagesize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "watch: mmap:", err)
		os.Exit(1)
	}
	done := make(chan bool)
	go func() {
		runtime.LockOSThread() // another thread than main's
		msg := "hello"
		copy(mem[8:], msg)
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&mem[4])),
			uint32(len(msg)))
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&mem[0])), 1)
		copy(mem[100:], "after")
		done <- true
	}()
	<-done
	fmt.Printf("%s\n", mem[100:105])
}
