package check

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/run"
	"github.com/mmaplab/mmaplab/checker/trace"
)

// Queries over a run's trace, as the checks ask them. They look only at
// the program's own process (the root), and only at completed calls
// where a result matters.

// calls returns the root process's syscalls with one of the names, in
// order: those of the program, not of the launcher that confined it.
func calls(e *run.Exec, names ...string) []*trace.Syscall {
	if e == nil || e.Trace == nil || e.Trace.Root == nil {
		return nil
	}
	var out []*trace.Syscall
	for _, sc := range e.Trace.Of(e.Trace.Root.Pid) {
		if sc.Gen < e.Gen {
			continue
		}
		for _, n := range names {
			if sc.Name == n {
				out = append(out, sc)
				break
			}
		}
	}
	return out
}

// okCalls is calls restricted to calls that returned without an error.
func okCalls(e *run.Exec, names ...string) []*trace.Syscall {
	var out []*trace.Syscall
	for _, sc := range calls(e, names...) {
		if sc.OK() {
			out = append(out, sc)
		}
	}
	return out
}

// before reports whether a happened before b.
func before(a, b *trace.Syscall) bool { return a.Seq < b.Seq }

// mmapReturning returns the last successful mmap before sc that returned
// addr.
func mmapReturning(e *run.Exec, addr uint64, sc *trace.Syscall) *trace.Syscall {
	var found *trace.Syscall
	for _, m := range okCalls(e, "mmap") {
		if uint64(m.Ret) == addr && (sc == nil || before(m, sc)) {
			found = m
		}
	}
	return found
}

// opens returns the successful opens (openat, open, creat) of path, a
// file of the case, made by the root process.
func opens(r *Result, e *run.Exec, path string) []*trace.Syscall {
	var out []*trace.Syscall
	for _, sc := range okCalls(e, "openat", "open", "creat") {
		if samePath(r, sc.Path, path) {
			out = append(out, sc)
		}
	}
	return out
}

// openFlags returns the flags argument of an open call.
func openFlags(sc *trace.Syscall) uint64 {
	if sc.Name == "openat" {
		return sc.Arg(2)
	}
	if sc.Name == "creat" {
		return unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
	}
	return sc.Arg(1)
}

// openMode returns the mode argument of an open call.
func openMode(sc *trace.Syscall) uint64 {
	switch sc.Name {
	case "openat":
		return sc.Arg(3)
	case "creat":
		return sc.Arg(1)
	}
	return sc.Arg(2)
}

// onFile returns the successful calls named names whose file descriptor
// argument was path when they were made.
func onFile(r *Result, e *run.Exec, path string,
	names ...string) []*trace.Syscall {
	var out []*trace.Syscall
	for _, sc := range calls(e, names...) {
		if samePath(r, sc.FdPath, path) {
			out = append(out, sc)
		}
	}
	return out
}

// fdMmaps returns the successful mmaps of path.
func fdMmaps(r *Result, e *run.Exec, path string) []*trace.Syscall {
	var out []*trace.Syscall
	for _, sc := range onFile(r, e, path, "mmap") {
		if sc.OK() {
			out = append(out, sc)
		}
	}
	return out
}

// samePath reports whether a path seen in the trace (absolute, or
// relative to the scratch directory) names the file path of the case.
func samePath(r *Result, seen, path string) bool {
	if seen == "" {
		return false
	}
	seen = strings.TrimSuffix(seen, " (deleted)")
	if !filepath.IsAbs(seen) {
		seen = filepath.Join(r.Dir, seen)
	}
	return filepath.Clean(seen) == filepath.Clean(r.Path(path))
}

// unmapped reports whether the mapping made by mm was unmapped, whole,
// by a later munmap of the same process.
func unmapped(e *run.Exec, mm *trace.Syscall) bool {
	start := uint64(mm.Ret)
	end := start + roundPages(mm.Arg(1))
	covered := map[uint64]bool{}
	for _, u := range okCalls(e, "munmap") {
		if !before(mm, u) {
			continue
		}
		from, to := u.Arg(0), u.Arg(0)+roundPages(u.Arg(1))
		for p := max(from, start); p < min(to, end); p += uint64(pageSize) {
			covered[p] = true
		}
	}
	return uint64(len(covered))*uint64(pageSize) == end-start
}

// roundPages rounds n bytes up to whole pages, as the kernel does with
// lengths.
func roundPages(n uint64) uint64 {
	ps := uint64(pageSize)
	return (n + ps - 1) / ps * ps
}

// pages returns n bytes as a page count, for messages.
func pages(n uint64) string {
	p := roundPages(n) / uint64(pageSize)
	if p == 1 {
		return "1 page"
	}
	return fmt.Sprintf("%d pages", p)
}

// wantSharedWritable fails r unless the first of maps is MAP_SHARED with
// PROT_WRITE: what a mapping needs for stores that reach the file. what
// names the file in the message ("DST", "the object").
func wantSharedWritable(p *Pass, r *Result, maps []*trace.Syscall,
	what string) {
	switch {
	case len(maps) == 0:
		p.Failf(r, nil, "expected an mmap of %s; found none", what)
	case !sharedMap(maps[0].Arg(3)):
		p.Failf(r, maps[0], "expected MAP_SHARED, got %s",
			trace.MapString(maps[0].Arg(3)))
	case maps[0].Arg(2)&unix.PROT_WRITE == 0:
		p.Failf(r, maps[0], "expected PROT_WRITE, got %s",
			trace.ProtString(maps[0].Arg(2)))
	}
}
