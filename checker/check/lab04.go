package check

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// patchLab is exercise 04-msync: "patch FILE OFFSET TEXT".
var patchLab = &Lab{
	ID: "04", Name: "04-msync", Command: "patch", Disk: true,
	Cases: []*Case{
		patchCase("inside one page", 4*pageSize, pageSize+100, "hello"),
		patchCase("across a page boundary", 4*pageSize, 2*pageSize-3,
			"boundary!"),
		patchCase("at the last byte", 3*pageSize+10, 3*pageSize+9, "Z"),
		patchCase("in the middle of a 100-page file", 100*pageSize,
			50*pageSize+123, strings.Repeat("patch ", 350)),
		patchCase("in a small file", 100, 10, "abc"),
		patchCase("empty TEXT", 4*pageSize, pageSize+5, ""),
		// Past the end, and into the page after the file's last page.
		patchCase("past the end", 3*pageSize+10, 3*pageSize+6,
			strings.Repeat("x", pageSize)),
		usageCase(), usageCase(patchFile), usageCase(patchFile, "x", "t"),
		usageCase(patchFile, "-1", "t"), usageCase(patchFile, "1", "t", "u"),
	},
	Observe: observePatch,
	Checks: []*Check{
		patchOutput, patchContent, patchMapping, patchMsync, patchClean,
		patchEmpty, patchPastEnd, usageErrors, runsCleanly, leavesNothing, staysInside,
	},
}

// patchFile is FILE in every case.
const patchFile = "file.bin"

// patchWant is what a patch case expects.
type patchWant struct {
	Size   int
	Offset int
	Text   string
}

// pastEnd reports a patch that does not fit in the file.
func (w patchWant) pastEnd() bool { return w.Offset+len(w.Text) > w.Size }

// pages returns the first and last page indices the patch touches.
func (w patchWant) pages() (first, last int) {
	first = w.Offset / pageSize
	if w.Text == "" {
		return first, first
	}
	return first, (w.Offset + len(w.Text) - 1) / pageSize
}

// original is the file's content before the patch.
func (w patchWant) original() []byte {
	data := make([]byte, w.Size)
	rand.New(rand.NewSource(int64(w.Size + w.Offset))).Read(data)
	return data
}

// patched is the file's content after a correct patch.
func (w patchWant) patched() []byte {
	data := w.original()
	if !w.pastEnd() {
		copy(data[w.Offset:], w.Text)
	}
	return data
}

func patchCase(name string, size, offset int, text string) *Case {
	w := patchWant{Size: size, Offset: offset, Text: text}
	return &Case{Name: "patch " + name, Want: w,
		Steps: [][]string{{patchFile, strconv.Itoa(offset), text}},
		Setup: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, patchFile),
				w.original(), 0o644)
		}}
}

// patchSeen is what the checker saw of one patch run: the dirty pages of
// each mapping of FILE when it was unmapped, or at exit.
type patchSeen struct {
	mu    sync.Mutex
	maps  []*trace.Syscall
	dirty map[*trace.Syscall]int // pages dirty at munmap or exit
	// where says when dirty was read: "munmap" or "exit".
	where map[*trace.Syscall]string
}

// observePatch reads /proc/PID/smaps of each mapping of FILE when the
// program unmaps it (at the munmap's entry, before the kernel removes
// it), or at the program's exit for a mapping it never unmapped.
func observePatch(r *Result, p *run.Program) {
	seen := &patchSeen{dirty: map[*trace.Syscall]int{},
		where: map[*trace.Syscall]string{}}
	r.Obs["patch"] = seen
	file := r.Path(patchFile)
	p.OnSyscall = func(s *trace.Stop) {
		sc := s.Syscall
		if s.Proc.Parent != 0 {
			return
		}
		switch {
		case s.Exit && sc.Name == "mmap" && sc.OK() && sc.FdPath == file:
			seen.mu.Lock()
			seen.maps = append(seen.maps, sc)
			seen.mu.Unlock()
		case !s.Exit && sc.Name == "munmap":
			seen.read(s, sc.Arg(0), "munmap")
		}
	}
	p.OnExit = func(s *trace.Stop) {
		if s.Proc.Parent == 0 {
			seen.read(s, 0, "exit")
		}
	}
}

// read records the dirty pages of the mapping starting at addr (0: of
// every mapping not yet read).
func (seen *patchSeen) read(s *trace.Stop, addr uint64, where string) {
	seen.mu.Lock()
	defer seen.mu.Unlock()
	for _, mm := range seen.maps {
		if _, done := seen.where[mm]; done {
			continue
		}
		if addr != 0 && uint64(mm.Ret) != addr {
			continue
		}
		m, err := s.Smaps(uintptr(mm.Ret))
		if err != nil || m.Start != uintptr(mm.Ret) {
			continue
		}
		seen.dirty[mm] = m.Pages("Private_Dirty", pageSize) +
			m.Pages("Shared_Dirty", pageSize)
		seen.where[mm] = where
	}
}

// eachPatch calls f for the cases that patch inside the file.
func eachPatch(p *Pass, f func(r *Result, w patchWant)) {
	p.Each(func(r *Result) {
		if w := r.Case.Want.(patchWant); !w.pastEnd() {
			r.Names[r.Path(patchFile)] = "FILE"
			f(r, w)
		}
	})
}

// patchMaps returns the mmaps of FILE in a run.
func patchMaps(r *Result) []*trace.Syscall {
	return fdMmaps(r, r.Exec(), patchFile)
}

var patchOutput = &Check{
	Name:   "output",
	Doc:    `prints exactly "patched N bytes at OFFSET (pages A-B)", exits 0`,
	Hint:   "A and B are the first and last page indices of the file that the patch touches: OFFSET / page size, and (OFFSET+N-1) / page size.",
	Points: 2,
	Run: func(p *Pass) {
		eachPatch(p, func(r *Result, w patchWant) {
			a, b := w.pages()
			stdoutIs(p, r, r.Exec(), fmt.Sprintf(
				"patched %d bytes at %d (pages %d-%d)\n", len(w.Text),
				w.Offset, a, b))
		})
	},
}

var patchContent = &Check{
	Name:   "content",
	Doc:    "FILE is the original with TEXT at OFFSET, nothing else changed",
	Hint:   "Copy TEXT to the byte of the mapping that is OFFSET in the file: the mapping starts at a page boundary, so that is OFFSET minus the mapping's file offset.",
	Points: 4,
	Run: func(p *Pass) {
		eachPatch(p, func(r *Result, w patchWant) {
			f := r.After[0][patchFile]
			want := w.patched()
			switch {
			case f == nil:
				p.Failf(r, nil, "FILE is gone")
			case !bytes.Equal(f.Data, want):
				p.Failf(r, nil, "FILE differs from the expected result "+
					"from byte %d on (the patch is at %d..%d)",
					firstDiff(want, f.Data), w.Offset,
					w.Offset+len(w.Text)-1)
			}
		})
	},
}

var patchMapping = &Check{
	Name:   "maps-only-touched-pages",
	Doc:    "maps only pages A..B of FILE: a page-aligned offset, MAP_SHARED, PROT_WRITE",
	Hint:   "The mmap offset must be a multiple of the page size: OFFSET rounded down to a page, and the length must reach the page that holds the last byte, no further.",
	Points: 4,
	Run: func(p *Pass) {
		eachPatch(p, func(r *Result, w patchWant) {
			if w.Text == "" {
				return
			}
			maps := patchMaps(r)
			a, b := w.pages()
			if len(maps) == 0 {
				failedMmap(p, r, a, b)
				return
			}
			mm := maps[0]
			first := int(mm.Arg(5)) / pageSize
			n := int(roundPages(mm.Arg(1))) / pageSize
			switch {
			case int(mm.Arg(5))%pageSize != 0:
				p.Failf(r, mm, "the mmap offset %d is not a multiple of "+
					"the page size", mm.Arg(5))
			case first != a || first+n-1 != b:
				p.Failf(r, mm, "expected pages %d-%d mapped, got pages "+
					"%d-%d", a, b, first, first+n-1)
			case !sharedMap(mm.Arg(3)) || mm.Arg(2)&unix.PROT_WRITE == 0:
				p.Failf(r, mm, "expected MAP_SHARED and PROT_WRITE, got "+
					"%s, %s", trace.ProtString(mm.Arg(2)),
					trace.MapString(mm.Arg(3)))
			}
		})
	},
}

// failedMmap reports that no mmap of FILE succeeded, quoting the one
// that failed if there is one.
func failedMmap(p *Pass, r *Result, a, b int) {
	for _, sc := range onFile(r, r.Exec(), patchFile, "mmap") {
		if sc.Failed() {
			why := ""
			if sc.Arg(5)%uint64(pageSize) != 0 {
				why = ": its offset is not a multiple of the page size"
			}
			p.Failf(r, sc, "the mmap of FILE failed with %s%s",
				trace.ErrnoString(sc.Errno), why)
			return
		}
	}
	p.Failf(r, nil, "expected an mmap of pages %d-%d of FILE; found none",
		a, b)
}

var patchMsync = &Check{
	Name:   "msync",
	Doc:    "msync(MS_SYNC) over the whole mapping, after the write, returns 0",
	Hint:   "MS_ASYNC does not wait for the write to reach the disk; MS_SYNC does. Give msync the mapping's address and length.",
	Points: 4,
	Run: func(p *Pass) {
		eachPatch(p, func(r *Result, w patchWant) {
			if w.Text == "" {
				return
			}
			maps := patchMaps(r)
			if len(maps) == 0 {
				p.Failf(r, nil, "no mapping of FILE to sync")
				return
			}
			mm := maps[0]
			start, end := uint64(mm.Ret), uint64(mm.Ret)+roundPages(mm.Arg(1))
			var last *trace.Syscall
			for _, sc := range calls(r.Exec(), "msync") {
				if !before(mm, sc) {
					continue
				}
				last = sc
				if sc.OK() && sc.Arg(2)&unix.MS_SYNC != 0 &&
					sc.Arg(2)&unix.MS_ASYNC == 0 && sc.Arg(0) <= start &&
					sc.Arg(0)+roundPages(sc.Arg(1)) >= end {
					return
				}
			}
			if last == nil {
				p.Failf(r, mm, "expected msync(MS_SYNC) over this mapping; "+
					"found no msync")
				return
			}
			p.Failf(r, last, "expected msync(..., MS_SYNC) returning 0 "+
				"over the whole mapping (%s from its start)", pages(mm.Arg(1)))
		})
	},
}

var patchClean = &Check{
	Name:   "clean-at-munmap",
	Doc:    "when the mapping is unmapped, the kernel reports no dirty page in it",
	Hint:   "msync(MS_SYNC) after the last store: it returns once the pages are written back, and /proc/PID/smaps then shows them clean.",
	Points: 4,
	Run: func(p *Pass) {
		eachPatch(p, func(r *Result, w patchWant) {
			seen, _ := r.Obs["patch"].(*patchSeen)
			if w.Text == "" || seen == nil {
				return
			}
			if len(seen.maps) == 0 {
				p.Failf(r, nil, "no mapping of FILE to look at")
				return
			}
			for _, mm := range seen.maps {
				where, ok := seen.where[mm]
				switch {
				case !ok:
					p.Failf(r, mm, "the checker could not read the "+
						"mapping's smaps")
				case seen.dirty[mm] > 0:
					p.Failf(r, mm, "at its %s, /proc/PID/smaps showed %s "+
						"of the mapping still dirty", where,
						pages(uint64(seen.dirty[mm]*pageSize)))
				}
			}
		})
	},
}

var patchEmpty = &Check{
	Name:   "empty-text",
	Doc:    `an empty TEXT maps nothing, changes nothing, and prints pages A-A`,
	Hint:   "With nothing to write there is nothing to map (a zero-length mmap is EINVAL): print the line and stop.",
	Points: 1,
	Run: func(p *Pass) {
		eachPatch(p, func(r *Result, w patchWant) {
			if w.Text != "" {
				return
			}
			a, _ := w.pages()
			want := fmt.Sprintf("patched 0 bytes at %d (pages %d-%d)\n",
				w.Offset, a, a)
			if !stdoutIs(p, r, r.Exec(), want) {
				return
			}
			if maps := patchMaps(r); len(maps) > 0 {
				p.Failf(r, maps[0], "expected no mapping for an empty TEXT")
			}
		})
	},
}

var patchPastEnd = &Check{
	Name:   "past-end",
	Doc:    `a patch past the end exits 1 ("past end of file"), FILE unchanged, no SIGBUS`,
	Hint:   "Compare OFFSET+len(TEXT) with the file's size (fstat) before you map: a store past the end of the file is a SIGBUS.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			w := r.Case.Want.(patchWant)
			if !w.pastEnd() {
				return
			}
			e, f := r.Exec(), r.After[0][patchFile]
			switch {
			case len(e.Faults) > 0:
				p.Failf(r, nil, "%s", e.Faults[0].Explain(r.Names))
			case e.ExitCode != 1:
				p.Failf(r, nil, "expected exit status 1, got %s", status(e))
			case !strings.Contains(string(e.Stderr), "past end of file"):
				p.Failf(r, nil, "expected a message with \"past end of "+
					"file\", got %q", clip(e.Stderr))
			case f == nil || !bytes.Equal(f.Data, w.original()):
				p.Failf(r, nil, "FILE was changed")
			}
		})
	},
}
