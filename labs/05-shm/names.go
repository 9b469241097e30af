package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// names shows how shm_open turns a name into a file in /dev/shm, which
// names it refuses, and why it never follows a symbolic link.
func names(l *lab.Lab) error {
	if why := noDevShm(); why != "" {
		l.Skip("%s: POSIX shared memory lives there on Linux", why)
		return nil
	}
	l.Talk("File NAME: Processes must agree on one")
	l.Say("shm_open is not a system call: glibc turns the name into a " +
		"file in /dev/shm and open(2)s it. internal/shm does the same " +
		"for Go.")
	name := newName(l, "names")
	fd, err := create(l, name)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	l.Say("NAME = %s", name)
	l.Say("path = %s", pathOf(name))
	fs := lab.FileSystem(shm.Dir)
	l.Claim(fs == "tmpfs", "%s is a %s: a file system in memory, with no "+
		"disk behind it (statfs)", shm.Dir, fs)
	if err := sameObject(l, name, fd); err != nil {
		return err
	}
	refused(l)
	return noFollow(l)
}

// sameObject opens name with one more leading '/' and checks that it is
// the same file (same inode).
func sameObject(l *lab.Lab, name string, fd int) error {
	alias := "/" + name
	fd2, err := shm.Open(alias, unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd2)
	a, err := fstat(fd)
	if err != nil {
		return err
	}
	b, err := fstat(fd2)
	if err != nil {
		return err
	}
	l.Claim(a.Inode == b.Inode, "shm_open of /NAME (two '/') opens the "+
		"same file (same inode): every leading '/' is dropped")
	return nil
}

// refused tries the names that shm_open refuses, and what open(2) says
// about the same paths.
func refused(l *lab.Lab) {
	long := "/" + strings.Repeat("x", shm.NameMax+1)
	cases := []struct{ name, show, path string }{
		{"", `""`, shm.Dir + "/"},
		{"/a/b", "/a/b", shm.Dir + "/a/b"},
		{long, fmt.Sprintf("/xxx... (%d bytes)", shm.NameMax+1),
			shm.Dir + long},
		{"/.", "/.", shm.Dir + "/."},
	}
	l.Say("%-22s %-14s %s", "name", "shm_open", "open(2) of /dev/shm/ + name")
	invalid, tooLong := true, false
	for _, c := range cases {
		fd, err := shm.Open(c.name, unix.O_RDWR, 0)
		if err == nil {
			unix.Close(fd) // cannot happen: none of these is a file
		}
		fd, kernel := unix.Open(c.path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if kernel == nil {
			unix.Close(fd)
		}
		l.Say("%-22s %-14s %s", c.show, errnoName(err), errnoName(kernel))
		if c.name == long {
			tooLong = errors.Is(err, unix.ENAMETOOLONG) &&
				kernel == unix.ENAMETOOLONG
		} else {
			invalid = invalid && errors.Is(err, unix.EINVAL)
		}
	}
	l.Claim(invalid, "shm_open says EINVAL for a name that is not one "+
		"file right in /dev/shm, where open(2) says EISDIR or ENOENT")
	l.Claim(tooLong, "the length limit is the kernel's: a file name has at "+
		"most %d bytes (NAME_MAX) without its leading '/'", shm.NameMax)
}

// noFollow plants a symbolic link in /dev/shm under an object's name and
// shows that shm_open refuses to follow it, where open(2) would.
func noFollow(l *lab.Lab) error {
	var st unix.Stat_t
	if err := unix.Stat(shm.Dir, &st); err != nil {
		return fmt.Errorf("stat %s: %w", shm.Dir, err)
	}
	l.Claim(st.Mode&0o1777 == 0o1777, "%s has mode %o: anyone may create "+
		"names in it (the sticky bit only stops them removing others' "+
		"files)", shm.Dir, st.Mode&0o7777)
	target := l.Path("precious")
	const data = "a file that must not change\n"
	if err := os.WriteFile(target, []byte(data), 0o600); err != nil {
		return err
	}
	link := newName(l, "link")
	err := making(l, func() error { return os.Symlink(target, pathOf(link)) })
	if err != nil {
		return err
	}
	l.Say("LINK = %s", pathOf(link))
	l.Say("planted: a symbolic link from LINK to a file in the lab's " +
		"scratch directory")
	err = making(l, func() error {
		fd, err := shm.Open(link, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC,
			0o600)
		if err == nil {
			unix.Close(fd)
		}
		return err
	})
	kept, _ := os.ReadFile(target)
	l.Claim(errors.Is(err, unix.ELOOP) && string(kept) == data,
		"shm_open LINK with O_TRUNC: %s, the target is untouched: O_NOFOLLOW "+
			"refuses a symbolic link as the last part of the path",
		errnoName(err))
	fd, err := unix.Open(pathOf(link), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", pathOf(link), err)
	}
	defer unix.Close(fd)
	var got, want unix.Stat_t
	unix.Fstat(fd, &got)
	unix.Stat(target, &want)
	l.Claim(got.Ino == want.Ino, "open(2) of LINK without O_NOFOLLOW lands "+
		"on the link's target: with O_RDWR|O_TRUNC, whoever planted the "+
		"link would make this process empty or overwrite a file of its own")
	return nil
}
