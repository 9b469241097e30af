package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCreate runs the command in process, as the checker would run it,
// for the sizes the contract names.
func TestCreate(t *testing.T) {
	defer unix.Umask(unix.Umask(0o022))
	ps := int64(os.Getpagesize())
	for _, size := range []int64{8, ps, ps + 1, 3<<20 + 5} {
		path := filepath.Join(t.TempDir(), "f")
		code, out, errs := runArgs(path, size)
		pages := (size + ps - 1) / ps
		want := "created " + path + ": " + itoa(size) + " bytes, " +
			itoa(pages) + " pages\n"
		if code != 0 || out != want || errs != "" {
			t.Fatalf("size %d: exit %d, stdout %q, stderr %q", size,
				code, out, errs)
		}
		checkFile(t, path, size)
	}
}

func checkFile(t *testing.T, path string, size int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	copy(want, header)
	if !bytes.Equal(data, want) {
		t.Errorf("%d bytes: content differs from header and zeros", size)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %o, want 640 under umask 022", st.Mode().Perm())
	}
}

func TestExistingPathIsLeftAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runArgs(path, 100)
	data, _ := os.ReadFile(path)
	if code != 1 || out != "" || !strings.Contains(errs, "exists") ||
		strings.Count(errs, "\n") != 1 || string(data) != "keep" {
		t.Errorf("exit %d, stdout %q, stderr %q, file %q", code, out,
			errs, data)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, args := range [][]string{
		{}, {path}, {path, "8", "x"}, {path, "7"}, {path, "abc"},
		{path, "-8"}, {path, ""},
	} {
		var out, errs strings.Builder
		code := run(&out, &errs, args)
		if code != 2 || out.Len() != 0 ||
			strings.Count(errs.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code,
				out.String(), errs.String())
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a usage error left %v", left)
	}
}

func TestFailedCreationRemovesTheFile(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runArgs(filepath.Join(dir, "f"), 1<<62)
	left, _ := os.ReadDir(dir)
	if code != 1 || !strings.HasPrefix(errs, "create: ftruncate") ||
		len(left) != 0 {
		t.Errorf("exit %d, stderr %q, left %v", code, errs, left)
	}
}

func runArgs(path string, size int64) (code int, stdout, stderr string) {
	var out, errs strings.Builder
	code = run(&out, &errs, []string{path, itoa(size)})
	return code, out.String(), errs.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
