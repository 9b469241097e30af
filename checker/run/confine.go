package run

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/sandbox"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// maxFileBytes caps the size of any file the program writes.
const maxFileBytes = 512 << 20

// box is the confinement of one run: the launcher's command line, and
// the memory cgroup or, where there is none, the processes whose memory
// the watchdog adds up.
type box struct {
	path string
	args []string
	env  []string

	landlock bool
	cgroup   *sandbox.Cgroup
	memory   int64

	mu   sync.Mutex
	pids map[int]bool
}

// newBox prepares the launcher for p: the program may write only in its
// directory, /dev/shm and p.Writable (where the kernel has Landlock), may
// not open IP sockets, and runs with a CPU limit and a memory limit.
func newBox(p Program, lim Limits) (*box, error) {
	b := &box{pids: map[int]bool{}, memory: lim.Memory,
		landlock: sandbox.LandlockABI() > 0 && !lim.NoLandlock}
	cfg := sandbox.Config{
		CPUSeconds: uint64(math.Ceil(lim.CPU.Seconds())),
		FileBytes:  maxFileBytes,
		NoInet:     true,
	}
	if b.landlock {
		cfg.Writable = append([]string{p.Dir, "/dev/shm"}, p.Writable...)
	}
	if !lim.NoCgroup {
		if cg, err := sandbox.NewMemoryCgroup(lim.Memory); err == nil {
			b.cgroup, cfg.Cgroup = cg, cg.Dir
		}
	}
	var err error
	b.path, b.args, b.env, err = sandbox.Command(cfg, p.Exe, p.Args, p.Env)
	if err != nil {
		b.remove()
		return nil, err
	}
	return b, nil
}

// describe says how the run was confined.
func (b *box) describe() string {
	var parts []string
	if b.landlock {
		parts = append(parts, "writes only in its directory and /dev/shm "+
			"(Landlock)")
	} else {
		parts = append(parts, "not confined to its directory (no "+
			"Landlock here): files it makes elsewhere are found and removed")
	}
	parts = append(parts, "no IP sockets (seccomp)")
	how := "watched resident memory"
	if b.cgroup != nil {
		how = "memory cgroup"
	}
	parts = append(parts, fmt.Sprintf("memory limit %d MiB (%s)",
		b.memory>>20, how))
	return strings.Join(parts, "; ")
}

func (b *box) track(pid int) {
	b.mu.Lock()
	b.pids[pid] = true
	b.mu.Unlock()
}

func (b *box) forget(pid int) {
	b.mu.Lock()
	delete(b.pids, pid)
	b.mu.Unlock()
}

// overMemory reports whether the tree's resident memory is over limit,
// where no cgroup enforces it.
func (b *box) overMemory(limit int64) bool {
	if b.cgroup != nil {
		return false
	}
	b.mu.Lock()
	pids := make([]int, 0, len(b.pids))
	for pid := range b.pids {
		pids = append(pids, pid)
	}
	b.mu.Unlock()
	var total int64
	for _, pid := range pids {
		total += rss(pid)
	}
	return total > limit
}

// rss returns a process's resident memory in bytes, from VmRSS in
// /proc/PID/status, or 0.
func rss(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (b *box) oomKilled() bool {
	return b.cgroup != nil && b.cgroup.OOMKilled()
}

// remove removes the cgroup, if any. It is safe on a nil box.
func (b *box) remove() {
	if b != nil && b.cgroup != nil {
		b.cgroup.Remove()
		b.cgroup = nil
	}
}

// launcherFailure returns the launcher's message if it could not start
// the program at all.
func launcherFailure(e *Exec) string {
	if e.ExitCode != 126 || e.Trace.Root == nil || len(e.Trace.Root.Execs) > 1 {
		return ""
	}
	msg, ok := strings.CutPrefix(strings.TrimSpace(string(e.Stderr)),
		"mmaplab sandbox: ")
	if !ok {
		return ""
	}
	return "the checker could not start it: " + msg
}

// created returns the path a successful syscall created, if it creates
// one: a file (open with O_CREAT), a directory, a link, a node, or the
// target of a rename.
func created(sc *trace.Syscall) (path string, dirfd int, ok bool) {
	if !sc.OK() {
		return "", 0, false
	}
	switch sc.Name {
	case "openat":
		return sc.Strs[1], sc.Int(0), sc.Arg(2)&unix.O_CREAT != 0
	case "open":
		return sc.Strs[0], unix.AT_FDCWD, sc.Arg(1)&unix.O_CREAT != 0
	case "creat", "mkdir", "mknod":
		return sc.Strs[0], unix.AT_FDCWD, true
	case "mkdirat", "mknodat":
		return sc.Strs[1], sc.Int(0), true
	case "symlink", "link", "rename":
		return sc.Strs[1], unix.AT_FDCWD, true
	case "symlinkat":
		return sc.Strs[2], sc.Int(1), true
	case "linkat", "renameat", "renameat2":
		return sc.Strs[3], sc.Int(2), true
	}
	return "", 0, false
}

// removeOutside removes what the program created outside its directory
// and /dev/shm during the run, and returns the paths. A path is removed
// only if it was born after the run started (statx's birth time), so
// that nothing that was there before is ever touched.
func removeOutside(tr *trace.Trace, gen int, p Program,
	started time.Time) []string {
	var removed []string
	seen := map[string]bool{}
	for _, sc := range tr.Syscalls {
		path, dirfd, ok := created(sc)
		if !ok || sc.Gen < gen || path == "" {
			continue
		}
		if !filepath.IsAbs(path) {
			if dirfd != unix.AT_FDCWD {
				continue // relative to a descriptor: not followed
			}
			path = filepath.Join(p.Dir, path)
		}
		path = filepath.Clean(path)
		if seen[path] || allowed(path, p) {
			continue
		}
		seen[path] = true
		if bornAfter(path, started) && os.Remove(path) == nil {
			removed = append(removed, path)
		}
	}
	return removed
}

// allowed reports a path the program may create things in.
func allowed(path string, p Program) bool {
	for _, dir := range append([]string{p.Dir, "/dev/shm", "/dev/null",
		"/proc", "/sys"}, p.Writable...) {
		if path == dir || strings.HasPrefix(path, dir+"/") {
			return true
		}
	}
	return false
}

// bornAfter reports whether path was created after t, by its birth time.
func bornAfter(path string, t time.Time) bool {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW,
		unix.STATX_BTIME, &st)
	if err != nil || st.Mask&unix.STATX_BTIME == 0 {
		return false
	}
	born := time.Unix(st.Btime.Sec, int64(st.Btime.Nsec))
	return !born.Before(t.Add(-10 * time.Millisecond))
}
