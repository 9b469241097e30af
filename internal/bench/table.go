package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fatih/color"
)

// Table is rows of text cells under a header, printed in aligned
// columns. Cells that start with a digit (numbers) are right-aligned,
// the others left-aligned.
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

var bold = color.New(color.Bold)

// Fprint writes the table to w, two spaces between columns, the header in
// bold on a terminal. A column that holds a number (a cell starting with
// a digit) is right-aligned, the others left-aligned.
func (t *Table) Fprint(w io.Writer) {
	widths, right := t.layout()
	bold.Fprintln(w, line(t.Header, widths, right))
	for _, row := range t.Rows {
		fmt.Fprintln(w, line(row, widths, right))
	}
}

// layout returns the width of each column and whether it is numeric.
func (t *Table) layout() (widths []int, right []bool) {
	for r, row := range append([][]string{t.Header}, t.Rows...) {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
				right = append(right, false)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
			right[i] = right[i] || r > 0 && numeric(cell)
		}
	}
	return widths, right
}

// line lays out cells in columns.
func line(cells []string, widths []int, right []bool) string {
	var b strings.Builder
	for i, cell := range cells {
		if i > 0 {
			b.WriteString("  ")
		}
		pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
		switch {
		case right[i]:
			b.WriteString(pad + cell)
		case i < len(cells)-1:
			b.WriteString(cell + pad)
		default:
			b.WriteString(cell)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func numeric(cell string) bool {
	return cell != "" && cell[0] >= '0' && cell[0] <= '9'
}
