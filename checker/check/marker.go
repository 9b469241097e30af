package check

import (
	"bytes"
	"os"
	"path/filepath"
)

// Marker is the line an untouched exercise carries. While it is there,
// the exercise counts as not started and its go test skips: a fresh clone
// passes go test ./..., and the student says when the work is ready to
// be judged by deleting the line.
const Marker = "// NOT DONE: delete this line when you want your work checked"

// HasMarker reports whether Go source holds the marker line.
func HasMarker(src []byte) bool {
	for _, line := range bytes.Split(src, []byte("\n")) {
		if string(bytes.TrimSpace(line)) == Marker {
			return true
		}
	}
	return false
}

// DirHasMarker reports whether a Go file of dir holds the marker line.
func DirHasMarker(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil && HasMarker(data) {
			return true
		}
	}
	return false
}
