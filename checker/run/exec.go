// Package run runs a student's program the way the checker needs it run:
// built once (Build), then once per case, traced, in a scratch directory,
// with a time limit and a cap on the output it keeps, and with the whole
// process tree killed and the scratch directory removed at the end. It
// also says in plain words how a run that crashed went wrong.
package run

import (
	"bytes"
	"context"
	"errors"
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

// Program is one program to run traced.
type Program struct {
	Role  string   // a name for reports when a case runs several: "send"
	Exe   string   // the executable
	Name  string   // the command name shown to students: "mmapcopy"
	Args  []string // its arguments
	Dir   string   // working directory: the case's scratch directory
	Env   []string // environment; nil for the checker's own
	Stdin []byte   // standard input; nil for /dev/null
	// Writable are paths outside Dir that the program may write (Dir
	// and /dev/shm always are).
	Writable []string

	limits Limits // as the run had them, for diagnoses

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
	// Gen is the exec generation of the program in the trace: its
	// syscalls, and its children's, have Syscall.Gen >= Gen. Before it,
	// the launcher ran (see package sandbox).
	Gen int

	Stdout, Stderr []byte
	// StdoutLost and StderrLost count the bytes past the cap, drained
	// and dropped.
	StdoutLost, StderrLost int64

	ExitCode int            // the root's exit status; -1 if killed
	Signal   syscall.Signal // the signal that killed the root, or 0
	TimedOut bool
	// Limit names the limit that ended the run, if one did: LimitTime,
	// LimitCPU, LimitMemory, LimitTasks or LimitOutput.
	Limit string
	// Leftovers are processes that still ran after the root exited and
	// were killed.
	Leftovers []*trace.Process
	// Outside are files the program made outside its directory and
	// /dev/shm; the checker removed them.
	Outside []string
	// Confinement says how the run was confined, in words.
	Confinement string
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
	box     *box
	started time.Time
	done    chan struct{} // closed when the tracer is done

	mu         sync.Mutex
	killedLate bool
	limit      string // the limit that ended the run
}

// Start starts p traced and confined. The run ends when its whole tree
// has exited, when a limit is hit, or when ctx ends; every process of the
// tree is then dead.
func Start(ctx context.Context, p Program, lim Limits) (*Running, error) {
	lim = lim.withDefaults()
	p.limits = lim
	r := &Running{prog: p, lim: lim, faults: &faultLog{},
		done: make(chan struct{})}
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
		r.outs[i] = newCapture(rd, lim.Output, lim.Flood, r.flooded)
		r.writers[i] = wr
	}
	opts := trace.Options{
		Path: p.Exe, Args: p.Args, Dir: p.Dir, Env: p.Env,
		Stdin: stdin, Stdout: r.writers[0], Stderr: r.writers[1],
		MaxTasks:  lim.Tasks,
		OnSyscall: p.OnSyscall, OnNewProcess: r.onNewProcess,
		OnSignal: r.onSignal, OnExit: r.onExit,
	}
	if !lim.Unconfined {
		if r.box, err = newBox(p, lim); err != nil {
			r.closeAll()
			return nil, err
		}
		opts.Path, opts.Args, opts.Env = r.box.path, r.box.args, r.box.env
	}
	r.started = time.Now()
	r.tracer, err = trace.Start(opts)
	// Our copies of the write ends must go, or the readers never see EOF.
	for _, w := range r.writers {
		w.Close()
	}
	if err != nil {
		r.closeAll()
		r.box.remove()
		return nil, err
	}
	for _, c := range r.outs {
		go c.drain()
	}
	go func() { r.tracer.Wait(); close(r.done) }()
	go r.watchdog(ctx)
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
	e := &Exec{Program: r.prog, Trace: tr, Err: err, ExitCode: -1, Gen: 1}
	r.finishOutput(e)
	r.mu.Lock()
	late := r.killedLate
	e.Limit = r.limit
	r.mu.Unlock()
	if r.box != nil {
		e.Gen = 2
		e.Confinement = r.box.describe()
		if r.box.oomKilled() {
			e.Limit = LimitMemory
		}
		r.box.remove()
	}
	if tr == nil || tr.Root == nil {
		return e
	}
	if tr.TooMany {
		e.Limit = LimitTasks
	}
	e.ExitCode, e.Signal = tr.Root.ExitCode, tr.Root.Signal
	e.TimedOut = e.Limit == LimitTime
	if late {
		e.Leftovers = leftovers(tr)
	}
	e.Faults = r.faults.list()
	e.Outside = removeOutside(tr, e.Gen, r.prog, r.started)
	if msg := launcherFailure(e); msg != "" {
		e.Err = errors.New(msg)
	}
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
	if r.box != nil {
		r.box.forget(s.Pid)
	}
	if s.Proc.Parent != 0 {
		return
	}
	go func() {
		select {
		case <-r.done:
		case <-time.After(Grace):
			r.mu.Lock()
			r.killedLate = true
			r.mu.Unlock()
			r.tracer.KillAll()
		}
	}()
}

func (r *Running) onNewProcess(s *trace.Stop) {
	if r.box != nil {
		r.box.track(s.Pid)
	}
	if r.prog.OnNewProcess != nil {
		r.prog.OnNewProcess(s)
	}
}

func (r *Running) onSignal(s *trace.Stop) {
	if r.prog.OnSignal != nil {
		r.prog.OnSignal(s)
	}
	if s.Signal.Signo == unix.SIGXCPU {
		r.hit(LimitCPU)
	}
	r.faults.record(s)
}

// hit records the first limit that ends the run.
func (r *Running) hit(limit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.limit == "" {
		r.limit = limit
	}
}

// flooded is called when the program has printed more than the flood
// limit: the run ends there.
func (r *Running) flooded() {
	r.hit(LimitOutput)
	r.tracer.KillAll()
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
// Past flood bytes in all, it calls flooded once.
type capture struct {
	r       *os.File
	max     int
	flood   int64
	flooded func()
	kept    bytes.Buffer
	lost    int64
	over    bool // flooded was called
	done    chan struct{}
}

func newCapture(r *os.File, max int, flood int64, flooded func()) *capture {
	return &capture{r: r, max: max, flood: flood, flooded: flooded,
		done: make(chan struct{})}
}

func (c *capture) drain() {
	defer close(c.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := c.r.Read(buf)
		keep := min(n, c.max-c.kept.Len())
		c.kept.Write(buf[:keep])
		c.lost += int64(n - keep)
		if c.flood > 0 && !c.over && int64(c.kept.Len())+c.lost > c.flood {
			c.over = true
			c.flooded()
		}
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
