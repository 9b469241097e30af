package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"
)

var (
	green  = color.New(color.FgGreen)
	red    = color.New(color.FgRed)
	yellow = color.New(color.FgYellow)
	faint  = color.New(color.FgHiBlack)
	bold   = color.New(color.Bold)
)

// TextOptions says how much the human view shows.
type TextOptions struct {
	Hints   bool // print the hint under each failing check
	Verbose bool // print every failing case kept, not only the first
}

// WriteTable writes the progress table: one line per lab, then the total.
func WriteTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "  %-20s %-20s %s\n", "lab", "progress", "points")
	for _, l := range r.Labs {
		fmt.Fprintf(w, "  %-20s ", l.Name)
		progress := l.Progress()
		c := yellow
		switch l.Status {
		case Pass:
			c = green
		case BuildError:
			c = red
		case NotStarted:
			c = faint
		}
		c.Fprintf(w, "%-20s", progress)
		fmt.Fprintf(w, " %3d/%d\n", l.Points, l.Max)
	}
	points, max := r.Total()
	fmt.Fprintf(w, "  %-20s %-20s %3d/%d\n", "total", "", points, max)
}

// Progress is a lab's progress in words: "done", "not started", "5 of 14
// checks", "build error".
func (l *Lab) Progress() string {
	switch l.Status {
	case Pass:
		return "done"
	case NotStarted:
		return "not started"
	case BuildError:
		return "build error"
	case Interrupted:
		return "interrupted"
	}
	return fmt.Sprintf("%d of %d checks", l.Passed(), len(l.Checks))
}

// WriteLab writes one lab in detail: every check with its verdict, and
// for each failure the case, what was expected and what happened.
func WriteLab(w io.Writer, l *Lab, opt TextOptions) {
	bold.Fprintf(w, "%s", l.Name)
	fmt.Fprintf(w, ": %s, %d/%d points", l.Progress(), l.Points, l.Max)
	faint.Fprintf(w, "   (%s)\n", l.Dir)
	for _, n := range l.Notes {
		yellow.Fprint(w, "  note: ")
		fmt.Fprintln(w, n)
	}
	if l.Status == BuildError {
		fmt.Fprintln(w, "\n  it does not build:")
		fmt.Fprintln(w, indentText(strings.TrimSpace(l.Build), "    "))
		return
	}
	if l.Status == NotStarted {
		fmt.Fprintln(w, "  (the exercise still has its NOT DONE line: "+
			"delete it when you want your work checked)")
	}
	fmt.Fprintln(w)
	for _, c := range l.Checks {
		WriteCheck(w, c, opt)
	}
	if !opt.Hints && l.Status == Fail {
		faint.Fprintf(w, "\n  add -hint to see a hint for each failing "+
			"check\n")
	}
}

// WriteCheck writes one check: its verdict, its doc, and for a failure the
// first failing case (all kept cases with Verbose), and the hint if asked.
func WriteCheck(w io.Writer, c *Check, opt TextOptions) {
	const width = 26
	switch c.Status {
	case Pass:
		green.Fprint(w, "  ok    ")
	case Skipped:
		yellow.Fprint(w, "  skip  ")
	default:
		red.Fprint(w, "  FAIL  ")
	}
	fmt.Fprintf(w, "%-*s %s\n", width, c.Name, c.Doc)
	pad := strings.Repeat(" ", 8)
	for i, f := range c.Failures {
		if i > 0 && !opt.Verbose {
			break
		}
		if f.Case != "" {
			faint.Fprintf(w, "%s$ %s", pad, f.Case)
			if i == 0 && c.Cases > 1 {
				faint.Fprintf(w, "   (fails in %d of %d cases)",
					c.Failing, c.Cases)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, indentText(f.Message, pad))
		if f.Syscall != "" {
			fmt.Fprintln(w, indentText(f.Syscall, pad+"  "))
		}
		if f.Evidence != "" {
			yellow.Fprintln(w, indentText(f.Evidence, pad))
		}
	}
	if opt.Hints && c.Status == Fail && c.Hint != "" {
		fmt.Fprint(w, pad)
		bold.Fprint(w, "hint: ")
		fmt.Fprintln(w, c.Hint)
	}
}

// indentText puts prefix before every line of s.
func indentText(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
