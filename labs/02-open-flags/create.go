package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/fault"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// create shows O_CREAT with and without O_EXCL, on a file and on a
// symbolic link that points nowhere.
func create(l *lab.Lab) error {
	l.Talk("Creation FLAGS: create if not exist O_CREATE, must create " +
		"O_EXCL")
	l.Say("(the flag is spelled O_CREAT)")
	path := l.Path("new")
	excl := unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC
	fd, first := unix.Open(path, excl, 0o644)
	if first == nil {
		_, err := unix.Write(fd, []byte("abc"))
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	l.Say(`open("new", O_RDWR|O_CREAT|O_EXCL, 0644): %s, then `+
		`write "abc"`, errnoName(first))
	again := openClose(path, excl, 0o644)
	l.Say(`the same open again: %s`, errnoName(again))
	plain := unix.O_RDWR | unix.O_CREAT | unix.O_CLOEXEC
	reopen := openClose(path, plain, 0o644)
	text, err := contents(path)
	if err != nil {
		return err
	}
	l.Say(`open("new", O_RDWR|O_CREAT, 0644): %s`, errnoName(reopen))
	l.Claim(first == nil && errors.Is(again, unix.EEXIST),
		"O_CREAT|O_EXCL made the file, then refused to open it because "+
			"it existed (EEXIST)")
	l.Claim(reopen == nil && text == "abc", "O_CREAT alone opened the "+
		"existing file as it was: it still reads %q", text)
	return danglingLink(l, excl, plain)
}

// danglingLink opens a symbolic link to a missing file with O_CREAT,
// with and without O_EXCL.
func danglingLink(l *lab.Lab, excl, plain int) error {
	link, target := l.Path("link"), l.Path("target")
	if err := os.Symlink("target", link); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	l.Say(`"link" is a symbolic link to "target", which does not exist`)
	withExcl := openClose(link, excl, 0o644)
	_, made := os.Lstat(target)
	l.Say(`open("link", O_RDWR|O_CREAT|O_EXCL, 0644): %s`,
		errnoName(withExcl))
	l.Claim(errors.Is(withExcl, unix.EEXIST) &&
		errors.Is(made, os.ErrNotExist),
		"O_CREAT|O_EXCL does not follow the link: EEXIST, and no target "+
			"was made")
	without := openClose(link, plain, 0o644)
	_, made = os.Lstat(target)
	l.Say(`open("link", O_RDWR|O_CREAT, 0644): %s`, errnoName(without))
	l.Claim(without == nil && made == nil, "O_CREAT alone follows the "+
		"link and creates the file it points to: O_EXCL is how a "+
		"program knows the file it opened is the new one it made")
	return nil
}

// openClose opens path and closes it at once: only the result matters.
func openClose(path string, flags int, perm uint32) error {
	fd, err := unix.Open(path, flags, perm)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// truncPages is the size of the file that trunc empties.
const truncPages = 3

// trunc opens a mapped file with O_TRUNC, then does the same with
// O_RDONLY, which POSIX leaves undefined.
func trunc(l *lab.Lab) error {
	l.Talk("truncate O_TRUNC")
	path, err := fileWith(l, "data", filled(truncPages, 'T'))
	if err != nil {
		return err
	}
	before, err := sizeAt(path)
	if err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open O_RDONLY: %w", err)
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, truncPages*mem.PageSize(),
		unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	l.Say(`"data": %s of 'T', mapped MAP_SHARED, PROT_READ`,
		lab.Plural(before.Pages, "page"))
	b, err := fault.ReadByte(m, 0)
	if err != nil {
		return err
	}
	l.Say("read m[page 0]: %q", b)
	after, err := openSize(path, unix.O_RDWR|unix.O_TRUNC)
	if err != nil {
		return err
	}
	l.Say(`open("data", O_RDWR|O_TRUNC): %s`, after)
	l.Claim(before.Pages == truncPages && after == size{},
		"O_TRUNC emptied the file and the file system freed its blocks")
	_, faultErr := fault.ReadByte(m, 0)
	l.Say("read m[page 0] again: %s", faultText(faultErr))
	var sig *fault.Error
	l.Claim(errors.As(faultErr, &sig) && sig.Signal == unix.SIGBUS,
		"the mapping is still there, but its pages now lie past the "+
			"end of the file: touching one is SIGBUS")
	return truncReadOnly(l)
}

// faultText describes the outcome of an access that should fault.
func faultText(err error) string {
	if err == nil {
		return "no fault"
	}
	return err.Error()
}

// truncReadOnly opens a file O_RDONLY|O_TRUNC.
func truncReadOnly(l *lab.Lab) error {
	path, err := fileWith(l, "other", filled(truncPages, 'T'))
	if err != nil {
		return err
	}
	after, err := openSize(path, unix.O_RDONLY|unix.O_TRUNC)
	if err != nil {
		return err
	}
	l.Say(`"other" has %s; open("other", O_RDONLY|O_TRUNC): %s`,
		lab.Plural(truncPages, "page"), after)
	l.Claim(after.Pages == 0, "POSIX leaves O_RDONLY|O_TRUNC undefined: "+
		"Linux truncates the file, through a descriptor that cannot "+
		"write to it")
	return nil
}

// openSize opens path with flags and returns the file's size then.
func openSize(path string, flags int) (size, error) {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return size{}, fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	return sizeOf(fd)
}

// appendWrites writes to an O_APPEND descriptor at offset 0 three ways:
// write after lseek, pwrite, and a store through a shared mapping.
func appendWrites(l *lab.Lab) error {
	l.Talk("append O_APPEND")
	path, err := fileWith(l, "log", []byte("abc"))
	if err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open O_RDWR|O_APPEND: %w", err)
	}
	defer unix.Close(fd)
	l.Say(`"log" holds "abc"; open("log", O_RDWR|O_APPEND)`)
	if _, err := unix.Seek(fd, 0, unix.SEEK_SET); err != nil {
		return fmt.Errorf("lseek: %w", err)
	}
	if _, err := unix.Write(fd, []byte("def")); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	afterWrite, err := contents(path)
	if err != nil {
		return err
	}
	l.Say(`lseek(fd, 0, SEEK_SET), write "def": "log" reads %q`,
		afterWrite)
	l.Claim(afterWrite == "abcdef", "write went to the end, not to "+
		"offset 0: with O_APPEND each write first moves to the end of "+
		"the file, in the same step")
	if _, err := unix.Pwrite(fd, []byte("ghi"), 0); err != nil {
		return fmt.Errorf("pwrite: %w", err)
	}
	afterPwrite, err := contents(path)
	if err != nil {
		return err
	}
	l.Say(`pwrite(fd, "ghi", offset 0): "log" reads %q`, afterPwrite)
	l.Claim(afterPwrite == "abcdefghi", "pwrite's offset was ignored: "+
		"POSIX says pwrite writes at its offset even with O_APPEND, "+
		"Linux appends (a known bug, in the BUGS of man 2 pwrite)")
	return appendMapped(l, fd, path, len(afterPwrite))
}

// appendMapped stores a byte through a shared mapping of the O_APPEND
// descriptor fd.
func appendMapped(l *lab.Lab, fd int, path string, n int) error {
	m, err := mem.MapFile(fd, 0, n, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	l.Say("mmap of the O_APPEND descriptor, MAP_SHARED, "+
		"PROT_READ|PROT_WRITE: %s", errnoName(err))
	if err != nil {
		l.Claim(false, "the mapping failed: %v", err)
		return nil
	}
	defer mem.Unmap(m)
	if _, err := l.Step("write 'X' to m[0]", func() error {
		m[0] = 'X'
		return nil
	}); err != nil {
		return err
	}
	text, err := contents(path)
	if err != nil {
		return err
	}
	l.Say(`"log" reads %q`, text)
	l.Claim(text == "Xbcdefghi", "O_APPEND rules write and pwrite only: "+
		"a store through the mapping changed byte 0, where it was made")
	return nil
}
