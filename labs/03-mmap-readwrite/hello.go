package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
)

// data is the talk's DATA.
const data = "hello"

// hello runs the talk's example: write "hello" to foo.txt, map it, make
// the first letter a capital, print the mapping. First it shows the bug in
// the example's open call.
func hello(l *lab.Lab) error {
	if err := openModes(l); err != nil {
		return err
	}
	l.Talk("write(f, DATA, length); char * m = (char *)mmap(NULL, " +
		"length, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0); close(f);")
	fd, err := create(l.Path("foo.txt"), 0o644)
	if err != nil {
		return err
	}
	if err := writeAll(fd, []byte(data)); err != nil {
		unix.Close(fd)
		return fmt.Errorf("write foo.txt: %w", err)
	}
	m, err := mem.MapFile(fd, 0, len(data), rw, unix.MAP_SHARED)
	unix.Close(fd)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	l.Say("wrote %q (%d bytes), mapped %d bytes, closed the file",
		data, len(data), len(data))
	return capitalise(l, m)
}

// capitalise is the talk's m[0] = 'H' on the mapping of foo.txt.
func capitalise(l *lab.Lab, m []byte) error {
	l.Talk("m[0] = 'H'; fwrite(m, 1, length, stdout);")
	if _, err := l.Step("write m[0] = 'H'", func() error {
		m[0] = 'H'
		return nil
	}); err != nil {
		return err
	}
	l.Say("the mapping reads %q", m[:len(data)])
	got := make([]byte, 16)
	n, err := readFile(l.Path("foo.txt"), got)
	if err != nil {
		return err
	}
	l.Claim(string(got[:n]) == "Hello", "a new open and read(2) of "+
		"foo.txt give %q: the closed descriptor did not matter, and the "+
		"write through the mapping is in the file's page cache", got[:n])
	v, err := lab.LookShared(m)
	if err != nil {
		return err
	}
	l.Claim(len(v.Table) == 1 && v.Smaps.Pages("Size", mem.PageSize()) == 1,
		"the kernel rounded the %d-byte length up to a whole page "+
			"(smaps Size: 1 page)", len(data))
	return nil
}

// readFile reads up to len(b) bytes of the file at path with read(2).
func readFile(path string, b []byte) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, b)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return n, nil
}

// openModes shows what the talk's open call leaves out: the mode.
func openModes(l *lab.Lab) error {
	l.Talk("int f = open(\"foo.txt\", O_RDWR | O_CREAT | O_TRUNC);")
	l.Say("a bug: with O_CREAT, open(2) takes a third argument, the new " +
		"file's mode. C's open is variadic, so the call compiles without " +
		"it, and the C library passes whatever the register or stack slot " +
		"for a third argument happens to hold. Go's unix.Open always " +
		"takes a mode, so the bug cannot be written here; what the " +
		"kernel does with the number it gets can be shown.")
	umask := unix.Umask(0)
	unix.Umask(umask)
	l.Say("umask %04o", umask)
	all := true
	for _, c := range []struct {
		name string
		mode uint32
		why  string
	}{
		{"foo.txt", 0o644, "what the talk meant"},
		{"zero.txt", 0, "a register that holds 0"},
		{"junk.txt", 0o17604777, "a register with leftovers"},
	} {
		got, err := createMode(l.Path(c.name), c.mode)
		if err != nil {
			return err
		}
		want := c.mode & 0o7777 &^ uint32(umask)
		all = all && got == want
		l.Say("mode %#o (%s): %s is %s %04o (fstat)", c.mode, c.why,
			c.name, permString(got), got)
	}
	l.Claim(all, "the kernel keeps the low 12 bits of any number (the "+
		"permission, setuid, setgid and sticky bits) and clears the "+
		"umask's bits: a missing mode gives a file any of these, never an "+
		"error")
	return nil
}

// createMode creates path with mode and returns the permission bits the
// file got (fstat).
func createMode(path string, mode uint32) (uint32, error) {
	fd, err := create(path, mode)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("fstat %s: %w", path, err)
	}
	return st.Mode & 0o7777, nil
}

// permString draws permission bits as ls does: 04755 is "-rwsr-xr-x".
func permString(mode uint32) string {
	s := []byte("-rwxrwxrwx")
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) == 0 {
			s[i+1] = '-'
		}
	}
	special := []struct {
		bit  uint32
		pos  int
		x, n byte // the letter with and without the execute bit
	}{
		{unix.S_ISUID, 3, 's', 'S'},
		{unix.S_ISGID, 6, 's', 'S'},
		{unix.S_ISVTX, 9, 't', 'T'},
	}
	for _, sp := range special {
		if mode&sp.bit == 0 {
			continue
		}
		if s[sp.pos] == 'x' {
			s[sp.pos] = sp.x
		} else {
			s[sp.pos] = sp.n
		}
	}
	return string(s)
}
