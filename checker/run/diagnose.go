package run

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/trace"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// Fault is one SIGSEGV or SIGBUS delivered to the program, with what was
// mapped at the faulting address at that moment.
type Fault struct {
	Signal  syscall.Signal
	Addr    uintptr
	Mapped  bool   // the address was inside a mapping
	Perms   string // the mapping's permissions: "rw-s"
	Path    string // the file mapped there, "" for anonymous memory
	Page    int    // index of the page within the mapping
	Pages   int    // pages in the mapping
	FileLen int64  // the file's size then, -1 if unknown
}

type faultLog struct {
	mu     sync.Mutex
	faults []Fault
}

func (l *faultLog) list() []Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.faults
}

// record notes a SIGSEGV or SIGBUS at its delivery stop, while the
// mapping it hit and the file behind it are as they were.
func (l *faultLog) record(s *trace.Stop) {
	sig := s.Signal.Signo
	if sig != unix.SIGSEGV && sig != unix.SIGBUS {
		return
	}
	f := Fault{Signal: sig, Addr: s.Signal.Addr, FileLen: -1}
	if maps, err := s.Maps(); err == nil {
		if m, err := proc.Find(maps, f.Addr); err == nil {
			ps := uintptr(os.Getpagesize())
			f.Mapped, f.Perms = true, m.Perms
			f.Page = int((f.Addr - m.Start) / ps)
			f.Pages = int((m.End - m.Start) / ps)
			if m.Inode != 0 && strings.HasPrefix(m.Path, "/") {
				f.Path = m.Path
				var st unix.Stat_t
				if unix.Stat(m.Path, &st) == nil {
					f.FileLen = st.Size
				}
			}
		}
	}
	l.mu.Lock()
	l.faults = append(l.faults, f)
	l.mu.Unlock()
}

// Explain says in plain words what the fault was and what usually causes
// it. names maps paths to the names the contract uses ("DST").
func (f Fault) Explain(names map[string]string) string {
	sig := unix.SignalName(f.Signal)
	if !f.Mapped {
		return fmt.Sprintf("%s: the program touched an address where "+
			"nothing is mapped (a use after munmap, or a nil pointer)", sig)
	}
	what := "anonymous memory"
	if f.Path != "" {
		what = "the mapping of " + nameOf(f.Path, names)
	}
	where := fmt.Sprintf("%s touching page %d of %s", sig, f.Page, what)
	switch {
	case f.Signal == unix.SIGSEGV && !strings.Contains(f.Perms, "w"):
		return where + ": the mapping is not writable " +
			"(PROT_READ only? a file opened O_RDONLY?)"
	case f.Signal == unix.SIGSEGV:
		return where + ": the access is not allowed by the mapping's " +
			"protection (" + f.Perms + ")"
	case f.Signal == unix.SIGBUS && f.Path != "" && f.FileLen >= 0:
		return fmt.Sprintf("%s (the file has %d bytes): the file is "+
			"shorter than the mapping — size it with ftruncate before "+
			"you touch it, and never map past its end", where, f.FileLen)
	}
	return where
}

func nameOf(path string, names map[string]string) string {
	if n, ok := names[path]; ok {
		return n
	}
	return filepath.Base(path)
}

// Diagnosis says in plain words why a run did not end with an exit of
// its own, and what it tried that the confinement refused, or "" if
// nothing of the kind happened. A Go runtime crash report is summarised:
// its first line and the innermost frame of package main.
func (e *Exec) Diagnosis(names map[string]string) string {
	var why []string
	switch {
	case e.Err != nil:
		why = append(why, "could not run: "+e.Err.Error())
	case e.Limit != "":
		why = append(why, e.limitText())
	case e.Signal != 0:
		why = append(why, "killed by "+unix.SignalName(e.Signal))
	}
	for _, f := range e.Faults {
		why = append(why, f.Explain(names))
	}
	if crash := CrashSummary(string(e.Stderr)); crash != "" {
		why = append(why, "the Go runtime crashed: "+crash)
	}
	if len(e.Leftovers) > 0 {
		why = append(why, fmt.Sprintf("%d process(es) still ran after "+
			"the program exited, and were killed", len(e.Leftovers)))
	}
	if len(e.Outside) > 0 {
		why = append(why, "it made files outside its directory, removed "+
			"by the checker: "+strings.Join(e.Outside, ", "))
	}
	why = append(why, e.Refused()...)
	return strings.Join(why, "; ")
}

// limitText says which limit ended the run.
func (e *Exec) limitText() string {
	lim := e.Program.limits
	switch e.Limit {
	case LimitTime:
		return fmt.Sprintf("did not finish in %v: it got SIGTERM, then "+
			"SIGKILL %v later if it went on", lim.Timeout, Grace)
	case LimitCPU:
		return fmt.Sprintf("used more than %v of CPU time and was killed "+
			"(a busy loop?)", lim.CPU)
	case LimitMemory:
		return fmt.Sprintf("used more than %d MiB of memory and was killed",
			lim.Memory>>20)
	case LimitTasks:
		return fmt.Sprintf("had more than %d processes and threads at "+
			"once: fork bomb? The whole tree was killed", lim.Tasks)
	case LimitOutput:
		return fmt.Sprintf("printed more than %d MiB (an output flood) and "+
			"was killed; the first %d KiB were kept", lim.Flood>>20,
			lim.Output>>10)
	}
	return "stopped by the " + e.Limit + " limit"
}

// Refused lists what the program tried that the confinement refused:
// writing outside its directory (Landlock), opening an IP socket
// (seccomp).
func (e *Exec) Refused() []string {
	if e.Trace == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, sc := range e.Trace.Syscalls {
		if sc.Gen < e.Gen || sc.Errno != unix.EACCES {
			continue
		}
		switch {
		case sc.Name == "socket" && (sc.Arg(0) == unix.AF_INET ||
			sc.Arg(0) == unix.AF_INET6):
			add("it tried to open an IP socket: refused (exercise " +
				"programs have no network)")
		case writes(sc) && !allowed(absPath(sc, e.Program.Dir), e.Program):
			add("it tried to write outside its directory: " +
				absPath(sc, e.Program.Dir) + " (refused)")
		}
	}
	return out
}

// writes reports a call that would create or change a file at its path.
func writes(sc *trace.Syscall) bool {
	if _, _, ok := created(&trace.Syscall{Name: sc.Name, Args: sc.Args,
		Strs: sc.Strs, Done: true}); ok {
		return true
	}
	if sc.Name == "openat" || sc.Name == "open" {
		flags := sc.Arg(2)
		if sc.Name == "open" {
			flags = sc.Arg(1)
		}
		return flags&unix.O_ACCMODE != unix.O_RDONLY ||
			flags&unix.O_TRUNC != 0
	}
	return false
}

// absPath returns the path argument of sc, made absolute against dir.
func absPath(sc *trace.Syscall, dir string) string {
	p := sc.Path
	if p != "" && !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Clean(p)
}

// Crashed reports whether the program died of a Go panic or fatal error.
func (e *Exec) Crashed() bool {
	return e.ExitCode == 2 && CrashSummary(string(e.Stderr)) != ""
}

// CrashSummary turns a Go crash report on stderr into one line: "panic:
// runtime error: index out of range [3] with length 3 (main.go:27 in
// main.copyPages)". It returns "" if stderr holds no crash report.
func CrashSummary(stderr string) string {
	var first string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "panic: ") ||
			strings.HasPrefix(line, "fatal error: ") {
			first = strings.TrimSuffix(line, " [recovered]")
			break
		}
	}
	if first == "" {
		return ""
	}
	if sig := signalLine(stderr); sig != "" {
		first += " (" + sig + ")"
	}
	if frame := mainFrame(stderr); frame != "" {
		first += " at " + frame
	}
	return first
}

// signalLine returns "signal SIGBUS: bus error" from a crash report.
func signalLine(stderr string) string {
	_, rest, ok := strings.Cut(stderr, "[signal ")
	if !ok {
		return ""
	}
	sig, _, _ := strings.Cut(rest, " code=")
	return "signal " + strings.TrimSuffix(sig, "]")
}

// mainFrame returns "main.go:27 in main.copyPages" for the first frame of
// package main in a goroutine trace.
func mainFrame(stderr string) string {
	lines := strings.Split(stderr, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "main.") || i+1 >= len(lines) {
			continue
		}
		fn, _, _ := strings.Cut(line, "(")
		loc := strings.TrimSpace(lines[i+1])
		loc, _, _ = strings.Cut(loc, " +0x")
		return filepath.Base(loc) + " in " + fn
	}
	return ""
}
