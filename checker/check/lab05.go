package check

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// shmLab is exercise 05-shm: "shm send NAME TEXT" and "shm recv NAME".
var shmLab = &Lab{
	ID: "05", Name: "05-shm", Command: "shm",
	Cases: []*Case{
		shmTimeout(),
		shmPair("", student, student, 0),
		shmPair("hi", student, student, 0),
		shmPair(strings.Repeat("0123456789", 400), student, student, 0),
		shmPair(strings.Repeat("page ", 3*pageSize/5+3), student, student, 0),
		shmPair("héllo wörld ✓\nsecond line\n\nend", student, student, 0),
		shmPair("to the reference recv", student, reference, 0),
		shmPair("from the reference send", reference, student, 0),
		shmPair("held after ftruncate", student, student, shmHold),
		shmExisting(),
		shmUsage("send", "noslash", "x"), shmUsage("send", "/", "x"),
		shmUsage("send", "/a/b", "x"), shmUsage("recv", "/."),
		shmUsage("recv", "/.."), shmUsage("recv", "/"+strings.Repeat("n", 256)),
		shmUsage("recv"), shmUsage("send", "/x"), shmUsage("talk", "/x"),
		shmUsage(),
	},
	Observe: observeShm,
	Checks: []*Check{
		shmRecvPrints, shmSendOutput, shmCrossSend, shmCrossRecv,
		shmSendOpen, shmSendTrunc, shmSendMmap, shmRecvOpen, shmRecvMmap,
		shmRecvUnlinks, shmWaitsReady, shmReadyLast, shmRecvTimeout,
		shmSendExisting, usageErrors, runsCleanly, leavesNothing, staysInside,
	},
}

// Which program plays a role in a case: the one under check, or the
// lab's reference solution.
const (
	student   = "student"
	reference = "reference"
)

// shmHold is how long the checker holds the sender right after its
// ftruncate: a receiver that does not wait for ready reads too early.
const shmHold = 400 * time.Millisecond

// shmWait is the receiver's time-out in the contract.
const shmWait = 5 * time.Second

// shmWant is what a shm case expects.
type shmWant struct {
	Text       string
	Send, Recv string        // student or reference; "" if not run
	Hold       time.Duration // the sender is held after its ftruncate
	Existing   bool          // NAME exists before send runs
}

var shmSeq atomic.Int64

// shmName returns a fresh object name, unique to this checker process.
func shmName() string {
	return fmt.Sprintf("/mmaplab-chk-%d-%d", os.Getpid(), shmSeq.Add(1))
}

// shmPair runs recv first, then send of text once recv is waiting.
func shmPair(text, send, recv string, hold time.Duration) *Case {
	w := shmWant{Text: text, Send: send, Recv: recv, Hold: hold}
	name := fmt.Sprintf("send %d bytes, %s sender, %s receiver", len(text),
		send, recv)
	if hold > 0 {
		name += ", sender held after ftruncate"
	}
	// A receiver that never sees ready = 1 waits 5 s: the pairs run side
	// by side, so that a broken sender costs 5 s, not 5 s a case.
	return &Case{Name: name, Want: w, Custom: runShmPair, Parallel: true}
}

// shmTimeout runs recv with no sender: it must give up after 5 s. It
// runs beside the other cases, not before them.
func shmTimeout() *Case {
	return &Case{Name: "recv with no sender", Want: shmWant{Recv: student},
		Parallel: true,
		Custom: func(c *Ctx) ([]*run.Exec, error) {
			name := shmName()
			lim := c.Limits
			lim.Timeout = max(lim.Timeout, shmWait+3*time.Second)
			p := c.Role(c.Exe, "recv", "recv", name)
			return []*run.Exec{run.Run(c.Context, p, lim)}, nil
		}}
}

// shmExisting runs send onto a NAME that exists: it must refuse.
func shmExisting() *Case {
	return &Case{Name: "send onto an existing NAME",
		Want: shmWant{Text: "intruder", Send: student, Existing: true},
		Custom: func(c *Ctx) ([]*run.Exec, error) {
			name := shmName()
			path := "/dev/shm" + name
			old := []byte("\x01\x00\x00\x00\x03\x00\x00\x00old")
			if err := os.WriteFile(path, old, 0o600); err != nil {
				return nil, fmt.Errorf("make %s: %w", path, err)
			}
			defer os.Remove(path)
			before, _ := os.Stat(path)
			p := c.Role(c.Exe, "send", "send", name, "intruder")
			e := run.Run(c.Context, p, c.Limits)
			after, err := os.Stat(path)
			data, _ := os.ReadFile(path)
			c.Result.Obs["untouched"] = err == nil &&
				bytes.Equal(data, old) && after.Size() == before.Size() &&
				after.ModTime().Equal(before.ModTime())
			return []*run.Exec{e}, nil
		}}
}

func shmUsage(args ...string) *Case {
	return &Case{Name: "shm usage " + strings.Join(args, " "),
		Steps: [][]string{args}, Usage: true}
}

// runShmPair starts recv, waits until it has looked for the object once,
// then runs send, and waits for both.
func runShmPair(c *Ctx) ([]*run.Exec, error) {
	w := c.Result.Case.Want.(shmWant)
	name := shmName()
	c.Result.Obs["name"] = name
	exe := map[string]string{student: c.Exe, reference: c.Ref}
	waiting := make(chan struct{})
	var once sync.Once
	rp := c.Role(exe[w.Recv], "recv", "recv", name)
	inner := rp.OnSyscall
	rp.OnSyscall = func(s *trace.Stop) {
		if inner != nil {
			inner(s)
		}
		if s.Exit && strings.HasSuffix(s.Syscall.Path, name) {
			once.Do(func() { close(waiting) })
		}
	}
	recv, err := run.Start(c.Context, rp, c.Limits)
	if err != nil {
		return nil, err
	}
	select {
	case <-waiting:
	case <-time.After(2 * time.Second): // it never looked: go on anyway
	}
	sp := c.Role(exe[w.Send], "send", "send", name, w.Text)
	send := run.Run(c.Context, sp, c.Limits)
	execs := []*run.Exec{recv.Wait(), send}
	if _, err := os.Lstat("/dev/shm" + name); err == nil {
		c.Result.Obs["left"] = true
		os.Remove("/dev/shm" + name)
	}
	return execs, nil
}

// shmSeen is what the checker saw of one program of a case.
type shmSeen struct {
	mu    sync.Mutex
	hits  []readyHit // stores to the ready word (the sender)
	watch error      // the watchpoint could not be set
	cpu   time.Duration
	held  bool // the sender was held after its ftruncate
}

// readyHit is the object's state at a store to its ready word.
type readyHit struct {
	Ready    uint32
	LengthOK bool
	TextOK   bool
}

// observeShm watches the sender's ready word, holds the sender after its
// ftruncate where the case says, and reads a program's CPU time at its
// exit.
func observeShm(r *Result, p *run.Program) {
	w, ok := r.Case.Want.(shmWant)
	if !ok {
		return
	}
	seen := &shmSeen{}
	r.Obs[p.Role] = seen
	p.OnExit = func(s *trace.Stop) {
		if s.Proc.Parent == 0 {
			seen.cpu = cpuTime(s.Pid)
		}
	}
	if p.Role != "send" {
		return
	}
	p.OnSyscall = func(s *trace.Stop) {
		sc := s.Syscall
		if !s.Exit || !sc.OK() || !strings.HasPrefix(sc.FdPath, "/dev/shm/") {
			return
		}
		switch {
		case sc.Name == "ftruncate" && w.Hold > 0 && !seen.held:
			seen.held = true
			s.Hold(w.Hold)
		case sc.Name == "mmap" && sc.Arg(2)&unix.PROT_WRITE != 0:
			seen.watchReady(s, uintptr(sc.Ret), w.Text)
		}
	}
}

// watchReady sets a hardware watchpoint on the ready word of the
// sender's mapping, and records the object's state at each store to it.
func (seen *shmSeen) watchReady(s *trace.Stop, addr uintptr, text string) {
	err := s.Watch(addr, 4, func(s *trace.Stop) {
		b, err := s.ReadMem(addr, 8+len(text))
		if err != nil {
			return
		}
		seen.mu.Lock()
		defer seen.mu.Unlock()
		seen.hits = append(seen.hits, readyHit{
			Ready:    binary.LittleEndian.Uint32(b),
			LengthOK: binary.LittleEndian.Uint32(b[4:]) == uint32(len(text)),
			TextOK:   string(b[8:]) == text,
		})
	})
	if err != nil {
		seen.watch = err
	}
}

// cpuTime returns the CPU time a process used, from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are fields 14 and 15, in clock ticks of 1/100 s on Linux.
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// byRole returns the run of a role in a case, or nil.
func byRole(r *Result, role string) *run.Exec {
	for _, e := range r.Execs {
		if e.Program.Role == role {
			return e
		}
	}
	return nil
}

// shmPairs calls f for the send/recv cases where the given roles are
// played by the program under check.
func shmPairs(p *Pass, send, recv string, f func(r *Result, w shmWant)) {
	p.Each(func(r *Result) {
		w := r.Case.Want.(shmWant)
		if w.Send == "" || w.Recv == "" || w.Hold > 0 {
			return
		}
		if (send == "" || w.Send == send) && (recv == "" || w.Recv == recv) {
			f(r, w)
		}
	})
}

// shmStudent calls f for each run of a role by the program under check.
func shmStudent(p *Pass, role string, f func(r *Result, e *run.Exec)) {
	p.Each(func(r *Result) {
		w := r.Case.Want.(shmWant)
		played := map[string]string{"send": w.Send, "recv": w.Recv}
		if e := byRole(r, role); e != nil && played[role] == student &&
			!w.Existing {
			f(r, e)
		}
	})
}

// recvOK checks that a receiver printed text and exited 0.
func recvOK(p *Pass, r *Result, text string) {
	if e := byRole(r, "recv"); e != nil {
		stdoutIs(p, r, e, text+"\n")
	}
}

var shmRecvPrints = &Check{
	Name:   "recv-prints",
	Doc:    "recv started before send prints exactly the text, and a newline",
	Hint:   "recv waits for the object and for ready = 1, then prints length bytes of text from byte 8, and a newline.",
	Points: 4,
	Run: func(p *Pass) {
		shmPairs(p, student, student, func(r *Result, w shmWant) {
			recvOK(p, r, w.Text)
		})
	},
}

var shmSendOutput = &Check{
	Name:   "send-output",
	Doc:    `send prints exactly "sent N bytes to NAME" and exits 0`,
	Hint:   "N is the length of TEXT in bytes, NAME as given.",
	Points: 2,
	Run: func(p *Pass) {
		shmPairs(p, student, "", func(r *Result, w shmWant) {
			name, _ := r.Obs["name"].(string)
			stdoutIs(p, r, byRole(r, "send"),
				fmt.Sprintf("sent %d bytes to %s\n", len(w.Text), name))
		})
	},
}

var shmCrossSend = &Check{
	Name:   "works-with-reference-recv",
	Doc:    "the student's send works with the reference recv",
	Hint:   "Follow the object's layout exactly: ready (uint32), length (uint32), then the text, little endian.",
	Points: 2,
	Run: func(p *Pass) {
		shmPairs(p, student, reference, func(r *Result, w shmWant) {
			recvOK(p, r, w.Text)
		})
	},
}

var shmCrossRecv = &Check{
	Name:   "works-with-reference-send",
	Doc:    "the reference send works with the student's recv",
	Hint:   "Read the layout exactly: ready at byte 0, length at byte 4, the text from byte 8.",
	Points: 2,
	Run: func(p *Pass) {
		shmPairs(p, reference, student, func(r *Result, w shmWant) {
			recvOK(p, r, w.Text)
		})
	},
}

// shmOpens returns the successful opens of /dev/shm/NAME by a run.
func shmOpens(r *Result, e *run.Exec) []*trace.Syscall {
	name, _ := r.Obs["name"].(string)
	var out []*trace.Syscall
	for _, sc := range okCalls(e, "openat", "open") {
		if name != "" && sc.Path == "/dev/shm"+name {
			out = append(out, sc)
		}
	}
	return out
}

var shmSendOpen = &Check{
	Name:   "send-open",
	Doc:    "send opens /dev/shm/NAME with O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600",
	Hint:   "O_EXCL refuses an existing object; O_NOFOLLOW refuses a symbolic link planted in /dev/shm, which anyone may write to.",
	Points: 3,
	Run: func(p *Pass) {
		shmStudent(p, "send", func(r *Result, e *run.Exec) {
			opened := shmOpens(r, e)
			if len(opened) == 0 {
				p.Failf(r, nil, "send made no successful open of "+
					"/dev/shm/NAME (shm_open opens /dev/shm/ + NAME "+
					"without its /)")
				return
			}
			sc := opened[0]
			flags := openFlags(sc)
			want := uint64(unix.O_RDWR | unix.O_CREAT | unix.O_EXCL |
				unix.O_NOFOLLOW)
			switch {
			case flags&^(unix.O_CLOEXEC|unix.O_LARGEFILE) != want:
				p.Failf(r, sc, "expected O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW "+
					"(O_CLOEXEC allowed), got %s", trace.OpenString(flags))
			case openMode(sc)&0o7777 != 0o600:
				p.Failf(r, sc, "expected mode 0600, got %#o",
					openMode(sc)&0o7777)
			}
		})
	},
}

var shmSendTrunc = &Check{
	Name:   "send-ftruncate-first",
	Doc:    "send sizes the object with ftruncate before it maps it",
	Hint:   "A new object has 0 bytes: ftruncate it to 8+len(TEXT) first, or the first store is a SIGBUS.",
	Points: 2,
	Run: func(p *Pass) {
		shmStudent(p, "send", func(r *Result, e *run.Exec) {
			name, _ := r.Obs["name"].(string)
			var trunc, mm *trace.Syscall
			for _, sc := range calls(e, "ftruncate", "mmap") {
				if sc.OK() && sc.FdPath == "/dev/shm"+name {
					if sc.Name == "ftruncate" && trunc == nil {
						trunc = sc
					} else if sc.Name == "mmap" && mm == nil {
						mm = sc
					}
				}
			}
			if trunc == nil || (mm != nil && before(mm, trunc)) {
				p.Failf(r, mm, "expected ftruncate of the object before "+
					"its mmap")
			}
		})
	},
}

// shmMaps returns the successful mmaps of the object by a run.
func shmMaps(r *Result, e *run.Exec) []*trace.Syscall {
	name, _ := r.Obs["name"].(string)
	var out []*trace.Syscall
	for _, sc := range okCalls(e, "mmap") {
		if sc.FdPath == "/dev/shm"+name {
			out = append(out, sc)
		}
	}
	return out
}

var shmSendMmap = &Check{
	Name:   "send-mmap",
	Doc:    "send maps the object MAP_SHARED with PROT_WRITE",
	Hint:   "Only MAP_SHARED stores reach the object; MAP_PRIVATE keeps them in the sender.",
	Points: 3,
	Run: func(p *Pass) {
		shmStudent(p, "send", func(r *Result, e *run.Exec) {
			wantSharedWritable(p, r, shmMaps(r, e), "the object")
		})
	},
}

var shmRecvOpen = &Check{
	Name:   "recv-open",
	Doc:    "recv opens the object O_RDONLY|O_NOFOLLOW",
	Hint:   "recv only reads: open it O_RDONLY, and add O_NOFOLLOW as every open of /dev/shm must.",
	Points: 2,
	Run: func(p *Pass) {
		shmStudent(p, "recv", func(r *Result, e *run.Exec) {
			if r.Case.Want.(shmWant).Send == "" {
				return // the time-out case: there is nothing to open
			}
			opened := shmOpens(r, e)
			if len(opened) == 0 {
				p.Failf(r, nil, "recv made no successful open of "+
					"/dev/shm/NAME")
				return
			}
			for _, sc := range opened {
				flags := openFlags(sc)
				if flags&unix.O_ACCMODE != unix.O_RDONLY ||
					flags&unix.O_NOFOLLOW == 0 {
					p.Failf(r, sc, "expected O_RDONLY|O_NOFOLLOW, got %s",
						trace.OpenString(flags))
					return
				}
			}
		})
	},
}

var shmRecvMmap = &Check{
	Name:   "recv-read-only",
	Doc:    "recv maps the object with PROT_READ only",
	Hint:   "A receiver that maps read-write could change what it was sent; map it PROT_READ.",
	Points: 2,
	Run: func(p *Pass) {
		shmStudent(p, "recv", func(r *Result, e *run.Exec) {
			if r.Case.Want.(shmWant).Send == "" {
				return
			}
			maps := shmMaps(r, e)
			switch {
			case len(maps) == 0:
				p.Failf(r, nil, "recv did not map the object")
			case maps[0].Arg(2) != unix.PROT_READ:
				p.Failf(r, maps[0], "expected PROT_READ, got %s",
					trace.ProtString(maps[0].Arg(2)))
			}
		})
	},
}

var shmRecvUnlinks = &Check{
	Name:   "recv-unlinks",
	Doc:    "recv removes the object (shm_unlink), and nothing is left in /dev/shm",
	Hint:   "After reading, unlink /dev/shm/NAME: the object lives on until someone removes it.",
	Points: 2,
	Run: func(p *Pass) {
		shmStudent(p, "recv", func(r *Result, e *run.Exec) {
			name, _ := r.Obs["name"].(string)
			if r.Case.Want.(shmWant).Send == "" || name == "" {
				return
			}
			for _, sc := range okCalls(e, "unlink", "unlinkat") {
				if strings.HasSuffix(sc.Path, name[1:]) {
					if r.Obs["left"] == true {
						p.Failf(r, sc, "the object was still in /dev/shm "+
							"at the end")
					}
					return
				}
			}
			p.Failf(r, nil, "recv did not unlink the object; it was left "+
				"in /dev/shm")
		})
	},
}

var shmWaitsReady = &Check{
	Name:   "waits-for-ready",
	Doc:    "recv prints the right text when the sender is held right after its ftruncate",
	Hint:   "The object exists, sized and full of zeros, before the text is in: wait until ready is 1 (atomic load, polling at least 1 ms apart, or a futex).",
	Points: 4,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			w := r.Case.Want.(shmWant)
			if w.Hold == 0 {
				return
			}
			if seen, _ := r.Obs["send"].(*shmSeen); seen == nil || !seen.held {
				p.Failf(r, nil, "the sender was never held (no ftruncate "+
					"of the object?)")
				return
			}
			recvOK(p, r, w.Text)
		})
	},
}

var shmReadyLast = &Check{
	Name:   "ready-last",
	Doc:    "when ready becomes 1, the length and the text are already in place",
	Hint:   "Store the length and the text first, then ready = 1 with atomic.StoreUint32: the atomic store orders the ones before it.",
	Points: 3,
	Run: func(p *Pass) {
		shmStudent(p, "send", func(r *Result, e *run.Exec) {
			seen, _ := r.Obs["send"].(*shmSeen)
			if seen == nil {
				return
			}
			if seen.watch != nil {
				p.Skipf("no hardware watchpoint here: %v", seen.watch)
				return
			}
			hit, ok := readyStore(seen.hits)
			switch {
			case !ok:
				p.Failf(r, nil, "the sender never stored 1 into ready")
			case !hit.LengthOK || !hit.TextOK:
				p.Failf(r, nil, "when ready became 1, the length was "+
					"%s and the text %s", okWord(hit.LengthOK, "in place",
					"not yet"), okWord(hit.TextOK, "in place", "not yet"))
			}
		})
	},
}

// readyStore returns the store that made ready 1. On amd64 a watchpoint
// fires after the store (the first hit with ready 1); on arm64 it fires
// before it (the last hit).
func readyStore(hits []readyHit) (readyHit, bool) {
	if runtime.GOARCH == "arm64" {
		if len(hits) == 0 {
			return readyHit{}, false
		}
		return hits[len(hits)-1], true
	}
	for _, h := range hits {
		if h.Ready == 1 {
			return h, true
		}
	}
	return readyHit{}, false
}

func okWord(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

var shmRecvTimeout = &Check{
	Name:   "recv-times-out",
	Doc:    `recv with no sender exits 1 ("timed out") after 5 s, removes nothing, and uses little CPU`,
	Hint:   "Give up after 5 seconds in all; between two looks sleep at least a millisecond, or wait on a futex: polling flat out burns a CPU.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			w := r.Case.Want.(shmWant)
			if w.Send != "" || w.Recv == "" {
				return
			}
			e := r.Exec()
			seen, _ := r.Obs["recv"].(*shmSeen)
			switch {
			case e.ExitCode != 1:
				p.Failf(r, nil, "expected exit status 1, got %s", status(e))
			case !strings.Contains(string(e.Stderr), "timed out"):
				p.Failf(r, nil, "expected a message with \"timed out\", "+
					"got %q", clip(e.Stderr))
			case e.Trace.Duration < shmWait-500*time.Millisecond:
				p.Failf(r, nil, "it gave up after %v, before 5 s",
					e.Trace.Duration.Round(100*time.Millisecond))
			case seen != nil && seen.cpu > shmWait/4:
				p.Failf(r, nil, "it used %v of CPU while it waited: more "+
					"than a quarter of the time", seen.cpu)
			}
		})
	},
}

var shmSendExisting = &Check{
	Name:   "send-refuses-existing",
	Doc:    "send onto an existing NAME exits 1 and leaves the object untouched",
	Hint:   "With O_EXCL, open fails with EEXIST: report it and exit 1 without touching or removing the object, which is not yours.",
	Points: 2,
	Run: func(p *Pass) {
		if !p.Working() {
			return
		}
		p.Each(func(r *Result) {
			if !r.Case.Want.(shmWant).Existing {
				return
			}
			e := r.Exec()
			switch {
			case e.ExitCode != 1:
				p.Failf(r, nil, "expected exit status 1, got %s", status(e))
			case r.Obs["untouched"] != true:
				p.Failf(r, nil, "the existing object was changed or "+
					"removed")
			}
		})
	},
}
