// Package diagram draws the talk's page diagram: one cell per page, each
// cell the page's state as the kernel reported it.
//
//	virtual memory  [S][S][S][S][-][-][-][-]
//
// Cells are coloured on a terminal (fatih/color decides: not when stdout is
// not a terminal, nor when NO_COLOR is set) and plain letters otherwise, so
// that golden files never hold escape codes.
package diagram

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"
)

// State is what one page is, as a single letter.
type State byte

const (
	Missing State = '-' // no physical page behind the virtual page
	Synced  State = 'S' // resident, same as the file (clean)
	Dirty   State = 'D' // resident, changed: must be written back or kept
	Zero    State = 'Z' // mapped to the kernel's shared zero page
	Unknown State = '?' // resident, clean or dirty not known
)

var names = map[State]string{
	Missing: "missing",
	Synced:  "synced",
	Dirty:   "dirty",
	Zero:    "zero page",
	Unknown: "resident, clean or dirty unknown",
}

var colors = map[State]*color.Color{
	Missing: color.New(color.FgHiBlack),
	Synced:  color.New(color.FgGreen),
	Dirty:   color.New(color.FgRed),
	Zero:    color.New(color.FgCyan),
	Unknown: color.New(color.FgYellow),
}

// LabelWidth is the width of the label column, so that the rows of
// successive steps line up.
const LabelWidth = 16

// maxCells is the longest row drawn cell by cell; longer rows are drawn as
// runs ("[D] x 512") so that a huge page still fits on a line.
const maxCells = 32

// Row is one line of a diagram: a label and one state per page.
type Row struct {
	Label string
	Pages []State
	Note  string // printed after the cells, e.g. the kernel facility
}

// Fprint draws rows, one line each.
func Fprint(w io.Writer, rows ...Row) {
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s", LabelWidth, r.Label)
		if len(r.Pages) > maxCells {
			printRuns(w, r.Pages)
		} else {
			for _, s := range r.Pages {
				printCell(w, s)
			}
		}
		if r.Note != "" {
			fmt.Fprintf(w, "  %s", r.Note)
		}
		fmt.Fprintln(w)
	}
}

// Legend returns "- missing  S synced  D dirty" for the given states.
func Legend(states ...State) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = string(s) + " " + names[s]
	}
	return strings.Join(parts, "  ")
}

// Count returns how many pages are in state s.
func Count(pages []State, s State) int {
	n := 0
	for _, p := range pages {
		if p == s {
			n++
		}
	}
	return n
}

func printCell(w io.Writer, s State) {
	fmt.Fprint(w, "[")
	colors[s].Fprint(w, string(s))
	fmt.Fprint(w, "]")
}

// printRuns draws a long row as runs of equal states.
func printRuns(w io.Writer, pages []State) {
	for i := 0; i < len(pages); {
		j := i
		for j < len(pages) && pages[j] == pages[i] {
			j++
		}
		if i > 0 {
			fmt.Fprint(w, " ")
		}
		printCell(w, pages[i])
		fmt.Fprintf(w, " x %d", j-i)
		i = j
	}
}
