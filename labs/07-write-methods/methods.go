package main

import (
	"errors"
	"fmt"
)

// A method writes the job's source bytes to a new file at the job's path.
type method struct {
	name  string // for -methods: "write-1m"
	label string // for the output: "write 1 MiB"
	group int    // its colour in the chart: 1 system calls, 2 mmap
	write func(j *job) error
}

// methods are all the ways the lab writes a file, in the order it runs
// and prints them. copy() in memory is not one: it is the limit.
var methods = []method{
	{"write-4k", "write 4 KiB", 1, writeChunks(4 << 10)},
	{"write-64k", "write 64 KiB", 1, writeChunks(64 << 10)},
	{"write-1m", "write 1 MiB", 1, writeChunks(1 << 20)},
	{"bufio", "bufio 64 B", 1, writeBufio},
	{"pwrite", "fallocate+pwrite", 1, writePreallocated},
	{"direct", "O_DIRECT 1 MiB", 1, writeDirect},
	{"mmap", "mmap", 2, writeMapped(plainMap)},
	{"populate", "mmap POPULATE_WRITE", 2, writeMapped(populateMap)},
	{"map-populate", "mmap MAP_POPULATE", 2, writeMapped(mapPopulate)},
	{"huge", "mmap HUGEPAGE", 2, writeMapped(hugeMap)},
}

// referenceMethod is the method every other is compared with, in the
// same place and with the same durability: write() with 1 MiB buffers.
const referenceMethod = "write-1m"

func methodNames() []string {
	names := make([]string, len(methods))
	for i, m := range methods {
		names[i] = m.name
	}
	return names
}

// chosenMethods returns the methods -methods names, in the lab's order.
func chosenMethods() []method {
	var chosen []method
	for _, m := range methods {
		if opts.methods.has(m.name) {
			chosen = append(chosen, m)
		}
	}
	return chosen
}

// unsupportedError says that a method cannot run in a place: the file
// system refuses a flag or a call. The lab prints it as "skipped: why".
type unsupportedError struct{ why string }

func (e *unsupportedError) Error() string { return e.why }

func unsupported(format string, args ...any) error {
	return &unsupportedError{fmt.Sprintf(format, args...)}
}

// skipReason returns why a method cannot run, if err says so.
func skipReason(err error) (string, bool) {
	var u *unsupportedError
	if errors.As(err, &u) {
		return u.why, true
	}
	return "", false
}
