package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want Summary
	}{
		{nil, Summary{}},
		{[]float64{3}, Summary{3, 3, 3, 1}},
		{[]float64{5, 1, 3}, Summary{3, 1, 5, 3}},
		{[]float64{4, 1, 2, 8}, Summary{3, 1, 8, 4}},
	} {
		in := append([]float64(nil), c.in...)
		if got := Summarize(c.in); got != c.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("Summarize reordered its argument: %v", c.in)
			}
		}
	}
}

func TestGBpsRatioSize(t *testing.T) {
	if got := GBps(2e9, time.Second); got != 2 {
		t.Errorf("GBps(2e9, 1s) = %v, want 2", got)
	}
	if got := GBps(1, 0); got != 0 {
		t.Errorf("GBps(1, 0) = %v, want 0", got)
	}
	if got := Ratio(1, 0); got != 0 || math.IsNaN(got) {
		t.Errorf("Ratio(1, 0) = %v, want 0", got)
	}
	for n, want := range map[int64]string{
		256 << 20: "256 MiB", 64 << 10: "64 KiB", 1 << 30: "1 GiB",
		1000: "1000 B", 3<<20 + 1: "3145729 B",
	} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestGoal(t *testing.T) {
	g := Goal{What: "best mmap ≥ 0.8× copy()", Got: 0.62, Target: 0.8,
		Unit: "×", Why: "see README"}
	want := "goal: best mmap ≥ 0.8× copy(): 0.62× — missed (see README)"
	if g.Met() || g.String() != want {
		t.Errorf("got %v %q, want missed %q", g.Met(), g, want)
	}
	g = Goal{What: "round trip < 1 µs", Got: 0.3, Target: 1, Below: true,
		Unit: " µs"}
	want = "goal: round trip < 1 µs: 0.30 µs — met"
	if !g.Met() || g.String() != want {
		t.Errorf("got %v %q, want met %q", g.Met(), g, want)
	}
}

func TestTable(t *testing.T) {
	var tb Table
	tb.Header = []string{"method", "GB/s", "note"}
	tb.Add("copy()", "6.02", "limit")
	tb.Add("write 1 MiB", "12.5", "")
	var b bytes.Buffer
	tb.Fprint(&b)
	want := "method       GB/s  note\n" +
		"copy()       6.02  limit\n" +
		"write 1 MiB  12.5\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestBars(t *testing.T) {
	var b bytes.Buffer
	Bars(&b, []Bar{
		{Label: "a", Value: 4, Max: 4, Text: "4"},
		{Label: "bb", Value: 1, Max: 2, Text: "1"},
		{Label: "c", Value: 0, Text: "skipped"},
	}, 8)
	want := "a   ████████  4\n" +
		"bb  ██░░      1\n" +
		"c             skipped\n"
	if got := b.String(); got != want {
		t.Errorf("bars:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	Bars(&b, []Bar{{Label: "x", Value: 3, Max: 3}, {Label: "y", Value: 8,
		Max: 8}}, 4)
	if got := strings.Split(b.String(), "\n")[0]; got != "x  █▌" {
		t.Errorf("partial bar = %q, want %q", got, "x  █▌")
	}
}

type inner struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

type row struct {
	Name   string  `json:"name"`
	Rate   float64 `json:"rate,omitempty"`
	Spread inner   `json:"spread"`
	Count  int
	secret int
	Hidden string `json:"-"`
}

func TestWriteCSVAndJSON(t *testing.T) {
	rows := []row{{Name: "a,b", Rate: 1.5, Spread: inner{1, 2}, Count: 3,
		secret: 9, Hidden: "x"}}
	var b bytes.Buffer
	if err := WriteCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := "name,rate,spread_lo,spread_hi,Count\n\"a,b\",1.5,1,2,3\n"
	if b.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	if err := WriteCSV(&b, 3); err == nil {
		t.Error("WriteCSV(3) did not fail")
	}
	b.Reset()
	if err := WriteJSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"spread": {`) ||
		strings.Contains(b.String(), "Hidden") {
		t.Errorf("json:\n%s", b.String())
	}
}
