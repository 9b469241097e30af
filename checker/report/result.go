// Package report is the checker's result model and its outputs: the
// human view for a terminal, the checker's own JSON, Gradescope's
// results.json and JUnit XML. All of them are made from one Result, so
// that every format gives the same verdict and the same points.
package report

import (
	"encoding/json"
	"io"
)

// Status is the verdict of a check or a lab.
type Status string

const (
	Pass       Status = "pass"
	Fail       Status = "fail"
	NotStarted Status = "not started" // the exercise still has its marker
	BuildError Status = "build error"
	Skipped    Status = "skipped" // cannot be judged on this machine
	// Interrupted: the checker was stopped (Ctrl-C) before the lab's
	// cases had all run; its checks were not judged.
	Interrupted Status = "interrupted"
)

// Result is one run of the checker over one or more labs.
type Result struct {
	Target string `json:"target"` // "exercise", "solution" or a directory
	Labs   []*Lab `json:"labs"`
}

// Lab is the verdict on one lab.
type Lab struct {
	ID     string   `json:"id"`   // "03"
	Name   string   `json:"name"` // "03-mmap-readwrite"
	Dir    string   `json:"dir"`  // the package that was checked
	Status Status   `json:"status"`
	Points int      `json:"points"`
	Max    int      `json:"max_points"`
	Build  string   `json:"build_output,omitempty"` // compiler output
	Notes  []string `json:"notes,omitempty"`        // e.g. "ran on tmpfs"
	Checks []*Check `json:"checks"`
}

// Check is the verdict on one check of a lab.
type Check struct {
	Name   string `json:"name"`
	Doc    string `json:"doc"`
	Hint   string `json:"hint"`
	Points int    `json:"points"`
	Max    int    `json:"max_points"`
	Status Status `json:"status"`
	// Failures says what was expected and what happened, first the
	// smallest failing case; a few cases at most.
	Failures []Failure `json:"failures,omitempty"`
	// Failing counts the cases that failed, of Cases judged.
	Failing int `json:"failing_cases,omitempty"`
	Cases   int `json:"cases,omitempty"`
}

// Failure is one way a check failed, in one run.
type Failure struct {
	Case     string `json:"case"`              // the command line run
	Message  string `json:"message"`           // expected vs got
	Syscall  string `json:"syscall,omitempty"` // in strace notation
	Evidence string `json:"evidence,omitempty"`
}

// Total returns the points scored and available over all labs.
func (r *Result) Total() (points, max int) {
	for _, l := range r.Labs {
		points += l.Points
		max += l.Max
	}
	return points, max
}

// Passed reports whether every lab passed.
func (r *Result) Passed() bool {
	for _, l := range r.Labs {
		if l.Status != Pass {
			return false
		}
	}
	return true
}

// Passed returns the number of checks that passed.
func (l *Lab) Passed() int {
	n := 0
	for _, c := range l.Checks {
		if c.Status == Pass {
			n++
		}
	}
	return n
}

// Tally sets the lab's points and status from its checks: partial credit
// is the sum of the points of the checks that passed.
func (l *Lab) Tally() {
	l.Points, l.Max = 0, 0
	for _, c := range l.Checks {
		l.Max += c.Max
		if c.Status == Pass {
			c.Points = c.Max
			l.Points += c.Max
		} else {
			c.Points = 0
		}
	}
	if l.Status == BuildError || l.Status == NotStarted ||
		l.Status == Interrupted {
		return
	}
	l.Status = Pass
	for _, c := range l.Checks {
		if c.Status != Pass && c.Status != Skipped {
			l.Status = Fail
		}
	}
}

// WriteJSON writes r as the checker's own JSON.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
