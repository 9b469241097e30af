package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// place is a directory the lab writes its files in.
type place struct {
	name  string // "scratch" or "/dev/shm", as the output names it
	dir   string
	fs    string // "ext4", "tmpfs", ...
	tmpfs bool
	huge  hugeSupport
}

// placeNames are the values -to accepts.
var placeNames = []string{"scratch", "shm"}

// openPlaces makes the directories that -to names: the lab's scratch
// directory, and a directory of its own in /dev/shm, removed when the lab
// ends (also on Ctrl-C).
func openPlaces(l *lab.Lab) ([]*place, error) {
	var places []*place
	if opts.to.has("scratch") {
		places = append(places, newPlace("scratch", l.Dir))
	}
	if opts.to.has("shm") {
		p, err := shmPlace(l)
		if err != nil {
			return nil, err
		}
		if p != nil {
			places = append(places, p)
		}
	}
	return places, nil
}

func newPlace(name, dir string) *place {
	return &place{name: name, dir: dir, fs: lab.FileSystem(dir),
		tmpfs: lab.OnTmpfs(dir)}
}

// shmPlace makes a directory in /dev/shm, or says why it cannot.
func shmPlace(l *lab.Lab) (*place, error) {
	if !lab.OnTmpfs(shm.Dir) {
		l.Skip("%s is not a tmpfs here: no shared-memory place", shm.Dir)
		return nil, nil
	}
	dir, err := os.MkdirTemp(shm.Dir, "mmaplab-07-write-methods-")
	if err != nil {
		return nil, fmt.Errorf("make a directory in %s: %w", shm.Dir, err)
	}
	l.OnClose(func() { os.RemoveAll(dir) })
	return newPlace(shm.Dir, dir), nil
}

// hugeSupport says whether a file system gives huge pages to a shared
// mapping of a file that asks for them (MADV_HUGEPAGE), and why not.
type hugeSupport struct {
	ok   bool
	why  string
	size int // bytes in a huge page
}

// probeHuge maps a file of two huge pages in dir with MADV_HUGEPAGE,
// writes the first byte of each and asks smaps whether a huge page maps
// them.
func probeHuge(dir, fs string, tmpfs bool) (hugeSupport, error) {
	size, err := hugePageSize()
	if err != nil {
		return hugeSupport{why: fmt.Sprintf("no transparent huge pages "+
			"on this kernel (%v)", err)}, nil
	}
	path := filepath.Join(dir, "huge-probe")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|
		unix.O_CLOEXEC, 0o644)
	if err != nil {
		return hugeSupport{}, fmt.Errorf("open huge-probe: %w", err)
	}
	defer os.Remove(path)
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(2*size)); err != nil {
		return hugeSupport{}, fmt.Errorf("ftruncate huge-probe: %w", err)
	}
	m, err := mem.MapFile(fd, 0, 2*size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		return hugeSupport{}, err
	}
	defer mem.Unmap(m)
	if err := unix.Madvise(m, unix.MADV_HUGEPAGE); err != nil {
		return hugeSupport{why: fmt.Sprintf("madvise MADV_HUGEPAGE "+
			"on a file of %s: %v", fs, err)}, nil
	}
	addr, faulted := fault.Try(func() {
		for off := 0; off < len(m); off += size {
			m[off] = 1
		}
	})
	if faulted {
		return hugeSupport{}, fmt.Errorf("write huge-probe: %v",
			fault.Classify(fault.Write, addr))
	}
	if hugeMappedKB(m) > 0 {
		return hugeSupport{ok: true, size: size}, nil
	}
	if tmpfs {
		return hugeSupport{why: tmpfsHugeWhy(dir)}, nil
	}
	return hugeSupport{why: fmt.Sprintf("%s gave no huge page to a "+
		"MADV_HUGEPAGE mapping of a file (smaps FilePmdMapped 0)", fs)}, nil
}

// hugePageSize returns the size of a transparent huge page (a PMD).
func hugePageSize() (int, error) {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/" +
		"hpage_pmd_size")
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(string(b), "%d", &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("hpage_pmd_size %q", strings.TrimSpace(string(b)))
	}
	return n, nil
}

// tmpfsHugeWhy explains why a tmpfs gave no huge page: each tmpfs mount
// has its own huge= option (never unless the mount says otherwise), and
// shmem_enabled can only deny or force it for all of them; its other
// values govern memfd and shared anonymous memory, not mounts.
func tmpfsHugeWhy(dir string) string {
	global := sysfsChoice("/sys/kernel/mm/transparent_hugepage/" +
		"shmem_enabled")
	if global == "deny" {
		return "tmpfs gives no huge pages: shmem_enabled is deny"
	}
	mount, huge := tmpfsHugeOption(dir)
	return fmt.Sprintf("tmpfs gave no huge page: %s is mounted with "+
		"huge=%s (shmem_enabled %s governs memfd and shared anonymous "+
		"memory only)", mount, huge, global)
}

// sysfsChoice returns the bracketed word of a sysfs choice list, such as
// "never" in "always within_size advise [never] deny force".
func sysfsChoice(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	_, rest, ok := strings.Cut(string(b), "[")
	if !ok {
		return strings.TrimSpace(string(b))
	}
	word, _, _ := strings.Cut(rest, "]")
	return word
}

// tmpfsHugeOption returns the mount point of the mount that holds dir and
// its huge= option, from /proc/self/mountinfo.
func tmpfsHugeOption(dir string) (mount, huge string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "the mount", "never"
	}
	defer f.Close()
	return hugeOption(f, dir)
}

// hugeOption finds the mount that holds dir in a mountinfo listing (the
// longest mount point that contains it; of two on the same point, the
// later, which hides the other) and returns its huge= option. A tmpfs
// mounted without one has huge=never.
func hugeOption(r io.Reader, dir string) (mount, huge string) {
	mount, huge = "the mount", "never"
	best := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		point, options, ok := mountFields(sc.Text())
		if !ok || !within(dir, point) || len(point) < len(best) {
			continue
		}
		best, mount, huge = point, point, "never"
		for _, o := range strings.Split(options, ",") {
			if v, ok := strings.CutPrefix(o, "huge="); ok {
				huge = v
			}
		}
	}
	return mount, huge
}

// mountFields returns the mount point (field 5) and the super options
// (the last field) of a mountinfo line.
func mountFields(line string) (point, options string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 10 {
		return "", "", false
	}
	return f[4], f[len(f)-1], true
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	return path == dir || dir == "/" ||
		strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
