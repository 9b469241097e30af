package check

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/trace"
)

// copyLab is exercise 03-mmap-readwrite: "mmapcopy SRC DST".
var copyLab = &Lab{
	ID: "03", Name: "03-mmap-readwrite", Command: "mmapcopy",
	Cases: []*Case{
		copyCase(0, false),
		copyCase(1, false),
		copyCase(pageSize, false),
		copyCase(pageSize+1, false),
		copyCase(3*pageSize+17, false),
		copyCase(pageSize+1, true),
		copyCase(8<<20, false),
		copyMissing(),
		usageCase(), usageCase(copySrc), usageCase(copySrc, copyDst, "x"),
	},
	Checks: []*Check{
		copyOutput, copyContent, copyMode, copyNoReadWrite, copyDstOpen,
		copyTruncFirst, copyDstMmap, copySrcMmap, copyUnmapped,
		copyEmpty, copyMissingSrc, usageErrors, runsCleanly, leavesNothing, staysInside,
	},
}

// The names of the case's files.
const (
	copySrc = "src.bin"
	copyDst = "dst.bin"
)

// copyWant is what a copy case expects.
type copyWant struct {
	Size    int
	Missing bool // SRC does not exist
}

// copyCase copies a SRC of size random bytes; with dstExists, DST is
// already there and longer, and must be truncated.
func copyCase(size int, dstExists bool) *Case {
	name := fmt.Sprintf("copy %d bytes", size)
	if dstExists {
		name += " over a longer DST"
	}
	return &Case{Name: name, Steps: [][]string{{copySrc, copyDst}},
		Want: copyWant{Size: size},
		Setup: func(dir string) error {
			data := make([]byte, size)
			rand.New(rand.NewSource(int64(size))).Read(data)
			err := os.WriteFile(filepath.Join(dir, copySrc), data, 0o644)
			if err != nil || !dstExists {
				return err
			}
			return os.WriteFile(filepath.Join(dir, copyDst),
				bytes.Repeat([]byte("old"), size+pageSize), 0o644)
		}}
}

// copyMissing gives a SRC that does not exist.
func copyMissing() *Case {
	return &Case{Name: "missing SRC", Steps: [][]string{{copySrc, copyDst}},
		Want: copyWant{Missing: true}}
}

// eachCopy calls f for the cases that copy a file.
func eachCopy(p *Pass, f func(r *Result, w copyWant)) {
	p.Each(func(r *Result) {
		if w := r.Case.Want.(copyWant); !w.Missing {
			r.Names[r.Path(copySrc)] = "SRC"
			r.Names[r.Path(copyDst)] = "DST"
			f(r, w)
		}
	})
}

var copyOutput = &Check{
	Name:   "output",
	Doc:    `prints exactly "copied N bytes", exits 0`,
	Hint:   "N is the size of SRC in bytes; print nothing else on stdout.",
	Points: 2,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			stdoutIs(p, r, r.Exec(), fmt.Sprintf("copied %d bytes\n", w.Size))
		})
	},
}

var copyContent = &Check{
	Name:   "copy",
	Doc:    "DST equals SRC byte for byte",
	Hint:   "Size DST to SRC's size with ftruncate, map both, copy(dst, src), unmap.",
	Points: 5,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			src, dst := r.After[0][copySrc], r.After[0][copyDst]
			switch {
			case dst == nil:
				p.Failf(r, nil, "expected DST; there is none")
			case dst.Size != src.Size:
				p.Failf(r, nil, "expected %d bytes in DST, got %d",
					src.Size, dst.Size)
			case !bytes.Equal(dst.Data, src.Data):
				p.Failf(r, nil, "DST differs from SRC from byte %d on",
					firstDiff(src.Data, dst.Data))
			}
		})
	},
}

var copyMode = &Check{
	Name:   "dst-mode",
	Doc:    "a new DST gets mode 0644 (0644 &^ umask 022)",
	Hint:   "Pass the mode 0644 to open together with O_CREAT.",
	Points: 1,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			if r.Before[copyDst] != nil {
				return // an existing DST keeps its mode
			}
			switch dst := r.After[0][copyDst]; {
			case dst == nil:
				p.Failf(r, nil, "expected DST; there is none")
			case dst.Mode != 0o644:
				p.Failf(r, nil, "expected mode 0644, got %#o", dst.Mode)
			}
		})
	},
}

// readWriteCalls move a file's data through a buffer or between files.
var readWriteCalls = append([]string{"read", "pread64", "readv", "preadv",
	"preadv2", "sendfile", "copy_file_range", "splice"}, writeCalls...)

var copyNoReadWrite = &Check{
	Name:   "no-read-write",
	Doc:    "no read, write, sendfile, copy_file_range or splice on SRC or DST",
	Hint:   "The data must move through the mappings: copy(dst, src) between the two mapped byte slices.",
	Points: 4,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			if w.Size > 0 && (len(fdMmaps(r, r.Exec(), copySrc)) == 0 ||
				len(fdMmaps(r, r.Exec(), copyDst)) == 0) {
				p.Failf(r, nil, "expected both files mapped; the data "+
					"cannot have moved through mappings")
				return
			}
			for _, name := range []string{copySrc, copyDst} {
				if sc := onFile(r, r.Exec(), name, readWriteCalls...); len(sc) > 0 {
					p.Failf(r, sc[0], "expected no %s on %s's descriptor",
						sc[0].Name, r.Names[r.Path(name)])
					return
				}
			}
		})
	},
}

// dstOpen returns the open of DST, or fails.
func dstOpen(p *Pass, r *Result) *trace.Syscall {
	opened := opens(r, r.Exec(), copyDst)
	if len(opened) == 0 {
		p.Failf(r, nil, "no successful open of DST in the trace")
		return nil
	}
	return opened[0]
}

var copyDstOpen = &Check{
	Name:   "dst-rdwr",
	Doc:    "DST is opened O_RDWR",
	Hint:   "A writable shared mapping needs a descriptor open for reading and writing: O_RDWR|O_CREAT|O_TRUNC, not O_WRONLY.",
	Points: 2,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			if sc := dstOpen(p, r); sc != nil &&
				openFlags(sc)&unix.O_ACCMODE != unix.O_RDWR {
				p.Failf(r, sc, "expected O_RDWR, got %s",
					trace.OpenString(openFlags(sc)))
			}
		})
	},
}

var copyTruncFirst = &Check{
	Name:   "ftruncate-first",
	Doc:    "ftruncate(DST, size of SRC) before DST is mapped",
	Hint:   "Mapping DST before sizing it does not fail on Linux, but the order matters: size the file first, then map it.",
	Points: 3,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			if w.Size == 0 {
				return
			}
			e := r.Exec()
			maps := fdMmaps(r, e, copyDst)
			var first *trace.Syscall
			if len(maps) > 0 {
				first = maps[0]
			}
			for _, sc := range onFile(r, e, copyDst, "ftruncate") {
				if sc.OK() && sc.Arg(1) == uint64(w.Size) &&
					(first == nil || before(sc, first)) {
					return
				}
			}
			p.Failf(r, first, "expected ftruncate(DST, %d) before DST's "+
				"mmap; found none", w.Size)
		})
	},
}

var copyDstMmap = &Check{
	Name:   "dst-mmap",
	Doc:    "DST is mapped MAP_SHARED with PROT_WRITE",
	Hint:   "Only a shared mapping writes back to the file; MAP_PRIVATE keeps the copy in the process.",
	Points: 3,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			if w.Size == 0 {
				return
			}
			wantSharedWritable(p, r, fdMmaps(r, r.Exec(), copyDst), "DST")
		})
	},
}

var copySrcMmap = &Check{
	Name:   "src-mmap",
	Doc:    "SRC is mapped, without PROT_WRITE",
	Hint:   "Map SRC read-only (PROT_READ) from a descriptor opened O_RDONLY.",
	Points: 3,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			if w.Size == 0 {
				return
			}
			maps := fdMmaps(r, r.Exec(), copySrc)
			switch {
			case len(maps) == 0:
				p.Failf(r, nil, "expected an mmap of SRC; found none")
			case maps[0].Arg(2)&unix.PROT_WRITE != 0:
				p.Failf(r, maps[0], "expected no PROT_WRITE, got %s",
					trace.ProtString(maps[0].Arg(2)))
			}
		})
	},
}

var copyUnmapped = &Check{
	Name:   "unmapped",
	Doc:    "both mappings are unmapped before exit",
	Hint:   "Call unix.Munmap on each mapping when the copy is done.",
	Points: 1,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			for _, name := range []string{copySrc, copyDst} {
				maps := fdMmaps(r, r.Exec(), name)
				if w.Size > 0 && len(maps) == 0 {
					p.Failf(r, nil, "expected a mapping of %s to unmap; "+
						"found none", r.Names[r.Path(name)])
					return
				}
				for _, mm := range maps {
					if !unmapped(r.Exec(), mm) {
						p.Failf(r, mm, "expected an munmap of the mapping "+
							"of %s; found none", r.Names[r.Path(name)])
						return
					}
				}
			}
		})
	},
}

var copyEmpty = &Check{
	Name:   "empty-src",
	Doc:    "an empty SRC gives an empty DST, without mapping anything",
	Hint:   "A zero-length mmap is EINVAL (and Go's unix.Mmap refuses it before the syscall): when SRC is empty, create DST and stop there.",
	Points: 2,
	Run: func(p *Pass) {
		eachCopy(p, func(r *Result, w copyWant) {
			if w.Size != 0 {
				return
			}
			e, dst := r.Exec(), r.After[0][copyDst]
			switch {
			case e.ExitCode != 0:
				p.Failf(r, nil, "expected exit status 0, got %s; stderr: %q",
					status(e), clip(e.Stderr))
			case dst == nil || dst.Size != 0:
				p.Failf(r, nil, "expected an empty DST")
			}
		})
	},
}

var copyMissingSrc = &Check{
	Name:   "missing-src",
	Doc:    "a missing SRC exits 1, and DST is not created",
	Hint:   "Open SRC first; if that fails, report the error on stderr and exit 1 before touching DST.",
	Points: 2,
	Run: func(p *Pass) {
		if !p.Working() {
			return
		}
		p.Each(func(r *Result) {
			if !r.Case.Want.(copyWant).Missing {
				return
			}
			e := r.Exec()
			switch {
			case e.ExitCode != 1:
				p.Failf(r, nil, "expected exit status 1, got %s", status(e))
			case lines(e.Stderr) != 1:
				p.Failf(r, nil, "expected one line on stderr, got %q",
					clip(e.Stderr))
			case r.After[0][copyDst] != nil:
				p.Failf(r, nil, "expected no DST, but it was created")
			}
		})
	},
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
