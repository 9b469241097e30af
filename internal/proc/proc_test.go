package proc

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestParseSmapsFixture(t *testing.T) {
	f, err := os.Open("testdata/smaps.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	maps, err := ParseMaps(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 5 {
		t.Fatalf("got %d mappings, want 5", len(maps))
	}
	file := maps[1]
	if file.Path != "/tmp/mmaplab 03/data file.bin" {
		t.Errorf("path = %q (spaces must be kept)", file.Path)
	}
	if !file.Shared() || !file.Can('w') || file.Can('x') {
		t.Errorf("perms %q: want shared, writable, not executable", file.Perms)
	}
	if file.Offset != 0x2000 || file.Inode != 1311 || file.Dev != "fe:00" {
		t.Errorf("offset %#x inode %d dev %s", file.Offset, file.Inode, file.Dev)
	}
	if got := file.Pages("Private_Dirty", 4096); got != 2 {
		t.Errorf("Private_Dirty = %d pages, want 2", got)
	}
	if got := file.Pages("Rss", 16384); got != 2 {
		t.Errorf("Rss in 16 KiB pages = %d, want 2", got)
	}
	if maps[2].Path != "" || maps[2].KB["AnonHugePages"] != 2048 {
		t.Errorf("anonymous mapping: path %q, AnonHugePages %d",
			maps[2].Path, maps[2].KB["AnonHugePages"])
	}
	if maps[3].Path != "/dev/zero (deleted)" || maps[3].Inode != 4242 {
		t.Errorf("shared anonymous: path %q inode %d", maps[3].Path, maps[3].Inode)
	}
	if maps[4].Path != "[stack]" {
		t.Errorf("stack path %q", maps[4].Path)
	}
	if _, err := Find(maps, 0x7f3a1c004000); err != nil {
		t.Error(err)
	}
	if _, err := Find(maps, 0x7f3a1c008000); err == nil {
		t.Error("Find: the end address is outside the mapping")
	}
}

func TestParseMapsRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"Rss: 4 kB\n", // counter before any mapping
		"zzzz-1000 rw-p 00000000 00:00 0\n",
		"1000-2000 rw 00000000 00:00 0\n",
	} {
		if _, err := ParseMaps(strings.NewReader(in)); err == nil {
			t.Errorf("ParseMaps(%q): no error", in)
		}
	}
}

// TestLiveSmaps maps two pages, writes one, and reads the kernel's view.
func TestLiveSmaps(t *testing.T) {
	ps := os.Getpagesize()
	m, err := unix.Mmap(-1, 0, 2*ps, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	m[0] = 1
	addr := uintptr(unsafe.Pointer(&m[0]))
	s, err := SmapsAt(0, addr)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Shared() || s.Pages("Rss", ps) != 1 {
		t.Errorf("smaps: perms %s, Rss %d pages, want shared and 1 page",
			s.Perms, s.Pages("Rss", ps))
	}
	entries, err := Pagemap(0, addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !entries[0].Present() || entries[1].Present() {
		t.Errorf("pagemap present = %v, %v; want true, false",
			entries[0].Present(), entries[1].Present())
	}
	if !entries[0].FileOrShared() {
		t.Error("pagemap: a shared anonymous page has the file/shared bit")
	}
}

func TestThreadFaults(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ps := os.Getpagesize()
	m, err := unix.Mmap(-1, 0, 4*ps, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	unix.Madvise(m, unix.MADV_NOHUGEPAGE)
	before, err := ThreadFaults()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		m[i*ps] = 1
	}
	after, _ := ThreadFaults()
	if d := after.Sub(before); d.Minor != 4 || d.Major != 0 {
		t.Errorf("4 first writes: %+v faults, want 4 minor", d)
	}
}

func TestKPageFlagsNeedsFrames(t *testing.T) {
	if _, err := KPageFlags([]uint64{0}); err == nil {
		t.Error("KPageFlags(0): want an error for a hidden frame number")
	}
}
