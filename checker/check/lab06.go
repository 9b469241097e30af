package check

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// forksumLab is exercise 06-anon-fork: "forksum WORKERS M".
var forksumLab = &Lab{
	ID: "06", Name: "06-anon-fork", Command: "forksum",
	Cases: []*Case{
		forksumCase(1, 0, 0),
		forksumCase(1, 1, 0),
		forksumCase(3, 10, 0),
		forksumCase(4, 1000000, 0),
		forksumCase(64, 1000000, 0),
		forksumCase(3, 10, forkDelay),
		forksumCase(8, 1000000, forkDelay),
		usageCase(), usageCase("3"), usageCase("0", "5"),
		usageCase("65", "5"), usageCase("a", "5"), usageCase("3", "-1"),
	},
	Observe: observeForksum,
	Checks: []*Check{
		forksumOutput, forksumMapping, forksumChildren, forksumNoExec,
		forksumSlotsAtExit, forksumSlotsAtMunmap, forksumReaped,
		forksumDelayed, usageErrors, runsCleanly, leavesNothing, staysInside,
	},
}

// forkDelay is how long the checker holds each new child before it runs
// its first instruction: a parent that reads the slots without waiting
// for its children reads zeros.
const forkDelay = 150 * time.Millisecond

// forksumWant is what a forksum case expects.
type forksumWant struct {
	Workers int
	M       uint64
	Delay   time.Duration
}

func forksumCase(workers int, m uint64, delay time.Duration) *Case {
	name := fmt.Sprintf("forksum %d %d", workers, m)
	if delay > 0 {
		name += " (children held " + delay.String() + " at start)"
	}
	return &Case{Name: name,
		Steps: [][]string{{strconv.Itoa(workers), strconv.FormatUint(m, 10)}},
		Want:  forksumWant{workers, m, delay}}
}

// sum returns 1² + ... + M² mod 2⁶⁴.
func (w forksumWant) sum() uint64 { return w.partial(0, 1) }

// part returns worker k's partial sum: i from k*M/W+1 to (k+1)*M/W.
func (w forksumWant) part(k int) uint64 { return w.partial(k, w.Workers) }

// partial adds the squares of worker k of n, exactly, mod 2⁶⁴.
func (w forksumWant) partial(k, n int) uint64 {
	m := new(big.Int).SetUint64(w.M)
	from := new(big.Int).Mul(big.NewInt(int64(k)), m)
	from.Div(from, big.NewInt(int64(n)))
	to := new(big.Int).Mul(big.NewInt(int64(k+1)), m)
	to.Div(to, big.NewInt(int64(n)))
	// Σ i² for i ≤ x is x(x+1)(2x+1)/6.
	sq := func(x *big.Int) *big.Int {
		r := new(big.Int).Add(x, big.NewInt(1))
		r.Mul(r, x)
		r.Mul(r, new(big.Int).Add(new(big.Int).Lsh(x, 1), big.NewInt(1)))
		return r.Div(r, big.NewInt(6))
	}
	s := new(big.Int).Sub(sq(to), sq(from))
	return new(big.Int).And(s, new(big.Int).SetUint64(^uint64(0))).Uint64()
}

// forksumSeen is what the checker saw of one forksum run.
type forksumSeen struct {
	mu       sync.Mutex
	maps     []*trace.Syscall            // shared anonymous mmaps of the root
	exits    []childExit                 // children, in the order they exited
	atUnmap  map[*trace.Syscall][]uint64 // slots read at the root's munmap
	reaped   map[int]bool                // pids the root waited for
	slotsLen int                         // bytes of slots to read
}

// childExit is a worker at its exit: the slots as it left them, and
// whether it touched the mapping itself (pages in its own page table).
type childExit struct {
	Pid     int
	Slots   map[*trace.Syscall][]uint64
	Touched map[*trace.Syscall]bool
}

// observeForksum watches the root's shared anonymous mappings, reads the
// slots at each child's exit and at the root's munmap, notes which
// children the root reaps, and holds new children where the case says.
func observeForksum(r *Result, p *run.Program) {
	w, ok := r.Case.Want.(forksumWant)
	if !ok {
		return // a usage case
	}
	seen := &forksumSeen{atUnmap: map[*trace.Syscall][]uint64{},
		reaped: map[int]bool{}, slotsLen: 8 * w.Workers}
	r.Obs["forksum"] = seen
	p.OnSyscall = func(s *trace.Stop) { seen.syscall(s) }
	p.OnExit = func(s *trace.Stop) {
		if s.Proc.Parent != 0 {
			seen.childExited(s)
		}
	}
	if w.Delay > 0 {
		p.OnNewProcess = func(s *trace.Stop) {
			if s.Proc.Parent != 0 {
				s.Hold(w.Delay)
			}
		}
	}
}

func (f *forksumSeen) syscall(s *trace.Stop) {
	sc := s.Syscall
	if s.Proc.Parent != 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case s.Exit && sc.Name == "mmap" && sc.OK() && sharedAnon(sc):
		f.maps = append(f.maps, sc)
	case !s.Exit && sc.Name == "munmap":
		for _, mm := range f.maps {
			if sc.Arg(0) == uint64(mm.Ret) {
				f.atUnmap[mm] = readSlots(s, mm, f.slotsLen)
			}
		}
	case s.Exit && sc.Name == "wait4" && sc.Ret > 0:
		f.reaped[int(sc.Ret)] = true
	case s.Exit && sc.Name == "waitid" && sc.OK():
		// The child's pid is si_pid of the siginfo_t at argument 2.
		if b, err := s.ReadMem(uintptr(sc.Arg(2))+16, 4); err == nil {
			if pid := int(binary.LittleEndian.Uint32(b)); pid > 0 {
				f.reaped[pid] = true
			}
		}
	}
}

func (f *forksumSeen) childExited(s *trace.Stop) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ce := childExit{Pid: s.Pid, Slots: map[*trace.Syscall][]uint64{},
		Touched: map[*trace.Syscall]bool{}}
	for _, mm := range f.maps {
		ce.Slots[mm] = readSlots(s, mm, f.slotsLen)
		if m, err := s.Smaps(uintptr(mm.Ret)); err == nil &&
			m.Start == uintptr(mm.Ret) {
			ce.Touched[mm] = m.KB["Rss"] > 0
		}
	}
	f.exits = append(f.exits, ce)
}

// readSlots reads the first n bytes of mapping mm as uint64 slots.
func readSlots(s *trace.Stop, mm *trace.Syscall, n int) []uint64 {
	if uint64(n) > mm.Arg(1) {
		n = int(mm.Arg(1)) / 8 * 8
	}
	b, err := s.ReadMem(uintptr(mm.Ret), n)
	if err != nil {
		return nil
	}
	slots := make([]uint64, n/8)
	for i := range slots {
		slots[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return slots
}

// sharedAnon reports an mmap of MAP_SHARED|MAP_ANONYMOUS memory, readable
// and writable.
func sharedAnon(sc *trace.Syscall) bool {
	return sharedMap(sc.Arg(3)) && sc.Arg(3)&unix.MAP_ANONYMOUS != 0 &&
		sc.Arg(2)&(unix.PROT_READ|unix.PROT_WRITE) ==
			unix.PROT_READ|unix.PROT_WRITE
}

// forksumOf returns what was seen of a case, and its expectations.
func forksumOf(r *Result) (*forksumSeen, forksumWant) {
	seen, _ := r.Obs["forksum"].(*forksumSeen)
	if seen == nil {
		seen = &forksumSeen{atUnmap: map[*trace.Syscall][]uint64{},
			reaped: map[int]bool{}}
	}
	return seen, r.Case.Want.(forksumWant)
}

// workers returns the root's children, in the order they were made.
func workers(e *run.Exec) []*trace.Process {
	if e.Trace == nil || e.Trace.Root == nil {
		return nil
	}
	return e.Trace.Children(e.Trace.Root.Pid)
}

// slotMapping returns the shared anonymous mapping the root made before
// its first child, big enough for the slots: the one whose slots were
// right at its munmap if there are several.
func slotMapping(r *Result) *trace.Syscall {
	seen, w := forksumOf(r)
	kids := workers(r.Exec())
	var found *trace.Syscall
	for _, mm := range seen.maps {
		if mm.Arg(1) < uint64(8*w.Workers) {
			continue
		}
		if len(kids) > 0 && mm.Leave > kids[0].Start {
			continue
		}
		if found == nil || slotsRight(seen.atUnmap[mm], w) {
			found = mm
		}
	}
	return found
}

// slotsRight reports whether slot k holds worker k's partial sum, for all
// k.
func slotsRight(slots []uint64, w forksumWant) bool {
	if len(slots) < w.Workers {
		return false
	}
	for k := 0; k < w.Workers; k++ {
		if slots[k] != w.part(k) {
			return false
		}
	}
	return true
}

var forksumOutput = &Check{
	Name:   "sum",
	Doc:    `prints exactly "sum: S", S = 1² + … + M² mod 2⁶⁴, and exits 0`,
	Hint:   "Add the WORKERS slots after every child has exited; uint64 arithmetic wraps mod 2⁶⁴ by itself.",
	Points: 4,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			_, w := forksumOf(r)
			if w.Delay > 0 {
				return // the delayed cases have their own check
			}
			stdoutIs(p, r, r.Exec(), fmt.Sprintf("sum: %d\n", w.sum()))
		})
	},
}

var forksumMapping = &Check{
	Name:   "shared-mapping",
	Doc:    "one MAP_SHARED|MAP_ANONYMOUS read-write mapping in the parent, before its first child",
	Hint:   "Map the slots with unix.Mmap(-1, 0, size, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS) before any fork: a child inherits only what was mapped when it was made, and only MAP_SHARED memory stays shared.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			seen, w := forksumOf(r)
			if slotMapping(r) != nil {
				return
			}
			var last *trace.Syscall
			for _, sc := range okCalls(r.Exec(), "mmap") {
				if sc.Arg(3)&unix.MAP_ANONYMOUS != 0 && sc.Arg(1) >= uint64(8*w.Workers) {
					last = sc
				}
			}
			switch {
			case len(seen.maps) > 0:
				p.Failf(r, seen.maps[0], "the shared mapping was made "+
					"after the first child, or holds fewer than %d "+
					"slots", w.Workers)
			default:
				p.Failf(r, last, "expected an mmap with "+
					"MAP_SHARED|MAP_ANONYMOUS and PROT_READ|PROT_WRITE in "+
					"the parent; found none")
			}
		})
	},
}

var forksumChildren = &Check{
	Name:   "children",
	Doc:    "exactly WORKERS child processes, made by fork (not threads, not goroutines)",
	Hint:   "Use the lab's internal/fork helper: one fork.Fork per worker. Goroutines are threads of one process, not children.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			_, w := forksumOf(r)
			if n := len(workers(r.Exec())); n != w.Workers {
				p.Failf(r, nil, "expected %d child processes, the parent "+
					"made %d", w.Workers, n)
			}
		})
	},
}

var forksumNoExec = &Check{
	Name:   "no-exec",
	Doc:    "no child calls execve or maps shared memory of its own",
	Hint:   "A worker must be a fork of the parent that uses the inherited mapping: exec would drop the mapping, and a mapping of its own is not shared with the parent.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			e := r.Exec()
			if len(workers(e)) == 0 {
				p.Failf(r, nil, "the parent made no child process")
				return
			}
			for _, kid := range workers(e) {
				for _, sc := range e.Trace.Of(kid.Pid) {
					switch {
					case sc.Name == "execve" || sc.Name == "execveat":
						p.Failf(r, sc, "a child called %s", sc.Name)
						return
					case sc.Name == "mmap" && sc.OK() && sharedMap(sc.Arg(3)):
						p.Failf(r, sc, "a child mapped shared memory of "+
							"its own")
						return
					}
				}
			}
		})
	},
}

var forksumSlotsAtExit = &Check{
	Name:   "slot-at-exit",
	Doc:    "when worker k exits, slot k holds its partial sum, stored by the worker itself",
	Hint:   "Worker k stores its partial sum in slot k (byte 8k) with atomic.StoreUint64 before it returns; the parent only reads.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			seen, w := forksumOf(r)
			mm := slotMapping(r)
			if mm == nil {
				p.Failf(r, nil, "no slot mapping to look at (see "+
					"shared-mapping)")
				return
			}
			for i, ce := range seen.exits {
				if n := rightSlots(ce.Slots[mm], w); n < i+1 {
					p.Failf(r, nil, "when the %s child exited, only %d "+
						"slots held their partial sums", ordinal(i+1), n)
					return
				}
				if !ce.Touched[mm] && w.M > 0 {
					p.Failf(r, nil, "the %s child exited without "+
						"touching the shared mapping", ordinal(i+1))
					return
				}
			}
		})
	},
}

// rightSlots counts the slots that hold their worker's partial sum.
func rightSlots(slots []uint64, w forksumWant) int {
	n := 0
	for k := 0; k < w.Workers && k < len(slots); k++ {
		if slots[k] == w.part(k) {
			n++
		}
	}
	return n
}

var forksumSlotsAtMunmap = &Check{
	Name:   "slots-at-munmap",
	Doc:    "at the parent's munmap of the mapping, slot k holds worker k's partial sum",
	Hint:   "Unmap the slots after the sum is taken, and only after every worker has exited.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			seen, w := forksumOf(r)
			mm := slotMapping(r)
			if mm == nil {
				p.Failf(r, nil, "no slot mapping to look at (see "+
					"shared-mapping)")
				return
			}
			slots, unmapped := seen.atUnmap[mm]
			switch {
			case !unmapped:
				p.Failf(r, mm, "expected the parent to munmap the slots; "+
					"it did not")
			case !slotsRight(slots, w):
				p.Failf(r, mm, "at the munmap, %d of %d slots held their "+
					"partial sums", rightSlots(slots, w), w.Workers)
			}
		})
	},
}

var forksumReaped = &Check{
	Name:   "reaps-children",
	Doc:    "the parent waits for every child (wait4 or waitid)",
	Hint:   "Wait for each worker (fork's Child.Wait, or wait4) and check that it exited 0 before you add the slots.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			seen, _ := forksumOf(r)
			if len(workers(r.Exec())) == 0 {
				p.Failf(r, nil, "the parent made no child process")
				return
			}
			for _, kid := range workers(r.Exec()) {
				if !seen.reaped[kid.Pid] {
					p.Failf(r, nil, "a child (the %s) was never waited "+
						"for", ordinal(childIndex(r.Exec(), kid)+1))
					return
				}
			}
		})
	},
}

var forksumDelayed = &Check{
	Name:   "waits-for-workers",
	Doc:    "the sum stays right when the checker delays each child's start",
	Hint:   "Read the slots only after every worker has exited: wait for all of them first.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			if _, w := forksumOf(r); w.Delay > 0 {
				stdoutIs(p, r, r.Exec(), fmt.Sprintf("sum: %d\n", w.sum()))
			}
		})
	},
}

func childIndex(e *run.Exec, kid *trace.Process) int {
	for i, k := range workers(e) {
		if k == kid {
			return i
		}
	}
	return 0
}

// ordinal returns "1st", "2nd", "3rd", "4th"...
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
