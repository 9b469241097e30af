package proc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ioFixture = `rchar: 6976
wchar: 120
syscr: 10
syscw: 2
read_bytes: 4096
write_bytes: 8192
cancelled_write_bytes: 0
`

func TestParseIO(t *testing.T) {
	c, err := ParseIO(strings.NewReader(ioFixture))
	if err != nil {
		t.Fatal(err)
	}
	want := IO{ReadChars: 6976, WriteChars: 120, ReadBytes: 4096,
		WriteBytes: 8192}
	if c != want {
		t.Errorf("ParseIO = %+v, want %+v", c, want)
	}
	d := want.Sub(IO{ReadChars: 6000, ReadBytes: 4096})
	if d.ReadChars != 976 || d.ReadBytes != 0 || d.WriteBytes != 8192 {
		t.Errorf("Sub = %+v", d)
	}
}

func TestParseIORejects(t *testing.T) {
	for _, in := range []string{
		"rchar: 1\n", // counters missing
		strings.Replace(ioFixture, "4096", "x", 1), // not a number
	} {
		if _, err := ParseIO(strings.NewReader(in)); err == nil {
			t.Errorf("ParseIO(%q): no error", in)
		}
	}
}

// TestLiveIO writes a file through write(2) and checks that wchar grew.
func TestLiveIO(t *testing.T) {
	before, err := ReadIO(0)
	if os.IsNotExist(err) {
		t.Skip("no /proc/self/io (CONFIG_TASK_IO_ACCOUNTING)")
	}
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	after, err := ReadIO(0)
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Sub(before); d.WriteChars < 1000 {
		t.Errorf("wchar grew by %d after writing 1000 bytes", d.WriteChars)
	}
}
