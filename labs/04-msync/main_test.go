package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/golden"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

func TestMain(m *testing.M) {
	code := m.Run()
	golden.Cleanup()
	os.Exit(code)
}

// scratchNote drops the note the lab prints where $TMPDIR is tmpfs and
// its scratch files move to a disk: the note names machine paths.
var scratchNote = []golden.Rule{
	{Re: regexp.MustCompile(`(?m)^note: .*\n`), Repl: ""},
}

// TestGolden pins what runs on any file system: the command line and
// munmap's rounding.
func TestGolden(t *testing.T) {
	golden.Suite{Dir: "testdata", Command: "04-msync",
		Rules: scratchNote}.Run(t)
}

// TestGoldenDisk pins the sections that watch pages being written back.
// They need $TMPDIR on a disk (on tmpfs nothing is written back, and the
// lab moves its files elsewhere) and cachestat (Linux 6.5+), for the
// dirty state of each page.
func TestGoldenDisk(t *testing.T) {
	if why := noDisk(t); why != "" {
		t.Skip(why)
	}
	golden.Suite{Dir: "testdata/disk", Command: "04-msync"}.Run(t)
}

// TestGoldenFolio pins the folio section where one write() of 4 pages
// makes one 4-page folio (ext4 since Linux 6.16, xfs).
func TestGoldenFolio(t *testing.T) {
	if why := noDisk(t); why != "" {
		t.Skip(why)
	}
	if n := folioPages(t); n != pages {
		t.Skipf("one write() of %d pages made folios of %d pages here; "+
			"the golden is for %d", pages, n, pages)
	}
	golden.Suite{Dir: "testdata/folio", Command: "04-msync"}.Run(t)
}

// noDisk says why the disk goldens cannot run here, or "".
func noDisk(t *testing.T) string {
	if lab.OnTmpfs(os.TempDir()) {
		return "$TMPDIR is tmpfs: no page is ever written back there"
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = mem.PageCache(int(f.Fd()), 0, 1)
	if errors.Is(err, unix.ENOSYS) {
		return "no cachestat (Linux 6.5+): no per-page dirty state " +
			"without root"
	}
	if err != nil {
		t.Fatal(err)
	}
	return ""
}

// folioPages writes a file of 4 pages with one write(), changes one byte
// of page 1 with pwrite, and returns how many pages became dirty: the
// size of the folio that holds page 1.
func folioPages(t *testing.T) int {
	f, err := os.Create(filepath.Join(t.TempDir(), "folio"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps := mem.PageSize()
	if _, err := f.Write(make([]byte, pages*ps)); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{1}, int64(ps)); err != nil {
		t.Fatal(err)
	}
	cache, err := mem.PageCache(int(f.Fd()), 0, pages)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cache {
		if c.Dirty {
			n++
		}
	}
	return n
}

// TestHelp runs -h in process: it only prints, exit 0, every section.
func TestHelp(t *testing.T) {
	var out, errs strings.Builder
	if code := program.Run(&out, &errs, []string{"-h"}); code != 0 {
		t.Fatalf("-h: exit %d, stderr %q", code, errs.String())
	}
	for _, s := range program.Sections {
		if !strings.Contains(out.String(), "\n  "+s.Name+" ") {
			t.Errorf("-h does not list section %s:\n%s", s.Name, out.String())
		}
	}
}

func TestDirtyIn(t *testing.T) {
	row := []diagram.State{diagram.Synced, diagram.Dirty, diagram.Missing,
		diagram.Dirty}
	if got := fmt.Sprint(dirtyIn(row)); got != "[1 3]" {
		t.Errorf("dirtyIn = %s, want [1 3]", got)
	}
}

func TestPageList(t *testing.T) {
	for want, list := range map[string][]int{
		"none": nil, "2": {2}, "1, 2": {1, 2},
	} {
		if got := pageList(list); got != want {
			t.Errorf("pageList(%v) = %q, want %q", list, got, want)
		}
	}
}

func TestCacheState(t *testing.T) {
	for c, want := range map[mem.CacheState]diagram.State{
		{}:                          diagram.Missing,
		{Cached: true}:              diagram.Synced,
		{Cached: true, Dirty: true}: diagram.Dirty,
	} {
		if got := cacheState(c); got != want {
			t.Errorf("cacheState(%+v) = %c, want %c", c, got, want)
		}
	}
}

func TestErrnoName(t *testing.T) {
	wrapped := fmt.Errorf("msync: %w", unix.EINVAL)
	for err, want := range map[error]string{
		nil: "success", wrapped: "EINVAL", unix.ENOMEM: "ENOMEM",
	} {
		if got := errnoName(err); got != want {
			t.Errorf("errnoName(%v) = %q, want %q", err, got, want)
		}
	}
}
