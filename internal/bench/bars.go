package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fatih/color"
)

// Bar is one bar of a chart: a median with the spread of its samples.
type Bar struct {
	Label string
	Value float64 // length of the solid bar (the median)
	Max   float64 // the light part runs from Value to Max (the spread)
	Text  string  // printed after the bar: "2.51 GB/s"
	Group int     // bars of one group share a colour
}

var palette = []*color.Color{
	color.New(color.FgCyan),
	color.New(color.FgGreen),
	color.New(color.FgYellow),
	color.New(color.FgMagenta),
	color.New(color.FgBlue),
	color.New(color.FgRed),
}

// Bars draws a horizontal bar chart, the longest bar width columns long:
//
//	copy()            ████████████████████████████░░  6.02 GB/s
//	write 1 MiB       ███████████▌                    2.51 GB/s
//
// Each bar is coloured by its group on a terminal (fatih/color decides:
// not when stdout is not one, nor with NO_COLOR set).
func Bars(w io.Writer, bars []Bar, width int) {
	top, labelWidth := 0.0, 0
	for _, b := range bars {
		top = max(top, b.Value, b.Max)
		labelWidth = max(labelWidth, utf8.RuneCountInString(b.Label))
	}
	for _, b := range bars {
		solid, light := barCells(b, top, width)
		pad := strings.Repeat(" ",
			labelWidth-utf8.RuneCountInString(b.Label))
		fmt.Fprintf(w, "%s%s  ", b.Label, pad)
		c := palette[(b.Group%len(palette)+len(palette))%len(palette)]
		if solid != "" {
			c.Fprint(w, solid)
		}
		if light != "" {
			c.Fprint(w, light)
		}
		if b.Text != "" {
			rest := width - utf8.RuneCountInString(solid) -
				utf8.RuneCountInString(light)
			fmt.Fprintf(w, "%s  %s", strings.Repeat(" ", max(rest, 0)),
				b.Text)
		}
		fmt.Fprintln(w)
	}
}

// eighths are the partial blocks, from one eighth of a cell to seven.
var eighths = []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// barCells returns the solid part of a bar (full blocks and a partial
// one) and the light part that shows the spread up to Max.
func barCells(b Bar, top float64, width int) (solid, light string) {
	if top <= 0 || b.Value <= 0 {
		return "", ""
	}
	n := int(b.Value/top*float64(width)*8 + 0.5)
	solid = strings.Repeat("█", n/8) + eighths[n%8]
	used := n / 8
	if n%8 != 0 {
		used++
	}
	end := int(b.Max/top*float64(width) + 0.5)
	if end > used {
		light = strings.Repeat("░", end-used)
	}
	return solid, light
}
