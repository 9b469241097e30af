package check

import (
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/run"
)

// Checks every lab has, from the contracts' common rules.

// runsCleanly: a run on valid arguments ends by itself, without a crash.
var runsCleanly = &Check{
	Name:   "no-crash",
	Doc:    "every run on valid arguments ends on its own: no panic, no fault, no time-out",
	Hint:   "Run the case shown yourself. A SIGBUS usually means touching a page past the end of the file; a SIGSEGV, writing to a read-only mapping or using memory after munmap.",
	Points: 2,
	Run: func(p *Pass) {
		if !p.Working() {
			return
		}
		p.Each(func(r *Result) {
			for _, e := range r.Execs {
				if d := e.Diagnosis(r.Names); d != "" && len(e.Leftovers) == 0 {
					p.Failf(r, nil, "%s", d)
				}
			}
		})
	},
}

// leavesNothing: no process runs on, no /dev/shm object stays.
var leavesNothing = &Check{
	Name:   "leaves-nothing",
	Doc:    "leaves nothing behind: no process still running, no object in /dev/shm, no file outside its directory",
	Hint:   "Wait for every child you start, remove shared-memory objects you create when the contract says so, and write only in the working directory and the paths you are given.",
	Points: 1,
	Run: func(p *Pass) {
		if !p.Working() {
			return
		}
		for _, r := range p.Results {
			for _, e := range r.Execs {
				if n := len(e.Leftovers); n > 0 {
					p.Failf(r, nil, "%d process(es) still ran after the "+
						"program exited; the checker killed them", n)
				}
				if len(e.Outside) > 0 {
					p.Failf(r, nil, "files made outside the working "+
						"directory (removed by the checker): %s",
						strings.Join(e.Outside, ", "))
				}
			}
			if len(r.Shm) > 0 && !r.Case.KeepsShm {
				p.Failf(r, nil, "left in /dev/shm: %s (removed by the "+
					"checker)", strings.Join(r.Shm, ", "))
			}
		}
	},
}

// staysInside: the program does only what an exercise may do.
var staysInside = &Check{
	Name:   "stays-inside",
	Doc:    "writes only in its working directory and /dev/shm, and opens no IP socket",
	Hint:   "An exercise needs no network and no files but its own: write in the working directory (or the paths you are given) only.",
	Points: 1,
	Run: func(p *Pass) {
		for _, r := range p.Results {
			for _, e := range r.Execs {
				if refused := e.Refused(); len(refused) > 0 {
					p.Failf(r, nil, "%s", strings.Join(refused, "; "))
				}
			}
		}
		if len(p.failures) == 0 {
			p.Working() // nothing refused, but did it do anything?
		}
	},
}

// usageErrors: bad arguments are one line on stderr, exit 2, no effect.
var usageErrors = &Check{
	Name:   "usage-errors",
	Doc:    "a usage error prints one line on stderr, exits 2, and changes nothing",
	Hint:   "Check the arguments before you open, create or map anything; print one line to stderr and return exit status 2.",
	Points: 2,
	Run: func(p *Pass) {
		if !p.Working() {
			return
		}
		for _, r := range p.Results {
			if !r.Case.Usage || r.Err != nil {
				continue
			}
			p.judge(r)
			e := r.Exec()
			switch {
			case e.Crashed():
				p.Failf(r, nil, "expected a usage error, got a crash: %s",
					run.CrashSummary(string(e.Stderr)))
			case e.ExitCode != 2:
				p.Failf(r, nil, "expected exit status 2, got %s", status(e))
			case len(e.Stdout) > 0:
				p.Failf(r, nil, "expected nothing on stdout, got %q",
					clip(e.Stdout))
			case lines(e.Stderr) != 1:
				p.Failf(r, nil, "expected one line on stderr, got %d: %q",
					lines(e.Stderr), clip(e.Stderr))
			default:
				if changed := r.changedFiles(); changed != "" {
					p.Failf(r, nil, "expected no side effects, but %s",
						changed)
				}
			}
		}
	},
}

// Working reports whether at least one run on valid arguments exited 0.
// Checks that hold of a program that does nothing (it leaves nothing
// behind, it types no page size) give no points until it works: they fail
// with a message that says so.
func (p *Pass) Working() bool {
	for _, r := range p.Results {
		e := r.Exec()
		if !r.Case.Usage && e != nil && e.ExitCode == 0 && e.Signal == 0 {
			return true
		}
	}
	p.Failf(nil, nil, "no run on valid arguments has succeeded yet, so "+
		"there is nothing to judge")
	return false
}

// status describes how a run ended: "exit status 1", "killed by SIGBUS".
func status(e *run.Exec) string {
	switch {
	case e.Err != nil:
		return "no run: " + e.Err.Error()
	case e.TimedOut:
		return "a time-out"
	case e.Signal != 0:
		return "death by " + unix.SignalName(e.Signal)
	case e.Crashed():
		return "a crash (" + run.CrashSummary(string(e.Stderr)) + ")"
	}
	return fmt.Sprintf("exit status %d", e.ExitCode)
}

// changedFiles says what a run did to the scratch directory, or "".
func (r *Result) changedFiles() string {
	if len(r.After) == 0 {
		return ""
	}
	after := r.After[len(r.After)-1]
	for name, f := range after {
		b, ok := r.Before[name]
		switch {
		case !ok:
			return "it created " + name
		case f.Size != b.Size || !f.ModTime.Equal(b.ModTime):
			return "it changed " + name
		}
	}
	for name := range r.Before {
		if _, ok := after[name]; !ok {
			return "it removed " + name
		}
	}
	return ""
}

// lines counts the lines of out (a last line without a newline counts).
func lines(out []byte) int {
	s := string(out)
	if s == "" {
		return 0
	}
	return strings.Count(strings.TrimSuffix(s, "\n"), "\n") + 1
}

// clip shortens output for a message.
func clip(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// stdoutIs checks that a run exited 0 and printed exactly want.
func stdoutIs(p *Pass, r *Result, e *run.Exec, want string) bool {
	switch {
	case e.ExitCode != 0 || e.Signal != 0 || e.TimedOut:
		p.Failf(r, nil, "expected exit status 0, got %s; stderr: %q",
			status(e), clip(e.Stderr))
		return false
	case string(e.Stdout) != want:
		p.Failf(r, nil, "expected on stdout:\n%s\ngot:\n%s",
			indent(want), indent(clip(e.Stdout)))
		return false
	}
	return true
}

func indent(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// pageSizeLiterals finds integer literals that are common page sizes in
// the Go files of dir: a program must ask the OS instead.
func pageSizeLiterals(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var found []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		var s scanner.Scanner
		file := fset.AddFile(name, -1, len(src))
		s.Init(file, src, nil, 0)
		for {
			pos, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok != token.INT {
				continue
			}
			v, err := strconv.ParseInt(strings.ReplaceAll(lit, "_", ""), 0, 64)
			if err == nil && (v == 4096 || v == 16384 || v == 65536) {
				p := fset.Position(pos)
				found = append(found, fmt.Sprintf("%s:%d: %s",
					filepath.Base(p.Filename), p.Line, lit))
			}
		}
	}
	return found
}
