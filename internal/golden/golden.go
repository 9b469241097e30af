// Package golden runs a lab's go-cmdtest golden files (testdata/*.ct)
// against the lab's binary, built once per test run and run out of process:
// page faults, signals and forks must never happen inside the test binary.
//
// Every test that uses it accepts -update, which rewrites the golden files
// from the current output. Read the diff before committing it.
//
// Output goes through a normaliser before it is compared: go-cmdtest itself
// only replaces its root directory with ${ROOTDIR}. The golden files are
// also linted, so that they never hold what differs between machines or
// runs: escape codes, addresses, or the page size in bytes.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmdtest"
)

// Update is the -update flag of every test binary that imports golden.
var Update = flag.Bool("update", false, "rewrite the golden files "+
	"(testdata/*.ct) from the current output")

// Rule is one normalisation: every match of Re becomes Repl.
type Rule struct {
	Re   *regexp.Regexp
	Repl string
}

// Suite is one directory of golden files and how to run them.
type Suite struct {
	Dir     string // directory of .ct files, e.g. "testdata"
	Command string // name used after "$" in the files, e.g. "01-pages"
	Pkg     string // package to build, default "."
	Rules   []Rule // extra normalisations for this lab
	// WorkDir, if set, is the working directory of the commands instead
	// of go-cmdtest's fresh directory (the checker runs from the
	// repository).
	WorkDir string
}

var (
	escapes = regexp.MustCompile(`\x1b\[[0-9;]*[a-zA-Z]`)
	address = regexp.MustCompile(`0x[0-9a-f]{8,}`)
)

// Run builds the package, runs every .ct file of the suite against it in
// its own temporary directory, and compares or (with -update) rewrites.
// It also fails if a run leaves anything in $TMPDIR.
func (s Suite) Run(t *testing.T) {
	t.Helper()
	exe := Build(t, s.Pkg)
	ts, err := cmdtest.Read(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ts.DisableLogging = true
	program := cmdtest.Program(exe)
	if s.WorkDir != "" {
		program = inDir(exe, s.WorkDir)
	}
	ts.Commands[s.Command] = s.normalised(program)

	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("LC_ALL", "C")
	ts.Run(t, *Update)
	if *Update {
		// go-cmdtest writes files with mode 0600.
		files, _ := filepath.Glob(filepath.Join(s.Dir, "*.ct"))
		for _, f := range files {
			os.Chmod(f, 0o644)
		}
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left behind in $TMPDIR: %s", e.Name())
	}
	if !*Update {
		Lint(t, s.Dir)
	}
}

func (s Suite) normalised(run cmdtest.CommandFunc) cmdtest.CommandFunc {
	return func(args []string, stdin string) ([]byte, error) {
		out, err := run(args, stdin)
		out = escapes.ReplaceAll(out, nil)
		for _, r := range s.Rules {
			out = r.Re.ReplaceAll(out, []byte(r.Repl))
		}
		return out, err
	}
}

// inDir runs exe in dir, as cmdtest.Program runs it in its own.
func inDir(exe, dir string) cmdtest.CommandFunc {
	return func(args []string, stdin string) ([]byte, error) {
		cmd := exec.Command(exe, args...)
		cmd.Dir = dir
		if stdin != "" {
			f, err := os.Open(stdin)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			cmd.Stdin = f
		}
		return cmd.CombinedOutput()
	}
}

var builds sync.Map // package dir -> *build

type build struct {
	once sync.Once
	exe  string
	err  error
	out  []byte
}

// Build builds the main package pkg (relative to the test's package
// directory; "" means ".") once per test binary and returns the path of
// the executable.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	if pkg == "" {
		pkg = "."
	}
	abs, err := filepath.Abs(pkg)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := builds.LoadOrStore(abs, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "golden-build-")
		if err != nil {
			b.err = err
			return
		}
		b.exe = filepath.Join(dir, filepath.Base(abs))
		cmd := exec.Command(goTool(), "build", "-o", b.exe, ".")
		cmd.Dir = abs
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, b.err, b.out)
	}
	return b.exe
}

// Cleanup removes the binaries built by Build. Call it from TestMain
// after m.Run.
func Cleanup() {
	builds.Range(func(_, v any) bool {
		if b := v.(*build); b.exe != "" {
			os.RemoveAll(filepath.Dir(b.exe))
		}
		return true
	})
}

// goTool returns the go command that is running the tests.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); exists(p) {
		return p
	}
	return "go"
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Lint fails the test if a golden file in dir holds something that would
// make it differ between machines or runs.
func Lint(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.ct"))
	ps := fmt.Sprint(os.Getpagesize())
	pageBytes := regexp.MustCompile(`\b` + ps + `\b`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			where := fmt.Sprintf("%s:%d", f, i+1)
			switch {
			case escapes.Match(line) || bytes.ContainsRune(line, 0x1b):
				t.Errorf("%s: escape code in a golden file", where)
			case address.Match(line):
				t.Errorf("%s: address in a golden file: %s", where, line)
			case pageBytes.Match(line) && !strings.HasPrefix(string(line), "$"):
				t.Errorf("%s: the page size in bytes (%s) in a golden "+
					"file; print pages: %s", where, ps, line)
			}
		}
	}
}
