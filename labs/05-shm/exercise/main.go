// Command exercise is your solution of exercise 05-shm, "shm send NAME
// TEXT" and "shm recv NAME": send puts TEXT into a new POSIX
// shared-memory object NAME; recv waits for it, prints it and removes
// the object. Read the contract in labs/05-shm/README.md (section
// "Exercise"), then fill in the TODOs. Try it with:
//
//	go run ./labs/05-shm/exercise recv /greeting &
//	go run ./labs/05-shm/exercise send /greeting "hello"
//
// and check your work with: go run ./checker 05
//
// NOT DONE: delete this line when you want your work checked
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// The object, little endian: bytes 0..3 ready (uint32), 4..7 length
// (uint32), then length bytes of text.
const header = 8

const (
	// wait is how long recv waits, in all, for the object and ready = 1.
	wait = 5 * time.Second
	// poll is the pause between two looks: at least a millisecond, so
	// that recv costs almost no CPU time while it waits.
	poll = 2 * time.Millisecond
)

const usage = "usage: shm send NAME TEXT | shm recv NAME"

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

// run does the whole command and returns its exit status: 0 done, 1 a
// system call failed or recv timed out, 2 a usage error. It is done for
// you.
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

// parseArgs checks "send NAME TEXT" or "recv NAME". It is done for you,
// but for the name rule: see checkName.
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

// checkName returns an error unless name is a portable POSIX name.
func checkName(name string) error {
	// TODO 1: a leading '/', then 1 to 255 bytes (NAME_MAX) with no other
	// '/' and no NUL byte, and not "." or "..". Anything else is an
	// error: run turns it into a usage error, before anything is opened.
	return nil
}

// send creates the object name, puts text in it, and leaves it for recv.
func send(name, text string) error {
	// TODO 2: create the object exclusively: O_RDWR|O_CREAT|O_EXCL, mode
	// 0600. It is the file /dev/shm/ + name without its '/', and every
	// open of it needs O_NOFOLLOW (why? see the lab's "names" section).
	// internal/shm's Open does exactly that, as glibc's shm_open does. If
	// the name exists, fail and touch nothing.
	//
	// TODO 3: set its size to header+len(text) with unix.Ftruncate,
	// before you map it: a new object is 0 bytes long.
	//
	// TODO 4: map it MAP_SHARED, readable and writable (unix.Mmap). Write
	// the length (encoding/binary's LittleEndian) and the text.
	//
	// TODO 5: last, store ready = 1 with an atomic store
	// (sync/atomic.StoreUint32 on a *uint32 that points at the mapping,
	// via unsafe.Pointer). Then unmap and close; do not unlink: the
	// object must outlive this process, for recv.
	return errors.New("send is not done yet")
}

// recv waits for the object name and its ready word, returns its text
// and removes the object.
func recv(name string) (string, error) {
	// TODO 6: wait, at most `wait` in all, until the object exists
	// (open it O_RDONLY; ENOENT means not yet) and is at least header
	// bytes long (unix.Fstat): the sender may be anywhere between its
	// open and its ftruncate. Sleep `poll` between two looks. On
	// time-out, fail with a message that says "timed out", and remove
	// nothing.
	//
	// TODO 7: map it MAP_SHARED with PROT_READ only, and wait (same
	// deadline, same pauses) until an atomic load of ready gives 1. Only
	// then read the length and the text: before, they may be half
	// written.
	//
	// TODO 8: unmap, close, and remove the object (internal/shm's
	// Unlink, as shm_unlink does). Return the text: run prints it.
	return "", errors.New("recv is not done yet")
}
