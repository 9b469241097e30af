package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
)

// modeCase is one file creation: the umask in force and the mode asked.
type modeCase struct {
	Umask int
	Mode  uint32
}

var modeCases = []modeCase{
	{0o000, 0o666},
	{0o022, 0o666},
	{0o077, 0o666},
	{0o022, 0o640},
}

// mode creates files under several umasks and reads their modes back.
func mode(l *lab.Lab) error {
	l.Talk("MODE are OR-ed together and set permissions. These are the " +
		"standard values used with chmod")
	removed, err := dropDefaultACL(l.Dir)
	if err != nil {
		return err
	}
	if removed {
		l.Say("removed the scratch directory's default ACL: it would " +
			"replace the umask")
	}
	old := unix.Umask(0)
	defer unix.Umask(old)
	held := true
	for i, c := range modeCases {
		got, err := createUnder(l.Path(fmt.Sprint("mode", i)), c)
		if err != nil {
			return err
		}
		l.Say("umask %03o, open(O_CREAT|O_EXCL, %04o): mode %04o %s",
			c.Umask, c.Mode, got, os.FileMode(got))
		held = held && got == c.Mode&^uint32(c.Umask)
	}
	l.Claim(held, "each new file got MODE &^ umask: the umask takes "+
		"permissions away, never adds any")
	unix.Umask(0o022)
	got, err := reopenMode(l.Path("mode0"), 0o600)
	if err != nil {
		return err
	}
	l.Say("umask 022, open(O_CREAT, 0600) of the existing file mode0: "+
		"mode %04o", got)
	l.Claim(got == 0o666, "MODE and umask only act when open creates "+
		"the file: an existing file keeps its mode")
	return nil
}

// createUnder creates path with c.Mode while c.Umask is the umask, and
// returns the permission bits the file got (fstat).
func createUnder(path string, c modeCase) (uint32, error) {
	unix.Umask(c.Umask)
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC
	fd, err := unix.Open(path, flags, c.Mode)
	if err != nil {
		return 0, fmt.Errorf("open O_CREAT|O_EXCL: %w", err)
	}
	defer unix.Close(fd)
	return permissions(fd)
}

// reopenMode opens the existing path with O_CREAT and mode, and returns
// its permission bits.
func reopenMode(path string, mode uint32) (uint32, error) {
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_CLOEXEC
	fd, err := unix.Open(path, flags, mode)
	if err != nil {
		return 0, fmt.Errorf("open O_CREAT: %w", err)
	}
	defer unix.Close(fd)
	return permissions(fd)
}

// permissions returns the permission bits of the open file fd.
func permissions(fd int) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("fstat: %w", err)
	}
	return st.Mode & 0o777, nil
}

// dropDefaultACL removes the default ACL of the lab's own directory dir,
// if it has one: new files in a directory with a default ACL take their
// permissions from it, and the umask is not applied.
func dropDefaultACL(dir string) (removed bool, err error) {
	const name = "system.posix_acl_default"
	_, err = unix.Getxattr(dir, name, nil)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.EOPNOTSUPP) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("getxattr %s: %w", name, err)
	}
	if err := unix.Removexattr(dir, name); err != nil {
		return false, fmt.Errorf("removexattr %s: %w", name, err)
	}
	return true, nil
}
