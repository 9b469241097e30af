package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// IO is what /proc/PID/io counts for a whole process: the bytes its
// system calls asked to read and write (rchar, wchar), and the bytes that
// really went to or came from the storage layer (read_bytes, write_bytes),
// page faults and write-back included. A read served by the page cache
// counts in rchar only; a page fault that reads a file counts in
// read_bytes only. It needs CONFIG_TASK_IO_ACCOUNTING.
type IO struct {
	ReadChars           int64 // rchar
	WriteChars          int64 // wchar
	ReadBytes           int64 // read_bytes
	WriteBytes          int64 // write_bytes
	CancelledWriteBytes int64 // cancelled_write_bytes
}

// Sub returns the counts between before and c.
func (c IO) Sub(before IO) IO {
	return IO{
		ReadChars:           c.ReadChars - before.ReadChars,
		WriteChars:          c.WriteChars - before.WriteChars,
		ReadBytes:           c.ReadBytes - before.ReadBytes,
		WriteBytes:          c.WriteBytes - before.WriteBytes,
		CancelledWriteBytes: c.CancelledWriteBytes - before.CancelledWriteBytes,
	}
}

// ParseIO parses the "name: value" lines of /proc/PID/io. Lines it does
// not know are ignored; the five counters of IO must all be there.
func ParseIO(r io.Reader) (IO, error) {
	var c IO
	fields := map[string]*int64{
		"rchar":                 &c.ReadChars,
		"wchar":                 &c.WriteChars,
		"read_bytes":            &c.ReadBytes,
		"write_bytes":           &c.WriteBytes,
		"cancelled_write_bytes": &c.CancelledWriteBytes,
	}
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		dst := fields[key]
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return IO{}, fmt.Errorf("bad %s: %w", key, err)
		}
		*dst = n
		seen++
	}
	if err := sc.Err(); err != nil {
		return IO{}, err
	}
	if seen != len(fields) {
		return IO{}, fmt.Errorf("io: %d of %d counters", seen, len(fields))
	}
	return c, nil
}

// ReadIO reads /proc/PID/io; pid 0 means this process.
func ReadIO(pid int) (IO, error) {
	f, err := os.Open(path(pid, "io"))
	if err != nil {
		return IO{}, err
	}
	defer f.Close()
	c, err := ParseIO(f)
	if err != nil {
		return IO{}, fmt.Errorf("parse %s: %w", path(pid, "io"), err)
	}
	return c, nil
}
