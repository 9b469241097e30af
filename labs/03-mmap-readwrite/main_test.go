package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/golden"
	"github.com/mmaplab/mmaplab/internal/lab"
)

func TestMain(m *testing.M) {
	// The hello section prints the modes new files get: pin the umask
	// that the golden files were made with. The lab inherits it.
	syscall.Umask(0o022)
	code := m.Run()
	golden.Cleanup()
	os.Exit(code)
}

// machine drops the note a lab prints where $TMPDIR is tmpfs and its
// scratch files move to a disk.
var machine = []golden.Rule{
	{Re: regexp.MustCompile(`(?m)^note: \$TMPDIR is tmpfs.*\n`), Repl: ""},
}

// TestGolden pins the sections that behave alike on every Linux kernel,
// file system and page size: the hello example, MAP_PRIVATE, the end of
// the file, what mmap refuses, and a read-only mapping.
func TestGolden(t *testing.T) {
	golden.Suite{Dir: "testdata", Command: "03-mmap-readwrite",
		Rules: machine}.Run(t)
}

// TestGoldenDisk pins the talk's sequence and the sections that depend on
// the page cache of a disk file system, as measured on ext4 with 4 KiB
// pages: readahead and fault-around sizes, and cachestat for the dirty
// bits.
func TestGoldenDisk(t *testing.T) {
	if why := noDisk(); why != "" {
		t.Skip(why)
	}
	golden.Suite{Dir: "testdata/disk", Command: "03-mmap-readwrite",
		Rules: machine}.Run(t)
}

// TestGoldenLinux618 pins what was measured on Linux 6.18: ext4 caches a
// file written with write(2) in large folios, write-back and ftruncate
// zero the bytes past the end of an ext4 file, and tmpfs keeps them.
func TestGoldenLinux618(t *testing.T) {
	if why := noDisk(); why != "" {
		t.Skip(why)
	}
	if major, minor := kernel(); major < 6 || major == 6 && minor < 18 {
		t.Skipf("Linux %d.%d: the golden files were measured on 6.18, "+
			"and these behaviours changed in recent kernels", major, minor)
	}
	golden.Suite{Dir: "testdata/linux-6.18", Command: "03-mmap-readwrite",
		Rules: machine}.Run(t)
}

// noDisk says why the disk golden files cannot run here, or "".
func noDisk() string {
	if ps := os.Getpagesize(); ps != 4096 {
		return fmt.Sprintf("%d-byte pages: the golden files count "+
			"readahead and fault-around in 4 KiB pages", ps)
	}
	if fs := scratchFS(); fs != "ext4" {
		return fmt.Sprintf("the scratch files would be on %s: the golden "+
			"files were measured on ext4", fs)
	}
	if !hasCachestat() {
		return "no cachestat (Linux 6.5+): the golden files show the " +
			"dirty bit of each page from cachestat"
	}
	return ""
}

// scratchFS names the file system the lab's scratch directory will be
// on: $TMPDIR's, or the user's cache directory where $TMPDIR is tmpfs.
func scratchFS() string {
	dir := os.TempDir()
	if lab.OnTmpfs(dir) {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "tmpfs"
		}
		dir = cache
	}
	return lab.FileSystem(dir)
}

// hasCachestat reports whether the kernel has cachestat (Linux 6.5+).
func hasCachestat() bool {
	f, err := os.CreateTemp("", "cachestat")
	if err != nil {
		return false
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var cs unix.Cachestat_t
	r := unix.CachestatRange{Off: 0, Len: 1}
	return unix.Cachestat(uint(f.Fd()), &r, &cs, 0) == nil
}

// kernel returns the running kernel's major and minor version.
func kernel() (major, minor int) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return 0, 0
	}
	release := unix.ByteSliceToString(u.Release[:])
	fmt.Sscanf(release, "%d.%d", &major, &minor)
	return major, minor
}

// TestNothingLeftBehind runs every section and checks that the scratch
// directory is gone afterwards.
func TestNothingLeftBehind(t *testing.T) {
	exe := golden.Build(t, ".")
	tmp := t.TempDir()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left behind: %s", filepath.Join(tmp, e.Name()))
	}
}

// TestHelp checks that -h works and names every section.
func TestHelp(t *testing.T) {
	out, err := exec.Command(golden.Build(t, "."), "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	for _, s := range program.Sections {
		if !strings.Contains(string(out), "  "+s.Name+" ") {
			t.Errorf("-h does not name section %s:\n%s", s.Name, out)
		}
	}
}

func TestPageList(t *testing.T) {
	for want, idx := range map[string][]int{
		"no page":             nil,
		"page 3":              {3},
		"pages 0-7":           {0, 1, 2, 3, 4, 5, 6, 7},
		"pages 1 and 3":       {1, 3},
		"pages 0, 2 and 5":    {0, 2, 5},
		"pages 2-3":           {2, 3},
		"pages 0, 1, 4 and 6": {0, 1, 4, 6},
	} {
		if got := pageList(idx); got != want {
			t.Errorf("pageList(%v) = %q, want %q", idx, got, want)
		}
	}
}

func TestOnly(t *testing.T) {
	s := []diagram.State{diagram.Missing, diagram.Dirty, diagram.Synced,
		diagram.Dirty}
	if !only(s, diagram.Dirty, 1, 3) || only(s, diagram.Dirty, 1) ||
		!only(s, diagram.Missing, 0) || only(s, diagram.Zero, 2) {
		t.Errorf("only gives the wrong answer for %q", s)
	}
}

func TestPermString(t *testing.T) {
	for mode, want := range map[uint32]string{
		0o644: "-rw-r--r--", 0: "----------", 0o4755: "-rwsr-xr-x",
		0o7310: "--ws--s--T", 0o3610: "-rw---s--T", 0o1777: "-rwxrwxrwt",
	} {
		if got := permString(mode); got != want {
			t.Errorf("permString(%04o) = %q, want %q", mode, got, want)
		}
	}
}
