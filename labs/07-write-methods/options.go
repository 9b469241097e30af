package main

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mmaplab/mmaplab/internal/bench"
)

// options are the lab's own flags.
type options struct {
	size    byteSize // bytes written by each run
	runs    count    // runs per method
	quick   bool     // small and few runs, for workshops
	verify  bool     // one tiny run per method, checks only
	durable bool     // also run each method with fsync/msync
	to      names    // where to write: scratch, shm
	methods names    // which methods; all if none is named
	json    string   // write the results to this file as JSON
	csv     string   // write the results to this file as CSV
}

var opts = options{
	size:    byteSize{n: 256 << 20},
	runs:    count{n: 3},
	durable: true,
	to:      names{allowed: placeNames, chosen: placeNames},
	methods: names{allowed: methodNames()},
}

// Sizes and runs of -quick and -verify, unless -size or -runs are given.
const (
	quickSize  = 32 << 20
	quickRuns  = 3
	verifySize = 8 << 20
)

func addFlags(fs *flag.FlagSet) {
	fs.Var(&opts.size, "size", "write `BYTES` per run, a whole number "+
		"of MiB (default 256MiB)")
	fs.Var(&opts.runs, "runs", "time each method `N` times: median, "+
		"min-max (default 3)")
	fs.BoolVar(&opts.quick, "quick", false, "small and few runs: "+
		"a few seconds in all (32MiB, 3 runs)")
	fs.BoolVar(&opts.verify, "verify", false, "one run of 8MiB per "+
		"method: print the methods and their checks, no numbers")
	fs.BoolVar(&opts.durable, "durable", true, "also run each method "+
		"with fsync, msync MS_SYNC for mmap (default true)")
	fs.Var(&opts.to, "to", "write in these `PLACES`: scratch (a new "+
		"directory in -dir), shm (one in /dev/shm) (default scratch,shm)")
	fs.Var(&opts.methods, "methods", "run only these `METHODS` "+
		"(default all): "+strings.Join(methodNames(), ","))
	fs.StringVar(&opts.json, "json", "", "also write the results to "+
		"`FILE` as JSON, for plotting")
	fs.StringVar(&opts.csv, "csv", "", "also write the results to "+
		"`FILE` as CSV, for plotting")
}

// effective returns the size and number of runs after -quick and -verify.
func (o options) effective() (size, runs int) {
	size, runs = o.size.n, o.runs.n
	switch {
	case o.verify:
		runs = 1
		if !o.size.set {
			size = verifySize
		}
	case o.quick:
		if !o.runs.set {
			runs = quickRuns
		}
		if !o.size.set {
			size = quickSize
		}
	}
	return size, runs
}

// byteSize is a -size value: a whole number of MiB, so that every method
// writes whole buffers of 1 MiB.
type byteSize struct {
	n   int
	set bool
}

func (b *byteSize) String() string { return bench.Size(int64(b.n)) }

func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	b.n, b.set = n, true
	return nil
}

// parseSize reads "256MiB", "256M", "1GiB", "1G" or a number of bytes.
func parseSize(s string) (int, error) {
	num, unit := s, 1
	for suffix, u := range map[string]int{"GiB": 1 << 30, "G": 1 << 30,
		"MiB": 1 << 20, "M": 1 << 20} {
		if rest, ok := strings.CutSuffix(s, suffix); ok {
			num, unit = rest, u
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a size such as 256MiB or 1GiB")
	}
	if n > (64<<30)/unit {
		return 0, fmt.Errorf("more than 64GiB")
	}
	if n*unit%(1<<20) != 0 {
		return 0, fmt.Errorf("not a whole number of MiB")
	}
	return n * unit, nil
}

// count is a -runs value: at least 1.
type count struct {
	n   int
	set bool
}

func (c *count) String() string { return strconv.Itoa(c.n) }

func (c *count) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return fmt.Errorf("want a number of runs from 1 to 1000")
	}
	c.n, c.set = n, true
	return nil
}

// names is a comma-separated list of names, each one of allowed.
type names struct {
	allowed []string
	chosen  []string
}

func (n *names) String() string { return strings.Join(n.chosen, ",") }

func (n *names) Set(s string) error {
	chosen := strings.Split(s, ",")
	for _, name := range chosen {
		if !slices.Contains(n.allowed, name) {
			return fmt.Errorf("no %q in %s", name,
				strings.Join(n.allowed, ","))
		}
	}
	n.chosen = chosen
	return nil
}

// has reports whether name was chosen; with none chosen, all were.
func (n *names) has(name string) bool {
	return len(n.chosen) == 0 || slices.Contains(n.chosen, name)
}
