package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// run makes this run's object names unique, so that two runs side by
// side never share an object: the process ID and a random number.
var run = fmt.Sprintf("%d-%08x", os.Getpid(), rand.Uint32())

// newName returns a fresh object name for this run, and removes the
// object when the lab ends, also on Ctrl-C. The removal is arranged
// before the object exists, so that no moment is left where an
// interrupted lab would forget it; the object is made with create.
func newName(l *lab.Lab, what string) string {
	name := fmt.Sprintf("/mmaplab-05-%s-%s", run, what)
	l.OnClose(func() { shm.Unlink(name) })
	return name
}

// create makes the new object name (O_RDWR|O_CREAT|O_EXCL, mode 0600),
// unless the lab is ending, and returns its descriptor.
func create(l *lab.Lab, name string) (int, error) {
	fd := -1
	err := making(l, func() error {
		var err error
		fd, err = shm.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL,
			0o600)
		return err
	})
	return fd, err
}

// making runs do, which makes something whose removal is already
// registered with l.OnClose, unless the lab is ending (interrupted):
// then nothing new is made.
func making(l *lab.Lab, do func() error) error {
	return l.Make(do, func() {})
}

// pathOf returns the file in /dev/shm that holds the object name.
func pathOf(name string) string {
	p, err := shm.Path(name)
	if err != nil {
		return "(" + errnoName(err) + ")"
	}
	return p
}

// noDevShm says why this machine has no POSIX shared memory, or "".
func noDevShm() string {
	st, err := os.Stat(shm.Dir)
	switch {
	case err != nil:
		return fmt.Sprintf("no %s here: %v", shm.Dir, err)
	case !st.IsDir():
		return shm.Dir + " is not a directory here"
	case !lab.OnTmpfs(shm.Dir):
		return fmt.Sprintf("%s is %s here, not tmpfs", shm.Dir,
			lab.FileSystem(shm.Dir))
	}
	return ""
}

// errnoName returns the name of the errno in err ("EEXIST"), "ok" for
// nil, or the error's text if it holds no errno.
func errnoName(err error) string {
	var errno unix.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// fileInfo is what fstat says about an object.
type fileInfo struct {
	Regular bool
	Size    int64 // bytes
	Pages   int   // pages of memory that hold its data (st_blocks)
	Inode   uint64
}

func fstat(fd int) (fileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileInfo{}, fmt.Errorf("fstat: %w", err)
	}
	return fileInfo{
		Regular: st.Mode&unix.S_IFMT == unix.S_IFREG,
		Size:    st.Size,
		Pages:   int(st.Blocks * 512 / int64(mem.PageSize())),
		Inode:   st.Ino,
	}, nil
}

// createSized creates the new object name, sized pages pages, and maps
// it shared, for reading and writing. The caller unmaps it.
func createSized(l *lab.Lab, name string, pages int) ([]byte, error) {
	fd, err := create(l, name)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	size := pages * mem.PageSize()
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, fmt.Errorf("ftruncate %s: %w", lab.Plural(pages, "page"),
			err)
	}
	return mem.MapFile(fd, 0, size, rw, unix.MAP_SHARED)
}

// openMapped opens the existing object name for reading and writing and
// maps all of it shared. The caller unmaps it.
func openMapped(name string) ([]byte, error) {
	fd, err := shm.Open(name, unix.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	info, err := fstat(fd)
	if err != nil {
		return nil, err
	}
	return mem.MapFile(fd, 0, int(info.Size), rw, unix.MAP_SHARED)
}

const rw = unix.PROT_READ | unix.PROT_WRITE

// turnTimeout bounds every wait for the other process: a lost message or
// a dead partner ends the lab with an error instead of a hang.
const turnTimeout = 5 * time.Second

// word returns the 32-bit word at byte off of the shared mapping m, for
// atomic loads and stores and for futex calls. off must be a multiple of
// 4.
func word(m []byte, off int) *uint32 {
	return (*uint32)(unsafe.Pointer(&m[off]))
}

// load reads a shared word atomically.
func load(w *uint32) uint32 { return atomic.LoadUint32(w) }
