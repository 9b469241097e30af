package main

import (
	"bufio"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// create makes the job's file, which must not exist yet: each run writes
// a new file, so that no run finds the blocks or pages of the one before.
func create(j *job, flags int) (int, error) {
	fd, err := unix.Open(j.path,
		unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|flags, 0o644)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", j.name(), err)
	}
	return fd, nil
}

// finish makes the file durable if the job asks for it, and closes it.
func finish(j *job, fd int) error {
	var err error
	if j.durable {
		if err = unix.Fsync(fd); err != nil {
			err = fmt.Errorf("fsync %s: %w", j.name(), err)
		}
	}
	if cerr := unix.Close(fd); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", j.name(), cerr)
	}
	return err
}

// writeChunks returns a method that calls write() with buffers of chunk
// bytes, one after the other.
func writeChunks(chunk int) func(j *job) error {
	return func(j *job) error {
		fd, err := create(j, unix.O_WRONLY)
		if err != nil {
			return err
		}
		for off := 0; off < len(j.src) && err == nil; off += chunk {
			err = writeAll(fd, j.src[off:off+chunk])
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
		return finish(j, fd)
	}
}

// writeAll writes p with as many write() calls as it takes.
func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err != nil {
			return fmt.Errorf("write %d bytes: %w", len(p), err)
		}
		p = p[n:]
	}
	return nil
}

// fdWriter is an io.Writer that calls write() on a file descriptor.
type fdWriter int

func (fd fdWriter) Write(p []byte) (int, error) {
	if err := writeAll(int(fd), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// bufioRecord is the size of each small write through bufio, as a
// program that writes one record at a time would do.
const bufioRecord = 64

// writeBufio writes records of 64 bytes through a bufio.Writer, which
// gathers them in its buffer (4 KiB by default) and calls write() when
// it is full: the talk's "Language Library" buffer.
func writeBufio(j *job) error {
	fd, err := create(j, unix.O_WRONLY)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(fdWriter(fd))
	for off := 0; off < len(j.src) && err == nil; off += bufioRecord {
		_, err = w.Write(j.src[off : off+bufioRecord])
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		unix.Close(fd)
		return err
	}
	return finish(j, fd)
}

// writePreallocated gives the file all its blocks first (fallocate), then
// writes 1 MiB buffers at their offsets (pwrite).
func writePreallocated(j *job) error {
	fd, err := create(j, unix.O_WRONLY)
	if err != nil {
		return err
	}
	err = unix.Fallocate(fd, 0, 0, int64(len(j.src)))
	if errors.Is(err, unix.EOPNOTSUPP) {
		unix.Close(fd)
		return unsupported("%s has no fallocate (EOPNOTSUPP)", j.place.fs)
	}
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("fallocate %s: %w", j.name(), err)
	}
	const chunk = 1 << 20
	for off := 0; off < len(j.src) && err == nil; off += chunk {
		_, err = unix.Pwrite(fd, j.src[off:off+chunk], int64(off))
	}
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("pwrite 1 MiB: %w", err)
	}
	return finish(j, fd)
}

// writeDirect writes 1 MiB buffers with O_DIRECT: from the buffer to the
// device, around the page cache. The source is a mapping, so its
// buffers start on page boundaries, which satisfies the alignment that
// O_DIRECT asks for on the devices the lab meets (statx dio_mem_align).
func writeDirect(j *job) error {
	fd, err := create(j, unix.O_WRONLY|unix.O_DIRECT)
	if errors.Is(err, unix.EINVAL) {
		return unsupported("%s refuses O_DIRECT (open: EINVAL)", j.place.fs)
	}
	if err != nil {
		return err
	}
	const chunk = 1 << 20
	for off := 0; off < len(j.src) && err == nil; off += chunk {
		err = writeAll(fd, j.src[off:off+chunk])
	}
	if errors.Is(err, unix.EINVAL) {
		unix.Close(fd)
		return unsupported("%s refuses aligned O_DIRECT writes of 1 MiB "+
			"(EINVAL)", j.place.fs)
	}
	if err != nil {
		unix.Close(fd)
		return err
	}
	return finish(j, fd)
}
