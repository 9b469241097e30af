// Package run runs a student's program the way the checker needs it run:
// built once (Build), then once per case, traced, in a scratch directory,
// with a time limit and a cap on the output it keeps, and with the whole
// process tree killed and the scratch directory removed at the end. It
// also says in plain words how a run that crashed went wrong.
package run

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/trace"
)

// Defaults for Limits.
const (
	DefaultTimeout = 10 * time.Second
	DefaultOutput  = 1 << 20 // bytes kept of stdout and of stderr
	// Grace is how long the other processes of a tree may live on after
	// its root exited before they count as left behind and are killed.
	Grace = 300 * time.Millisecond
)

// Limits bound one run.
type Limits struct {
	Timeout time.Duration // wall-clock limit of the run
	Output  int           // bytes kept of stdout and of stderr each
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.Output <= 0 {
		l.Output = DefaultOutput
	}
	return l
}

// Program is one program to run traced.
type Program struct {
	Role  string   // a name for reports when a case runs several: "send"
	Exe   string   // the executable
	Name  string   // the command name shown to students: "mmapcopy"
	Args  []string // its arguments
	Dir   string   // working directory: the case's scratch directory
	Env   []string // environment; nil for the checker's own
	Stdin []byte   // standard input; nil for /dev/null

	// Callbacks at the program's stops (see trace.Options).
	OnSyscall    func(*trace.Stop)
	OnNewProcess func(*trace.Stop)
	OnSignal     func(*trace.Stop)
	OnExit       func(*trace.Stop)
}

// CommandLine returns how the program was run, as a student would type
// it in the scratch directory: "mmapcopy src dst".
func (p Program) CommandLine() string {
	s := p.Name
	for _, a := range p.Args {
		s += " " + shellQuote(a)
	}
	return s
}

// Exec is the outcome of one traced run of a Program.
type Exec struct {
	Program Program
	Trace   *trace.Trace

	Stdout, Stderr []byte
	// StdoutLost and StderrLost count the bytes past the cap, drained
	// and dropped.
	StdoutLost, StderrLost int64

	ExitCode int            // the root's exit status; -1 if killed
	Signal   syscall.Signal // the signal that killed the root, or 0
	TimedOut bool
	// Leftovers are processes that still ran after the root exited and
	// were killed.
	Leftovers []*trace.Process
	// Faults are the SIGSEGV and SIGBUS deliveries, with what was mapped
	// at the faulting address at that moment.
	Faults []Fault
	Err    error // the program could not be started
}

// Running is a Program that runs. Wait for it with Wait.
type Running struct {
	prog    Program
	tracer  *trace.Tracer
	outs    [2]*capture
	writers [2]*os.File
	faults  *faultLog
	lim     Limits

	mu         sync.Mutex
	rootExited bool
	killedLate bool
}

// Start starts p traced. The run ends when its whole tree has exited,
// when the limits are hit, or when ctx ends; every process of the tree is
// then dead.
func Start(ctx context.Context, p Program, lim Limits) (*Running, error) {
	lim = lim.withDefaults()
	r := &Running{prog: p, lim: lim, faults: &faultLog{}}
	stdin, err := stdinFile(p.Stdin)
	if err != nil {
		return nil, err
	}
	if stdin != nil {
		defer stdin.Close()
	}
	for i := range r.outs {
		rd, wr, err := os.Pipe()
		if err != nil {
			r.closeAll()
			return nil, fmt.Errorf("pipe: %w", err)
		}
		r.outs[i] = newCapture(rd, lim.Output)
		r.writers[i] = wr
	}
	opts := trace.Options{
		Path: p.Exe, Args: p.Args, Dir: p.Dir, Env: p.Env,
		Stdin: stdin, Stdout: r.writers[0], Stderr: r.writers[1],
		Context: ctx, Timeout: lim.Timeout,
		OnSyscall: p.OnSyscall, OnNewProcess: p.OnNewProcess,
		OnSignal: r.onSignal, OnExit: r.onExit,
	}
	r.tracer, err = trace.Start(opts)
	// Our copies of the write ends must go, or the readers never see EOF.
	for _, w := range r.writers {
		w.Close()
	}
	if err != nil {
		r.closeAll()
		return nil, err
	}
	for _, c := range r.outs {
		go c.drain()
	}
	return r, nil
}

// Run starts p and waits for it.
func Run(ctx context.Context, p Program, lim Limits) *Exec {
	r, err := Start(ctx, p, lim)
	if err != nil {
		return &Exec{Program: p, ExitCode: -1, Err: err}
	}
	return r.Wait()
}

// Wait waits for the run to end and returns its outcome.
func (r *Running) Wait() *Exec {
	tr, err := r.tracer.Wait()
	e := &Exec{Program: r.prog, Trace: tr, Err: err, ExitCode: -1}
	r.finishOutput(e)
	if tr == nil || tr.Root == nil {
		return e
	}
	e.ExitCode, e.Signal, e.TimedOut = tr.Root.ExitCode, tr.Root.Signal,
		tr.TimedOut
	r.mu.Lock()
	late := r.killedLate
	r.mu.Unlock()
	if late {
		e.Leftovers = leftovers(tr)
	}
	e.Faults = r.faults.list()
	return e
}

// Kill ends every process of the run now.
func (r *Running) Kill() { r.tracer.KillAll() }

// Pid is the root process of the run.
func (r *Running) Pid() int { return r.tracer.Pid() }

// onExit notes the root's exit: whatever still runs after Grace was left
// behind, and is killed.
func (r *Running) onExit(s *trace.Stop) {
	if r.prog.OnExit != nil {
		r.prog.OnExit(s)
	}
	if s.Proc.Parent != 0 {
		return
	}
	r.mu.Lock()
	r.rootExited = true
	r.mu.Unlock()
	go func() {
		time.Sleep(Grace)
		select {
		case <-r.done():
		default:
			r.mu.Lock()
			r.killedLate = true
			r.mu.Unlock()
			r.tracer.KillAll()
		}
	}()
}

// done is closed when the tracer is done.
func (r *Running) done() <-chan struct{} {
	ch := make(chan struct{})
	go func() { r.tracer.Wait(); close(ch) }()
	return ch
}

func (r *Running) onSignal(s *trace.Stop) {
	if r.prog.OnSignal != nil {
		r.prog.OnSignal(s)
	}
	r.faults.record(s)
}

// finishOutput collects what the readers kept. A pipe still held open by
// a process outside the tree cannot make the checker wait: after a short
// while the read ends are closed.
func (r *Running) finishOutput(e *Exec) {
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for _, c := range r.outs {
		select {
		case <-c.done:
		case <-timer.C:
		}
		c.r.Close()
		<-c.done
	}
	e.Stdout, e.StdoutLost = r.outs[0].kept.Bytes(), r.outs[0].lost
	e.Stderr, e.StderrLost = r.outs[1].kept.Bytes(), r.outs[1].lost
}

func (r *Running) closeAll() {
	for i := range r.outs {
		if r.outs[i] != nil {
			r.outs[i].r.Close()
		}
		if r.writers[i] != nil {
			r.writers[i].Close()
		}
	}
}

// leftovers returns the processes that outlived the root and were killed.
func leftovers(tr *trace.Trace) []*trace.Process {
	var left []*trace.Process
	for _, p := range tr.Procs {
		if p != tr.Root && p.Signal == syscall.SIGKILL && p.End > tr.Root.End {
			left = append(left, p)
		}
	}
	return left
}

// capture keeps the first max bytes read from r and counts the rest.
type capture struct {
	r    *os.File
	max  int
	kept bytes.Buffer
	lost int64
	done chan struct{}
}

func newCapture(r *os.File, max int) *capture {
	return &capture{r: r, max: max, done: make(chan struct{})}
}

func (c *capture) drain() {
	defer close(c.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := c.r.Read(buf)
		keep := min(n, c.max-c.kept.Len())
		c.kept.Write(buf[:keep])
		c.lost += int64(n - keep)
		if err != nil {
			return
		}
	}
}

// stdinFile returns a file to read data from, or nil for /dev/null.
func stdinFile(data []byte) (*os.File, error) {
	if data == nil {
		return nil, nil
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	go func() {
		io.Copy(wr, bytes.NewReader(data))
		wr.Close()
	}()
	return rd, nil
}

// shellQuote quotes s for a shell if it needs it.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	for _, c := range s {
		if !(c == '/' || c == '.' || c == '-' || c == '_' || c == ',' ||
			c == ':' || c == '+' || c == '=' ||
			'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
			'0' <= c && c <= '9') {
			return "'" + bytesReplace(s, "'", `'\''`) + "'"
		}
	}
	return s
}

func bytesReplace(s, old, new string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(old), []byte(new)))
}

// Scratch makes a fresh scratch directory for one case. With disk set, it
// avoids tmpfs, where file pages are never written back (the msync lab
// needs a disk); ok is false if no disk-backed directory could be found.
func Scratch(disk bool) (dir string, ok bool, err error) {
	parent := os.TempDir()
	ok = true
	if disk && onTmpfs(parent) {
		ok = false
		if cache, err := os.UserCacheDir(); err == nil && !onTmpfs(cache) {
			if os.MkdirAll(cache, 0o755) == nil {
				parent, ok = cache, true
			}
		}
	}
	dir, err = os.MkdirTemp(parent, "mmaplab-check-")
	if err != nil {
		return "", false, fmt.Errorf("make scratch directory: %w", err)
	}
	// Paths in the trace are real paths: resolve symbolic links once.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir, ok, nil
}

// onTmpfs reports whether path is on tmpfs.
func onTmpfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.TMPFS_MAGIC
}
