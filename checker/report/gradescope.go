package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Gradescope's results.json, as its autograder specification describes it
// (https://gradescope-autograders.readthedocs.io/en/latest/specs/): one
// test per check, with its points, so that Gradescope shows partial credit
// check by check.
type gradescopeResults struct {
	Score  int              `json:"score"`
	Output string           `json:"output,omitempty"`
	Tests  []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Name     string `json:"name"`
	Number   string `json:"number,omitempty"`
	Score    int    `json:"score"`
	MaxScore int    `json:"max_score"`
	Status   string `json:"status"` // "passed" or "failed"
	Output   string `json:"output,omitempty"`
}

// WriteGradescope writes r as Gradescope's results.json.
func WriteGradescope(w io.Writer, r *Result) error {
	points, max := r.Total()
	out := gradescopeResults{Score: points,
		Output: fmt.Sprintf("mmaplab checker: %d of %d points", points, max)}
	for _, l := range r.Labs {
		if l.Status == BuildError {
			out.Output += fmt.Sprintf("\n%s does not build:\n%s", l.Name, l.Build)
		}
		for i, c := range l.Checks {
			t := gradescopeTest{
				Name:     l.Name + ": " + c.Name,
				Number:   fmt.Sprintf("%s.%d", l.ID, i+1),
				Score:    c.Points,
				MaxScore: c.Max,
				Status:   "failed",
				Output:   checkText(c),
			}
			if c.Status == Pass {
				t.Status = "passed"
			}
			out.Tests = append(out.Tests, t)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// checkText is a check's verdict as plain text: what it checks, and for a
// failure what was expected, what happened, and the hint.
func checkText(c *Check) string {
	var b strings.Builder
	b.WriteString(c.Doc)
	if c.Status == Skipped {
		b.WriteString("\nskipped: ")
	}
	for _, f := range c.Failures {
		fmt.Fprintf(&b, "\n\n$ %s\n%s", f.Case, f.Message)
		if f.Syscall != "" {
			fmt.Fprintf(&b, "\n  %s", f.Syscall)
		}
		if f.Evidence != "" {
			fmt.Fprintf(&b, "\n%s", f.Evidence)
		}
	}
	if c.Status == Fail && c.Hint != "" {
		fmt.Fprintf(&b, "\n\nhint: %s", c.Hint)
	}
	return b.String()
}
