package run

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func module(t *testing.T) string {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestBuildOutsideModuleUsesInternalPackages(t *testing.T) {
	dir := t.TempDir()
	src := `package main

import (
	"fmt"

	"github.com/mmaplab/mmaplab/internal/mem"
)

func main() { fmt.Println(mem.Pages(1)) }
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := Build(context.Background(), module(t), dir, "prog")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(filepath.Dir(exe))
	out, err := exec.Command(exe).Output()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Errorf("built program printed %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(module(t), "checker", ".submission")); err == nil {
		t.Error("the overlay directory exists on disk")
	}
}

func TestBuildErrorIsTheCompilersMessage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"),
		[]byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	_, err := Build(context.Background(), module(t), dir, "prog")
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Output, "undefined: undefinedThing") {
		t.Fatalf("got %v, want a BuildError with the compiler's message", err)
	}
}
