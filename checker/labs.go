package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/fatih/color"

	"github.com/mmaplab/mmaplab/checker/check"
	"github.com/mmaplab/mmaplab/checker/report"
	"github.com/mmaplab/mmaplab/checker/run"
)

// results are the labs checked in one go, in lab order.
type results struct {
	report   *report.Result
	outcomes []*check.Outcome
}

// checkLabs checks the labs, as many at a time as there are CPUs.
func checkLabs(ctx context.Context, module string, labs []*check.Lab,
	o options) *results {
	res := &results{report: &report.Result{Target: target(o)},
		outcomes: make([]*check.Outcome, len(labs))}
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, lab := range labs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res.outcomes[i] = checkOne(ctx, module, lab, o)
		}()
	}
	wg.Wait()
	for _, out := range res.outcomes {
		if out != nil {
			res.report.Labs = append(res.report.Labs, out.Report)
		}
	}
	return res
}

// checkOne checks one lab's exercise, solution or submission.
func checkOne(ctx context.Context, module string, lab *check.Lab,
	o options) *check.Outcome {
	dir := checkedDir(module, lab, o)
	if ctx.Err() != nil {
		return nil
	}
	out := lab.Check(ctx, check.Config{Module: module, Dir: dir,
		Limits: run.Limits{Timeout: o.timeout, CPU: o.cpu}})
	if o.dir == "" && !o.solution && check.DirHasMarker(dir) &&
		out.Report.Status != report.BuildError {
		out.Report.Status = report.NotStarted
	}
	return out
}

// print writes the results in the chosen format and returns the exit
// status: 0 all passed, 1 a check failed, 2 a program did not build.
func (res *results) print(w io.Writer, o options, oneLab bool) int {
	r := res.report
	var err error
	switch o.format {
	case "json":
		err = report.WriteJSON(w, r)
	case "gradescope":
		err = report.WriteGradescope(w, r)
	case "junit":
		err = report.WriteJUnit(w, r)
	default:
		res.printText(w, o, oneLab)
	}
	if err != nil {
		fmt.Fprintf(w, "checker: write results: %v\n", err)
		return 2
	}
	return exitStatus(r)
}

func exitStatus(r *report.Result) int {
	code := 0
	for _, l := range r.Labs {
		switch {
		case l.Status == report.BuildError:
			return 2
		case l.Status != report.Pass:
			code = 1
		}
	}
	return code
}

// printText is the human view: the table of every lab, then the first
// lab that is not done in detail; or one lab in detail.
func (res *results) printText(w io.Writer, o options, oneLab bool) {
	r := res.report
	opt := report.TextOptions{Hints: o.hints, Verbose: o.verbose}
	if !oneLab {
		color.New(color.Bold).Fprintf(w, "mmaplab checker: %s\n\n",
			targetWords(o))
		report.WriteTable(w, r)
	}
	for i, l := range r.Labs {
		if !oneLab && l.Status == report.Pass {
			continue
		}
		fmt.Fprintln(w)
		report.WriteLab(w, l, opt)
		if o.verbose {
			printTraces(w, res.outcomes[i])
		}
		if !oneLab {
			break
		}
	}
}

func targetWords(o options) string {
	switch {
	case o.solution:
		return "the reference solutions (labs/*/solution)"
	case o.dir != "":
		return o.dir
	}
	return "your exercises (labs/*/exercise)"
}

// printTraces prints the full trace of each failing case, once.
func printTraces(w io.Writer, out *check.Outcome) {
	failing := map[string]bool{}
	for _, c := range out.Report.Checks {
		for _, f := range c.Failures {
			failing[f.Case] = true
		}
	}
	for _, r := range out.Results {
		if !failing[r.Cmd()] {
			continue
		}
		for _, e := range r.Execs {
			if e.Trace == nil {
				continue
			}
			fmt.Fprintf(w, "\n--- trace of %s\n", e.Program.CommandLine())
			e.Trace.DumpFrom(w, e.Gen)
		}
		delete(failing, r.Cmd())
	}
}
