package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
	"github.com/mmaplab/mmaplab/internal/shm"
)

// note is what the child writes into the object in the lifetime section,
// and after is what this process adds once the name is gone.
const (
	note  = "written by a process that has exited"
	after = "; still here"
)

// lifetime shows that an object outlives the process that made it, and
// that shm_unlink removes the name at once but not the memory of those
// that still map it.
func lifetime(l *lab.Lab) error {
	if why := noDevShm(); why != "" {
		l.Skip("%s: POSIX shared memory lives there on Linux", why)
		return nil
	}
	name := newName(l, "lifetime")
	l.Say("NAME = %s", name)
	if err := createInChild(l, name); err != nil {
		return err
	}
	m, err := openMapped(name)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	l.Say("shm_open NAME, O_RDWR; mmap 1 page, MAP_SHARED, read/write")
	if err := readNote(l, m); err != nil {
		return err
	}
	if err := unlink(l, name); err != nil {
		return err
	}
	if err := writeAfter(l, m); err != nil {
		return err
	}
	return reuse(l, name, m)
}

// createInChild has a child process create the object, write into it and
// exit; then it looks at what is left.
func createInChild(l *lab.Lab, name string) error {
	c, err := startChild(l, "create", name, note)
	if err != nil {
		return err
	}
	l.Say("a child process creates NAME, 1 page long, writes a note into "+
		"it through a mapping, unmaps, closes and exits: %s",
		c.command(name))
	if err := c.wait(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(pathOf(name), &st); err != nil {
		return fmt.Errorf("stat /dev/shm/NAME: %w", err)
	}
	held := int(st.Blocks * 512 / int64(mem.PageSize()))
	l.Claim(st.Size == int64(mem.PageSize()) && held == 1, "the child "+
		"has exited (wait4, status 0) and /dev/shm/NAME is still there: "+
		"1 page long, %s of memory", lab.Plural(held, "page"))
	return nil
}

// readNote reads the child's note through this process's mapping.
func readNote(l *lab.Lab, m []byte) error {
	var buf [len(note)]byte // on the stack: no fault of its own
	d, err := l.Step("read the note through the mapping", func() error {
		copy(buf[:], m)
		return nil
	})
	if err != nil {
		return err
	}
	text := string(buf[:])
	l.Claim(text == note && d.Minor == 1, "it reads %q with one minor "+
		"fault: the page was still in memory, the kernel only added it to "+
		"this process's page table", text)
	return nil
}

// unlink removes the name while this process still maps the object.
func unlink(l *lab.Lab, name string) error {
	l.Talk("Delete shared memory file: int shm_unlink(const char *NAME);")
	err := shm.Unlink(name)
	l.Say("shm_unlink NAME: %s", errnoName(err))
	if err != nil {
		return err
	}
	_, statErr := os.Lstat(pathOf(name))
	_, openErr := shm.Open(name, unix.O_RDWR, 0)
	l.Claim(errors.Is(statErr, os.ErrNotExist) &&
		errors.Is(openErr, unix.ENOENT), "the name is gone at once: stat "+
		"finds no /dev/shm/NAME, shm_open NAME says %s", errnoName(openErr))
	return nil
}

// writeAfter writes through the mapping after the name is gone.
func writeAfter(l *lab.Lab, m []byte) error {
	d, err := l.Step("write through the mapping", func() error {
		copy(m[len(note):], after)
		return nil
	})
	if err != nil {
		return err
	}
	mapping, err := mappingOf(m)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 0 && bytes.HasPrefix(m, []byte(note+after)) &&
		strings.HasSuffix(mapping.Path, " (deleted)"),
		"the mapping still works, without a fault: the memory is the "+
			"same, only its name is gone; /proc/self/maps shows it as "+
			"%q", "/dev/shm/NAME (deleted)")
	return nil
}

// reuse creates a new object under the freed name while the old one is
// still mapped.
func reuse(l *lab.Lab, name string, old []byte) error {
	fd, err := create(l, name)
	l.Say("shm_open NAME, O_RDWR|O_CREAT|O_EXCL, again: %s", errnoName(err))
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	info, err := fstat(fd)
	if err != nil {
		return err
	}
	mapped, err := mappingOf(old)
	if err != nil {
		return err
	}
	l.Claim(info.Size == 0 && info.Inode != mapped.Inode &&
		bytes.HasPrefix(old, []byte(note)), "a new, empty object (%d "+
		"bytes, another inode) has the name; the old one lives on in this "+
		"process's mapping, note and all", info.Size)
	return nil
}

// mappingOf returns the line of /proc/self/maps that holds m.
func mappingOf(m []byte) (proc.Mapping, error) {
	maps, err := proc.ReadMaps(0)
	if err != nil {
		return proc.Mapping{}, err
	}
	return proc.Find(maps, mem.Addr(m))
}

// createChild is the child role "create NAME TEXT": it creates the object
// NAME, one page long, writes TEXT into it through a mapping, and exits
// without removing it.
func createChild(l *lab.Lab, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("want NAME TEXT, got %d arguments", len(args))
	}
	m, err := createSized(l, args[0], 1)
	if err != nil {
		return err
	}
	copy(m, args[1])
	return mem.Unmap(m)
}
