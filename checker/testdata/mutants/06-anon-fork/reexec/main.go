// want: no-exec
//
// Re-exec instead of fork: each worker is this program run again, which
// cannot see the parent's anonymous mapping; it prints its partial sum
// and the parent stores it in the slot.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "worker" {
		from, _ := strconv.ParseUint(os.Args[2], 10, 64)
		to, _ := strconv.ParseUint(os.Args[3], 10, 64)
		var s uint64
		for i := from; i <= to && i != 0; i++ {
			s += i * i
		}
		fmt.Println(s)
		return
	}
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
	w := uint64(workers)
	for k := uint64(0); k < w; k++ {
		from, to := k*m/w+1, (k+1)*m/w
		out, err := exec.Command(os.Args[0], "worker",
			strconv.FormatUint(from, 10), strconv.FormatUint(to, 10)).Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "forksum: worker:", err)
			os.Exit(1)
		}
		slots[k], _ = strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	}
	var sum uint64
	for _, s := range slots {
		sum += s
	}
	unix.Munmap(mem)
	fmt.Printf("sum: %d\n", sum)
}
