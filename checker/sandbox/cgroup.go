package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Cgroup is a memory cgroup made for one run: every process of the run
// joins it (through the launcher), and the kernel's OOM killer ends the
// run when its memory passes the limit.
type Cgroup struct {
	Dir   string
	V2    bool  // cgroup v2 (memory.max), else v1 (memory.limit_in_bytes)
	Limit int64 // bytes
}

var cgroupSeq atomic.Int64

// NewMemoryCgroup makes a memory cgroup with the given limit, beneath
// the checker's own cgroup. It fails where the checker may not make one
// (no memory controller there, no permission, cgroup v2 with the checker
// in a non-leaf group): the caller then watches the run's memory itself.
func NewMemoryCgroup(limit int64) (*Cgroup, error) {
	base, v2, err := ownMemoryCgroup()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("mmaplab-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	c := &Cgroup{Dir: filepath.Join(base, name), V2: v2, Limit: limit}
	if err := os.Mkdir(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("make cgroup: %w", err)
	}
	file, value := "memory.limit_in_bytes", strconv.FormatInt(limit, 10)
	if v2 {
		file = "memory.max"
	}
	if err := os.WriteFile(filepath.Join(c.Dir, file), []byte(value), 0); err != nil {
		c.Remove()
		return nil, fmt.Errorf("set cgroup memory limit: %w", err)
	}
	if v2 {
		// No swap: the limit must bind, not push pages to swap.
		os.WriteFile(filepath.Join(c.Dir, "memory.swap.max"), []byte("0"), 0)
	} else {
		os.WriteFile(filepath.Join(c.Dir, "memory.memsw.limit_in_bytes"),
			[]byte(value), 0)
	}
	return c, nil
}

// ownMemoryCgroup returns the directory of the checker's own memory
// cgroup, from /proc/self/cgroup.
func ownMemoryCgroup() (dir string, v2 bool, err error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	var unified string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			if ctl == "memory" {
				d := filepath.Join("/sys/fs/cgroup/memory", parts[2])
				return d, false, nil
			}
		}
		if parts[0] == "0" {
			unified = parts[2]
		}
	}
	d := filepath.Join("/sys/fs/cgroup", unified)
	ctl, err := os.ReadFile(filepath.Join(d, "cgroup.subtree_control"))
	if err != nil || !strings.Contains(string(ctl), "memory") {
		return "", false, fmt.Errorf("no memory controller for child " +
			"cgroups here")
	}
	return d, true, nil
}

// OOMKilled reports whether the kernel killed a process of the cgroup for
// passing its memory limit.
func (c *Cgroup) OOMKilled() bool {
	file := "memory.oom_control"
	if c.V2 {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(c.Dir, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return true
		}
	}
	if !c.V2 {
		failcnt, _ := os.ReadFile(filepath.Join(c.Dir, "memory.failcnt"))
		return strings.TrimSpace(string(failcnt)) != "0"
	}
	return false
}

// Remove removes the cgroup once its processes are gone; it retries for a
// moment, as the kernel frees a dead process's cgroup membership late.
func (c *Cgroup) Remove() error {
	var err error
	for i := 0; i < 50; i++ {
		if err = os.Remove(c.Dir); err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", c.Dir, err)
}

// joinCgroup moves the calling process into the cgroup dir.
func joinCgroup(dir string) error {
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0); err != nil {
		return fmt.Errorf("join cgroup: %w", err)
	}
	return nil
}
