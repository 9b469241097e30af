package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/report"
	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// Config says which program to check and how.
type Config struct {
	Module string     // the repository's root directory
	Dir    string     // the package to check; "" for the lab's exercise
	Limits run.Limits // per run
}

// Ctx is what a custom case gets to run its programs.
type Ctx struct {
	Context context.Context
	Lab     *Lab
	Exe     string // the program under check
	Ref     string // the reference solution, built (labs that need it)
	Dir     string // the case's scratch directory
	Limits  run.Limits
	Result  *Result
}

// Program returns a Program of exe (the student's or the reference)
// with args, in the case's scratch directory, with the lab's callbacks.
func (c *Ctx) Program(exe string, args ...string) run.Program {
	return c.Role(exe, "", args...)
}

// Role is Program for a case that runs several programs: role names the
// part this one plays ("send"), for the lab's callbacks and for reports.
func (c *Ctx) Role(exe, role string, args ...string) run.Program {
	p := run.Program{Exe: exe, Name: c.Lab.Command, Args: args, Dir: c.Dir,
		Role: role}
	if c.Lab.Observe != nil {
		c.Lab.Observe(c.Result, &p)
	}
	return p
}

// Outcome is one lab checked: the verdict, and the results it was drawn
// from (for -v, which prints the traces of failing runs).
type Outcome struct {
	Report  *report.Lab
	Results []*Result
}

// ExerciseDir returns the directory of the lab's exercise.
func (l *Lab) ExerciseDir(module string) string {
	return filepath.Join(module, "labs", l.Name, "exercise")
}

// SolutionDir returns the directory of the lab's reference solution.
func (l *Lab) SolutionDir(module string) string {
	return filepath.Join(module, "labs", l.Name, "solution")
}

// Check builds the program, runs every case, and judges every check.
func (l *Lab) Check(ctx context.Context, cfg Config) *Outcome {
	dir := cfg.Dir
	if dir == "" {
		dir = l.ExerciseDir(cfg.Module)
	}
	rep := &report.Lab{ID: l.ID, Name: l.Name, Dir: dir}
	out := &Outcome{Report: rep}
	exe, err := run.Build(ctx, cfg.Module, dir, l.Command)
	if err != nil {
		l.buildFailed(ctx, rep, err)
		return out
	}
	defer os.RemoveAll(filepath.Dir(exe))
	var ref string
	if l.needsReference() {
		ref, err = run.Build(ctx, cfg.Module, l.SolutionDir(cfg.Module),
			l.Command+"-ref")
		if err != nil {
			l.buildFailed(ctx, rep, fmt.Errorf("the reference solution: %w", err))
			return out
		}
		defer os.RemoveAll(filepath.Dir(ref))
	}
	out.Results = l.runCases(ctx, exe, ref, cfg.Limits)
	for _, r := range out.Results {
		if e := r.Exec(); e != nil && e.Confinement != "" {
			rep.Notes = appendOnce(rep.Notes, "runs confined: "+
				e.Confinement)
		}
		if !r.diskOK {
			rep.Notes = appendOnce(rep.Notes, "no disk-backed directory "+
				"was found for the scratch files (TMPDIR and the cache "+
				"directory are tmpfs): checks of write-back are skipped")
		}
	}
	if n := len(l.Cases) - len(out.Results); n > 0 && ctx.Err() == nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("a run was ended by a "+
			"limit, so the other %d cases were not run", n))
	}
	if ctx.Err() != nil {
		rep.Status = report.Interrupted
		rep.Notes = append(rep.Notes, fmt.Sprintf("interrupted after %d "+
			"of %d cases: not judged", len(out.Results), len(l.Cases)))
		rep.Tally()
		return out
	}
	for _, c := range l.Checks {
		p := &Pass{Lab: l, Results: out.Results, Source: dir}
		c.Run(p)
		if stopped(out.Results) && len(p.failures) == 0 && p.skip == "" {
			p.Failf(nil, nil, "not judged: a run was ended by a limit, "+
				"so the cases this check needs were not run")
		}
		rep.Checks = append(rep.Checks, c.verdict(p))
	}
	rep.Tally()
	return out
}

// runCases runs the lab's cases, one after the other, except the
// Parallel ones, which run beside them. It returns the results in the
// lab's order, without the cases an interruption kept from running.
func (l *Lab) runCases(ctx context.Context, exe, ref string,
	lim run.Limits) []*Result {
	results := make([]*Result, len(l.Cases))
	var wg sync.WaitGroup
	for i, c := range l.Cases {
		if c.Parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = l.runCase(ctx, c, exe, ref, lim)
			}()
		}
	}
	for i, c := range l.Cases {
		if !c.Parallel && ctx.Err() == nil && !stopped(results) {
			results[i] = l.runCase(ctx, c, exe, ref, lim)
		}
	}
	wg.Wait()
	var done []*Result
	for _, r := range results {
		if r != nil {
			done = append(done, r)
		}
	}
	return done
}

// stopped reports whether a run so far was ended by a limit (time, CPU,
// memory, processes, output): a program that does that once would do it
// in every case, so the others are not run.
func stopped(results []*Result) bool {
	for _, r := range results {
		if r == nil {
			continue
		}
		for _, e := range r.Execs {
			if e.Limit != "" {
				return true
			}
		}
	}
	return false
}

func (l *Lab) needsReference() bool {
	for _, c := range l.Cases {
		if c.Custom != nil {
			return true
		}
	}
	return false
}

func (l *Lab) buildFailed(ctx context.Context, rep *report.Lab, err error) {
	if ctx.Err() != nil {
		rep.Status = report.Interrupted
		rep.Tally()
		return
	}
	rep.Status = report.BuildError
	var be *run.BuildError
	if errors.As(err, &be) {
		rep.Build = be.Output
	} else {
		rep.Build = err.Error()
	}
	for _, c := range l.Checks {
		rep.Checks = append(rep.Checks, &report.Check{Name: c.Name,
			Doc: c.Doc, Hint: c.Hint, Max: c.Points, Status: report.Fail})
	}
	rep.Tally()
}

// runCase runs one case in a fresh scratch directory and records what
// it left there; the directory is gone when it returns.
func (l *Lab) runCase(ctx context.Context, c *Case, exe, ref string,
	lim run.Limits) *Result {
	r := &Result{Case: c, Obs: map[string]any{}, Names: map[string]string{},
		diskOK: true}
	dir, ok, err := run.Scratch(l.Disk)
	if err != nil {
		r.Err = err
		return r
	}
	defer os.RemoveAll(dir)
	r.Dir, r.diskOK = dir, ok
	if c.Setup != nil {
		if err := c.Setup(dir); err != nil {
			r.Err = fmt.Errorf("set up case %s: %w", c.Name, err)
			return r
		}
	}
	r.Before = snapshot(dir)
	before := shmObjects()
	if c.Custom != nil {
		cx := &Ctx{Context: ctx, Lab: l, Exe: exe, Ref: ref, Dir: dir,
			Limits: lim, Result: r}
		r.Execs, r.Err = c.Custom(cx)
		r.After = append(r.After, snapshot(dir))
	} else {
		cx := &Ctx{Lab: l, Dir: dir, Result: r}
		for _, args := range c.Steps {
			e := run.Run(ctx, cx.Program(exe, args...), lim)
			r.Execs = append(r.Execs, e)
			r.After = append(r.After, snapshot(dir))
		}
	}
	r.Shm = removeNewShm(before, r.Execs)
	return r
}

// Files is the state of the regular files of a directory after a run.
type Files map[string]*File

// File is one file's state.
type File struct {
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
	Data    []byte // the content, up to maxData bytes
}

const maxData = 64 << 20

// snapshot records the regular files directly in dir.
func snapshot(dir string) Files {
	files := Files{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		f := &File{Mode: info.Mode().Perm(), Size: info.Size(),
			ModTime: info.ModTime()}
		if info.Size() <= maxData {
			f.Data, _ = os.ReadFile(filepath.Join(dir, e.Name()))
		}
		files[e.Name()] = f
	}
	return files
}

// shmObjects lists /dev/shm now.
func shmObjects() map[string]bool {
	names := map[string]bool{}
	entries, _ := os.ReadDir("/dev/shm")
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}

// removeNewShm removes the /dev/shm objects that the runs created (from
// their traces) and that are still there, and returns their names.
// Objects that were there before are never touched.
func removeNewShm(before map[string]bool, execs []*run.Exec) []string {
	var left []string
	for _, e := range execs {
		if e.Trace == nil {
			continue
		}
		for _, sc := range e.Trace.Calls("openat") {
			name, ok := createdShm(sc)
			if !ok || before[name] {
				continue
			}
			path := "/dev/shm/" + name
			if _, err := os.Lstat(path); err == nil {
				os.Remove(path)
				left = appendOnce(left, name)
			}
		}
	}
	return left
}

// createdShm returns the name of the /dev/shm object an openat created.
func createdShm(sc *trace.Syscall) (string, bool) {
	if !sc.OK() || sc.Arg(2)&unix.O_CREAT == 0 {
		return "", false
	}
	name, ok := strings.CutPrefix(sc.Path, "/dev/shm/")
	return name, ok && name != "" && !strings.Contains(name, "/")
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
