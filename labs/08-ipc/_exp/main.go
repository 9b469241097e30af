// Command _exp is a side experiment of lab 08-ipc, kept to re-check one
// explanation in its README: why the shared file's writer faults less
// than once per page on ext4. It writes one byte to each page of a new
// 64 MiB file through a MAP_SHARED mapping and, after each page fault,
// counts how many pages from the faulting one on are now present in the
// page table (pagemap).
//
//	go run ./labs/08-ipc/_exp DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
	"github.com/mmaplab/mmaplab/internal/mem"
	"github.com/mmaplab/mmaplab/internal/proc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./labs/08-ipc/_exp DIR")
		os.Exit(2)
	}
	if err := run(filepath.Join(os.Args[1], "mmaplab-08-exp")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(path string) error {
	runtime.LockOSThread() // fault counters are per thread
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|
		unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(path)
	defer unix.Close(fd)
	const size = 64 << 20
	if err := unix.Ftruncate(fd, size); err != nil {
		return fmt.Errorf("ftruncate: %w", err)
	}
	m, err := mem.MapFile(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer mem.Unmap(m)
	ps, pages := mem.PageSize(), size/mem.PageSize()
	mapped := map[int]int{} // pages present after a fault -> faults
	faults := 0
	for p := range pages {
		before, err := proc.ThreadFaults()
		if err != nil {
			return err
		}
		m[p*ps] = 1
		after, err := proc.ThreadFaults()
		if err != nil {
			return err
		}
		if after.Minor == before.Minor {
			continue
		}
		faults += int(after.Minor - before.Minor)
		e, err := proc.Pagemap(os.Getpid(), mem.Addr(m[p*ps:]),
			min(1024, pages-p))
		if err != nil {
			return err
		}
		k := 0
		for k < len(e) && e[k].Present() {
			k++
		}
		mapped[k]++
	}
	fmt.Printf("%s: %d pages written, %d page faults\n",
		lab.FileSystem(filepath.Dir(path)), pages, faults)
	keys := slices.Sorted(func(yield func(int) bool) {
		for k := range mapped {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		fmt.Printf("  %4d faults left %d pages present from the faulting "+
			"one on\n", mapped[k], k)
	}
	return nil
}
