package main

import (
	"os"
	"regexp"
	"testing"

	"github.com/mmaplab/mmaplab/internal/golden"
)

func TestMain(m *testing.M) {
	code := m.Run()
	golden.Cleanup()
	os.Exit(code)
}

// machine hides the facts that differ from machine to machine: the page
// size (4, 16 or 64 KiB), the huge page sizes and the THP mode.
var machine = []golden.Rule{
	{Re: regexp.MustCompile(`page size: \d+ bytes`),
		Repl: "page size: PAGESIZE bytes"},
	{Re: regexp.MustCompile(`huge page sizes: [^(]*`),
		Repl: "huge page sizes: SIZES "},
	{Re: regexp.MustCompile(`transparent huge pages: \w+`),
		Repl: "transparent huge pages: MODE"},
}

func TestGolden(t *testing.T) {
	golden.Suite{Dir: "testdata", Command: "01-pages", Rules: machine}.Run(t)
}

// TestGoldenTHP pins the huge page section where the kernel offers
// transparent huge pages of 2 MiB over 4 KiB pages (x86-64).
func TestGoldenTHP(t *testing.T) {
	mode, err := thpMode()
	if err != nil || mode == "never" {
		t.Skipf("no transparent huge pages (mode %q, %v)", mode, err)
	}
	huge, err := pmdSize()
	if err != nil || huge != 2<<20 || os.Getpagesize() != 4096 {
		t.Skipf("huge page %d bytes over %d-byte pages: the golden is "+
			"for 2 MiB over 4 KiB", huge, os.Getpagesize())
	}
	golden.Suite{Dir: "testdata/thp", Command: "01-pages"}.Run(t)
}

func TestSelected(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never":   "always",
		"never":                    "never",
	} {
		if got := selected(in); got != want {
			t.Errorf("selected(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHumanKB(t *testing.T) {
	for kb, want := range map[int64]string{
		64: "64 KiB", 2048: "2 MiB", 1 << 20: "1 GiB", 32768: "32 MiB",
	} {
		if got := humanKB(kb); got != want {
			t.Errorf("humanKB(%d) = %q, want %q", kb, got, want)
		}
	}
}
