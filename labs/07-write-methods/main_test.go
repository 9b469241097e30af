package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/golden"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/shm"
)

func TestMain(m *testing.M) {
	code := m.Run()
	golden.Cleanup()
	os.Exit(code)
}

// machine hides what differs between machines but is no claim: the note
// a lab prints when $TMPDIR is tmpfs (it names directories), and the file
// system of the scratch directory.
var machine = []golden.Rule{
	{Re: regexp.MustCompile(`(?m)^note: .*\n`)},
	{Re: regexp.MustCompile(`(scratch +a new directory on) \S+`),
		Repl: "$1 FS"},
	{Re: regexp.MustCompile(`in scratch \(\S+\)`), Repl: "in scratch (FS)"},
}

// TestGolden pins what runs on every kernel and file system: the command
// line, copy(), and write() and bufio files that read back right.
func TestGolden(t *testing.T) {
	golden.Suite{Dir: "testdata", Command: "07-write-methods",
		Rules: machine}.Run(t)
	checkDevShm(t)
}

// TestGoldenExt4 pins the methods and faults in the scratch directory
// where it is on ext4 with what Linux 6.18 gives it: cachestat (6.5+),
// huge pages for files (large folios, 6.16+), transparent huge pages for
// anonymous memory, and 4 KiB pages under 2 MiB huge pages, so that the
// 8 MiB of -verify are the 2048 pages the page cache gives one by one.
func TestGoldenExt4(t *testing.T) {
	dir := scratchParent()
	if fs := lab.FileSystem(dir); fs != "ext4" {
		t.Skipf("the scratch directory would be on %s, not ext4", fs)
	}
	needPages(t)
	needCachestat(t, dir)
	h, err := probeHuge(dir, "ext4", false)
	if err != nil || !h.ok {
		t.Skipf("ext4 gives files no huge pages here: %s %v", h.why, err)
	}
	golden.Suite{Dir: "testdata/ext4", Command: "07-write-methods",
		Rules: machine}.Run(t)
}

// TestGoldenShm pins the methods and faults in /dev/shm where it is a
// tmpfs that takes O_DIRECT (Linux 6.6+), has cachestat, and gives no
// huge pages because it is mounted without huge=.
func TestGoldenShm(t *testing.T) {
	if !lab.OnTmpfs(shm.Dir) {
		t.Skipf("%s is not a tmpfs", shm.Dir)
	}
	needPages(t)
	needCachestat(t, shm.Dir)
	if err := tmpfsTakesDirect(); err != nil {
		t.Skipf("tmpfs refuses O_DIRECT: %v", err)
	}
	h, err := probeHuge(shm.Dir, "tmpfs", true)
	if err != nil || h.ok || !strings.Contains(h.why, "huge=never") {
		t.Skipf("%s gives huge pages, or not for want of huge= (%q, %v)",
			shm.Dir, h.why, err)
	}
	rules := append(machine, golden.Rule{
		Re:   regexp.MustCompile(`shmem_enabled \w+`),
		Repl: "shmem_enabled MODE"})
	golden.Suite{Dir: "testdata/shm", Command: "07-write-methods",
		Rules: rules}.Run(t)
	checkDevShm(t)
}

// scratchParent is where the lab, run by the golden tests, makes its
// scratch directory: $TMPDIR, or where that is tmpfs the user's cache
// directory (lab.Program's Disk).
func scratchParent() string {
	dir := os.TempDir()
	if lab.OnTmpfs(dir) {
		if cache, err := os.UserCacheDir(); err == nil &&
			!lab.OnTmpfs(cache) {
			dir = cache
		}
	}
	return dir
}

// needPages skips unless pages are 4 KiB and huge pages 2 MiB, and the
// kernel gives anonymous memory transparent huge pages when asked.
func needPages(t *testing.T) {
	huge, err := hugePageSize()
	if err != nil || huge != 2<<20 || os.Getpagesize() != 4096 {
		t.Skipf("huge page %d bytes over %d-byte pages: the goldens are "+
			"for 2 MiB over 4 KiB", huge, os.Getpagesize())
	}
	mode := sysfsChoice("/sys/kernel/mm/transparent_hugepage/enabled")
	if mode != "always" && mode != "madvise" {
		t.Skipf("transparent huge pages: %s", mode)
	}
}

// needCachestat skips unless cachestat works on a file in dir.
func needCachestat(t *testing.T, dir string) {
	f, err := os.CreateTemp(dir, "mmaplab-07-probe-")
	if err != nil {
		t.Skipf("cannot make a probe file in %s: %v", dir, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var cs unix.Cachestat_t
	err = unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &cs, 0)
	if err != nil {
		t.Skipf("no cachestat: %v", err)
	}
}

// tmpfsTakesDirect opens a file in /dev/shm with O_DIRECT, as the lab
// does.
func tmpfsTakesDirect() error {
	path := filepath.Join(shm.Dir, "mmaplab-07-write-methods-probe")
	defer os.Remove(path)
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_DIRECT|
		unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// checkDevShm fails the test if a directory of this lab is left in
// /dev/shm.
func checkDevShm(t *testing.T) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(shm.Dir,
		"mmaplab-07-write-methods-*"))
	for _, p := range left {
		t.Errorf("left behind: %s", p)
	}
}

// TestInterrupt stops the lab with SIGINT while it writes, as Ctrl-C
// does: it must die of the signal, or fail with exit status 1 where a
// method saw its files vanish first, and leave nothing behind.
func TestInterrupt(t *testing.T) {
	exe := golden.Build(t, "")
	tmp := t.TempDir()
	for _, delay := range []time.Duration{0, 30, 120, 300} {
		cmd := exec.Command(exe, "-only", "syscalls,mmap", "-size", "64MiB")
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitForOutput(t, &out, "in scratch")
		time.Sleep(delay * time.Millisecond)
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Errorf("after %v ms: %v, want death by SIGINT\n%s", delay,
				err, out.String())
			continue
		}
		ws := exit.Sys().(syscall.WaitStatus)
		if !(ws.Signaled() && ws.Signal() == syscall.SIGINT) &&
			exit.ExitCode() != 1 {
			t.Errorf("after %v ms: %v\n%s", delay, err, out.String())
		}
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("after %v ms: left in $TMPDIR: %s", delay,
				left[0].Name())
		}
		checkDevShm(t)
	}
}

// waitForOutput waits up to 10 seconds for text in out.
func waitForOutput(t *testing.T, out *strings.Builder, text string) {
	t.Helper()
	for range 1000 {
		if strings.Contains(out.String(), text) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in 10s:\n%s", text, out.String())
}

// TestExport runs the lab with -json and -csv and reads the files back.
func TestExport(t *testing.T) {
	exe := golden.Build(t, "")
	dir := t.TempDir()
	js, cs := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.csv")
	cmd := exec.Command(exe, "-verify", "-only", "syscalls,summary",
		"-to", "scratch", "-methods", "write-1m", "-json", js, "-csv", cs)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rows []map[string]any
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(rows) != 3 || rows[0]["method"] != "copy" ||
		rows[1]["method"] != "write-1m" || rows[2]["durable"] != true ||
		rows[1]["verified"] != true {
		t.Errorf("json rows:\n%s", data)
	}
	f, err := os.Open(cs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "method,label,place,fs,durable,bytes,gbps_median,gbps_min," +
		"gbps_max,gbps_n,x_copy,x_write_1m,faults_per_mib,us_per_fault," +
		"verified,skipped"
	if len(records) != 4 || strings.Join(records[0], ",") != want {
		t.Errorf("csv: %q, want header %s and 3 rows", records, want)
	}
}
