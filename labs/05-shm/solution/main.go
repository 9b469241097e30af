// Command solution is the reference solution of exercise 05-shm, "shm
// send NAME TEXT" and "shm recv NAME": send puts TEXT into a new POSIX
// shared-memory object NAME; recv waits for it, prints it and removes
// the object.
//
//	go run ./labs/05-shm/solution recv /greeting &
//	go run ./labs/05-shm/solution send /greeting "hello"
//
// The object (little endian): bytes 0..3 ready, 4..7 length, then the
// text. ready becomes 1, atomically, once the rest is in place.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/shm"
)

const (
	header = 8 // ready (uint32) and length (uint32)
	// wait is how long recv waits, in all, for the object and ready = 1.
	wait = 5 * time.Second
	// poll is the pause between two looks: long enough that recv costs
	// almost no CPU time while it waits.
	poll = 2 * time.Millisecond
)

const usage = "usage: shm send NAME TEXT | shm recv NAME"

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

// run does the whole command and returns its exit status: 0 done, 1 a
// system call failed or recv timed out, 2 a usage error.
func run(stdout, stderr io.Writer, args []string) int {
	cmd, name, text, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "shm: %v\n", err)
		return 2
	}
	if cmd == "send" {
		err = send(name, text)
		if err == nil {
			fmt.Fprintf(stdout, "sent %d bytes to %s\n", len(text), name)
		}
	} else {
		text, err = recv(name)
		if err == nil {
			fmt.Fprintf(stdout, "%s\n", text)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "shm %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// parseArgs checks "send NAME TEXT" or "recv NAME".
func parseArgs(args []string) (cmd, name, text string, err error) {
	switch {
	case len(args) == 3 && args[0] == "send":
		cmd, name, text = args[0], args[1], args[2]
	case len(args) == 2 && args[0] == "recv":
		cmd, name = args[0], args[1]
	default:
		return "", "", "", errors.New(usage)
	}
	if err := checkName(name); err != nil {
		return "", "", "", fmt.Errorf("bad NAME %q: %v", name, err)
	}
	return cmd, name, text, nil
}

// checkName applies POSIX's rule for a portable name, stricter than
// glibc's: a leading '/', then 1 to 255 bytes with no other '/' and no
// NUL, and not "." or "..".
func checkName(name string) error {
	base, ok := strings.CutPrefix(name, "/")
	switch {
	case !ok:
		return errors.New("it must start with '/'")
	case len(base) < 1 || len(base) > shm.NameMax:
		return fmt.Errorf("it needs 1 to %d bytes after the '/'",
			shm.NameMax)
	case strings.ContainsAny(base, "/\x00"):
		return errors.New("no '/' or NUL may follow the first '/'")
	case base == "." || base == "..":
		return errors.New("it names a directory")
	}
	return nil
}

// send creates the object name, puts text in it, and leaves it for recv.
func send(name, text string) error {
	// shm.Open opens /dev/shm/ + name, adding O_NOFOLLOW|O_CLOEXEC.
	fd, err := shm.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return err // EEXIST: someone else's object, leave it alone
	}
	defer unix.Close(fd)
	if err := fill(fd, text); err != nil {
		shm.Unlink(name) // ours, but half made: nobody may read it
		return err
	}
	return nil
}

// fill sizes the new object fd for text, maps it and writes the length
// and the text, then ready = 1.
func fill(fd int, text string) error {
	size := header + len(text)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fmt.Errorf("ftruncate %d bytes: %w", size, err)
	}
	m, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	binary.LittleEndian.PutUint32(m[4:8], uint32(len(text)))
	copy(m[header:], text)
	// Last, and atomic: a reader that sees ready = 1 also sees what was
	// stored before it.
	atomic.StoreUint32(ready(m), 1)
	if err := unix.Munmap(m); err != nil {
		return fmt.Errorf("munmap: %w", err)
	}
	return nil
}

// ready returns the ready word of a mapped object. Go's atomics use the
// machine's byte order, which is little endian on amd64 and arm64.
func ready(m []byte) *uint32 { return (*uint32)(unsafe.Pointer(&m[0])) }

// recv waits for the object name and its ready word, returns its text
// and removes the object.
func recv(name string) (string, error) {
	deadline := time.Now().Add(wait)
	fd, size, err := waitForObject(name, deadline)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	m, err := unix.Mmap(fd, 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return "", fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	defer unix.Munmap(m)
	for atomic.LoadUint32(ready(m)) != 1 {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s: timed out after %v waiting for "+
				"ready = 1", name, wait)
		}
		time.Sleep(poll)
	}
	n := int(binary.LittleEndian.Uint32(m[4:8]))
	if n > size-header {
		return "", fmt.Errorf("%s: length %d, but the object has room "+
			"for %d bytes", name, n, size-header)
	}
	text := string(m[header : header+n])
	if err := shm.Unlink(name); err != nil {
		return "", err
	}
	return text, nil
}

// waitForObject waits until the object name exists and is sized (at
// least its header), and returns it open read-only with its size.
func waitForObject(name string, deadline time.Time) (int, int, error) {
	for {
		fd, err := shm.Open(name, unix.O_RDONLY, 0)
		if err == nil {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				unix.Close(fd)
				return -1, 0, fmt.Errorf("fstat %s: %w", name, err)
			}
			if st.Size >= header {
				return fd, int(st.Size), nil
			}
			unix.Close(fd) // not sized yet: look again
		} else if !errors.Is(err, unix.ENOENT) {
			return -1, 0, err
		}
		if time.Now().After(deadline) {
			return -1, 0, fmt.Errorf("%s: timed out after %v waiting for "+
				"the object", name, wait)
		}
		time.Sleep(poll)
	}
}
