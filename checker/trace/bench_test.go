package trace

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSyscallStop measures what tracing adds to one syscall stop: a
// program makes n getppid calls (2n stops) traced, and once untraced.
func BenchmarkSyscallStop(b *testing.B) {
	const n = 20000
	path := program(b, "getppid")
	start := time.Now()
	if err := exec.Command(path, strconv.Itoa(n)).Run(); err != nil {
		b.Fatal(err)
	}
	untraced := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for range b.N {
		tr, err := Run(context.Background(),
			Options{Path: path, Args: []string{strconv.Itoa(n)}})
		if err != nil || tr.Root.ExitCode != 0 {
			b.Fatalf("trace: %v", err)
		}
	}
	traced := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(traced-untraced)/(2*n), "ns/stop")
	b.ReportMetric(float64(untraced.Nanoseconds())/n, "ns/call-untraced")
}
