// A correct forksum written differently from the reference: the syscall
// package for the mapping, the slots at the end of a larger mapping
// (byte 8k from its start all the same), and the children reaped with
// wait4(-1) in any order instead of one by one.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/mmaplab/mmaplab/internal/fork"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: forksum WORKERS M")
		os.Exit(2)
	}
	workers, err1 := strconv.Atoi(os.Args[1])
	m, err2 := strconv.ParseUint(os.Args[2], 10, 64)
	if err1 != nil || err2 != nil || workers < 1 || workers > 64 {
		fmt.Fprintln(os.Stderr, "usage: forksum WORKERS M")
		os.Exit(2)
	}
	mem, err := syscall.Mmap(-1, 0, 4*os.Getpagesize(),
		syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_SHARED|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forksum: mmap:", err)
		os.Exit(1)
	}
	slots := unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), workers)
	w := uint64(workers)
	for k := range slots {
		from, to := uint64(k)*m/w+1, (uint64(k)+1)*m/w
		_, err := fork.Fork(func() int {
			var s uint64
			for i := from; i <= to; i++ {
				s += i * i
			}
			atomic.StoreUint64(&slots[k], s)
			return 0
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "forksum: fork:", err)
			os.Exit(1)
		}
	}
	for range slots {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &ws, 0, nil); err != nil ||
			ws.ExitStatus() != 0 {
			fmt.Fprintln(os.Stderr, "forksum: a worker failed:", err, ws)
			os.Exit(1)
		}
	}
	var sum uint64
	for k := range slots {
		sum += atomic.LoadUint64(&slots[k])
	}
	syscall.Munmap(mem)
	fmt.Printf("sum: %d\n", sum)
}
