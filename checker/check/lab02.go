package check

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// createLab is exercise 02-open-flags: "create PATH SIZE".
var createLab = &Lab{
	ID: "02", Name: "02-open-flags", Command: "create",
	Cases: []*Case{
		createCase(8),
		createCase(pageSize),
		createCase(pageSize + 1),
		createCase(5<<20 + 3),
		createTwice(pageSize),
		createUsage(), createUsage(createFile),
		createUsage(createFile, "7"), createUsage(createFile, "x"),
		createUsage(createFile, "-8"), createUsage(createFile, "8", "extra"),
	},
	Checks: []*Check{
		createOutput, createContent, createMode, createRefuses,
		createOpen, createTruncFirst, createMmap, createNoWrite,
		usageErrors, runsCleanly, leavesNothing, staysInside,
	},
}

// createFile is the PATH the cases give the program.
const createFile = "new.bin"

// header is what the contract writes at the start of the file.
const header = "MMAPLAB\n"

// createWant is what a create case expects.
type createWant struct{ Size int }

func createCase(size int) *Case {
	return &Case{Name: fmt.Sprintf("create %d", size),
		Steps: [][]string{{createFile, strconv.Itoa(size)}},
		Want:  createWant{size}}
}

// createTwice runs the program twice on the same PATH: the second run
// must refuse.
func createTwice(size int) *Case {
	args := []string{createFile, strconv.Itoa(size)}
	return &Case{Name: "create twice", Steps: [][]string{args, args},
		Want: createWant{size}}
}

func createUsage(args ...string) *Case {
	c := usageCase(args...)
	c.Name = "create usage " + strings.Join(args, " ")
	return c
}

// createdOpen returns the open that created PATH in run e, or fails.
func createdOpen(p *Pass, r *Result, e *run.Exec) *trace.Syscall {
	opened := opens(r, e, createFile)
	if len(opened) == 0 {
		p.Failf(r, nil, "no successful open of %s in the trace", createFile)
		return nil
	}
	return opened[0]
}

var createOutput = &Check{
	Name:   "output",
	Doc:    `prints exactly "created PATH: SIZE bytes, P pages", exits 0`,
	Hint:   "P is SIZE divided by the page size, rounded up; print nothing else on stdout.",
	Points: 2,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			size := r.Case.Want.(createWant).Size
			want := fmt.Sprintf("created %s: %d bytes, %d pages\n",
				createFile, size, (size+pageSize-1)/pageSize)
			stdoutIs(p, r, r.Exec(), want)
		})
	},
}

var createContent = &Check{
	Name:   "content",
	Doc:    `PATH has exactly SIZE bytes: "MMAPLAB\n", then zeros`,
	Hint:   "ftruncate sets the size (and fills it with zeros); the 8 header bytes go through the shared mapping.",
	Points: 4,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			size := r.Case.Want.(createWant).Size
			f := r.After[0][createFile]
			want := append([]byte(header), make([]byte, size-len(header))...)
			switch {
			case f == nil:
				p.Failf(r, nil, "expected the file %s; there is none",
					createFile)
			case f.Size != int64(size):
				p.Failf(r, nil, "expected %d bytes, the file has %d",
					size, f.Size)
			case !bytes.Equal(f.Data, want):
				p.Failf(r, nil, "expected %q then zeros; the file "+
					"starts with %q", header, prefix(f.Data, 16))
			}
		})
	},
}

var createMode = &Check{
	Name:   "mode",
	Doc:    "PATH is created with mode 0640 (0640 &^ umask 022)",
	Hint:   "Pass the mode 0640 to open together with O_CREAT.",
	Points: 2,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			switch f := r.After[0][createFile]; {
			case f == nil:
				p.Failf(r, nil, "expected the file %s; there is none",
					createFile)
			case f.Mode != 0o640:
				p.Failf(r, nil, "expected mode 0640, got %#o", f.Mode)
			}
		})
	},
}

var createRefuses = &Check{
	Name:   "refuses-existing",
	Doc:    `a second run on the same PATH exits 1 ("exists") and changes nothing`,
	Hint:   "O_EXCL makes open fail with EEXIST when PATH exists; report that error and leave the file alone.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			if len(r.Execs) < 2 {
				return
			}
			e, first, second := r.Execs[1], r.After[0][createFile],
				r.After[1][createFile]
			switch {
			case e.ExitCode != 1:
				p.Failf(r, nil, "the second run: expected exit status 1, "+
					"got %s", status(e))
			case !strings.Contains(string(e.Stderr), "exists"):
				p.Failf(r, nil, "the second run: expected a message that "+
					"says the file exists, got %q", clip(e.Stderr))
			case first == nil || second == nil:
				p.Failf(r, nil, "the file is gone after the second run")
			case first.Size != second.Size ||
				!bytes.Equal(first.Data, second.Data) ||
				!first.ModTime.Equal(second.ModTime):
				p.Failf(r, nil, "the second run changed the file (size "+
					"%d -> %d, or its content or modification time)",
					first.Size, second.Size)
			}
		})
	},
}

// createOpenFlags are the flags the contract allows beside the required
// O_RDWR|O_CREAT|O_EXCL.
const createOpenFlags = unix.O_CLOEXEC | unix.O_LARGEFILE | unix.O_NOFOLLOW

var createOpen = &Check{
	Name:   "open-flags",
	Doc:    "opens PATH with O_RDWR|O_CREAT|O_EXCL and mode 0640",
	Hint:   "O_RDWR, not O_WRONLY: a writable shared mapping needs a descriptor open for reading too. O_EXCL, never O_TRUNC: an existing file must not be destroyed.",
	Points: 4,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			sc := createdOpen(p, r, r.Exec())
			if sc == nil {
				return
			}
			flags := openFlags(sc)
			want := uint64(unix.O_RDWR | unix.O_CREAT | unix.O_EXCL)
			switch {
			case flags&^createOpenFlags != want:
				p.Failf(r, sc, "expected O_RDWR|O_CREAT|O_EXCL "+
					"(O_CLOEXEC allowed), got %s", trace.OpenString(flags))
			case openMode(sc)&0o7777 != 0o640:
				p.Failf(r, sc, "expected mode 0640, got %#o",
					openMode(sc)&0o7777)
			}
		})
	},
}

var createTruncFirst = &Check{
	Name:   "ftruncate-first",
	Doc:    "ftruncate(fd, SIZE) before the mmap",
	Hint:   "A new file has 0 bytes: give it its size with ftruncate before you map it, or the first store past the end is a SIGBUS.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			e, size := r.Exec(), uint64(r.Case.Want.(createWant).Size)
			maps := fdMmaps(r, e, createFile)
			for _, sc := range onFile(r, e, createFile, "ftruncate") {
				if sc.OK() && sc.Arg(1) == size &&
					(len(maps) == 0 || before(sc, maps[0])) {
					return
				}
			}
			var first *trace.Syscall
			if len(maps) > 0 {
				first = maps[0]
			}
			p.Failf(r, first, "expected ftruncate(fd, %d) before the "+
				"mmap; found none", size)
		})
	},
}

var createMmap = &Check{
	Name:   "mmap",
	Doc:    "maps SIZE bytes at offset 0, PROT_READ|PROT_WRITE, MAP_SHARED",
	Hint:   "Only MAP_SHARED writes reach the file; MAP_PRIVATE gives the process a private copy.",
	Points: 4,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			size := uint64(r.Case.Want.(createWant).Size)
			maps := fdMmaps(r, r.Exec(), createFile)
			if len(maps) == 0 {
				p.Failf(r, nil, "expected an mmap of %s; found none",
					createFile)
				return
			}
			mm := maps[0]
			switch {
			case roundPages(mm.Arg(1)) != roundPages(size) || mm.Arg(5) != 0:
				p.Failf(r, mm, "expected the whole file (%s) from "+
					"offset 0, got %s from offset %d", pages(size),
					pages(mm.Arg(1)), mm.Arg(5))
			case mm.Arg(2) != unix.PROT_READ|unix.PROT_WRITE:
				p.Failf(r, mm, "expected PROT_READ|PROT_WRITE, got %s",
					trace.ProtString(mm.Arg(2)))
			case !sharedMap(mm.Arg(3)):
				p.Failf(r, mm, "expected MAP_SHARED, got %s",
					trace.MapString(mm.Arg(3)))
			}
		})
	},
}

// sharedMap reports MAP_SHARED or MAP_SHARED_VALIDATE.
func sharedMap(flags uint64) bool {
	t := flags & unix.MAP_TYPE
	return t == unix.MAP_SHARED || t == unix.MAP_SHARED_VALIDATE
}

// writeCalls are the syscalls that write a file's data from a buffer.
var writeCalls = []string{"write", "pwrite64", "writev", "pwritev",
	"pwritev2"}

var createNoWrite = &Check{
	Name:   "no-write",
	Doc:    "writes the header through the mapping, never with write or pwrite",
	Hint:   "Copy the header into the mapped bytes: copy(m, \"MMAPLAB\\n\").",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			if createdOpen(p, r, r.Exec()) == nil {
				return
			}
			if ws := onFile(r, r.Exec(), createFile, writeCalls...); len(ws) > 0 {
				p.Failf(r, ws[0], "expected no write to the file's "+
					"descriptor; found %d", len(ws))
			}
		})
	},
}

func prefix(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
