package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// closeFD maps a file, closes the descriptor, and uses the mapping.
func closeFD(l *lab.Lab) error {
	l.Talk("POSIX file handle can be closed at any point after mmap")
	l.Talk("close-ing file handle FD does not affect mapping")
	path, err := fileWith(l, "data", filled(1, 'c'))
	if err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	m, err := mem.MapFile(fd, 0, mem.PageSize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	unix.Close(fd)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	_, gone := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	l.Say(`open("data", O_RDWR), mmap 1 page MAP_SHARED, `+
		`PROT_READ|PROT_WRITE, close(fd); fcntl(fd, F_GETFD): %s`,
		errnoName(gone))
	if _, err := l.Step("write 'Z' to m[0]", func() error {
		m[0] = 'Z'
		return nil
	}); err != nil {
		return err
	}
	text, err := contents(path)
	if err != nil {
		return err
	}
	l.Claim(errors.Is(gone, unix.EBADF) && text[0] == 'Z',
		"the descriptor is gone (EBADF), yet the store reached the "+
			"file: a fresh read of \"data\" starts with %q", text[0])
	return mapsFile(l, m, path)
}

// mapsFile checks that /proc/self/maps still names the file at m.
func mapsFile(l *lab.Lab, m []byte, path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	maps, err := proc.ReadMaps(0)
	if err != nil {
		return err
	}
	entry, err := proc.Find(maps, mem.Addr(m))
	if err != nil {
		return err
	}
	l.Claim(entry.Inode == st.Ino && entry.Path == path,
		"/proc/self/maps still names the file at the mapping: the "+
			"mapping holds its own reference to the open file, which "+
			"close(fd) does not drop")
	return nil
}
