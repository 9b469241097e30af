package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/golden"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

func TestMain(m *testing.M) {
	code := m.Run()
	golden.Cleanup()
	os.Exit(code)
}

// moved drops the note a lab prints when $TMPDIR is tmpfs and its scratch
// files go to the user's cache directory: it names directories.
var moved = golden.Rule{Re: regexp.MustCompile(`(?m)^note: .*\n`)}

func TestGolden(t *testing.T) {
	golden.Suite{Dir: "testdata", Command: "02-open-flags",
		Rules: []golden.Rule{moved}}.Run(t)
}

// TestGoldenPageCache pins the readfirst section where the scratch files
// are on a disk, the kernel counts disk reads (/proc/self/io) and has
// cachestat (Linux 6.5+), which the page diagram names.
func TestGoldenPageCache(t *testing.T) {
	dir := probeDir(t)
	if lab.OnTmpfs(dir) {
		t.Skipf("the scratch files would be on tmpfs (%s): no disk", dir)
	}
	if _, err := proc.ReadIO(0); err != nil {
		t.Skipf("no disk read counter: %v", err)
	}
	fd := probeFile(t, dir)
	if _, err := mem.PageCache(fd, 0, 1); err != nil {
		t.Skipf("no cachestat: %v", err)
	}
	golden.Suite{Dir: "testdata/pagecache", Command: "02-open-flags",
		Rules: []golden.Rule{moved}}.Run(t)
}

// TestGoldenSparse pins the sparse section where the scratch file system
// is on a disk, keeps holes, has fallocate, and allocates in blocks no
// bigger than a page.
func TestGoldenSparse(t *testing.T) {
	dir := probeDir(t)
	if lab.OnTmpfs(dir) {
		t.Skipf("the scratch files would be on tmpfs (%s): no disk", dir)
	}
	if _, err := proc.ReadIO(0); err != nil {
		t.Skipf("no disk read counter: %v", err)
	}
	fd := probeFile(t, dir)
	length := int64(sparsePages * mem.PageSize())
	if err := unix.Ftruncate(fd, length); err != nil {
		t.Fatal(err)
	}
	if s, err := sizeOf(fd); err != nil || s.Allocated != 0 {
		t.Skipf("%s keeps no holes: after ftruncate %v (%v)",
			lab.FileSystem(dir), s, err)
	}
	if err := unix.Fallocate(fd, 0, 0, length); err != nil {
		t.Skipf("no fallocate on %s: %v", lab.FileSystem(dir), err)
	}
	if s, err := sizeOf(fd); err != nil || s.Allocated != sparsePages {
		t.Skipf("%s allocates other than page by page: after "+
			"fallocate %v (%v)", lab.FileSystem(dir), s, err)
	}
	golden.Suite{Dir: "testdata/sparse", Command: "02-open-flags",
		Rules: []golden.Rule{moved}}.Run(t)
}

// TestGoldenDirect pins the direct section where the scratch file system
// reports an O_DIRECT alignment (statx, Linux 6.1+) smaller than a page,
// with a memory alignment, and tmpfs takes O_DIRECT (Linux 6.6+). The
// byte counts and the file system's name are normalised.
func TestGoldenDirect(t *testing.T) {
	dir := probeDir(t)
	fd := probeFile(t, dir)
	a, ok, err := directAlignment(procPath(fd))
	if err != nil {
		t.Skipf("statx on %s: %v", lab.FileSystem(dir), err)
	}
	if !ok {
		t.Skipf("no O_DIRECT alignment reported on %s",
			lab.FileSystem(dir))
	}
	if a.Offset >= mem.PageSize() || a.Memory < 2 {
		t.Skipf("O_DIRECT alignment %+v on %s: the golden is for a "+
			"block smaller than a page", a, lab.FileSystem(dir))
	}
	if err := tmpfsTakesDirect(); err != nil {
		t.Skipf("tmpfs refuses O_DIRECT: %v", err)
	}
	rules := []golden.Rule{moved,
		{Re: regexp.MustCompile(`(dio_\w+_align:) \d+ bytes`),
			Repl: "$1 N bytes"},
		{Re: regexp.MustCompile(`scratch directory is on \S+`),
			Repl: "scratch directory is on FS"},
	}
	golden.Suite{Dir: "testdata/direct", Command: "02-open-flags",
		Rules: rules}.Run(t)
}

// probeDir is where the lab, run by the golden tests, makes its scratch
// directory: $TMPDIR, or where that is tmpfs the user's cache directory
// (lab.Program's Disk).
func probeDir(t *testing.T) string {
	dir := os.TempDir()
	if lab.OnTmpfs(dir) {
		if cache, err := os.UserCacheDir(); err == nil && !lab.OnTmpfs(cache) {
			dir = cache
		}
	}
	return dir
}

// probeFile creates an empty file in dir for a feature probe; the test
// removes it.
func probeFile(t *testing.T, dir string) int {
	f, err := os.CreateTemp(dir, "mmaplab-02-probe-")
	if err != nil {
		t.Skipf("cannot make a probe file in %s: %v", dir, err)
	}
	t.Cleanup(func() {
		f.Close()
		os.Remove(f.Name())
	})
	return int(f.Fd())
}

// procPath names the open file fd.
func procPath(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }

// tmpfsTakesDirect opens a memfd again with O_DIRECT, as the lab does.
func tmpfsTakesDirect() error {
	mfd, err := unix.MemfdCreate("mmaplab-probe", unix.MFD_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	fd, err := unix.Open(procPath(mfd), unix.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func TestErrnoName(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                  "ok",
		unix.EACCES:                          "EACCES",
		fmt.Errorf("pread: %w", unix.EINVAL): "EINVAL",
		errors.New("no such page"):           "no such page",
	} {
		if got := errnoName(err); got != want {
			t.Errorf("errnoName(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestSizeString(t *testing.T) {
	got := size{Pages: 16, Allocated: 1}.String()
	if got != "st_size 16 pages, st_blocks 1 page" {
		t.Errorf("size.String() = %q", got)
	}
}
