package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/futex"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// The race section's object: a ready word, then one message.
const (
	readyAt = 0 // uint32: 1 when the message is complete
	textAt  = 8 // the message, 32 bytes
)

// The two messages: the writer replaces the first with the second, and
// stops after half of it.
const (
	firstMessage  = "old old old old old old old old."
	secondMessage = "NEW NEW NEW NEW NEW NEW NEW NEW."
	half          = len(secondMessage) / 2
)

// race shows a reader that looks while the writer is half-way through a
// message, and how a ready word stored last keeps the reader from it.
func race(l *lab.Lab) error {
	if why := noDevShm(); why != "" {
		l.Skip("%s: POSIX shared memory lives there on Linux", why)
		return nil
	}
	l.Talk("Use atomics or semaphores for synchronization after mmap")
	name := newName(l, "race")
	l.Say("NAME = %s", name)
	l.Say("1 page: a ready word, then a message of %d bytes",
		len(firstMessage))
	m, err := createSized(l, name, 1)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	ready, text := word(m, readyAt), m[textAt:textAt+len(firstMessage)]
	_, err = l.Step("write message 1, store ready = 1", func() error {
		copy(text, firstMessage)
		atomic.StoreUint32(ready, 1)
		return nil
	})
	if err != nil {
		return err
	}
	l.Say("message 1: %q", firstMessage)
	c, err := stopWriter(l, name)
	if err != nil {
		return err
	}
	// On the stack, which is already in memory: a new heap page would
	// fault when first written, and the fault would count in the step.
	var torn [len(firstMessage)]byte
	_, err = l.Step("read the message, no synchronisation", func() error {
		copy(torn[:], text)
		return nil
	})
	if err != nil {
		return err
	}
	got := string(torn[:])
	l.Claim(got == secondMessage[:half]+firstMessage[half:], "a read "+
		"without synchronisation gets %q: neither message, the start of "+
		"message 2 and the end of message 1", got)
	l.Claim(load(ready) == 0, "a reader that loads the ready word first "+
		"finds 0: the message is not complete, it must not read yet")
	return finish(l, c, ready, text)
}

// stopWriter starts the child that writes message 2 and waits until it
// has stopped itself half-way.
func stopWriter(l *lab.Lab, name string) (*child, error) {
	c, err := startChild(l, "writer", name, secondMessage)
	if err != nil {
		return nil, err
	}
	l.Say("a child process writes message 2: %s", c.command(name))
	if err := c.waitStopped(); err != nil {
		return nil, err
	}
	l.Say("it stored ready = 0, wrote the first %d of the %d bytes and "+
		"stopped itself (SIGSTOP), as if the scheduler had taken the CPU "+
		"away in the middle of the message: waitid reports it stopped",
		half, len(secondMessage))
	return c, nil
}

// finish lets the writer go on and waits for the ready word, as a reader
// should.
func finish(l *lab.Lab, c *child, ready *uint32, text []byte) error {
	if err := c.resume(); err != nil {
		return err
	}
	l.Say("SIGCONT lets the child go on. The reader sleeps in " +
		"futex(FUTEX_WAIT) while the ready word is 0; the writer stores 1 " +
		"there last, with an atomic store that no earlier store can pass, " +
		"then calls futex(FUTEX_WAKE).")
	waitErr := waitForOne(ready, turnTimeout)
	childErr := c.wait()
	l.Claim(waitErr == nil && childErr == nil &&
		string(text) == secondMessage, "ready became 1 and message 2 is "+
		"whole: %q; the child exited 0", text)
	if waitErr != nil {
		return waitErr
	}
	return childErr
}

// waitForOne sleeps until the shared word w is 1, or until timeout.
func waitForOne(w *uint32, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for load(w) != 1 {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("wait for ready = 1: %w", unix.ETIMEDOUT)
		}
		// Sleeps only while the word is still 0: no wake-up is lost.
		futex.Wait(w, 0, left)
	}
	return nil
}

// writerChild is the child role "writer NAME TEXT": it replaces the
// message in the object NAME with TEXT, and stops itself half-way, until
// the lab lets it go on with SIGCONT.
func writerChild(l *lab.Lab, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("want NAME TEXT, got %d arguments", len(args))
	}
	m, err := openMapped(args[0])
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	msg := args[1]
	ready, text := word(m, readyAt), m[textAt:textAt+len(msg)]
	atomic.StoreUint32(ready, 0)
	mid := len(msg) / 2
	copy(text, msg[:mid])
	// Stop this thread, and with it the whole process, before the next
	// store: a signal sent to the calling thread is taken as the system
	// call returns. (Sent to the process, another thread could take it
	// while this one kept writing.) runChild keeps the role on one thread.
	err = unix.Tgkill(unix.Getpid(), unix.Gettid(), unix.SIGSTOP)
	if err != nil {
		return fmt.Errorf("tgkill SIGSTOP: %w", err)
	}
	copy(text[mid:], msg[mid:])
	atomic.StoreUint32(ready, 1)
	_, err = futex.Wake(ready, 1)
	return err
}
