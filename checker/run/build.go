package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// BuildError is a package that does not compile: Output is the compiler's
// own message, to be shown once and as it is.
type BuildError struct {
	Dir    string
	Output string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("go build %s failed:\n%s", e.Dir, e.Output)
}

// Build compiles the main package in dir into a new temporary directory
// and returns the executable's path; remove its directory when done.
//
// A package inside this module (a lab's exercise or solution, or a copy
// of one anywhere in the tree) is built where it is. A package outside
// the module without a go.mod of its own, such as a student's submission
// unpacked by an autograder, is built as if it were inside the module (a
// go build -overlay that adds its files under checker/.submission), so
// that it can import the module's internal packages as a lab's exercise
// may.
func Build(ctx context.Context, module, dir, name string) (exe string,
	err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	out, err := os.MkdirTemp("", "mmaplab-build-")
	if err != nil {
		return "", fmt.Errorf("make build directory: %w", err)
	}
	exe = filepath.Join(out, name)
	args := []string{"build", "-o", exe}
	pkgDir := dir
	switch {
	case within(module, dir), exists(filepath.Join(dir, "go.mod")):
		args = append(args, ".")
	default:
		overlay, virtual, err := overlayFor(module, dir, out)
		if err != nil {
			os.RemoveAll(out)
			return "", err
		}
		args = append(args, "-overlay", overlay, virtual)
		pkgDir = module
	}
	cmd := exec.CommandContext(ctx, GoTool(), args...)
	// Interrupted, go build stops its compilers itself; SIGKILL would
	// leave them running.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = pkgDir
	// go build's work files go in our directory too: interrupted, go
	// may not remove them itself.
	cmd.Env = append(os.Environ(), "GOTMPDIR="+out)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	err = cmd.Run()
	if work, _ := filepath.Glob(filepath.Join(out, "go-build*")); len(work) > 0 {
		for _, w := range work {
			os.RemoveAll(w)
		}
	}
	if err != nil {
		os.RemoveAll(out)
		var exit *exec.ExitError
		if errors.As(err, &exit) && ctx.Err() == nil {
			return "", &BuildError{Dir: dir, Output: msg.String()}
		}
		return "", fmt.Errorf("go build: %w", err)
	}
	return exe, nil
}

// overlayFor writes a go build overlay that places the .go files of dir
// in a directory of the module that does not exist on disk.
func overlayFor(module, dir, tmp string) (overlay, virtual string, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return "", "", fmt.Errorf("no Go files in %s", dir)
	}
	virtual = filepath.Join(module, "checker", ".submission",
		filepath.Base(tmp))
	replace := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		replace[filepath.Join(virtual, filepath.Base(f))] = f
	}
	data, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", "", err
	}
	overlay = filepath.Join(tmp, "overlay.json")
	return overlay, virtual, os.WriteFile(overlay, data, 0o644)
}

// GoTool returns the go command: the one of the running toolchain when
// it is there, else "go" from PATH.
func GoTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); exists(p) {
		return p
	}
	return "go"
}

// ModuleRoot finds the mmaplab module's root directory from dir upwards.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(data,
			[]byte("module github.com/mmaplab/mmaplab\n")) {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("%s is not inside the mmaplab "+
				"repository (no go.mod of github.com/mmaplab/mmaplab)", dir)
		}
	}
}

func within(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
