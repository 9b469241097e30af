package diagram

import (
	"strings"
	"testing"

	"github.com/fatih/color"
)

func init() { color.NoColor = true }

func TestFprint(t *testing.T) {
	var b strings.Builder
	Fprint(&b, Row{Label: "virtual memory",
		Pages: []State{Synced, Dirty, Missing}, Note: "(pagemap)"})
	want := "  virtual memory  [S][D][-]  (pagemap)\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}

func TestFprintRuns(t *testing.T) {
	pages := make([]State, 512)
	for i := range pages {
		pages[i] = Dirty
	}
	pages[511] = Missing
	var b strings.Builder
	Fprint(&b, Row{Label: "huge", Pages: pages})
	want := "  huge            [D] x 511 [-] x 1\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}

func TestLegendAndCount(t *testing.T) {
	if got := Legend(Missing, Synced, Dirty); got != "- missing  S synced  D dirty" {
		t.Errorf("Legend = %q", got)
	}
	if n := Count([]State{Dirty, Synced, Dirty}, Dirty); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
}
