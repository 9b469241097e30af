package main

import (
	"bytes"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/mmaplab/mmaplab/internal/futex"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// The pingpong section's object: two semaphores, a count of messages
// and one message slot.
const (
	toChildAt  = 0                       // a message is there for the child
	toParentAt = futex.SemaphoreSize     // a message is there for the parent
	countAt    = 2 * futex.SemaphoreSize // uint32: messages sent, both sides
	lengthAt   = countAt + 4             // uint32: length of the message
	messageAt  = lengthAt + 4            // the message
	maxMessage = 32
)

// pingpong bounces a message between this process and a child, taking
// turns with two process-shared semaphores.
func pingpong(l *lab.Lab) error {
	if why := noDevShm(); why != "" {
		l.Skip("%s: POSIX shared memory lives there on Linux", why)
		return nil
	}
	l.Talk("For synchronization in the mapped area, use: Atomic memory " +
		"instructions; POSIX semaphores")
	l.Say("internal/futex.Semaphore is the Go counterpart of a POSIX " +
		"semaphore in shared memory (sem_init with pshared = 1, sem_post, " +
		"sem_wait): a count in the mapping, and futex(2) to sleep while it " +
		"is 0. Its futex calls leave out FUTEX_PRIVATE_FLAG: section " +
		"private shows why.")
	name := newName(l, "pingpong")
	m, err := createSized(l, name, 1)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	c, err := startChild(l, "pong", name, strconv.Itoa(int(rounds)))
	if err != nil {
		return err
	}
	l.Say("NAME = %s", name)
	l.Say("a child process answers each \"ping N\" with \"pong N\": %s",
		c.command(name))
	wrong, err := play(m, int(rounds))
	if err != nil {
		return err
	}
	l.Say("%d round trips: this process writes \"ping N\", posts the "+
		"child's semaphore and waits on its own until the child has "+
		"written \"pong N\" and posted it", rounds)
	return score(l, m, c, wrong)
}

// play is the parent's side: rounds times, it writes "ping N", posts the
// child's semaphore and waits on its own for the answer. It returns how
// many answers were not "pong N".
func play(m []byte, rounds int) (wrong int, err error) {
	toChild, toParent := futex.At(m[toChildAt:]), futex.At(m[toParentAt:])
	var buf [maxMessage]byte
	for i := 1; i <= rounds; i++ {
		put(m, numbered(buf[:0], "ping ", i))
		atomic.AddUint32(word(m, countAt), 1)
		if err := toChild.Post(); err != nil {
			return wrong, err
		}
		if err := toParent.Wait(turnTimeout); err != nil {
			return wrong, fmt.Errorf("wait for pong %d: %w", i, err)
		}
		if !bytes.Equal(get(m), numbered(buf[:0], "pong ", i)) {
			wrong++
		}
	}
	return wrong, nil
}

// score reaps the child and checks the result.
func score(l *lab.Lab, m []byte, c *child, wrong int) error {
	childErr := c.wait()
	count := load(word(m, countAt))
	toChild, toParent := futex.At(m[toChildAt:]), futex.At(m[toParentAt:])
	l.Claim(wrong == 0, "each of the %d pings got its own pong, in order: "+
		"only the side whose turn it was wrote the message", rounds)
	l.Claim(childErr == nil, "the child checked each ping and exited 0 "+
		"(reaped with wait4)")
	l.Claim(int(count) == 2*int(rounds), "the shared count is %d = 2 x %d: "+
		"each side added 1 per message with an atomic add", count, rounds)
	l.Claim(toChild.Value() == 0 && toParent.Value() == 0, "both "+
		"semaphores are back to 0: each post was taken by one wait")
	return childErr
}

// numbered appends prefix and n to buf, without allocating.
func numbered(buf []byte, prefix string, n int) []byte {
	return strconv.AppendInt(append(buf, prefix...), int64(n), 10)
}

// put writes msg into the message slot: its length, then its bytes.
func put(m []byte, msg []byte) {
	*word(m, lengthAt) = uint32(len(msg))
	copy(m[messageAt:messageAt+maxMessage], msg)
}

// get returns the message in the slot.
func get(m []byte) []byte {
	n := min(int(*word(m, lengthAt)), maxMessage)
	return m[messageAt : messageAt+n]
}

// pongChild is the child role "pong NAME ROUNDS": ROUNDS times, it waits
// for "ping N" in the object NAME and answers "pong N".
func pongChild(l *lab.Lab, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("want NAME ROUNDS, got %d arguments", len(args))
	}
	rounds, err := strconv.Atoi(args[1])
	if err != nil {
		return fmt.Errorf("rounds: %w", err)
	}
	m, err := openMapped(args[0])
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	toChild, toParent := futex.At(m[toChildAt:]), futex.At(m[toParentAt:])
	var buf [maxMessage]byte
	for i := 1; i <= rounds; i++ {
		if err := toChild.Wait(turnTimeout); err != nil {
			return fmt.Errorf("wait for ping %d: %w", i, err)
		}
		if got := get(m); !bytes.Equal(got, numbered(buf[:0], "ping ", i)) {
			return fmt.Errorf("got %q, want \"ping %d\"", got, i)
		}
		put(m, numbered(buf[:0], "pong ", i))
		atomic.AddUint32(word(m, countAt), 1)
		if err := toParent.Post(); err != nil {
			return err
		}
	}
	return nil
}
