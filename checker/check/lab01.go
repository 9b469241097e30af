package check

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// pagesLab is exercise 01-pages: "pages N LIST".
var pagesLab = &Lab{
	ID: "01", Name: "01-pages", Command: "pages",
	Cases: []*Case{
		pagesCase(1, ""),
		pagesCase(1, "0"),
		pagesCase(16, "0,2,8"),
		pagesCase(64, "63"),
		pagesCase(256, "0,1,100,200,255"),
		pagesCase(256, ""),
		pagesCase(100000, "0,50000,99999"),
		usageCase(), usageCase("8"), usageCase("0", "-"),
		usageCase("100001", "-"), usageCase("x", "-"),
		usageCase("8", "8"), usageCase("8", "1,1"), usageCase("8", "a"),
		usageCase("8", "-", "extra"),
	},
	Observe: observeMincore,
	Checks: []*Check{
		pagesOutput, pagesPageSize, pagesResidency, pagesMincoreMap,
		pagesMmap, pagesNoHuge, pagesMincoreRange, pagesMunmap,
		pagesLiteral, usageErrors, runsCleanly, leavesNothing, staysInside,
	},
}

// pagesWant is what a pages case expects.
type pagesWant struct {
	N    int
	List []int
}

// pagesCase runs "pages n list"; an empty list is "-".
func pagesCase(n int, list string) *Case {
	w := pagesWant{N: n}
	arg := "-"
	if list != "" {
		arg = list
		for _, f := range strings.Split(list, ",") {
			k, _ := strconv.Atoi(f)
			w.List = append(w.List, k)
		}
	}
	return &Case{Name: fmt.Sprintf("%d-%s", n, arg),
		Steps: [][]string{{strconv.Itoa(n), arg}}, Want: w}
}

// usageCase runs the program with arguments that are a usage error.
func usageCase(args ...string) *Case {
	return &Case{Name: "usage " + strings.Join(args, " "),
		Steps: [][]string{args}, Usage: true}
}

// mincoreSeen is the residency vector a mincore call returned, read from
// the program's memory at the call's exit.
type mincoreSeen struct {
	Call *trace.Syscall
	Vec  []byte
}

// observeMincore reads the vector of every successful mincore at its
// exit; the last one is the map the program should print.
func observeMincore(r *Result, p *run.Program) {
	p.OnSyscall = func(s *trace.Stop) {
		sc := s.Syscall
		if !s.Exit || sc.Name != "mincore" || !sc.OK() {
			return
		}
		n := int(roundPages(sc.Arg(1)) / uint64(pageSize))
		if n > 1<<20 {
			return
		}
		vec, err := s.ReadMem(uintptr(sc.Arg(2)), n)
		if err == nil {
			r.Obs["mincore"] = &mincoreSeen{Call: sc, Vec: vec}
		}
	}
}

// wantMap is the residency map of the contract: '#' for listed pages.
func (w pagesWant) wantMap() string {
	b := []byte(strings.Repeat(".", w.N))
	for _, k := range w.List {
		b[k] = '#'
	}
	return string(b)
}

// printedMap returns the map of the "resident:" line, or false.
func printedMap(e *run.Exec) (string, bool) {
	for _, line := range strings.Split(string(e.Stdout), "\n") {
		if m, ok := strings.CutPrefix(line, "resident: "); ok {
			return m, true
		}
	}
	return "", false
}

var pagesOutput = &Check{
	Name:   "output",
	Doc:    `prints exactly "page size: P" and "resident: MAP", exits 0`,
	Hint:   `Two lines and nothing else on stdout: "page size: P" with the real page size, and "resident: " followed by one character per page, '#' or '.'.`,
	Points: 2,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			e, w := r.Exec(), r.Case.Want.(pagesWant)
			m, _ := printedMap(e)
			if len(m) != w.N || strings.Trim(m, "#.") != "" {
				m = w.wantMap() // the map's content is another check
			}
			want := fmt.Sprintf("page size: %d\nresident: %s\n", pageSize, m)
			stdoutIs(p, r, e, want)
		})
	},
}

var pagesPageSize = &Check{
	Name:   "page-size",
	Doc:    "prints the real page size, asked of the OS",
	Hint:   "Use unix.Getpagesize() or os.Getpagesize(): pages are 16 or 64 KiB on some machines.",
	Points: 2,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			first, _, _ := strings.Cut(string(r.Exec().Stdout), "\n")
			if want := fmt.Sprintf("page size: %d", pageSize); first != want {
				p.Failf(r, nil, "expected %q, got %q", want, first)
			}
		})
	},
}

var pagesResidency = &Check{
	Name:   "residency",
	Doc:    "exactly the listed pages are resident",
	Hint:   "Write one byte to each listed page and nothing else; MADV_NOHUGEPAGE keeps the kernel from making a whole huge page resident at once.",
	Points: 4,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			w := r.Case.Want.(pagesWant)
			got, ok := printedMap(r.Exec())
			if want := w.wantMap(); !ok || got != want {
				p.Failf(r, nil, "expected resident: %s\n"+
					"got      resident: %s", want, got)
			}
		})
	},
}

// mincoreOf returns what the case's mincore returned, or fails.
func mincoreOf(p *Pass, r *Result) *mincoreSeen {
	seen, _ := r.Obs["mincore"].(*mincoreSeen)
	if seen == nil {
		p.Failf(r, nil, "no successful mincore in the trace: the checker "+
			"finds your mapping by the address you give mincore")
	}
	return seen
}

var pagesMincoreMap = &Check{
	Name:   "map-from-mincore",
	Doc:    "the printed map is the one mincore returned",
	Hint:   "Print what the kernel answered, bit 0 of each byte of mincore's vector, not what you expect.",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			seen := mincoreOf(p, r)
			if seen == nil {
				return
			}
			var want strings.Builder
			for _, v := range seen.Vec {
				want.WriteByte(".#"[v&1])
			}
			if got, _ := printedMap(r.Exec()); got != want.String() {
				p.Failf(r, seen.Call, "mincore returned %s\n"+
					"the program printed %s", want.String(), got)
			}
		})
	},
}

// pagesMapping returns the mmap that made the mapping given to mincore.
func pagesMapping(p *Pass, r *Result) (*mincoreSeen, *trace.Syscall) {
	seen := mincoreOf(p, r)
	if seen == nil {
		return nil, nil
	}
	mm := mmapReturning(r.Exec(), seen.Call.Arg(0), seen.Call)
	if mm == nil {
		p.Failf(r, seen.Call, "no mmap returned the address given to "+
			"mincore: mincore must ask about the mapping itself")
	}
	return seen, mm
}

var pagesMmap = &Check{
	Name:   "mmap",
	Doc:    "maps exactly N pages, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS",
	Hint:   "unix.Mmap(-1, 0, N*pageSize, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS).",
	Points: 3,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			_, mm := pagesMapping(p, r)
			if mm == nil {
				return
			}
			n := uint64(r.Case.Want.(pagesWant).N)
			prot, flags := mm.Arg(2), mm.Arg(3)
			switch {
			case roundPages(mm.Arg(1)) != n*uint64(pageSize):
				p.Failf(r, mm, "expected a mapping of %d pages, got %s",
					n, pages(mm.Arg(1)))
			case prot != unix.PROT_READ|unix.PROT_WRITE:
				p.Failf(r, mm, "expected PROT_READ|PROT_WRITE, got %s",
					trace.ProtString(prot))
			case flags&unix.MAP_TYPE != unix.MAP_PRIVATE ||
				flags&unix.MAP_ANONYMOUS == 0:
				p.Failf(r, mm, "expected MAP_PRIVATE|MAP_ANONYMOUS, got %s",
					trace.MapString(flags))
			}
		})
	},
}

var pagesNoHuge = &Check{
	Name:   "nohugepage",
	Doc:    "madvise(MADV_NOHUGEPAGE) over the mapping before mincore",
	Hint:   "Call unix.Madvise(m, unix.MADV_NOHUGEPAGE) right after the mmap, before touching any page.",
	Points: 2,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			seen, mm := pagesMapping(p, r)
			if mm == nil {
				return
			}
			start, end := uint64(mm.Ret), uint64(mm.Ret)+roundPages(mm.Arg(1))
			for _, sc := range okCalls(r.Exec(), "madvise") {
				if sc.Arg(2) == unix.MADV_NOHUGEPAGE && sc.Arg(0) <= start &&
					sc.Arg(0)+roundPages(sc.Arg(1)) >= end &&
					before(mm, sc) && before(sc, seen.Call) {
					return
				}
			}
			p.Failf(r, mm, "expected madvise(MADV_NOHUGEPAGE) over this "+
				"mapping between the mmap and the mincore; found none")
		})
	},
}

var pagesMincoreRange = &Check{
	Name:   "mincore-range",
	Doc:    "mincore asks about exactly the mapping's pages",
	Hint:   "Give mincore the mapping's start address and its length in bytes, and a vector of N bytes.",
	Points: 2,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			seen, mm := pagesMapping(p, r)
			if mm == nil {
				return
			}
			if roundPages(seen.Call.Arg(1)) != roundPages(mm.Arg(1)) {
				p.Failf(r, seen.Call, "expected mincore over the whole "+
					"mapping (%s), got %s", pages(mm.Arg(1)),
					pages(seen.Call.Arg(1)))
			}
		})
	},
}

var pagesMunmap = &Check{
	Name:   "munmap",
	Doc:    "unmaps the mapping",
	Hint:   "Call unix.Munmap(m) when you are done with the memory.",
	Points: 1,
	Run: func(p *Pass) {
		p.Each(func(r *Result) {
			if _, mm := pagesMapping(p, r); mm != nil && !unmapped(r.Exec(), mm) {
				p.Failf(r, mm, "expected an munmap of this mapping; "+
					"found none")
			}
		})
	},
}

var pagesLiteral = &Check{
	Name:   "no-page-size-literal",
	Doc:    "no page-size literal (4096, 16384, 65536) in the Go source",
	Hint:   "Never type a page size: ask the OS with unix.Getpagesize().",
	Points: 2,
	Run: func(p *Pass) {
		if !p.Working() {
			return
		}
		if found := pageSizeLiterals(p.Source); len(found) > 0 {
			p.Failf(nil, nil, "page sizes typed in the source:\n%s",
				indent(strings.Join(found, "\n")))
		}
	},
}
