package main

import (
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/fork"
	"github.com/mmaplab/mmaplab/internal/lab"
)

// The workers section sums the squares 1² + … + sumTo² with nWorkers
// processes.
const (
	nWorkers = 4
	sumTo    = 1_000_000
)

// workers forks worker processes that add up squares, each into its own
// slot of one shared mapping, and starts them together with a semaphore.
func workers(l *lab.Lab) error {
	l.Talk("Use atomics and semaphores for synchronization!")
	ctl, err := newControl()
	if err != nil {
		return err
	}
	defer ctl.page.unmap()
	slots := ctl.report[:nWorkers]
	l.Say("mmap 1 page, MAP_SHARED|MAP_ANONYMOUS: semaphores start and "+
		"done (futex), then %d slots of 8 bytes", nWorkers)
	kids, err := forkWorkers(l, ctl, slots)
	if noFork(l, err) {
		return nil
	}
	if err != nil {
		return err
	}
	l.Say("forked %d workers; worker k sums i² for its share of "+
		"i = 1..%d, then stores it in slot k atomically", nWorkers, sumTo)
	asleep := waitAsleep(kids, time.Second)
	l.Claim(asleep && ctl.start.Value() == 0 && allZero(slots),
		"every worker sleeps in the kernel (futex wait, /proc/PID/syscall) "+
			"on semaphore start, which holds no token: no slot is written")
	if err := runWorkers(l, ctl, kids); err != nil {
		return err
	}
	return checkSums(l, slots)
}

// share returns worker k's range of i: k*n/workers+1 .. (k+1)*n/workers.
func share(k, workers, n uint64) (from, to uint64) {
	return k*n/workers + 1, (k + 1) * n / workers
}

// sumSquares adds i² for i = from..to, modulo 2⁶⁴. It is what a worker
// runs in the forked child: a loop, no allocation.
func sumSquares(from, to uint64) uint64 {
	var s uint64
	for i := from; i <= to; i++ {
		s += i * i
	}
	return s
}

// forkWorkers starts the workers. Each waits for a token of start, stores
// its sum in its slot and posts done.
func forkWorkers(l *lab.Lab, ctl *control,
	slots []uint64) ([]*fork.Child, error) {
	var kids []*fork.Child
	for k := range slots {
		from, to := share(uint64(k), nWorkers, sumTo)
		c, err := start(l, func() int {
			if ctl.start.WaitRaw(childWait) != 0 {
				return exitTimedOut
			}
			atomic.StoreUint64(&slots[k], sumSquares(from, to))
			if ctl.done.PostRaw() != 0 {
				return exitFutex
			}
			return 0
		})
		if err != nil {
			reap(kids)
			return nil, err
		}
		kids = append(kids, c)
	}
	return kids, nil
}

// runWorkers lets the workers go, waits for their posts and reaps them.
func runWorkers(l *lab.Lab, ctl *control, kids []*fork.Child) error {
	for range kids {
		if err := ctl.start.Post(); err != nil {
			reap(kids)
			return err
		}
	}
	posted := 0
	for range kids {
		if err := ctl.done.Wait(childWait); err != nil {
			break
		}
		posted++
	}
	l.Say("the parent posted start %d times, then waited for done %d "+
		"times", len(kids), len(kids))
	l.Claim(posted == len(kids), "every worker posted done")
	ok := true
	for k, c := range kids {
		st, err := c.Wait()
		if err != nil {
			return fmt.Errorf("worker %d: %w", k, err)
		}
		if !st.Success() {
			ok = false
			l.Say("worker %d: %s", k, st)
		}
	}
	l.Claim(ok, "every worker exited 0 (wait4)")
	return nil
}

// reap kills and waits for children after a failure.
func reap(kids []*fork.Child) {
	for _, c := range kids {
		c.Kill()
		c.Wait()
	}
}

// checkSums compares each slot with the parent's own sum, and the total
// with the closed form n(n+1)(2n+1)/6.
func checkSums(l *lab.Lab, slots []uint64) error {
	var total uint64
	right := true
	for k := range slots {
		got := atomic.LoadUint64(&slots[k])
		from, to := share(uint64(k), nWorkers, sumTo)
		l.Say("slot %d: i = %d..%d, sum %d", k, from, to, got)
		right = right && got == sumSquares(from, to)
		total += got
	}
	l.Claim(right, "each slot holds its worker's sum (the parent summed "+
		"each range again)")
	want := closedForm(sumTo)
	l.Claim(total == want, "the slots add up to %d = n(n+1)(2n+1)/6 "+
		"for n = %d", total, sumTo)
	return nil
}

// closedForm returns n(n+1)(2n+1)/6 modulo 2⁶⁴.
func closedForm(n uint64) uint64 {
	x := new(big.Int).SetUint64(n)
	x.Mul(x, new(big.Int).SetUint64(n+1))
	x.Mul(x, new(big.Int).SetUint64(2*n+1))
	x.Div(x, big.NewInt(6))
	return new(big.Int).And(x, new(big.Int).SetUint64(^uint64(0))).Uint64()
}

func allZero(slots []uint64) bool {
	for k := range slots {
		if atomic.LoadUint64(&slots[k]) != 0 {
			return false
		}
	}
	return true
}

// waitAsleep waits until every child is blocked in the futex system call
// (the first field of /proc/PID/syscall), or until timeout.
func waitAsleep(kids []*fork.Child, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if allInFutex(kids) {
			return true
		}
		time.Sleep(200 * time.Microsecond)
	}
	return false
}

func allInFutex(kids []*fork.Child) bool {
	futex := strconv.Itoa(unix.SYS_FUTEX) + " "
	for _, c := range kids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", c.Pid))
		if err != nil || !strings.HasPrefix(string(b), futex) {
			return false
		}
	}
	return true
}
