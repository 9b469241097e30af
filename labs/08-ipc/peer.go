package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/bench"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// How the data moves between the two processes: the kind of peer.
const (
	kindPipe   = "pipe"       // two pipes, one each way
	kindSocket = "socketpair" // one Unix stream socket pair
	kindFile   = "file"       // a file in the scratch directory, mapped
	kindShm    = "shm"        // two rings in one /dev/shm object
)

// peerConfig says how to start a peer: the lab's binary run again as
// "-child peer", the other end of one kind of channel.
type peerConfig struct {
	exe      string // the lab's binary
	kind     string
	maxBytes int    // the largest pass
	pipeSize int    // F_SETPIPE_SZ for both pipes; 0 keeps the default
	ringSize int    // bytes in the shm ring (a power of two)
	peerCPU  int    // CPU for the child, -1: not pinned
	spin     int    // checks of a ring before sleeping on it
	shmName  string // the /dev/shm object (kindShm)
	filePath string // the shared file (kindFile)

	// make makes something that must not outlive the lab (the child,
	// the /dev/shm object) and registers undo, which removes it, as one
	// step: lab.Lab.Make, or a test's version of it.
	make func(do func() error, undo func()) error
}

// peer is this process's end of a channel to a child process.
type peer struct {
	cfg peerConfig
	cmd *exec.Cmd

	ctl   *os.File      // control socket: commands and replies
	reply *bufio.Reader // replies from the child

	up, down int    // pipes and sockets: read up, write down
	shared   []byte // kindShm: the mapped object
	upRing   *ring  // kindShm: child to parent
	downRing *ring  // kindShm: parent to child
	file     []byte // kindFile: the mapped shared file of this pass
	fileRing *ring  // kindFile: the ring in it

	exited chan struct{} // closed when the child has been reaped
	waitEr error         // how the child ended
	stderr lockedBuffer  // what the child said on stderr
	kill   sync.Once
}

// shmDown is the size of the ring from parent to child: round trips
// only send small messages that way.
const shmDown = 64 << 10

// startPeer makes the channel and starts the child, and waits until the
// child says it is ready. On error, what it made is undone by cfg.make's
// undo functions.
func startPeer(cfg peerConfig) (*peer, error) {
	p := &peer{cfg: cfg, up: -1, down: -1, exited: make(chan struct{})}
	if err := p.start(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *peer) start() error {
	files, err := p.channel()
	if err != nil {
		return err
	}
	err = p.startChild(files)
	// The child has its own copies now. Without these closed, this
	// process would never see the child's end of a channel close when
	// the child dies.
	closeAll(files)
	if err != nil {
		return err
	}
	err = p.within(20*time.Second, func() error {
		_, err := p.expect("ready")
		return err
	})
	if err != nil {
		return err
	}
	if p.cfg.kind == kindShm {
		// Both processes have it mapped: the name is no longer needed,
		// and the memory lives on until both unmap it.
		if err := shm.Unlink(p.cfg.shmName); err != nil {
			return err
		}
	}
	return nil
}

// channel makes the control socket and the data channel, keeps this
// process's ends, and returns the child's ends in the order it expects
// them: descriptor 3, 4 and 5 in the child.
func (p *peer) channel() ([]*os.File, error) {
	ctl, err := unix.Socketpair(unix.AF_UNIX,
		unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair for control: %w", err)
	}
	p.ctl = os.NewFile(uintptr(ctl[0]), "control")
	p.reply = bufio.NewReader(p.ctl)
	files := []*os.File{os.NewFile(uintptr(ctl[1]), "control")}
	more, err := p.data()
	if err != nil {
		closeAll(files)
		return nil, err
	}
	return append(files, more...), nil
}

// data makes the data channel of the peer's kind.
func (p *peer) data() ([]*os.File, error) {
	switch p.cfg.kind {
	case kindPipe:
		return p.pipes()
	case kindSocket:
		fds, err := unix.Socketpair(unix.AF_UNIX,
			unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("socketpair: %w", err)
		}
		p.up, p.down = fds[0], fds[0]
		return []*os.File{os.NewFile(uintptr(fds[1]), "socket")}, nil
	case kindShm:
		return nil, p.mapRings()
	case kindFile:
		return nil, nil // made for each pass
	}
	return nil, fmt.Errorf("no peer kind %q", p.cfg.kind)
}

// pipes makes one pipe each way, enlarged if the config says so.
func (p *peer) pipes() ([]*os.File, error) {
	var down, up [2]int
	if err := unix.Pipe2(down[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	if err := unix.Pipe2(up[:], unix.O_CLOEXEC); err != nil {
		unix.Close(down[0])
		unix.Close(down[1])
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	p.up, p.down = up[0], down[1]
	files := []*os.File{os.NewFile(uintptr(down[0]), "down"),
		os.NewFile(uintptr(up[1]), "up")}
	if p.cfg.pipeSize == 0 {
		return files, nil
	}
	for _, fd := range []int{p.up, p.down} {
		if _, err := setPipeSize(fd, p.cfg.pipeSize); err != nil {
			closeAll(files)
			return nil, err
		}
	}
	return files, nil
}

// setPipeSize asks the kernel to make the pipe hold n bytes and returns
// what it holds now (F_GETPIPE_SZ).
func setPipeSize(fd, n int) (int, error) {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, n); err != nil {
		return 0, fmt.Errorf("fcntl F_SETPIPE_SZ %s: %w",
			bench.Size(int64(n)), err)
	}
	return pipeSize(fd)
}

// pipeSize returns how many bytes the pipe holds (F_GETPIPE_SZ).
func pipeSize(fd int) (int, error) {
	n, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		return 0, fmt.Errorf("fcntl F_GETPIPE_SZ: %w", err)
	}
	return n, nil
}

// shmLayout returns the size of the /dev/shm object that holds the two
// rings: one page of control blocks, then the data of each ring.
func shmLayout(ringSize int) int { return mem.PageSize() + ringSize + shmDown }

// mapRings creates the /dev/shm object, sizes it and maps it.
func (p *peer) mapRings() error {
	fd := -1
	name := p.cfg.shmName
	err := p.cfg.make(func() error {
		var err error
		fd, err = shm.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL,
			0o600)
		return err
	}, func() { shm.Unlink(name) })
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	n := shmLayout(p.cfg.ringSize)
	if err := unix.Ftruncate(fd, int64(n)); err != nil {
		return fmt.Errorf("ftruncate %s: %w", p.cfg.shmName, err)
	}
	m, err := mem.MapFile(fd, 0, n, rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	p.shared = m
	if err := populate(m); err != nil {
		return err
	}
	p.upRing, p.downRing = rings(m, p.cfg.ringSize)
	for _, r := range []*ring{p.upRing, p.downRing} {
		r.spin = p.cfg.spin
		r.gone = p.gone
	}
	return nil
}

// populate gives every page of the mapping m a page table entry now
// (MADV_POPULATE_WRITE, Linux 5.14), so that no pass pays for the ring's
// first-touch page faults. Where the kernel is older, it writes to each
// page instead, which faults them in the same way.
func populate(m []byte) error {
	err := unix.Madvise(m, unix.MADV_POPULATE_WRITE)
	if err == unix.EINVAL {
		for i := 0; i < len(m); i += mem.PageSize() {
			atomic.AddUint32((*uint32)(unsafe.Pointer(&m[i])), 0)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("madvise MADV_POPULATE_WRITE: %w", err)
	}
	return nil
}

// rings returns the two rings in the mapped object m.
func rings(m []byte, ringSize int) (up, down *ring) {
	ps := mem.PageSize()
	up = newRing(m[:ringControlSize], m[ps:ps+ringSize])
	down = newRing(m[ringControlSize:2*ringControlSize],
		m[ps+ringSize:ps+ringSize+shmDown])
	return up, down
}

// rw is read and write access.
const rw = unix.PROT_READ | unix.PROT_WRITE

// startChild starts "exe -child peer KIND CPU MAXBYTES ARG" with files
// as descriptors 3, 4, ...
func (p *peer) startChild(files []*os.File) error {
	arg := "-"
	switch p.cfg.kind {
	case kindShm:
		arg = p.cfg.shmName
	case kindFile:
		arg = p.cfg.filePath
	}
	cmd := exec.Command(p.cfg.exe, "-child", "peer", p.cfg.kind,
		strconv.Itoa(p.cfg.peerCPU), strconv.Itoa(p.cfg.maxBytes),
		strconv.Itoa(p.cfg.ringSize), strconv.Itoa(p.cfg.spin), arg)
	cmd.ExtraFiles = files
	cmd.Stderr = &p.stderr
	// If this process dies without cleaning up, the kernel kills the
	// child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := p.cfg.make(func() error {
		if err := cmd.Start(); err != nil {
			return err
		}
		p.cmd = cmd
		go func() {
			p.waitEr = cmd.Wait()
			close(p.exited)
		}()
		return nil
	}, p.killChild)
	if err != nil {
		return fmt.Errorf("start the peer process: %w", err)
	}
	return nil
}

// gone reports whether the child has ended.
func (p *peer) gone() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// killChild kills the child if it runs, and waits until it is reaped.
func (p *peer) killChild() {
	p.kill.Do(func() {
		if p.cmd != nil {
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// close asks the child to quit, reaps it, and releases this end.
func (p *peer) close() error {
	var err error
	if p.cmd != nil && !p.gone() {
		err = p.within(5*time.Second, func() error {
			if err := p.command("quit"); err != nil {
				return err
			}
			<-p.exited
			return p.childError()
		})
	}
	p.killChild()
	if p.ctl != nil {
		p.ctl.Close()
	}
	for _, fd := range uniq(p.up, p.down) {
		unix.Close(fd)
	}
	if p.shared != nil {
		mem.Unmap(p.shared)
		p.shared = nil
	}
	p.dropFile()
	return err
}

// uniq returns the valid descriptors among fds, each once.
func uniq(fds ...int) []int {
	var out []int
	for _, fd := range fds {
		if fd >= 0 && !containsInt(out, fd) {
			out = append(out, fd)
		}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// command sends one line to the child.
func (p *peer) command(format string, args ...any) error {
	if _, err := fmt.Fprintf(p.ctl, format+"\n", args...); err != nil {
		return fmt.Errorf("tell the peer process: %w", p.failure(err))
	}
	return nil
}

// expect reads the child's next reply, which must start with word, and
// returns its other fields as numbers.
func (p *peer) expect(word string) ([]int64, error) {
	line, err := p.reply.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read the peer's reply: %w", p.failure(err))
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != word {
		return nil, fmt.Errorf("the peer said %q, want %q", line, word)
	}
	nums := make([]int64, len(fields)-1)
	for i, f := range fields[1:] {
		if nums[i], err = strconv.ParseInt(f, 10, 64); err != nil {
			return nil, fmt.Errorf("the peer said %q: %w", line, err)
		}
	}
	return nums, nil
}

// failure explains an error on the control socket: usually the child
// has failed and said why on stderr.
func (p *peer) failure(err error) error {
	if p.cmd == nil {
		return err
	}
	select {
	case <-p.exited:
	case <-time.After(time.Second):
		return err
	}
	if cerr := p.childError(); cerr != nil {
		return cerr
	}
	return err
}

// childError describes how the child ended, if not with status 0.
func (p *peer) childError() error {
	if p.waitEr == nil {
		return nil
	}
	if said := strings.TrimSpace(p.stderr.String()); said != "" {
		return fmt.Errorf("peer process: %v: %s", p.waitEr, said)
	}
	return fmt.Errorf("peer process: %w", p.waitEr)
}

// within runs do, and kills the child if do takes longer than limit:
// then whatever do waits for fails instead of hanging.
func (p *peer) within(limit time.Duration, do func() error) error {
	timer := time.AfterFunc(limit, p.killChild)
	err := do()
	if !timer.Stop() {
		return fmt.Errorf("the peer process took more than %v: killed (%v)",
			limit, err)
	}
	return err
}

// lockedBuffer is a bytes.Buffer that a goroutine of os/exec writes
// while another reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// closeAll closes files, ignoring errors: they are this process's copies
// of descriptors the child has.
func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
