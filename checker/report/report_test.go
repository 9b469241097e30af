package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

// sample is a result with a passing lab, a failing one and one that does
// not build.
func sample() *Result {
	pass := &Lab{ID: "01", Name: "01-pages", Checks: []*Check{
		{Name: "output", Doc: "prints it", Max: 2, Status: Pass},
		{Name: "mmap", Doc: "maps it", Max: 3, Status: Pass},
	}}
	fail := &Lab{ID: "02", Name: "02-open-flags", Checks: []*Check{
		{Name: "mode", Doc: "mode 0640", Hint: "pass 0640", Max: 2,
			Status: Fail, Failing: 1, Cases: 4, Failures: []Failure{{
				Case: "create new.bin 8", Message: "expected 0640, got 0644",
				Syscall: `openat(AT_FDCWD, "new.bin", O_RDWR|O_CREAT, 0644) = 3`,
			}}},
		{Name: "content", Doc: "has it", Max: 4, Status: Pass},
		{Name: "watch", Doc: "needs a watchpoint", Max: 1, Status: Skipped},
	}}
	broken := &Lab{ID: "03", Name: "03-mmap-readwrite", Status: BuildError,
		Build: "./main.go:3:1: syntax error <&>", Checks: []*Check{
			{Name: "copy", Doc: "copies", Max: 5, Status: Fail}}}
	r := &Result{Target: "exercise", Labs: []*Lab{pass, fail, broken}}
	for _, l := range r.Labs {
		l.Tally()
	}
	return r
}

func TestTally(t *testing.T) {
	r := sample()
	want := []struct {
		status      Status
		points, max int
	}{{Pass, 5, 5}, {Fail, 4, 7}, {BuildError, 0, 5}}
	for i, l := range r.Labs {
		if l.Status != want[i].status || l.Points != want[i].points ||
			l.Max != want[i].max {
			t.Errorf("%s: %s %d/%d, want %s %d/%d", l.Name, l.Status,
				l.Points, l.Max, want[i].status, want[i].points, want[i].max)
		}
	}
	if p, m := r.Total(); p != 9 || m != 17 {
		t.Errorf("total %d/%d, want 9/17", p, m)
	}
}

// TestGradescope checks results.json against Gradescope's specification:
// a numeric score equal to the sum of the tests' scores, and tests with a
// name, a score, a max_score and a status of "passed" or "failed".
func TestGradescope(t *testing.T) {
	var b bytes.Buffer
	if err := WriteGradescope(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	score, ok := doc["score"].(float64)
	if !ok {
		t.Fatalf("no numeric score: %v", doc["score"])
	}
	tests, ok := doc["tests"].([]any)
	if !ok || len(tests) != 6 {
		t.Fatalf("tests: %v", doc["tests"])
	}
	sum := 0.0
	for _, x := range tests {
		tc := x.(map[string]any)
		for _, key := range []string{"name", "score", "max_score", "status"} {
			if _, ok := tc[key]; !ok {
				t.Errorf("test %v has no %q", tc["name"], key)
			}
		}
		if s := tc["status"]; s != "passed" && s != "failed" {
			t.Errorf("test %v: status %v", tc["name"], s)
		}
		if tc["score"].(float64) > tc["max_score"].(float64) {
			t.Errorf("test %v scores more than its maximum", tc["name"])
		}
		sum += tc["score"].(float64)
	}
	if sum != score || score != 9 {
		t.Errorf("score %v, tests sum to %v, want 9", score, sum)
	}
	if !strings.Contains(b.String(), "syntax error <&>") {
		t.Error("the build error is not in the output")
	}
}

// TestJUnit parses the XML back and checks the counts CI systems show.
func TestJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if doc.Tests != 6 || doc.Failures != 1 || doc.Errors != 1 ||
		len(doc.Suites) != 3 {
		t.Errorf("tests %d failures %d errors %d suites %d; want 6 1 1 3",
			doc.Tests, doc.Failures, doc.Errors, len(doc.Suites))
	}
	s := doc.Suites[1]
	if s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 ||
		s.Cases[0].Failure == nil || s.Cases[2].Skipped == nil {
		t.Errorf("suite %s: %+v", s.Name, s)
	}
	if doc.Suites[2].Cases[0].Error == nil {
		t.Error("a lab that does not build: its checks are errors")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Labs) != 3 || back.Labs[1].Checks[0].Failures[0].Syscall == "" {
		t.Errorf("lost in the round trip: %+v", back)
	}
}
