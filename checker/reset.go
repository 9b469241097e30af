package main

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mmaplab/mmaplab/checker/check"
	"github.com/mmaplab/mmaplab/checker/report"
)

// stubs are the pristine exercises, for reset.
//
//go:embed stubs
var stubs embed.FS

// stubFiles returns the stub's files of a lab: Go file name -> content.
func stubFiles(lab *check.Lab) (map[string][]byte, error) {
	dir := path.Join("stubs", lab.Name)
	entries, err := stubs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("no stub of %s in the checker", lab.Name)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".txt")
		if !ok {
			continue
		}
		data, err := stubs.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[name] = data
	}
	return files, nil
}

// reset restores a lab's exercise to its stub: it rewrites the stub's
// files and removes the other Go files of the exercise (tests excepted).
// It touches nothing else, and asks first unless force is set.
func reset(module string, lab *check.Lab, force bool, stdin io.Reader,
	stdout io.Writer) (int, error) {
	files, err := stubFiles(lab)
	if err != nil {
		return 0, err
	}
	dir := lab.ExerciseDir(module)
	extra := extraGoFiles(dir, files)
	fmt.Fprintf(stdout, "reset %s to its stub: rewrite %s",
		dir, strings.Join(sortedKeys(files), ", "))
	if len(extra) > 0 {
		fmt.Fprintf(stdout, "; remove %s", strings.Join(extra, ", "))
	}
	fmt.Fprintln(stdout)
	if !force && !confirm(stdin, stdout) {
		fmt.Fprintln(stdout, "nothing changed")
		return 1, nil
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return 0, fmt.Errorf("reset: %w", err)
		}
	}
	for _, name := range extra {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return 0, fmt.Errorf("reset: %w", err)
		}
	}
	fmt.Fprintln(stdout, "done")
	return 0, nil
}

// extraGoFiles lists the Go files of dir that the stub does not have,
// tests excepted.
func extraGoFiles(dir string, stub map[string][]byte) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var extra []string
	for _, m := range matches {
		name := filepath.Base(m)
		if _, ok := stub[name]; !ok && !strings.HasSuffix(name, "_test.go") {
			extra = append(extra, name)
		}
	}
	return extra
}

// confirm asks "really?" and reads a yes.
func confirm(stdin io.Reader, stdout io.Writer) bool {
	fmt.Fprint(stdout, "your work there will be lost; type yes to go on: ")
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// showSolution prints the reference solution of a lab, but only once the
// student's exercise passes: reading it first would spoil the exercise.
func showSolution(ctx context.Context, module string, lab *check.Lab,
	o options, stdout io.Writer) (int, error) {
	o.solution, o.dir = false, ""
	out := checkOne(ctx, module, lab, o)
	if out == nil {
		return 1, nil // interrupted
	}
	if out.Report.Status != report.Pass {
		fmt.Fprintf(stdout, "the reference solution of %s is shown once "+
			"your exercise passes; now: %s (go run ./checker %s)\n",
			lab.Name, out.Report.Progress(), lab.ID)
		return 1, nil
	}
	files, _ := filepath.Glob(filepath.Join(lab.SolutionDir(module), "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(stdout, "// %s\n%s\n", filepath.Base(f), data)
	}
	return 0, nil
}
