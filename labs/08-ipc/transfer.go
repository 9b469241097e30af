package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// pass is one transfer of total bytes from the child to this process, in
// chunks: what it cost and whether every byte arrived.
type pass struct {
	took     time.Duration // from the child's first write to the last read
	verified bool          // CRC-32C of what arrived = of what was sent
	peerCPU  int           // the CPU the child ran on (getcpu)
	sleeps   int           // futex sleeps of both sides (rings)
	written  int           // minor page faults of the child while it sent
	read     int           // minor page faults of this thread receiving
}

// transfer has the child send total bytes of the pattern, from offset
// off, in chunks of chunk bytes, and receives them into dst. It does not
// check them: see verify.
func (p *peer) transfer(dst []byte, chunk, total, off int) (pass, error) {
	var ps pass
	err := p.within(time.Minute, func() error {
		var err error
		ps, err = p.moveOnce(dst, chunk, total, off)
		return err
	})
	return ps, err
}

// verify checks a pass: the CRC-32C of what arrived in dst against that
// of this process's own copy of the pattern, src.
func verify(dst, src []byte, total, off int) bool {
	return checksum(dst[:total]) == checksum(src[off:off+total])
}

// prepare gets ready for a pass of total bytes, outside the timing: for
// the shared file, it makes the file anew and maps it. The other kinds
// have nothing to do.
func (p *peer) prepare(total int) error {
	if p.cfg.kind != kindFile {
		return nil
	}
	p.dropFile()
	m, err := newSharedFile(p.cfg.filePath, total)
	if err != nil {
		return err
	}
	p.file = m
	p.fileRing = fileRing(m, total, p.cfg.spin, p.gone)
	return nil
}

// dropFile unmaps the shared file of the last pass, if any.
func (p *peer) dropFile() {
	if p.file != nil {
		mem.Unmap(p.file)
		p.file, p.fileRing = nil, nil
	}
}

func (p *peer) moveOnce(dst []byte, chunk, total, off int) (pass, error) {
	r := p.upRing
	if p.cfg.kind == kindFile {
		if p.fileRing == nil || len(p.fileRing.data) < total {
			return pass{}, fmt.Errorf("no shared file for %d bytes: "+
				"prepare first", total)
		}
		r = p.fileRing
	}
	var sleeps int
	if r != nil {
		sleeps = r.sleeps
	}
	before, err := proc.ThreadFaults()
	if err != nil {
		return pass{}, err
	}
	if err := p.command("send %d %d %d", chunk, total, off); err != nil {
		return pass{}, err
	}
	if err := p.receive(r, dst[:total], chunk); err != nil {
		return pass{}, err
	}
	end := monotonic()
	after, err := proc.ThreadFaults()
	if err != nil {
		return pass{}, err
	}
	reply, err := p.expect("sent")
	if err != nil {
		return pass{}, err
	}
	ps := pass{took: time.Duration(end - reply[0]), peerCPU: int(reply[1]),
		sleeps: int(reply[2]), written: int(reply[3]),
		read: int(after.Sub(before).Minor)}
	if r != nil {
		ps.sleeps += r.sleeps - sleeps
	}
	return ps, nil
}

// receive reads len(dst) bytes from the child, at most chunk at a time:
// from the ring r if there is one, else from the pipe or socket.
func (p *peer) receive(r *ring, dst []byte, chunk int) error {
	for got := 0; got < len(dst); {
		end := min(got+chunk, len(dst))
		var n int
		var err error
		if r != nil {
			n, err = r.get(dst[got:end])
		} else {
			n, err = unix.Read(p.up, dst[got:end])
			if n == 0 && err == nil {
				err = io.ErrUnexpectedEOF
			}
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("receive: %w", p.failure(err))
		}
		got += n
	}
	return nil
}

// newSharedFile makes the shared file anew for a pass of total bytes
// (O_TRUNC: none of its old pages remain) and maps it: one page of
// control block, then the data.
func newSharedFile(path string, total int) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|
		unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the shared file: %w", err)
	}
	defer unix.Close(fd)
	n := mem.PageSize() + pow2(total)
	if err := unix.Ftruncate(fd, int64(n)); err != nil {
		return nil, fmt.Errorf("ftruncate the shared file: %w", err)
	}
	return mem.MapFile(fd, 0, n, rw, unix.MAP_SHARED)
}

// openSharedFile maps the shared file the parent made for this pass.
func openSharedFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the shared file: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("fstat the shared file: %w", err)
	}
	return mem.MapFile(fd, 0, int(st.Size), rw, unix.MAP_SHARED)
}

// fileRing is the ring in a mapped shared file: as big as the pass, so
// that the writer never waits for room and each byte has a page of the
// file of its own.
func fileRing(m []byte, total, spin int, gone func() bool) *ring {
	ps := mem.PageSize()
	r := newRing(m[:ringControlSize], m[ps:ps+pow2(total)])
	r.spin, r.gone = spin, gone
	return r
}

// pow2 returns the smallest power of two that is at least n.
func pow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// stop is the number in the message that ends a batch of round trips:
// the child answers it on the control socket instead.
const stop = ^uint64(0)

// roundTrips bounces messages of size bytes off the child: rounds of
// them, or (rounds = 0) as many as fit in about d. It returns how many
// it sent, how long they took and how many answers were wrong. Each
// message carries its number; the child answers with the number plus
// one and the rest unchanged.
func (p *peer) roundTrips(rounds int, d time.Duration, size,
	spin int) (n int, took time.Duration, wrong int, err error) {
	err = p.within(time.Minute, func() error {
		if err := p.command("echo %d %d", size, spin); err != nil {
			return err
		}
		if _, err := p.expect("echoing"); err != nil {
			return err
		}
		if p.upRing != nil {
			p.upRing.spin, p.downRing.spin = spin, spin
		}
		var err error
		n, took, wrong, err = p.bounce(rounds, d, size)
		if err != nil {
			return err
		}
		_, err = p.expect("echoed")
		return err
	})
	return n, took, wrong, err
}

// bounce is the timed loop of roundTrips. It looks at the clock every
// 64 round trips only: reading it costs about as much as a round trip
// through shared memory.
func (p *peer) bounce(rounds int, d time.Duration, size int) (int,
	time.Duration, int, error) {
	msg := pattern(size)
	answer := make([]byte, size)
	wrong, i := 0, 0
	start := time.Now()
	for ; rounds > 0 && i < rounds ||
		rounds == 0 && (i%64 != 0 || time.Since(start) < d); i++ {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		if err := p.send(msg); err != nil {
			return 0, 0, 0, err
		}
		if err := p.receive(p.upRing, answer, size); err != nil {
			return 0, 0, 0, err
		}
		binary.LittleEndian.PutUint64(msg, uint64(i+1))
		if !bytes.Equal(answer, msg) {
			wrong++
		}
	}
	took := time.Since(start)
	binary.LittleEndian.PutUint64(msg, stop)
	return i, took, wrong, p.send(msg)
}

// send writes msg to the child: into the ring, or the pipe or socket.
func (p *peer) send(msg []byte) error {
	if p.downRing != nil {
		return p.downRing.put(msg)
	}
	return writeAll(p.down, msg)
}

// writeAll writes all of b to fd.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		b = b[n:]
	}
	return nil
}

// monotonic reads CLOCK_MONOTONIC, in nanoseconds: one clock for every
// process of the machine, so that a time taken in the child can be
// compared with one taken here.
func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
