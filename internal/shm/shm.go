// Package shm does what glibc's shm_open and shm_unlink do on Linux, for
// Go programs: golang.org/x/sys/unix has neither. A POSIX shared-memory
// object is an ordinary file in /dev/shm, a tmpfs (memory, no disk);
// these functions turn its name into that path with glibc's rules and
// open or remove the file.
//
// The rules are those of glibc's posix/shm-directory.c (__shm_get_name),
// sysdeps/posix/shm_open.c and shm_unlink.c:
//
//   - every leading '/' is dropped: "/x", "//x" and "x" are one object;
//   - an empty name, or one with a '/' after the leading ones, is EINVAL;
//   - a name longer than NAME_MAX (255 bytes) is ENAMETOOLONG;
//   - Open adds O_NOFOLLOW|O_CLOEXEC to the flags and turns EISDIR into
//     EINVAL (so "." and ".." are EINVAL when opened for writing);
//   - Unlink turns EPERM into EACCES.
//
// Errors wrap the errno (a unix.Errno), so errors.Is(err, unix.EEXIST)
// works. This package follows the current glibc source. Older glibc (2.36
// on Debian 12, measured) differs on rare names: for a name of 260 bytes
// or more shm_open says EINVAL, and shm_unlink says ENOENT for every bad
// name.
package shm

import (
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where Linux keeps POSIX shared-memory objects.
const Dir = "/dev/shm"

// NameMax is the longest name, without its leading '/', that a file in
// Dir can have (NAME_MAX).
const NameMax = unix.NAME_MAX

// Path returns the file that holds the object name: Dir, a '/', and name
// without its leading '/'. It returns unix.EINVAL for an empty name, a
// '/' inside it or a NUL byte (which a C string cannot hold), and
// unix.ENAMETOOLONG for a name longer than NameMax.
func Path(name string) (string, error) {
	base := strings.TrimLeft(name, "/")
	if base == "" || strings.ContainsAny(base, "/\x00") {
		return "", unix.EINVAL
	}
	if len(base) > NameMax {
		return "", unix.ENAMETOOLONG
	}
	return Dir + "/" + base, nil
}

// Open opens or creates the object name, as shm_open(name, flag, mode)
// does: flag is O_RDONLY or O_RDWR, with O_CREAT, O_EXCL or O_TRUNC if
// needed. O_NOFOLLOW is added because anyone may write in Dir: a symbolic
// link planted there under the name would redirect the open elsewhere.
// O_CLOEXEC is added so that the descriptor does not leak into programs
// this one runs.
func Open(name string, flag int, mode uint32) (int, error) {
	path, err := Path(name)
	if err != nil {
		return -1, &os.PathError{Op: "shm_open", Path: name, Err: err}
	}
	fd, err := unix.Open(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if errors.Is(err, unix.EISDIR) {
		err = unix.EINVAL // a directory is just another unsuitable name
	}
	if err != nil {
		return -1, &os.PathError{Op: "shm_open", Path: name, Err: err}
	}
	return fd, nil
}

// Unlink removes the name of the object, as shm_unlink does. Processes
// that have it open or mapped keep it; its memory is freed when the last
// of them lets go. EPERM (the sticky bit of Dir: only the owner may
// remove) is reported as EACCES, as POSIX specifies for shm_unlink.
func Unlink(name string) error {
	path, err := Path(name)
	if err == nil {
		err = unix.Unlink(path)
	}
	if errors.Is(err, unix.EPERM) {
		err = unix.EACCES
	}
	if err != nil {
		return &os.PathError{Op: "shm_unlink", Path: name, Err: err}
	}
	return nil
}
