package mem

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/proc"
)

func TestPages(t *testing.T) {
	ps := PageSize()
	for n, want := range map[int]int{0: 0, 1: 1, ps: 1, ps + 1: 2, 3 * ps: 3} {
		if got := Pages(n); got != want {
			t.Errorf("Pages(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestMincore writes pages 1 and 3 of four: mincore must say exactly those.
func TestMincore(t *testing.T) {
	m, err := MapAnon(4, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer UnmapAnon(m)
	if err := unix.Madvise(m, unix.MADV_NOHUGEPAGE); err != nil {
		t.Fatal(err)
	}
	m[1*PageSize()] = 1
	m[3*PageSize()] = 1
	got, err := Mincore(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("mincore = %v, want %v", got, want)
		}
	}
}

func TestMincoreUnmapped(t *testing.T) {
	m, err := MapAnon(1, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	UnmapAnon(m)
	if _, err := Mincore(m); err == nil {
		t.Error("mincore of an unmapped range: want ENOMEM")
	}
}

// TestMapAnonGuards checks that smaps sees the mapping alone, with its
// guard pages as separate PROT_NONE mappings.
func TestMapAnonGuards(t *testing.T) {
	for i := 0; i < 20; i++ {
		m, err := MapAnon(3, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
		if err != nil {
			t.Fatal(err)
		}
		s, err := proc.SmapsAt(0, Addr(m))
		if err != nil {
			t.Fatal(err)
		}
		if s.Start != Addr(m) || int(s.End-s.Start) != len(m) {
			t.Fatalf("smaps mapping is %d bytes, want exactly %d",
				s.End-s.Start, len(m))
		}
		if err := UnmapAnon(m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPageCache writes through a shared file mapping and asks cachestat.
func TestPageCache(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "cache")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps := PageSize()
	if err := f.Truncate(int64(2 * ps)); err != nil {
		t.Fatal(err)
	}
	m, err := MapFile(int(f.Fd()), 0, 2*ps, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer Unmap(m)
	m[ps] = 1
	states, err := PageCache(int(f.Fd()), 0, 2)
	if err == unix.ENOSYS {
		t.Skip("cachestat: ENOSYS (Linux 6.5+)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !states[1].Cached {
		t.Errorf("page 1 after a write: %+v, want cached", states[1])
	}
}
