// want: children
//
// Goroutines instead of processes: the sum is right, but goroutines are
// threads of one process, not children that share a mapping.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
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
	mem, err := unix.Mmap(-1, 0, unix.Getpagesize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forksum: mmap:", err)
		os.Exit(1)
	}
	slots := unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), workers)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s uint64
			w := uint64(workers)
			for i := uint64(k)*m/w + 1; i <= (uint64(k)+1)*m/w; i++ {
				s += i * i
			}
			atomic.StoreUint64(&slots[k], s)
		}()
	}
	wg.Wait()
	var sum uint64
	for k := range slots {
		sum += atomic.LoadUint64(&slots[k])
	}
	unix.Munmap(mem)
	fmt.Printf("sum: %d\n", sum)
}
