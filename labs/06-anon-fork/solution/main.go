// Command forksum is the reference solution of lab 06's exercise: it sums
// the squares 1² + 2² + … + M² (mod 2⁶⁴) with WORKERS child processes.
// The parent maps one MAP_SHARED|MAP_ANONYMOUS page of uint64 slots and
// forks; worker k adds its share of the squares and stores the sum in
// slot k; the parent waits for every worker and adds the slots.
//
//	usage: forksum WORKERS M
package main

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/fork"
)

const usage = "usage: forksum WORKERS M (WORKERS 1..64, M >= 0)"

func main() {
	workers, m, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "forksum: %v; %s\n", err, usage)
		os.Exit(2)
	}
	sum, err := forkSum(workers, m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "forksum: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("sum: %d\n", sum)
}

// parseArgs reads WORKERS (1..64) and M (a whole number, at least 0).
func parseArgs(args []string) (workers int, m uint64, err error) {
	if len(args) != 2 {
		return 0, 0, fmt.Errorf("want 2 arguments, got %d", len(args))
	}
	workers, err = strconv.Atoi(args[0])
	if err != nil || workers < 1 || workers > 64 {
		return 0, 0, fmt.Errorf("WORKERS %q is not a number in 1..64", args[0])
	}
	m, err = strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("M %q is not a whole number >= 0", args[1])
	}
	return workers, m, nil
}

// forkSum maps the slots, forks the workers, waits for them all and adds
// up their slots.
func forkSum(workers int, m uint64) (uint64, error) {
	ps := unix.Getpagesize()
	size := (8*workers + ps - 1) / ps * ps
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	slots := unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), workers)
	kids, forkErr := forkWorkers(slots, m)
	waitErr := waitAll(kids)
	var sum uint64
	for k := range slots {
		sum += atomic.LoadUint64(&slots[k])
	}
	if err := unix.Munmap(mem); err != nil {
		return 0, fmt.Errorf("munmap: %w", err)
	}
	if err := errors.Join(forkErr, waitErr); err != nil {
		return 0, err
	}
	return sum, nil
}

// forkWorkers forks one worker per slot. It stops at the first failed
// fork and returns the workers already started, to be waited for.
func forkWorkers(slots []uint64, m uint64) ([]*fork.Child, error) {
	n := uint64(len(slots))
	var kids []*fork.Child
	for k := range slots {
		from, to := share(uint64(k), n, m)
		// The child runs under internal/fork's rules: no allocation, no
		// locks, only memory stores. Its return value is its exit code.
		c, err := fork.Fork(func() int {
			atomic.StoreUint64(&slots[k], sumSquares(from, to))
			return 0
		})
		if err != nil {
			return kids, fmt.Errorf("fork worker %d: %w", k, err)
		}
		kids = append(kids, c)
	}
	return kids, nil
}

// waitAll waits for every worker (wait4) and reports the first one that
// did not exit 0.
func waitAll(kids []*fork.Child) error {
	var first error
	for k, c := range kids {
		st, err := c.Wait()
		switch {
		case err != nil:
			err = fmt.Errorf("worker %d: %w", k, err)
		case !st.Success():
			err = fmt.Errorf("worker %d: %s", k, st)
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// share returns worker k's range of i, k*m/workers+1 .. (k+1)*m/workers,
// computed exactly for any M (the product k*m can pass 2⁶⁴).
func share(k, workers, m uint64) (from, to uint64) {
	return mulDiv(k, m, workers) + 1, mulDiv(k+1, m, workers)
}

// mulDiv returns a*b/c without overflow; a <= c.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// sumSquares adds i² for i = from..to, modulo 2⁶⁴: a loop, no allocation,
// as a forked child needs.
func sumSquares(from, to uint64) uint64 {
	if from > to {
		return 0
	}
	var s uint64
	for i := from; ; i++ {
		s += i * i
		if i == to { // not i <= to: that never fails when to = 2⁶⁴-1
			return s
		}
	}
}
