package trace

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// task is the tracer's state of one live thread.
type task struct {
	tid     int
	ps      *pstate
	root    bool          // its first stop is the SIGTRAP after execve
	fresh   bool          // its first stop is the SIGSTOP of a new thread
	early   bool          // seen before its creator's fork or clone event
	inCall  bool          // between syscall entry and exit (register mode)
	cur     *Syscall      // the syscall in progress
	armed   int           // watch generation set in its debug registers
	exiting bool          // it passed PTRACE_EVENT_EXIT
	step    bool          // single-stepping over a watched store (arm64)
	hold    time.Duration // hold asked for by a callback at this stop
}

// pstate is the tracer's state of one live process.
type pstate struct {
	p          *Process
	gen        int    // exec generation
	prog       string // program it runs
	live       int    // threads that have not begun to exit
	groupExit  bool   // a thread entered exit_group
	stopping   bool   // a stop signal was delivered, no SIGCONT since
	exitCalled bool   // OnExit was called
	watches    [maxWatch]*watch
	watchGen   int // bumped at each change of watches
}

// addProcess registers a new process; a process that appears after
// KillAll is killed at once.
func (t *Tracer) addProcess(pid, parent, creator, gen int,
	prog string) *pstate {
	p := &Process{Pid: pid, Parent: parent, Creator: creator,
		ExitCode: -1, Start: t.since()}
	ps := &pstate{p: p, gen: gen, prog: prog}
	t.procs[pid] = ps
	t.trace.Procs = append(t.trace.Procs, p)
	t.mu.Lock()
	t.alive[pid] = true
	if t.killing {
		unix.Kill(pid, unix.SIGKILL)
	}
	t.mu.Unlock()
	return ps
}

// addTask registers a new thread of process ps.
func (t *Tracer) addTask(tid int, ps *pstate) *task {
	tk := &task{tid: tid, ps: ps, fresh: true}
	t.tasks[tid] = tk
	ps.p.Threads = append(ps.p.Threads, tid)
	ps.live++
	if max := t.opts.MaxTasks; max > 0 && len(t.tasks) > max {
		t.mu.Lock()
		t.tooMany = true
		t.mu.Unlock()
		t.KillAll()
	}
	return tk
}

// newChild registers the thread or process tid made by the thread tk,
// unless it is already known (its first stop came before the event).
func (t *Tracer) newChild(tk *task, tid int, thread bool, flags uint64) {
	if known := t.tasks[tid]; known != nil {
		if known.early {
			known.early = false
			setCreator(known.ps.p, tid, tk.tid)
		}
		return
	}
	if p, ok := t.gone[tid]; ok {
		delete(t.gone, tid)
		setCreator(p, tid, tk.tid)
		return // it came and went before the event
	}
	if thread {
		t.addTask(tid, tk.ps)
		return
	}
	parent := tk.ps.p.Pid
	if flags&unix.CLONE_PARENT != 0 {
		parent = tk.ps.p.Parent
	}
	ps := t.addProcess(tid, parent, tk.tid, tk.ps.gen, tk.ps.prog)
	t.addTask(tid, ps)
}

// setCreator records the creator of process p, if tid made it.
func setCreator(p *Process, tid, creator int) {
	if p != nil && p.Pid == tid {
		p.Creator = creator
	}
}

// adopt registers a thread whose first stop came before the fork or
// clone event of its creator, from /proc/TID/status. It returns nil if
// the thread is already gone.
func (t *Tracer) adopt(tid int) *task {
	tk := t.adoptStatus(tid)
	if tk != nil {
		tk.early = true
	}
	return tk
}

// adoptStatus registers thread tid as /proc/TID/status describes it.
func (t *Tracer) adoptStatus(tid int) *task {
	tgid, ppid, err := readStatus(tid)
	if err != nil {
		return nil
	}
	if ps := t.procs[tgid]; ps != nil && tgid != tid {
		return t.addTask(tid, ps)
	}
	if tgid != tid {
		tk := t.adoptStatus(tgid) // a thread of a process not seen yet
		if tk == nil {
			return nil
		}
		return t.addTask(tid, tk.ps)
	}
	gen, prog := 0, ""
	if pp := t.procs[ppid]; pp != nil {
		gen, prog = pp.gen, pp.prog
	} else {
		ppid = 0
	}
	return t.addTask(tid, t.addProcess(tid, ppid, 0, gen, prog))
}

// readStatus reads the Tgid and PPid lines of /proc/TID/status.
func readStatus(tid int) (tgid, ppid int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		switch key {
		case "Tgid":
			tgid, err = strconv.Atoi(strings.TrimSpace(val))
		case "PPid":
			ppid, err = strconv.Atoi(strings.TrimSpace(val))
		}
		if err != nil {
			return 0, 0, fmt.Errorf("parse /proc/%d/status: %w", tid, err)
		}
	}
	if tgid == 0 {
		return 0, 0, fmt.Errorf("no Tgid in /proc/%d/status", tid)
	}
	return tgid, ppid, sc.Err()
}

// exited forgets a thread that exited or was killed; the exit of a
// process's leader, reported after all its threads, is the process's.
func (t *Tracer) exited(tk *task, ws unix.WaitStatus) {
	delete(t.tasks, tk.tid)
	t.dropHold(tk)
	ps := tk.ps
	if tk.early {
		// Its creator's event is still to come: remember not to take
		// it for a new thread.
		t.gone[tk.tid] = nil
		if tk.tid == ps.p.Pid {
			t.gone[tk.tid] = ps.p
		}
	}
	if !tk.exiting {
		ps.live--
	}
	if tk.tid != ps.p.Pid {
		return
	}
	p := ps.p
	p.Exited, p.End = true, t.since()
	if ws.Exited() {
		p.ExitCode = ws.ExitStatus()
	} else {
		p.Signal = ws.Signal()
	}
	delete(t.procs, p.Pid)
	t.mu.Lock()
	delete(t.alive, p.Pid)
	t.mu.Unlock()
}
