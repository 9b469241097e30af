package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// child is the peer process's end: "08-ipc -child peer KIND CPU
// MAXBYTES RINGSIZE SPIN ARG", with the control socket as descriptor 3
// and the data channel as 4 (and 5). ARG is the /dev/shm object or the
// shared file, "-" for the other kinds.
type child struct {
	kind     string
	src      []byte // the pattern, as in the parent
	ctl      *os.File
	in, out  int    // pipes and socket: read in, write out
	path     string // kindFile: the shared file
	up, down *ring  // kindShm: write up, read down
	spin     int
}

// peerChild is the child role "peer": it answers the parent's commands
// until "quit".
func peerChild(l *lab.Lab, args []string) error {
	c, err := newChild(args)
	if err != nil {
		return err
	}
	replies := bufio.NewWriter(c.ctl)
	commands := bufio.NewReader(c.ctl)
	fmt.Fprintln(replies, "ready")
	for {
		if err := replies.Flush(); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
		line, err := commands.ReadString('\n')
		if err == io.EOF {
			return nil // the parent is gone: nothing more to do
		}
		if err != nil {
			return fmt.Errorf("read a command: %w", err)
		}
		quit, err := c.do(strings.Fields(line), replies)
		if err != nil || quit {
			return err
		}
	}
}

// newChild parses the arguments, pins this process and sets up the data
// channel.
func newChild(args []string) (*child, error) {
	if len(args) != 6 {
		return nil, fmt.Errorf("want KIND CPU MAXBYTES RINGSIZE SPIN ARG, "+
			"got %d arguments", len(args))
	}
	nums, err := atois(args[1:5])
	if err != nil {
		return nil, err
	}
	cpu, maxBytes, ringSize, spin := nums[0], nums[1], nums[2], nums[3]
	if cpu >= 0 {
		if err := pinTo(cpu); err != nil {
			return nil, err
		}
	}
	c := &child{kind: args[0], ctl: os.NewFile(3, "control"),
		in: 4, out: 4, path: args[5], spin: spin}
	switch c.kind {
	case kindPipe:
		c.out = 5
	case kindShm:
		if err := c.mapRings(args[5], ringSize); err != nil {
			return nil, err
		}
	case kindSocket, kindFile:
	default:
		return nil, fmt.Errorf("no peer kind %q", c.kind)
	}
	c.src = pattern(maxBytes + slack)
	return c, nil
}

// atois parses decimal numbers.
func atois(args []string) ([]int, error) {
	nums := make([]int, len(args))
	for i, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil {
			return nil, fmt.Errorf("argument %q: want a number", a)
		}
		nums[i] = n
	}
	return nums, nil
}

// mapRings opens the parent's /dev/shm object by name and maps it.
func (c *child) mapRings(name string, ringSize int) error {
	fd, err := shm.Open(name, unix.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, shmLayout(ringSize), rw, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	if err := populate(m); err != nil {
		return err
	}
	c.up, c.down = rings(m, ringSize)
	c.up.spin, c.down.spin = c.spin, c.spin
	c.up.gone, c.down.gone = parentGone, parentGone
	return nil
}

// parentGone reports whether the parent has ended: this process was
// then given to another one.
var parentGone = func() func() bool {
	parent := os.Getppid()
	return func() bool { return os.Getppid() != parent }
}()

// do runs one command and writes its reply.
func (c *child) do(cmd []string, replies *bufio.Writer) (quit bool,
	err error) {
	if len(cmd) == 0 {
		return false, fmt.Errorf("empty command")
	}
	nums, err := atois(cmd[1:])
	if err != nil {
		return false, err
	}
	switch {
	case cmd[0] == "quit":
		return true, nil
	case cmd[0] == "send" && len(nums) == 3:
		before, err := proc.ThreadFaults()
		if err != nil {
			return false, err
		}
		start := monotonic()
		sleeps, err := c.send(nums[0], nums[1], nums[2])
		if err != nil {
			return false, err
		}
		after, err := proc.ThreadFaults()
		if err != nil {
			return false, err
		}
		fmt.Fprintf(replies, "sent %d %d %d %d\n", start, getcpu(), sleeps,
			after.Sub(before).Minor)
		return false, nil
	case cmd[0] == "echo" && len(nums) == 2:
		return false, c.echo(nums[0], nums[1], replies)
	}
	return false, fmt.Errorf("unknown command %q", strings.Join(cmd, " "))
}

// send writes total bytes of the pattern from off, chunk bytes at a
// time, and returns how often it slept on a full ring.
func (c *child) send(chunk, total, off int) (int, error) {
	if off < 0 || total < 0 || chunk <= 0 || off+total > len(c.src) {
		return 0, fmt.Errorf("send %d bytes from %d: out of range",
			total, off)
	}
	data := c.src[off : off+total]
	r := c.up
	if c.kind == kindFile {
		m, err := openSharedFile(c.path)
		if err != nil {
			return 0, err
		}
		defer mem.Unmap(m)
		r = fileRing(m, total, c.spin, parentGone)
	}
	if r == nil {
		return 0, c.write(data, chunk)
	}
	before := r.sleeps
	for sent := 0; sent < total; sent += chunk {
		if err := r.put(data[sent:min(sent+chunk, total)]); err != nil {
			return 0, err
		}
	}
	return r.sleeps - before, nil
}

// write sends data through the pipe or socket, chunk bytes per write.
func (c *child) write(data []byte, chunk int) error {
	for sent := 0; sent < len(data); sent += chunk {
		end := min(sent+chunk, len(data))
		if err := writeAll(c.out, data[sent:end]); err != nil {
			return err
		}
	}
	return nil
}

// echo answers messages of size bytes, each with its number plus one,
// until the message numbered stop.
func (c *child) echo(size, spin int, replies *bufio.Writer) error {
	if size < 8 {
		return fmt.Errorf("echo: messages of %d bytes, want 8 or more", size)
	}
	if c.up != nil {
		c.up.spin, c.down.spin = spin, spin
	}
	msg := make([]byte, size)
	fmt.Fprintln(replies, "echoing")
	if err := replies.Flush(); err != nil {
		return err
	}
	for {
		if err := c.read(msg); err != nil {
			return err
		}
		n := binary.LittleEndian.Uint64(msg)
		if n == stop {
			break
		}
		binary.LittleEndian.PutUint64(msg, n+1)
		if err := c.reply(msg); err != nil {
			return err
		}
	}
	sleeps := 0
	if c.up != nil {
		sleeps = c.up.sleeps + c.down.sleeps
	}
	fmt.Fprintf(replies, "echoed %d %d\n", getcpu(), sleeps)
	return nil
}

// read reads exactly len(msg) bytes from the parent.
func (c *child) read(msg []byte) error {
	for got := 0; got < len(msg); {
		var n int
		var err error
		if c.down != nil {
			n, err = c.down.get(msg[got:])
		} else {
			n, err = unix.Read(c.in, msg[got:])
			if n == 0 && err == nil {
				err = io.ErrUnexpectedEOF
			}
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		got += n
	}
	return nil
}

// reply sends msg back to the parent.
func (c *child) reply(msg []byte) error {
	if c.up != nil {
		return c.up.put(msg)
	}
	return writeAll(c.out, msg)
}
