package check

import (
	"context"
	"os"
	"testing"

	"github.com/mmaplab/mmaplab/checker/report"
	"github.com/mmaplab/mmaplab/checker/run"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := moduleRootOf(t)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func moduleRootOf(tb testing.TB) (string, error) {
	tb.Helper()
	return run.ModuleRoot(".")
}

// TestRegistry enforces what makes a registry readable: unique names,
// a doc and a hint for every check, and points.
func TestRegistry(t *testing.T) {
	ids := map[string]bool{}
	for _, lab := range Labs() {
		if ids[lab.ID] {
			t.Errorf("two labs with id %s", lab.ID)
		}
		ids[lab.ID] = true
		names := map[string]bool{}
		for _, c := range lab.Checks {
			switch {
			case names[c.Name]:
				t.Errorf("%s: two checks named %q", lab.Name, c.Name)
			case c.Doc == "" || c.Hint == "":
				t.Errorf("%s: check %q has no doc or no hint", lab.Name, c.Name)
			case c.Points <= 0:
				t.Errorf("%s: check %q has %d points", lab.Name, c.Name, c.Points)
			case c.Run == nil:
				t.Errorf("%s: check %q has no run function", lab.Name, c.Name)
			}
			names[c.Name] = true
		}
		if len(lab.Cases) == 0 {
			t.Errorf("%s: no cases", lab.Name)
		}
	}
}

// TestSolutionsPass checks every lab's reference solution: it must pass
// every check.
func TestSolutionsPass(t *testing.T) {
	root := moduleRoot(t)
	for _, lab := range Labs() {
		t.Run(lab.Name, func(t *testing.T) {
			t.Parallel()
			out := lab.Check(context.Background(), Config{Module: root,
				Dir: lab.SolutionDir(root)})
			if out.Report.Status != report.Pass {
				t.Errorf("the reference solution fails:\n%s",
					summary(out.Report))
			}
		})
	}
}

// TestExercisesFail checks every lab's untouched exercise: it must fail,
// and score nothing (no check may pass on a program that does nothing).
func TestExercisesFail(t *testing.T) {
	root := moduleRoot(t)
	for _, lab := range Labs() {
		t.Run(lab.Name, func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(lab.ExerciseDir(root)); err != nil {
				t.Skip("no exercise yet")
			}
			out := lab.Check(context.Background(), Config{Module: root})
			if out.Report.Status == report.Pass || out.Report.Points != 0 {
				t.Errorf("the untouched exercise scores %d points:\n%s",
					out.Report.Points, summary(out.Report))
			}
		})
	}
}
