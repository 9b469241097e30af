package main

import (
	"github.com/mmaplab/mmaplab/internal/lab"
)

// limit measures copy() in memory, the limit every method is held to.
func limit(l *lab.Lab) error {
	l.Talk("Example with full benchmarks comparing memory mapped " +
		"writing to other output methods")
	s, err := sessionFor(l)
	if err != nil {
		return err
	}
	l.Say("the limit: copy() from the source into memory that is " +
		"already present; writing into the page cache copies the same " +
		"bytes and does more")
	r, err := s.copyLimit()
	if err != nil {
		return err
	}
	report(l, r)
	l.Claim(r.all(func(s sample) bool { return s.faults == 0 }),
		"copy() into present memory took no page fault")
	return nil
}

// syscalls measures the methods that hand the kernel a buffer.
func syscalls(l *lab.Lab) error {
	s, err := sessionFor(l)
	if err != nil {
		return err
	}
	l.Talk("Note: functions can return earlier on the chain depending " +
		"on buffering, size of data, previous operations, etc.")
	l.Talk("Note: depending on buffering/caching and previous " +
		"operations, not every syscall results in a read/write.")
	l.Say("bufio gathers small writes and calls write() when its buffer " +
		"is full; write() copies the buffer into the page cache and " +
		"returns; the kernel writes the dirty pages to the disk later, " +
		"or when fsync asks")
	return s.run(l, 1)
}

// mapped measures ftruncate + mmap + copy(), plain and with the ways to
// take the page faults out of the copy.
func mapped(l *lab.Lab) error {
	s, err := sessionFor(l)
	if err != nil {
		return err
	}
	l.Talk("Reading and Writing: Read and write just like an array; OS " +
		"transparently handles page faults and write-back; Note, page " +
		"faults do cause latency")
	l.Talk("MAP_POPULATE: Pre-pagefault whole mapping")
	return s.run(l, 2)
}
