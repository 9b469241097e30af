package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/check"
	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/internal/golden"
)

// checkerExe is the checker, built once for the tests that run it as a
// student or an instructor would.
var checkerExe string

func TestMain(m *testing.M) {
	code := func() int {
		root, err := run.ModuleRoot(".")
		if err == nil {
			checkerExe, err = run.Build(context.Background(), root, ".",
				"checker")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "build the checker:", err)
			return 1
		}
		defer os.RemoveAll(filepath.Dir(checkerExe))
		return m.Run()
	}()
	os.Exit(code)
}

// TestGolden pins the checker's own output, human and in each format,
// for a passing and a failing program (testdata/golden/*.ct; go test
// ./checker -update rewrites them). The normaliser hides what differs
// between machines and runs: paths, the page size, addresses,
// descriptors, and how this machine confines runs.
func TestGolden(t *testing.T) {
	root, err := run.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	word := func(n int) *regexp.Regexp {
		return regexp.MustCompile(`\b` + strconv.Itoa(n) + `\b`)
	}
	golden.Suite{
		Dir: "testdata/golden", Command: "checker", WorkDir: root,
		Rules: []golden.Rule{
			{Re: regexp.MustCompile(regexp.QuoteMeta(root)), Repl: "${MODULE}"},
			{Re: regexp.MustCompile(`runs confined: [^"\n]*`),
				Repl: "runs confined: CONFINEMENT"},
			{Re: regexp.MustCompile(`[^\s<>"]*/mmaplab-check-\d+/`),
				Repl: "${SCRATCH}/"},
			{Re: regexp.MustCompile(`\(\d+<`), Repl: "(FD<"},
			{Re: regexp.MustCompile(`0x[0-9a-f]+`), Repl: "0xADDR"},
			{Re: word(ps + 1), Repl: "PAGESIZE+1"},
			{Re: word(ps), Repl: "PAGESIZE"},
		},
	}.Run(t)
}

// TestAutograders runs the Gradescope and GitHub Classroom setups of
// docs/ for real, as far as this machine allows, and checks what they
// give those systems.
func TestAutograders(t *testing.T) {
	root, err := run.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("gradescope", func(t *testing.T) { gradescope(t, root) })
	t.Run("github-classroom", func(t *testing.T) { classroom(t, root) })
}

// gradescope runs run_autograder in a copy of Gradescope's directories,
// on lab 02's reference solution and on a program that does not build.
func gradescope(t *testing.T, root string) {
	for _, sub := range []struct {
		name, src string
		score     float64
	}{
		{"solution", readFile(t, filepath.Join(root,
			"labs/02-open-flags/solution/main.go")), 31},
		{"broken", "package main\n\nfunc main() { nope() }\n", 0},
	} {
		ag := t.TempDir()
		os.Symlink(root, filepath.Join(ag, "source"))
		os.Mkdir(filepath.Join(ag, "submission"), 0o755)
		os.WriteFile(filepath.Join(ag, "submission", "main.go"),
			[]byte(sub.src), 0o644)
		cmd := exec.Command(filepath.Join(root,
			"docs/gradescope/run_autograder"))
		cmd.Env = append(os.Environ(), "AUTOGRADER_ROOT="+ag,
			"MMAPLAB_LAB=02", "CHECKER="+checkerExe)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: run_autograder: %v\n%s", sub.name, err, out)
		}
		data := readFile(t, filepath.Join(ag, "results", "results.json"))
		var res struct {
			Score *float64 `json:"score"`
			Tests []struct {
				Name     string   `json:"name"`
				Score    *float64 `json:"score"`
				MaxScore *float64 `json:"max_score"`
				Status   string   `json:"status"`
			} `json:"tests"`
		}
		if err := json.Unmarshal([]byte(data), &res); err != nil {
			t.Fatalf("%s: results.json: %v\n%s", sub.name, err, data)
		}
		sum := 0.0
		for _, tc := range res.Tests {
			if tc.Name == "" || tc.Score == nil || tc.MaxScore == nil ||
				(tc.Status != "passed" && tc.Status != "failed") {
				t.Errorf("%s: a test breaks the spec: %+v", sub.name, tc)
				continue
			}
			sum += *tc.Score
		}
		if res.Score == nil || *res.Score != sum || sum != sub.score ||
			len(res.Tests) == 0 {
			t.Errorf("%s: score %v, tests sum to %v, want %v", sub.name,
				res.Score, sum, sub.score)
		}
	}
}

// classroom checks the GitHub Classroom workflow against the labs, runs
// a command grader's command, and parses the JUnit of its last step.
func classroom(t *testing.T, root string) {
	wf := readFile(t, filepath.Join(root,
		"docs/github-classroom/classroom.yml"))
	commands := regexp.MustCompile(`command: go run ./checker (\d\d)\n`+
		`\s+timeout: \d+\n\s+max-score: (\d+)`).FindAllStringSubmatch(wf, -1)
	labs := check.Labs()
	if len(commands) != len(labs) {
		t.Fatalf("%d command graders for %d labs", len(commands), len(labs))
	}
	for i, c := range commands {
		max := 0
		for _, chk := range labs[i].Checks {
			max += chk.Points
		}
		if c[1] != labs[i].ID || c[2] != strconv.Itoa(max) {
			t.Errorf("grader %s: max-score %s, lab %s has %d points",
				c[1], c[2], labs[i].ID, max)
		}
	}
	// The command of a grader, as it runs on an untouched exercise.
	stub := exec.Command(checkerExe, commands[0][1])
	stub.Dir = root
	if err := stub.Run(); stub.ProcessState.ExitCode() != 1 {
		t.Errorf("the untouched exercise: %v, want exit 1", err)
	}
	// The JUnit step.
	out, _ := exec.Command(checkerExe, "01", "-solution", "-format",
		"junit").Output()
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(out, &suites); err != nil || suites.Tests == 0 ||
		suites.Failures != 0 {
		t.Errorf("JUnit: %v, %+v\n%s", err, suites, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// moduleCopy copies what lab 01 needs of the repository to a temporary
// directory, for the tests of the commands that change an exercise.
func moduleCopy(t *testing.T) string {
	root, err := run.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	for _, p := range []string{"go.mod", "go.sum", "internal", "checker",
		"labs/01-pages"} {
		if err := copyTree(filepath.Join(root, p), filepath.Join(dst, p)); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

// checker runs the checker in dir with args and returns its output and
// exit status.
func checker(t *testing.T, dir, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(checkerExe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

// TestResetAndSolution: reset restores the stub and nothing else (after
// asking), and solution shows the reference only once the exercise
// passes.
func TestResetAndSolution(t *testing.T) {
	dir := moduleCopy(t)
	ex := filepath.Join(dir, "labs/01-pages/exercise")
	stub := readFile(t, filepath.Join(ex, "main.go"))
	other := filepath.Join(dir, "labs/01-pages/README.md")
	before := readFile(t, other)

	if out, code := checker(t, dir, "", "solution", "01"); code != 1 ||
		!strings.Contains(out, "once your exercise passes") {
		t.Errorf("solution before the exercise passes: exit %d:\n%s", code, out)
	}
	// Solve the exercise (with the reference) and add a file of one's own.
	sol := readFile(t, filepath.Join(dir, "labs/01-pages/solution/main.go"))
	os.WriteFile(filepath.Join(ex, "main.go"), []byte(sol), 0o644)
	os.WriteFile(filepath.Join(ex, "helper.go"), []byte("package main\n"), 0o644)
	out, code := checker(t, dir, "", "solution", "01")
	if code != 0 || !strings.Contains(out, "func mincore(") {
		t.Errorf("solution once the exercise passes: exit %d:\n%s", code, out)
	}
	// reset asks first; "no" changes nothing.
	if out, code := checker(t, dir, "no\n", "reset", "01"); code != 1 ||
		readFile(t, filepath.Join(ex, "main.go")) != sol {
		t.Errorf("reset answered no: exit %d, exercise changed:\n%s", code, out)
	}
	if out, code := checker(t, dir, "yes\n", "reset", "01"); code != 0 {
		t.Fatalf("reset: exit %d:\n%s", code, out)
	}
	if readFile(t, filepath.Join(ex, "main.go")) != stub {
		t.Error("reset did not restore the stub")
	}
	if _, err := os.Stat(filepath.Join(ex, "helper.go")); err == nil {
		t.Error("reset left the student's extra Go file")
	}
	if _, err := os.Stat(filepath.Join(ex, "exercise_test.go")); err != nil {
		t.Error("reset removed the exercise's test")
	}
	if readFile(t, other) != before {
		t.Error("reset touched a file outside the exercise")
	}
}

// TestWatch: -watch checks, then checks again when a file of the
// exercise is saved, and again on Enter.
func TestWatch(t *testing.T) {
	dir := moduleCopy(t)
	cmd := exec.Command(checkerExe, "01", "-watch")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := stdout.Read(buf)
			acc += string(buf[:n])
			for {
				line, rest, ok := strings.Cut(acc, "\n")
				if !ok {
					break
				}
				lines <- line
				acc = rest
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the checker ended before %q", what)
				}
				if strings.Contains(line, what) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q after 30 s", what)
			}
		}
	}
	waitFor("watching for changes")
	main := filepath.Join(dir, "labs/01-pages/exercise/main.go")
	data := readFile(t, main)
	os.WriteFile(main, []byte(data+"\n// saved\n"), 0o644)
	waitFor("01-pages:")
	waitFor("watching for changes")
	io.WriteString(stdin, "\n")
	waitFor("01-pages:")
	waitFor("watching for changes")
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130", code)
	}
}

// hostile are the misbehaviours of testdata/hostile, and what the
// checker must say of each.
var hostile = []struct {
	what, diagnosis string
	timeout         time.Duration
	cpu             string // -cpu: the CPU-time limit
}{
	{"hang", "did not finish in 2s", 2 * time.Second, "1s"},
	// A long time limit: the CPU limit (-cpu 1s) must end it first, also
	// when other tests keep the CPUs busy.
	{"busyloop", "of CPU time", 20 * time.Second, "1s"},
	{"forkbomb", "fork bomb?", 5 * time.Second, "1s"},
	{"flood", "an output flood", 2 * time.Second, "1s"},
	// Filling 2 GiB takes seconds of CPU (a fault per page): the CPU
	// limit must not end it first.
	{"memhog", "of memory", 20 * time.Second, "20s"},
	{"nilptr", "nil pointer dereference", 2 * time.Second, "1s"},
	{"panic", "panic: the copy went wrong", 2 * time.Second, "1s"},
	{"shmleak", "left in /dev/shm", 2 * time.Second, "1s"},
	{"outside", "outside its directory", 2 * time.Second, "1s"},
	{"orphan", "still ran after the program exited", 2 * time.Second, "1s"},
	{"termignore", "SIGKILL", 2 * time.Second, "1s"},
	{"inet", "IP socket", 2 * time.Second, "1s"},
}

// TestHostile runs the checker on each misbehaving program: it must exit
// 1 with the right diagnosis, within the time limit and a few seconds,
// and leave no process, no /dev/shm object and no file behind.
func TestHostile(t *testing.T) {
	golden.Subreaper(t)
	tmp := t.TempDir()
	for _, h := range hostile {
		t.Run(h.what, func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command(checkerExe, "03", "-dir", "testdata/hostile",
				"-timeout", h.timeout.String(), "-cpu", h.cpu)
			cmd.Env = append(os.Environ(), "MMAPLAB_HOSTILE="+h.what,
				"TMPDIR="+tmp, "NO_COLOR=1")
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			pid := cmd.Process.Pid
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit %d (%v), want 1:\n%s", code, err, out)
			}
			if !strings.Contains(string(out), h.diagnosis) {
				t.Errorf("no %q in the report:\n%s", h.diagnosis, out)
			}
			if took > h.timeout+8*time.Second {
				t.Errorf("took %v for a %v limit", took, h.timeout)
			}
			checkNothingLeft(t, tmp, pid)
		})
	}
}

// checkNothingLeft fails if a process, a /dev/shm object or a file made
// by the run is still there.
func checkNothingLeft(t *testing.T, tmp string, checkerPid int) {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // orphans reach the subreaper
	golden.CheckRunning(t)
	for _, prefix := range []string{"mmaplab-hostile-",
		fmt.Sprintf("mmaplab-chk-%d-", checkerPid)} {
		golden.CheckDevShm(t, "the checker", prefix)
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left in $TMPDIR: %s", e.Name())
		os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
	if escaped, _ := filepath.Glob("/tmp/mmaplab-hostile-*"); len(escaped) > 0 {
		t.Errorf("left in /tmp: %v", escaped)
		for _, p := range escaped {
			os.Remove(p)
		}
	}
}

// TestInterrupt presses Ctrl-C while the checker runs: it must stop, say
// what it had checked, exit 130, and leave nothing behind.
func TestInterrupt(t *testing.T) {
	golden.Subreaper(t)
	for _, after := range []time.Duration{300 * time.Millisecond,
		2 * time.Second, 4 * time.Second} {
		t.Run(after.String(), func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.Command(checkerExe, "-solution")
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
			// A terminal sends Ctrl-C's SIGINT to the whole foreground
			// process group: the checker, its go build, its runs.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(after)
			unix.Kill(-cmd.Process.Pid, unix.SIGINT)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
				<-done
				t.Fatalf("the checker went on for 10 s after Ctrl-C:\n%s",
					out.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit %d, want 130:\n%s", code, out.String())
			}
			if !strings.Contains(out.String(), "interrupted") {
				t.Errorf("no word of the interruption:\n%s", out.String())
			}
			checkNothingLeft(t, tmp, cmd.Process.Pid)
		})
	}
}
