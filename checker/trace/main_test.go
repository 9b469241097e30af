package trace

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// The test programs of testdata are built once, on first use, into one
// directory removed at the end.
var built struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// goTool returns the go command of the toolchain running the tests.
func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

// buildAll builds every testdata program with one go build.
func buildAll() {
	built.dir, built.err = os.MkdirTemp("", "tracetest")
	if built.err != nil {
		return
	}
	mains, _ := filepath.Glob("testdata/*/main.go")
	// -s -w: no symbol table nor DWARF, which makes linking faster.
	args := []string{"build", "-ldflags=-s -w", "-o", built.dir + "/"}
	for _, m := range mains {
		args = append(args, "./"+filepath.Dir(m))
	}
	out, err := exec.Command(goTool(), args...).CombinedOutput()
	if err != nil {
		built.err = &buildError{err, string(out)}
	}
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string {
	return "go build testdata: " + e.err.Error() + "\n" + e.out
}

// program returns the path of the built test program name.
func program(t testing.TB, name string) string {
	t.Helper()
	built.once.Do(buildAll)
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, name)
}

// run traces program name with args and returns the trace and what the
// program wrote on stdout. Options come from opts, if given.
func run(t testing.TB, opts Options, name string, args ...string) (
	*Trace, string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	opts.Path, opts.Args, opts.Stdout = program(t, name), args, out
	if opts.Stderr == nil {
		opts.Stderr = stderrFile(t)
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	tr, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("trace %s: %v", name, err)
	}
	text, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return tr, string(text)
}

// stderrFile returns a file for a program's stderr, logged if the test
// fails (a Go crash dump is long).
func stderrFile(t testing.TB) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if b, _ := os.ReadFile(f.Name()); t.Failed() && len(b) > 0 {
			t.Logf("stderr:\n%s", b)
		}
	})
	return f
}

// dump logs the whole trace, to debug a failure.
func dump(t testing.TB, tr *Trace) {
	t.Helper()
	var b []byte
	w := &byteWriter{&b}
	tr.Dump(w)
	t.Log("\n" + string(b))
}

type byteWriter struct{ b *[]byte }

func (w *byteWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}
