// Command forksum is your exercise for lab 06-anon-fork: sum the
// squares 1² + 2² + … + M² (mod 2⁶⁴) with WORKERS child processes that
// share one anonymous mapping. The contract is in the lab's README.md,
// section "Exercise"; go run ./labs/06-anon-fork/solution shows what
// the finished program does.
//
//	usage: forksum WORKERS M
package main

// NOT DONE: delete this line when you want your work checked

import (
	"fmt"
	"os"
	"strconv"
)

const usage = "usage: forksum WORKERS M (WORKERS 1..64, M >= 0)"

func main() {
	workers, m, err := parseArgs(os.Args[1:])
	if err != nil {
		// A usage error: one line on stderr, exit 2, nothing else done.
		fmt.Fprintf(os.Stderr, "forksum: %v; %s\n", err, usage)
		os.Exit(2)
	}

	// TODO 1: map the slots. Ask the OS for the page size
	// (unix.Getpagesize()), round 8*workers bytes up to whole pages, and
	// map them with unix.Mmap(-1, 0, size, PROT_READ|PROT_WRITE,
	// MAP_SHARED|MAP_ANONYMOUS). Do it BEFORE the first fork: a child
	// shares only the mappings that exist when it is forked. Look at the
	// bytes as uint64 slots:
	//	slots := unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), workers)
	// If mmap fails, print "forksum: mmap N bytes: <error>" to stderr and
	// exit 1.

	// TODO 2: fork the workers with the lab's helper,
	// github.com/mmaplab/mmaplab/internal/fork (read its package comment
	// first: the rules for what a child may do). For k = 0..workers-1:
	//	from, to := share(uint64(k), uint64(workers), m)
	//	c, err := fork.Fork(func() int {
	//		atomic.StoreUint64(&slots[k], sumSquares(from, to))
	//		return 0 // the child's exit code
	//	})
	// Compute from and to in the parent, before Fork: the child must not
	// allocate. Keep every *fork.Child. If a fork fails, stop forking,
	// but still wait for the workers already started (TODO 3), then exit 1.

	// TODO 3: wait for every worker: st, err := c.Wait(). A worker that
	// did not exit 0 (!st.Success(); st.String() says how it ended) is a
	// runtime failure: "forksum: worker K: killed by SIGSEGV", exit 1 --
	// after waiting for all the others.

	// TODO 4: add up the slots (atomic.LoadUint64), unmap (unix.Munmap),
	// and print exactly one line: fmt.Printf("sum: %d\n", sum).

	fmt.Fprintf(os.Stderr, "forksum: not written yet (%d workers, M = %d)\n",
		workers, m)
	os.Exit(1)
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

// share returns worker k's range of i: k*m/workers+1 .. (k+1)*m/workers
// (integer division). An empty range has from > to.
//
// TODO 5 (optional): k*m overflows uint64 when M is huge (above 2⁵⁸ with
// 64 workers). math/bits.Mul64 and bits.Div64 compute it exactly.
func share(k, workers, m uint64) (from, to uint64) {
	return k*m/workers + 1, (k + 1) * m / workers
}

// sumSquares returns i² added up for i = from..to, modulo 2⁶⁴ (uint64
// arithmetic wraps by itself). It runs in the forked child: a plain loop,
// no allocation, no fmt.
//
// TODO 6: write the loop. Mind to = 2⁶⁴-1, where "i <= to" is always
// true; and an empty range (from > to) returns 0.
func sumSquares(from, to uint64) uint64 {
	return 0
}
