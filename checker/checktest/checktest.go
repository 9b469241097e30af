// Package checktest lets go test grade an exercise: a lab's
// exercise/exercise_test.go calls Exercise, which runs the checker on
// the package being tested and fails with the checker's own messages.
//
// While the exercise still carries its NOT DONE line, the test skips:
// a fresh clone's untouched exercises do not make go test ./... fail.
package checktest

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/mmaplab/mmaplab/checker/check"
	"github.com/mmaplab/mmaplab/checker/report"
	"github.com/mmaplab/mmaplab/checker/run"
)

// The lab packages' tests take -update (go test ./labs/... -update
// regenerates the goldens); an exercise has none, and ignores it.
var _ = flag.Bool("update", false, "ignored: exercises have no golden files")

// Exercise checks the package in the current directory against the
// contract of lab id, as go run ./checker id does.
func Exercise(t *testing.T, id string) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if check.DirHasMarker(dir) {
		t.Skipf("exercise %s is not started: delete the NOT DONE line "+
			"when you want your work checked", id)
	}
	Check(t, id, dir)
}

// Check runs the checker on the package in dir and reports every
// failing check with t.Errorf.
func Check(t *testing.T, id, dir string) {
	t.Helper()
	lab, err := check.Find(id)
	if err != nil {
		t.Fatal(err)
	}
	module, err := run.ModuleRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := lab.Check(context.Background(), check.Config{Module: module,
		Dir: dir})
	rep := out.Report
	if rep.Status == report.BuildError {
		t.Fatalf("it does not build:\n%s", rep.Build)
	}
	for _, c := range rep.Checks {
		if c.Status != report.Fail {
			continue
		}
		var b strings.Builder
		report.WriteCheck(&b, c, report.TextOptions{Hints: true})
		t.Errorf("\n%s", strings.TrimRight(b.String(), "\n"))
	}
}
