// Package check holds what the checker knows about each lab's exercise:
// the cases it runs, and a registry of small documented checks in the
// style of golang.org/x/tools/go/analysis. Each check is one item of the
// contract's "The checker verifies" list (shared/exercises.md, restated in
// each lab's README): a name, a one-line doc, a hint, points, and a run
// function that judges the runs of the cases from their traces, their
// output and the state they left.
package check

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mmaplab/mmaplab/checker/report"
	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// A Check is one thing the checker establishes about a program.
type Check struct {
	Name   string // one word or a-hyphenated-phrase, unique in its lab
	Doc    string // what a passing program does, one line
	Hint   string // what to look at when it fails, one or two sentences
	Points int    // partial credit when it passes
	Run    func(*Pass)
}

// Lab is one exercise contract as the checker knows it.
type Lab struct {
	ID      string // "03"
	Name    string // "03-mmap-readwrite", the directory under labs/
	Command string // the program's name in the contract: "mmapcopy"
	Disk    bool   // the scratch directory must be on a disk, not tmpfs

	Cases  []*Case // run in this order: smallest first
	Checks []*Check

	// Observe adds the lab's callbacks to a program about to run in a
	// case: what they see at stops goes into the Result.
	Observe func(r *Result, p *run.Program)
}

// Case is one scenario: one or more runs of the program in one fresh
// scratch directory.
type Case struct {
	Name string
	// Steps are the argument lists of the runs, made one after the other
	// in the same scratch directory. Most cases have one.
	Steps [][]string
	// Setup makes the case's input files in the scratch directory.
	Setup func(dir string) error
	// Custom, if set, runs the case instead of Steps (several programs
	// at once, the reference solution, holds): it returns the runs.
	Custom func(c *Ctx) ([]*run.Exec, error)
	// Want is what the lab's checks expect of this case.
	Want any
	// Usage marks a case whose arguments are a usage error.
	Usage bool
	// KeepsShm marks a case whose contract leaves a /dev/shm object.
	KeepsShm bool
	// Parallel marks a slow case (one that waits for a time-out): it
	// runs beside the others instead of before them.
	Parallel bool
}

// Result is one case as it ran.
type Result struct {
	Case  *Case
	Dir   string      // the scratch directory (gone when checks run)
	Execs []*run.Exec // one per step
	// Before holds the scratch directory's files after the setup; After
	// holds them after each step.
	Before Files
	After  []Files
	// Names maps the paths of the case's files to the names the contract
	// uses for them ("SRC", "DST"), for diagnoses.
	Names map[string]string
	// Obs holds what the lab's callbacks saw during the runs.
	Obs map[string]any
	// Shm lists the /dev/shm objects the runs left behind.
	Shm []string
	Err error // the case could not be run at all

	diskOK bool // the scratch directory was on a disk, if the lab asked
}

// Exec returns the first run of the case.
func (r *Result) Exec() *run.Exec {
	if len(r.Execs) == 0 {
		return nil
	}
	return r.Execs[0]
}

// Cmd returns the command lines of the case, as a student would type them
// in the scratch directory.
func (r *Result) Cmd() string {
	var lines []string
	for _, e := range r.Execs {
		lines = append(lines, e.Program.CommandLine())
	}
	if len(lines) == 0 {
		for _, s := range r.Case.Steps {
			lines = append(lines, strings.Join(s, " "))
		}
	}
	return strings.Join(lines, "; ")
}

// Path returns the absolute path of a file of the case.
func (r *Result) Path(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return r.Dir + "/" + name
}

// Pass is what a check sees: every case as it ran, and the source of the
// program. A check reports what it finds with Failf.
type Pass struct {
	Lab     *Lab
	Results []*Result
	Source  string // the directory of the checked package

	failures []report.Failure
	skip     string
	judged   map[*Result]bool // results a check looked at
}

// Failf reports that the check fails on result r, quoting the syscall sc
// (nil if none) in strace notation.
func (p *Pass) Failf(r *Result, sc *trace.Syscall, format string,
	args ...any) {
	f := report.Failure{Message: fmt.Sprintf(format, args...)}
	if r != nil {
		f.Case = r.Cmd()
		if e := r.Exec(); e != nil {
			f.Evidence = evidence(r)
		}
	}
	if sc != nil {
		f.Syscall = sc.String()
	}
	p.failures = append(p.failures, f)
}

// Skipf says the check cannot be judged here, and why.
func (p *Pass) Skipf(format string, args ...any) {
	p.skip = fmt.Sprintf(format, args...)
}

// Each calls f for every result of a case that is not a usage error,
// except those that could not run (already failed by "runs").
func (p *Pass) Each(f func(r *Result)) {
	for _, r := range p.Results {
		if !r.Case.Usage && r.Err == nil && r.Exec() != nil {
			p.judge(r)
			f(r)
		}
	}
}

// judge notes that the check looked at r, for "fails in k of n cases".
func (p *Pass) judge(r *Result) {
	if p.judged == nil {
		p.judged = map[*Result]bool{}
	}
	p.judged[r] = true
}

// evidence is what a student needs beside the message: how the run went
// if it did not end on its own.
func evidence(r *Result) string {
	var parts []string
	for _, e := range r.Execs {
		if d := e.Diagnosis(r.Names); d != "" {
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, "\n")
}

// maxFailures is how many failing cases a check shows.
const maxFailures = 3

// verdict turns what a check found into its report.
func (c *Check) verdict(p *Pass) *report.Check {
	rc := &report.Check{Name: c.Name, Doc: c.Doc, Hint: c.Hint,
		Max: c.Points, Status: report.Pass}
	switch {
	case p.skip != "":
		rc.Status = report.Skipped
		rc.Failures = []report.Failure{{Message: p.skip}}
	case len(p.failures) > 0:
		rc.Status = report.Fail
		rc.Failures = firstPerCase(p.failures)
		rc.Failing = len(rc.Failures)
		rc.Cases = max(len(p.judged), rc.Failing)
		if len(rc.Failures) > maxFailures {
			rc.Failures = rc.Failures[:maxFailures]
		}
	}
	return rc
}

// firstPerCase keeps the first failure of each case, in case order.
func firstPerCase(fs []report.Failure) []report.Failure {
	seen := map[string]bool{}
	var out []report.Failure
	for _, f := range fs {
		if seen[f.Case] {
			continue
		}
		seen[f.Case] = true
		out = append(out, f)
	}
	return out
}

// Labs returns every lab's registry, in order.
func Labs() []*Lab {
	labs := []*Lab{pagesLab, createLab, copyLab, patchLab, shmLab,
		forksumLab}
	sort.Slice(labs, func(i, j int) bool { return labs[i].ID < labs[j].ID })
	return labs
}

// Find returns the lab named by id ("03") or name ("03-mmap-readwrite").
func Find(name string) (*Lab, error) {
	for _, l := range Labs() {
		if l.ID == name || l.Name == name {
			return l, nil
		}
	}
	var ids []string
	for _, l := range Labs() {
		ids = append(ids, l.ID)
	}
	return nil, fmt.Errorf("no lab %q (labs: %s)", name,
		strings.Join(ids, ", "))
}

// pageSize is the real page size, which programs must not assume.
var pageSize = os.Getpagesize()
