// Package proc reads what the kernel publishes about a process's memory in
// /proc: its mappings (maps, smaps), which of its pages are present in its
// page table (pagemap), page flags (kpageflags, root only) and its fault
// counters (getrusage).
//
// The parsers take an io.Reader so that they can be tested on recorded
// files; the Read functions open the live files of a process.
package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mapping is one line of /proc/PID/maps, plus, when read from smaps, the
// counters that follow it (in kB, as the kernel prints them).
type Mapping struct {
	Start, End uintptr // [Start, End)
	Perms      string  // "rw-s": read, write, execute, shared or private
	Offset     uint64  // file offset of Start
	Dev        string  // major:minor of the file's device
	Inode      uint64
	Path       string           // file path, "[heap]", "/dev/zero (deleted)", or ""
	KB         map[string]int64 // smaps counters: "Rss", "Private_Dirty", ...
}

// Contains reports whether addr lies inside the mapping.
func (m Mapping) Contains(addr uintptr) bool {
	return addr >= m.Start && addr < m.End
}

// Shared reports whether the mapping is MAP_SHARED ("s" in its permissions).
func (m Mapping) Shared() bool { return strings.HasSuffix(m.Perms, "s") }

// Can reports whether the mapping allows access, one of 'r', 'w', 'x'.
func (m Mapping) Can(access byte) bool {
	return strings.IndexByte(m.Perms[:3], access) >= 0
}

// Pages converts one smaps counter from kB to pages of pageSize bytes.
func (m Mapping) Pages(field string, pageSize int) int {
	return int(m.KB[field] * 1024 / int64(pageSize))
}

// ParseMaps parses /proc/PID/maps or /proc/PID/smaps. Smaps counter lines
// ("Rss:   8 kB") are collected into KB of the mapping above them.
func ParseMaps(r io.Reader) ([]Mapping, error) {
	var maps []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if key, kb, ok := parseCounter(text); ok {
			if len(maps) == 0 {
				return nil, fmt.Errorf("line %d: counter before any mapping", line)
			}
			maps[len(maps)-1].KB[key] = kb
			continue
		}
		if isAttributeLine(text) {
			continue // VmFlags, THPeligible, ProtectionKey: not needed
		}
		m, err := parseMapLine(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		maps = append(maps, m)
	}
	return maps, sc.Err()
}

// parseMapLine parses "start-end perms offset dev inode [path]".
func parseMapLine(s string) (Mapping, error) {
	f := strings.Fields(s)
	if len(f) < 5 {
		return Mapping{}, fmt.Errorf("not a mapping: %q", s)
	}
	start, end, ok := strings.Cut(f[0], "-")
	if !ok {
		return Mapping{}, fmt.Errorf("bad range %q", f[0])
	}
	var m Mapping
	var errs [4]error
	var u uint64
	u, errs[0] = strconv.ParseUint(start, 16, 64)
	m.Start = uintptr(u)
	u, errs[1] = strconv.ParseUint(end, 16, 64)
	m.End = uintptr(u)
	m.Offset, errs[2] = strconv.ParseUint(f[2], 16, 64)
	m.Inode, errs[3] = strconv.ParseUint(f[4], 10, 64)
	for _, err := range errs {
		if err != nil {
			return Mapping{}, fmt.Errorf("bad mapping %q: %w", s, err)
		}
	}
	if len(f[1]) != 4 {
		return Mapping{}, fmt.Errorf("bad permissions %q", f[1])
	}
	m.Perms, m.Dev = f[1], f[3]
	// The path is the rest of the line after the inode, spaces included.
	if len(f) > 5 {
		m.Path = strings.TrimSpace(s[strings.Index(s, f[5]):])
	}
	m.KB = map[string]int64{}
	return m, nil
}

// parseCounter parses an smaps counter line such as "Private_Dirty:  4 kB".
func parseCounter(s string) (key string, kb int64, ok bool) {
	key, rest, found := strings.Cut(s, ":")
	if !found || strings.ContainsAny(key, " -") {
		return "", 0, false
	}
	f := strings.Fields(rest)
	if len(f) != 2 || f[1] != "kB" {
		return "", 0, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return key, n, true
}

// isAttributeLine reports smaps lines that are neither a mapping nor a
// counter, such as "VmFlags: rd wr mr" or "THPeligible: 0".
func isAttributeLine(s string) bool {
	key, _, found := strings.Cut(s, ":")
	return found && key != "" && !strings.ContainsAny(key, " -")
}

// ReadMaps reads /proc/PID/maps; pid 0 means this process.
func ReadMaps(pid int) ([]Mapping, error) {
	return readMapsFile(path(pid, "maps"))
}

// ReadSmaps reads /proc/PID/smaps; pid 0 means this process.
func ReadSmaps(pid int) ([]Mapping, error) {
	return readMapsFile(path(pid, "smaps"))
}

// SmapsAt returns the smaps entry of the mapping that contains addr in
// process pid (0 for this process).
func SmapsAt(pid int, addr uintptr) (Mapping, error) {
	maps, err := ReadSmaps(pid)
	if err != nil {
		return Mapping{}, err
	}
	return Find(maps, addr)
}

// Find returns the mapping that contains addr.
func Find(maps []Mapping, addr uintptr) (Mapping, error) {
	for _, m := range maps {
		if m.Contains(addr) {
			return m, nil
		}
	}
	return Mapping{}, fmt.Errorf("no mapping contains address %#x", addr)
}

func readMapsFile(name string) ([]Mapping, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	maps, err := ParseMaps(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return maps, nil
}

// path returns /proc/self/NAME for pid 0, else /proc/PID/NAME.
func path(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}
