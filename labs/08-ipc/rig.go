package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// method is one way of moving the data from the child to this process.
type method struct {
	name     string // in tables: "pipe 1 MiB"
	id       string // in benchmark names, JSON and CSV: "pipe-1MiB"
	kind     string // the peer's kind; "" for copy() in this process
	pipeSize int    // F_SETPIPE_SZ, bytes; 0 keeps the default
	twice    bool   // copy(): through a buffer the ring's size, as the ring
}

// methods are the throughput section's ways, copy() first: it is the
// reference the others are measured against.
var methods = []method{
	{name: "copy()", id: "copy"},
	{name: "copy() twice", id: "copy-twice", twice: true},
	{name: "pipe", id: "pipe", kind: kindPipe},
	{name: "pipe 1 MiB", id: "pipe-1MiB", kind: kindPipe, pipeSize: mib},
	{name: "socketpair", id: "socketpair", kind: kindSocket},
	{name: "shared file", id: "file", kind: kindFile},
	{name: "shm ring", id: "shm-ring", kind: kindShm},
}

// methodByID returns the method with that id.
func methodByID(id string) method {
	for _, m := range methods {
		if m.id == id {
			return m
		}
	}
	panic("no method " + id)
}

// spinBudget is how many times a ring is checked before its reader or
// writer sleeps, in the throughput section: 30 to 50 µs here, about what
// a wake-up on another CPU costs (section roundtrip). With 4096 checks
// (a few µs), the ring's sides slept ten times as often, each sleep
// costing a wake-up.
const spinBudget = 1 << 16

// mover moves one pass of data into dst and says what it cost, after
// prepare has made what the pass needs (outside the timing).
type mover interface {
	prepare(total int) error
	transfer(dst []byte, chunk, total, off int) (pass, error)
	close() error
}

// copier is copy() in this process: no second process at all. With a
// buffer via, it copies each chunk twice, into via (at the next place,
// round and round) and from there into dst: what the ring's writer and
// reader do, on one CPU, one after the other.
type copier struct {
	src, via []byte
}

func (c copier) transfer(dst []byte, chunk, total, off int) (pass, error) {
	start := time.Now()
	for i := 0; i < total; i += chunk {
		end := min(i+chunk, total)
		from := c.src[off+i : off+end]
		if c.via != nil {
			at := i % len(c.via) // chunks divide the buffer: no wrap
			from = c.via[at : at+len(from)]
			copy(from, c.src[off+i:off+end])
		}
		copy(dst[i:end], from)
	}
	return pass{took: time.Since(start), peerCPU: -1}, nil
}

func (copier) prepare(int) error { return nil }

func (copier) close() error { return nil }

// rig is what the measurements share: the data, this process's buffer,
// where the processes run, and a mover per method.
type rig struct {
	plan   plan
	where  placement
	src    []byte // the pattern, as the children make it
	dst    []byte // where the data arrives
	passes int    // passes so far: pass k sends the window offsetOf(k)
	use    []method
	movers []mover
}

// setup says how to start peers: the binary, the scratch directory and
// how to register what must be undone (lab.Lab.Make, or a test's).
type setup struct {
	exe  string
	dir  string
	make func(do func() error, undo func()) error
}

// labSetup is the setup of a lab run.
func labSetup(l *lab.Lab) (setup, error) {
	exe, err := labBinary()
	return setup{exe: exe, dir: l.Dir, make: l.Make}, err
}

// newRig makes the data and starts a peer for each of ms.
func newRig(s setup, pl plan, where placement, ms []method) (*rig, error) {
	r := &rig{plan: pl, where: where, src: pattern(pl.maxBytes + slack),
		dst: make([]byte, pl.maxBytes)}
	touch(r.dst, mem.PageSize())
	for _, m := range ms {
		mv, err := r.start(s, m)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		r.use = append(r.use, m)
		r.movers = append(r.movers, mv)
	}
	return r, nil
}

// start starts the mover of method m: copy() needs no peer.
func (r *rig) start(s setup, m method) (mover, error) {
	if m.kind == "" && m.twice {
		via := make([]byte, r.plan.ringSize)
		touch(via, mem.PageSize())
		return copier{src: r.src, via: via}, nil
	}
	if m.kind == "" {
		return copier{src: r.src}, nil
	}
	return startMethod(s, m, r.plan.maxBytes, r.plan.ringSize, r.where)
}

// startMethod starts a peer for method m that can send passes of up to
// maxBytes.
func startMethod(s setup, m method, maxBytes, ringSize int,
	where placement) (*peer, error) {
	cfg := peerConfig{exe: s.exe, kind: m.kind, maxBytes: maxBytes,
		pipeSize: m.pipeSize, ringSize: ringSize, peerCPU: where.peer,
		spin: where.spin(spinBudget), make: s.make}
	switch m.kind {
	case kindShm:
		cfg.shmName = shmName("ring")
	case kindFile:
		cfg.filePath = fmt.Sprintf("%s/shared-%s", s.dir, m.id)
	}
	return startPeer(cfg)
}

// whyNot says why a method of kind with a pipe of pipeSize bytes cannot
// run here, or "".
func whyNot(kind string, pipeSize int) string {
	switch {
	case kind == kindShm:
		return noDevShm()
	case pipeSize > 0:
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			return err.Error()
		}
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
		if _, err := setPipeSize(fds[1], pipeSize); err != nil {
			return err.Error()
		}
	}
	return ""
}

// noDevShm says why this machine has no POSIX shared memory, or "".
func noDevShm() string {
	st, err := os.Stat(shm.Dir)
	switch {
	case err != nil:
		return fmt.Sprintf("no %s here", shm.Dir)
	case !st.IsDir():
		return shm.Dir + " is not a directory here"
	case !lab.OnTmpfs(shm.Dir):
		return fmt.Sprintf("%s is %s here, not tmpfs", shm.Dir,
			lab.FileSystem(shm.Dir))
	}
	return ""
}

// usable returns the methods that can run here, and says why the others
// cannot.
func usable(l *lab.Lab, ms []method) []method {
	var ok []method
	for _, m := range ms {
		if why := whyNot(m.kind, m.pipeSize); why != "" {
			l.Skip("%s: %s", m.name, why)
			continue
		}
		ok = append(ok, m)
	}
	return ok
}

// shmName returns a name no other run uses: the lab, the process ID and
// a random number.
func shmName(what string) string {
	return fmt.Sprintf("/mmaplab-08-%d-%08x-%s", os.Getpid(),
		rand.Uint32(), what)
}

// move runs the next pass of mover i, in chunks of chunk bytes.
func (r *rig) move(i, chunk int) (pass, int, error) {
	total := r.plan.passBytes(chunk)
	off := offsetOf(r.passes)
	r.passes++
	if err := r.movers[i].prepare(total); err != nil {
		return pass{}, total, err
	}
	ps, err := r.movers[i].transfer(r.dst, chunk, total, off)
	ps.verified = err == nil && verify(r.dst, r.src, total, off)
	return ps, total, err
}

// close stops every peer.
func (r *rig) close() error {
	var first error
	for _, mv := range r.movers {
		if err := mv.close(); err != nil && first == nil {
			first = err
		}
	}
	r.movers = nil
	return first
}
