// Command solution is the reference solution of exercise
// 03-mmap-readwrite, "mmapcopy SRC DST": it copies the file SRC to DST
// through two memory mappings, never with read(2) or write(2).
//
//	go run ./labs/03-mmap-readwrite/solution SRC DST
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

// run does the whole command and returns its exit status: 0 done, 1 a
// system call failed, 2 a usage error (then nothing was touched).
func run(stdout, stderr io.Writer, args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "mmapcopy: usage: mmapcopy SRC DST")
		return 2
	}
	n, err := mmapcopy(args[0], args[1])
	if err != nil {
		fmt.Fprintf(stderr, "mmapcopy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d bytes\n", n)
	return 0
}

// mmapcopy copies the file src to dst and returns how many bytes it
// copied. It opens src first, so that a missing src creates no dst.
func mmapcopy(src, dst string) (int64, error) {
	in, size, err := openSource(src)
	if err != nil {
		return 0, err
	}
	defer unix.Close(in)
	if err := notSameFile(in, src, dst); err != nil {
		return 0, err
	}
	// O_RDWR, not O_WRONLY: a shared writable mapping needs a descriptor
	// open for reading too. Mode 0644, less the umask.
	out, err := unix.Open(dst, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|
		unix.O_CLOEXEC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dst, err)
	}
	defer unix.Close(out)
	// Size dst before mapping it: a store past the end of a file is
	// SIGBUS.
	if err := unix.Ftruncate(out, size); err != nil {
		return 0, fmt.Errorf("ftruncate %s: %w", dst, err)
	}
	if size == 0 {
		return 0, nil // a zero-length mmap is EINVAL: nothing to map
	}
	if err := copyMapped(in, out, int(size), src, dst); err != nil {
		return 0, err
	}
	return size, nil
}

// openSource opens src for reading and returns its size.
func openSource(src string) (fd int, size int64, err error) {
	fd, err = unix.Open(src, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("open %s: %w", src, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("fstat %s: %w", src, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("%s: not a regular file", src)
	}
	return fd, st.Size, nil
}

// notSameFile refuses a dst that is src itself: O_TRUNC would empty src
// before a single byte was copied.
func notSameFile(in int, src, dst string) error {
	var a, b unix.Stat_t
	if err := unix.Fstat(in, &a); err != nil {
		return fmt.Errorf("fstat %s: %w", src, err)
	}
	err := unix.Stat(dst, &b)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", dst, err)
	}
	if a.Dev == b.Dev && a.Ino == b.Ino {
		return fmt.Errorf("%s and %s are the same file", src, dst)
	}
	return nil
}

// copyMapped maps size bytes of in (read-only) and of out (shared,
// writable), copies, and unmaps both.
func copyMapped(in, out, size int, src, dst string) error {
	from, err := unix.Mmap(in, 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap %s: %w", src, err)
	}
	to, err := unix.Mmap(out, 0, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		unix.Munmap(from)
		return fmt.Errorf("mmap %s: %w", dst, err)
	}
	copyErr := copyPages(to, from)
	if err := unix.Munmap(to); err != nil && copyErr == nil {
		copyErr = fmt.Errorf("munmap %s: %w", dst, err)
	}
	if err := unix.Munmap(from); err != nil && copyErr == nil {
		copyErr = fmt.Errorf("munmap %s: %w", src, err)
	}
	return copyErr
}

// copyPages copies from into to. If another program shrinks SRC while it
// is copied, reading a page past its new end is SIGBUS: report that as
// an error instead of crashing.
func copyPages(to, from []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if _, fault := r.(interface{ Addr() uintptr }); !fault {
			panic(r)
		}
		err = errors.New("copy: bus error: the source file shrank " +
			"while it was copied")
	}()
	copy(to, from)
	return nil
}
