package main

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/diagram"
	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

// named is a flag of a system call and the name it has in C.
type named struct {
	Name  string
	Value int
}

var (
	accessModes = []named{
		{"O_RDONLY", unix.O_RDONLY},
		{"O_WRONLY", unix.O_WRONLY},
		{"O_RDWR", unix.O_RDWR},
	}
	protections = []named{
		{"PROT_READ", unix.PROT_READ},
		{"PROT_READ|PROT_WRITE", unix.PROT_READ | unix.PROT_WRITE},
	}
	sharing = []named{
		{"MAP_SHARED", unix.MAP_SHARED},
		{"MAP_PRIVATE", unix.MAP_PRIVATE},
	}
)

// mapCall is one row of the access table: how the file was opened and
// mapped, and what mmap returned.
type mapCall struct {
	Mode, Prot, Share named
	Err               error // from mmap; nil if it mapped
}

// access opens a file in each access mode and maps it in each way.
func access(l *lab.Lab) error {
	l.Talk("Readonly Mapping: FLAGS can include O_RDONLY or O_RDWR.")
	l.Talk("Writable Mapping: FLAGS must include O_RDWR. Even if no " +
		"reads are planned.")
	path, err := fileWith(l, "data", filled(1, 'F'))
	if err != nil {
		return err
	}
	l.Say("each row opens a 1-page file of 'F' bytes, then maps it:")
	rows, err := mapTable(path)
	if err != nil {
		return err
	}
	printTable(l, rows)
	claimTable(l, rows)
	if err := privateWrite(l, path); err != nil {
		return err
	}
	return upgrade(l, path)
}

// mapTable makes every call of the table.
func mapTable(path string) ([]mapCall, error) {
	var rows []mapCall
	for _, mode := range accessModes {
		for _, prot := range protections {
			for _, share := range sharing {
				mmapErr, err := tryMap(path, mode.Value,
					prot.Value, share.Value)
				if err != nil {
					return nil, err
				}
				rows = append(rows, mapCall{mode, prot, share, mmapErr})
			}
		}
	}
	return rows, nil
}

// tryMap opens path in an access mode and maps its first page with prot
// and share, then unmaps it. It returns the error of mmap, and apart
// from it any error of the other calls.
func tryMap(path string, mode, prot, share int) (mmapErr, err error) {
	fd, err := unix.Open(path, mode|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, mem.PageSize(), prot, share)
	if err != nil {
		return err, nil
	}
	return nil, mem.Unmap(m)
}

func printTable(l *lab.Lab, rows []mapCall) {
	line := "%-9s %-21s %-12s %s"
	l.Say(line, "open", "mmap prot", "mmap flags", "mmap returned")
	for _, r := range rows {
		l.Say(line, r.Mode.Name, r.Prot.Name, r.Share.Name,
			errnoName(r.Err))
	}
}

// claimTable states what the table shows, one access mode at a time.
func claimTable(l *lab.Lab, rows []mapCall) {
	l.Claim(outcomes(rows, "O_WRONLY") == "EACCES EACCES EACCES EACCES",
		"O_WRONLY cannot be mapped at all, not even read-only "+
			"(EACCES): mmap wants a descriptor that can read, because "+
			"a mapping's pages are filled by reading the file "+
			"(section readfirst)")
	l.Claim(outcomes(rows, "O_RDONLY") == "ok ok EACCES ok",
		"O_RDONLY maps read-only either way, and writable only with "+
			"MAP_PRIVATE: the talk's rule holds for MAP_SHARED alone")
	l.Claim(outcomes(rows, "O_RDWR") == "ok ok ok ok",
		"O_RDWR maps every way")
}

// outcomes lists what mmap returned for one access mode, in the table's
// order: PROT_READ shared, private, then PROT_READ|PROT_WRITE shared,
// private.
func outcomes(rows []mapCall, mode string) string {
	var results []string
	for _, r := range rows {
		if r.Mode.Name == mode {
			results = append(results, errnoName(r.Err))
		}
	}
	return strings.Join(results, " ")
}

// privateWrite writes through a writable private mapping of a read-only
// descriptor and reads the file back.
func privateWrite(l *lab.Lab, path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open O_RDONLY: %w", err)
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, mem.PageSize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	d, err := l.Step("write 'X' to the private map of O_RDONLY", func() error {
		m[0] = 'X'
		return nil
	})
	if err != nil {
		return err
	}
	file, err := contents(path)
	if err != nil {
		return err
	}
	l.Claim(d.Minor == 1 && m[0] == 'X' && file[0] == 'F',
		"the write faulted once (copy-on-write): the mapping reads %q, "+
			"the file still reads %q: the write went to a private copy "+
			"of the page, never to the file, so no write access was "+
			"needed", m[0], file[0])
	return nil
}

// upgrade tries to make read-only mappings of an O_RDONLY descriptor
// writable afterwards, with mprotect.
func upgrade(l *lab.Lab, path string) error {
	results := map[string]error{}
	for _, share := range sharing {
		mprotectErr, err := mprotectWritable(path, share.Value)
		if err != nil {
			return err
		}
		results[share.Name] = mprotectErr
	}
	l.Say("mprotect(PROT_READ|PROT_WRITE) on PROT_READ mappings of an "+
		"O_RDONLY descriptor: MAP_SHARED %s, MAP_PRIVATE %s",
		errnoName(results["MAP_SHARED"]), errnoName(results["MAP_PRIVATE"]))
	l.Claim(errors.Is(results["MAP_SHARED"], unix.EACCES) &&
		results["MAP_PRIVATE"] == nil,
		"the mapping remembers its descriptor's access: mprotect cannot "+
			"later make a shared mapping writable that mmap could not")
	return nil
}

// mprotectWritable maps the first page of path, opened O_RDONLY, with
// PROT_READ and share, and asks mprotect to add PROT_WRITE. It returns
// the error of mprotect, and apart from it any error of the other calls.
func mprotectWritable(path string, share int) (mprotectErr, err error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open O_RDONLY: %w", err)
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, mem.PageSize(), unix.PROT_READ, share)
	if err != nil {
		return nil, err
	}
	defer mem.Unmap(m)
	return unix.Mprotect(m, unix.PROT_READ|unix.PROT_WRITE), nil
}

// readFirstPages is the size of the file in the readfirst section.
const readFirstPages = 8

// readFirst writes one byte to a page of a shared mapping whose page is
// not in memory, and shows the kernel reading it from the disk first.
func readFirst(l *lab.Lab) error {
	l.Talk("This is because a page must be read before it can be written")
	if lab.OnTmpfs(l.Dir) {
		l.Skip("the scratch directory is on tmpfs: its pages live in " +
			"memory, there is no disk to read them from (use -dir on " +
			"a disk file system)")
		return nil
	}
	if _, err := proc.ReadIO(0); err != nil {
		l.Skip("no disk read counter here: %v", err)
		return nil
	}
	fd, err := droppedFile(l, "data", readFirstPages)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	m, err := mem.MapFile(fd, 0, readFirstPages*mem.PageSize(),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	if err := unix.Madvise(m, unix.MADV_RANDOM); err != nil {
		return fmt.Errorf("madvise MADV_RANDOM: %w", err)
	}
	l.Say("an %d-page file of 'f' bytes, fsync-ed and dropped from the "+
		"page cache (POSIX_FADV_DONTNEED), mapped MAP_SHARED, "+
		"PROT_READ|PROT_WRITE, with MADV_RANDOM (no readahead)",
		readFirstPages)
	if _, err := showFile(l, m, fd); err != nil {
		return err
	}
	const page = 3
	d, read, err := stepIO(l, fmt.Sprintf("write 'W' to m[page %d]", page),
		func() error {
			m[page*mem.PageSize()] = 'W'
			return nil
		})
	if err != nil {
		return err
	}
	v, err := showFile(l, m, fd)
	if err != nil {
		return err
	}
	cached := readFirstPages - diagram.Count(v.Cache, diagram.Missing)
	l.Claim(d.Major == 1 && read == 1 && cached == 1 &&
		v.Cache[page] == diagram.Dirty,
		"the write was a major fault: page %d was not in memory, so the "+
			"kernel read it from the disk into the page cache (1 page "+
			"read) before the write could change it", page)
	next := m[page*mem.PageSize()+1]
	l.Claim(next == 'f', "the rest of page %d still reads %q, the file's "+
		"bytes: memory is written in pages, so the page had to hold the "+
		"file's data first", page, next)
	return nil
}

// stepIO runs a step, and also counts the pages that the process read
// from the disk meanwhile (read_bytes of /proc/self/io), or -1 where the
// kernel does not count them.
func stepIO(l *lab.Lab, title string, do func() error) (proc.Faults,
	int, error) {
	before, ioErr := proc.ReadIO(0)
	d, err := l.Step(title, do)
	if err != nil {
		return d, 0, err
	}
	after, err := proc.ReadIO(0)
	if ioErr != nil || err != nil {
		l.Say("read from the disk: not counted here (no /proc/self/io)")
		return d, -1, nil
	}
	pages := int(after.Sub(before).ReadBytes / int64(mem.PageSize()))
	l.Say("read from the disk: %s (/proc/self/io read_bytes)",
		lab.Plural(pages, "page"))
	return d, pages, nil
}

// droppedFile creates a file of pages pages of 'f', writes it to the disk
// and drops it from the page cache, and returns it open O_RDWR.
func droppedFile(l *lab.Lab, name string, pages int) (int, error) {
	path, err := fileWith(l, name, filled(pages, 'f'))
	if err != nil {
		return -1, err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", name, err)
	}
	if err := dropCache(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// dropCache writes the file's dirty pages to the disk and asks the kernel
// to drop its clean pages from the page cache.
func dropCache(fd int) error {
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("posix_fadvise POSIX_FADV_DONTNEED: %w", err)
	}
	return nil
}

// showFile draws the kernel's view of the file mapping m of fd.
func showFile(l *lab.Lab, m []byte, fd int) (lab.View, error) {
	v, err := lab.LookFile(m, fd, 0)
	if err != nil {
		return lab.View{}, err
	}
	l.Show(v)
	return v, nil
}
