package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmaplab/mmaplab/checker/report"
)

// A mutant is a lab's reference solution with one classic mistake made
// on purpose. The checker must fail it, and fail it on the check that
// names the mistake. Mutants are edits of the solution rather than copies
// of it, so that they follow the solution as it changes; an edit that no
// longer applies fails the test.
type mutant struct {
	lab   string // "02"
	name  string
	want  string // the check that must fail
	edits []edit
}

// edit replaces old, which must occur exactly once in file, with new.
type edit struct {
	file, old, new string
}

// e edits main.go.
func e(old, new string) edit { return edit{"main.go", old, new} }

var mutants = []mutant{
	// 01-pages
	{"01", "hard-coded page size", "no-page-size-literal", []edit{
		e("pageSize := unix.Getpagesize()", "pageSize := 4096")}},
	{"01", "map from the list, not mincore", "map-from-mincore", []edit{
		e("vec, err := mincore(m, n)", "vec, err := fromList(n, list)"),
		e("// mincore asks", `// fromList is what the program expects.
func fromList(n int, list []int) ([]byte, error) {
	vec := make([]byte, n)
	for _, k := range list {
		vec[k] = 1
	}
	return vec, nil
}

// mincore asks`)}},
	{"01", "no MADV_NOHUGEPAGE", "nohugepage", []edit{
		e("if err := unix.Madvise(m, unix.MADV_NOHUGEPAGE); err != nil {",
			"if err := error(nil); err != nil {")}},
	{"01", "MAP_SHARED", "mmap", []edit{
		e("unix.MAP_PRIVATE|unix.MAP_ANONYMOUS", "unix.MAP_SHARED|unix.MAP_ANONYMOUS")}},
	{"01", "one page too many", "mmap", []edit{
		e("unix.Mmap(-1, 0, n*pageSize,", "unix.Mmap(-1, 0, (n+1)*pageSize,")}},
	{"01", "mincore of part of the mapping", "mincore-range", []edit{
		e("uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)),",
			"uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)/2+1),")}},
	{"01", "never unmaps", "munmap", []edit{
		e("defer unix.Munmap(m)\n", "")}},
	{"01", "touches every page", "residency", []edit{
		e("for _, k := range list {\n\t\tm[k*pageSize] = 1",
			"for k := 0; k < n; k++ {\n\t\tm[k*pageSize] = 1")}},

	// 02-open-flags
	{"02", "O_WRONLY", "open-flags", []edit{
		e("unix.O_RDWR | unix.O_CREAT", "unix.O_WRONLY | unix.O_CREAT")}},
	{"02", "O_TRUNC instead of O_EXCL", "open-flags", []edit{
		e("unix.O_CREAT | unix.O_EXCL", "unix.O_CREAT | unix.O_TRUNC")}},
	{"02", "O_TRUNC instead of O_EXCL", "refuses-existing", []edit{
		e("unix.O_CREAT | unix.O_EXCL", "unix.O_CREAT | unix.O_TRUNC")}},
	{"02", "no ftruncate before the mapping", "ftruncate-first", []edit{
		e("if err := unix.Ftruncate(fd, size); err != nil {",
			"if err := error(nil); err != nil {")}},
	{"02", "MAP_PRIVATE", "mmap", []edit{
		e("unix.MAP_SHARED)", "unix.MAP_PRIVATE)")}},
	{"02", "header written with pwrite", "no-write", []edit{
		e("copy(m, header)", "unix.Pwrite(fd, []byte(header), 0)")}},
	{"02", "mode 0644", "mode", []edit{
		e("flags, 0o640)", "flags, 0o644)")}},

	// 03-mmap-readwrite
	{"03", "DST opened O_WRONLY", "dst-rdwr", []edit{
		e("unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|", "unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|")}},
	{"03", "no ftruncate before the mapping", "ftruncate-first", []edit{
		e("if err := unix.Ftruncate(out, size); err != nil {",
			"if err := error(nil); err != nil {")}},
	{"03", "DST mapped MAP_PRIVATE", "dst-mmap", []edit{
		e("unix.PROT_READ|unix.PROT_WRITE,\n\t\tunix.MAP_SHARED)",
			"unix.PROT_READ|unix.PROT_WRITE,\n\t\tunix.MAP_PRIVATE)")}},
	{"03", "read and write instead of the mappings", "no-read-write", []edit{
		e("if err := copyMapped(in, out, int(size), src, dst); err != nil {",
			"if err := copyRW(in, out, int(size)); err != nil {"),
		e("func openSource(", `// copyRW copies with read and write, not through mappings.
func copyRW(in, out, size int) error {
	buf := make([]byte, size)
	if _, err := unix.Read(in, buf); err != nil {
		return err
	}
	_, err := unix.Pwrite(out, buf, 0)
	return err
}

func openSource(`)}},
	{"03", "maps an empty SRC", "empty-src", []edit{
		e("if size == 0 {\n\t\treturn 0, nil", "if size < 0 {\n\t\treturn 0, nil")}},

	// 04-msync
	{"04", "MS_ASYNC instead of MS_SYNC", "msync", []edit{
		e("unix.Msync(m, unix.MS_SYNC)", "unix.Msync(m, unix.MS_ASYNC)")}},
	{"04", "MS_ASYNC instead of MS_SYNC", "clean-at-munmap", []edit{
		e("unix.Msync(m, unix.MS_SYNC)", "unix.Msync(m, unix.MS_ASYNC)")}},
	{"04", "msync over the first page only", "msync", []edit{
		e("unix.Msync(m, unix.MS_SYNC)", "unix.Msync(m[:1], unix.MS_SYNC)")}},
	{"04", "msync before the write", "clean-at-munmap", []edit{
		e("\tcopy(m[at:], text)\n", ""),
		e("\tif err := unix.Munmap(m); err != nil {\n\t\treturn fmt.Errorf(\"munmap",
			"\tcopy(m[at:], text)\n\tif err := unix.Munmap(m); err != nil {\n"+
				"\t\treturn fmt.Errorf(\"munmap")}},
	{"04", "maps from the start of the file", "maps-only-touched-pages", []edit{
		e("unix.Mmap(fd, first*ps, n,", "unix.Mmap(fd, 0, n+int(first*ps),"),
		e("copy(m[at:], text)", "copy(m[first*ps+at:], text)")}},
	{"04", "an unaligned mapping offset", "maps-only-touched-pages", []edit{
		e("unix.Mmap(fd, first*ps, n,", "unix.Mmap(fd, first*ps+at, n,"),
		e("copy(m[at:], text)", "copy(m, text)")}},
	{"04", "no check for the end of the file", "past-end", []edit{
		e("if offset > st.Size-int64(len(text)) {",
			"if offset > st.Size-int64(len(text)) && false {")}},

	// 05-shm
	{"05", "receiver without the ready wait", "waits-for-ready", []edit{
		e("for atomic.LoadUint32(ready(m)) != 1 {",
			"for atomic.LoadUint32(ready(m)) != 1 && false {")}},
	{"05", "sender with MAP_PRIVATE", "send-mmap", []edit{
		e("unix.PROT_READ|unix.PROT_WRITE,\n\t\tunix.MAP_SHARED)",
			"unix.PROT_READ|unix.PROT_WRITE,\n\t\tunix.MAP_PRIVATE)")}},
	{"05", "receiver never unlinks", "recv-unlinks", []edit{
		e("if err := shm.Unlink(name); err != nil {",
			"if err := error(nil); err != nil {")}},
	{"05", "sender without O_EXCL", "send-open", []edit{
		e("unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600)",
			"unix.O_RDWR|unix.O_CREAT, 0o600)")}},
	{"05", "receiver maps read-write", "recv-read-only", []edit{
		e("fd, err := shm.Open(name, unix.O_RDONLY, 0)",
			"fd, err := shm.Open(name, unix.O_RDWR, 0)"),
		e("unix.Mmap(fd, 0, size, unix.PROT_READ, unix.MAP_SHARED)",
			"unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)")}},

	// 06-anon-fork
	{"06", "MAP_PRIVATE|MAP_ANONYMOUS slots", "shared-mapping", []edit{
		e("unix.MAP_SHARED|unix.MAP_ANONYMOUS", "unix.MAP_PRIVATE|unix.MAP_ANONYMOUS")}},
	{"06", "the mapping made after the fork", "shared-mapping", []edit{
		e("mem, err := unix.Mmap(",
			"kids, forkErr := forkWorkers(make([]uint64, workers), m)\n"+
				"\tmem, err := unix.Mmap("),
		e("\tkids, forkErr := forkWorkers(slots, m)\n", "")}},
	{"06", "reads the slots before waiting", "waits-for-workers", []edit{
		e("\twaitErr := waitAll(kids)\n", ""),
		e("\tif err := unix.Munmap(mem); err != nil {",
			"\twaitErr := waitAll(kids)\n\tif err := unix.Munmap(mem); err != nil {")}},
	{"06", "never waits", "reaps-children", []edit{
		e("waitErr := waitAll(kids)", "waitErr := error(nil); _ = kids")}},
	{"06", "never waits", "waits-for-workers", []edit{
		e("waitErr := waitAll(kids)", "waitErr := error(nil); _ = kids")}},
}

// TestMutantsFail checks every mutant in parallel (two at a time on two
// cores is what CI has).
func TestMutantsFail(t *testing.T) {
	root := moduleRoot(t)
	for _, m := range mutants {
		t.Run(m.lab+"/"+m.name+"/"+m.want, func(t *testing.T) {
			t.Parallel()
			lab, err := Find(m.lab)
			if err != nil {
				t.Fatal(err)
			}
			dir := mutate(t, lab.SolutionDir(root), m.edits)
			out := lab.Check(context.Background(), Config{Module: root, Dir: dir})
			if out.Report.Status == report.BuildError {
				t.Fatalf("the mutant does not build:\n%s", out.Report.Build)
			}
			c := findCheck(t, out.Report, m.want)
			if c.Status != report.Fail {
				t.Errorf("check %s: %s, want fail; the report:\n%s",
					m.want, c.Status, summary(out.Report))
			}
		})
	}
}

// TestMutantFilesFail checks the mutants too different from the solution
// to be edits of it: checker/testdata/mutants/LAB/NAME/main.go, whose
// first line says "// want: CHECK".
func TestMutantFilesFail(t *testing.T) {
	root := moduleRoot(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "checker", "testdata",
		"mutants", "*", "*"))
	for _, dir := range dirs {
		labName := filepath.Base(filepath.Dir(dir))
		t.Run(labName+"/"+filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			lab, err := Find(labName)
			if err != nil {
				t.Fatal(err)
			}
			want := wantedCheck(t, filepath.Join(dir, "main.go"))
			out := lab.Check(context.Background(), Config{Module: root, Dir: dir})
			if out.Report.Status == report.BuildError {
				t.Fatalf("the mutant does not build:\n%s", out.Report.Build)
			}
			if c := findCheck(t, out.Report, want); c.Status != report.Fail {
				t.Errorf("check %s: %s, want fail; the report:\n%s",
					want, c.Status, summary(out.Report))
			}
		})
	}
}

// TestVariantsPass checks correct programs written differently from the
// solution (checker/testdata/variants/LAB/NAME): no false alarms.
func TestVariantsPass(t *testing.T) {
	root := moduleRoot(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "checker", "testdata",
		"variants", "*", "*"))
	for _, dir := range dirs {
		labName := filepath.Base(filepath.Dir(dir))
		t.Run(labName+"/"+filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			lab, err := Find(labName)
			if err != nil {
				t.Fatal(err)
			}
			out := lab.Check(context.Background(), Config{Module: root, Dir: dir})
			if out.Report.Status != report.Pass {
				t.Errorf("a correct variant fails:\n%s", summary(out.Report))
			}
		})
	}
}

// wantedCheck reads "// want: CHECK" from the first line of a mutant.
func wantedCheck(t *testing.T, file string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	want, ok := strings.CutPrefix(first, "// want: ")
	if !ok {
		t.Fatalf("%s: the first line must be \"// want: CHECK\"", file)
	}
	return strings.TrimSpace(want)
}

// mutate copies the solution's Go files to a temporary directory and
// applies the edits.
func mutate(t *testing.T, solution string, edits []edit) string {
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(solution, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, ed := range edits {
		path := filepath.Join(dir, ed.file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), ed.old); n != 1 {
			t.Fatalf("the mutant no longer applies: %q occurs %d times in "+
				"the solution's %s", ed.old, n, ed.file)
		}
		data = []byte(strings.Replace(string(data), ed.old, ed.new, 1))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func findCheck(t *testing.T, l *report.Lab, name string) *report.Check {
	t.Helper()
	for _, c := range l.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("lab %s has no check %q", l.Name, name)
	return nil
}

// summary lists the checks of a report with their status and first
// failure.
func summary(l *report.Lab) string {
	var b strings.Builder
	if l.Build != "" {
		b.WriteString("build: " + l.Build + "\n")
	}
	for _, c := range l.Checks {
		b.WriteString("  " + string(c.Status) + " " + c.Name)
		if len(c.Failures) > 0 {
			b.WriteString(": " + c.Failures[0].Message)
		}
		b.WriteString("\n")
	}
	return b.String()
}
