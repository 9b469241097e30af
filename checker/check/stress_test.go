package check

import (
	"context"
	"flag"
	"testing"

	"github.com/mmaplab/mmaplab/checker/report"
)

// stress is how many times TestStress checks the reference solutions of
// the labs whose checks race on purpose (05: holds, a watchpoint, two
// processes; 06: forks, delayed children). The default suite runs each
// once (TestSolutionsPass); the count is 100:
//
//	go test ./checker/check -run Stress -stress 100 -timeout 60m
var stress = flag.Int("stress", 0, "check labs 05 and 06 this many times")

func TestStress(t *testing.T) {
	if *stress == 0 {
		t.Skip("run with -stress N")
	}
	root := moduleRoot(t)
	for _, id := range []string{"05", "06"} {
		lab, err := Find(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(lab.Name, func(t *testing.T) {
			for i := 0; i < *stress; i++ {
				out := lab.Check(context.Background(), Config{Module: root,
					Dir: lab.SolutionDir(root)})
				if out.Report.Status != report.Pass {
					t.Fatalf("run %d of %d: the reference solution fails:\n%s",
						i+1, *stress, summary(out.Report))
				}
			}
		})
	}
}

// BenchmarkCheck reports the time to check each lab's reference solution
// once it is built (go build's cache makes the build itself quick after
// the first time).
//
//	go test ./checker/check -run '^$' -bench Check -benchtime 3x
func BenchmarkCheck(b *testing.B) {
	root, _ := moduleRootOf(b)
	for _, lab := range Labs() {
		b.Run(lab.Name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				out := lab.Check(context.Background(), Config{Module: root,
					Dir: lab.SolutionDir(root)})
				if out.Report.Status != report.Pass {
					b.Fatalf("%s fails:\n%s", lab.Name, summary(out.Report))
				}
			}
		})
	}
}
