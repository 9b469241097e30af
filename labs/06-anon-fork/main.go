// Command 06-anon-fork shows the talk's second way to share memory: map
// anonymous memory, then fork. A child inherits every mapping: a
// MAP_SHARED one stays one memory for both processes, a MAP_PRIVATE one
// is copied when either of them writes (copy-on-write).
//
// Go has no fork without exec, so the lab forks through internal/fork,
// whose children run under strict rules; the rules section shows why.
// The exec section shows the idiomatic Go way instead: a memfd passed to
// a re-run of the program, and that exec drops an anonymous mapping.
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

// labName is the lab's command name.
const labName = "06-anon-fork"

var program = &lab.Program{
	Name: labName,
	Summary: `Map anonymous memory, then fork: the child inherits the mapping.
With MAP_SHARED the two processes share its pages, with MAP_PRIVATE
each write makes a copy (copy-on-write). Workers forked this way can
fill slots of one shared mapping. Go cannot fork freely: the forked
child has one thread of many, so it lives by strict rules. The Go way
is a memfd passed to a re-run of the program, whose exec drops every
anonymous mapping.`,
	Sections: []lab.Section{
		{Name: "shared", Doc: "MAP_SHARED: the child's writes reach the parent",
			Run: shared},
		{Name: "private", Doc: "MAP_PRIVATE: copy-on-write after fork",
			Run: private},
		{Name: "workers", Doc: "worker processes fill slots of one mapping",
			Run: workers},
		{Name: "rules", Doc: "a forked Go child has one thread",
			Run: rules},
		{Name: "exec", Doc: "the Go way: a memfd for a re-run of the program",
			Run: execMemfd},
	},
	Children: map[string]func(*lab.Lab, []string) error{
		"mapfd": mapfdChild,
	},
}

// pages is the size of the mappings, as in the talk's diagrams.
const pages = 8

// rw is read and write access.
const rw = unix.PROT_READ | unix.PROT_WRITE

// pagesNamed returns "page 3" or "pages 1, 2 and 5".
func pagesNamed(ps []int) string {
	if len(ps) == 1 {
		return fmt.Sprintf("page %d", ps[0])
	}
	return "pages " + pageList(ps)
}

// pageList returns "1, 2 and 5".
func pageList(ps []int) string {
	s := ""
	for i, p := range ps {
		switch {
		case i == 0:
		case i == len(ps)-1:
			s += " and "
		default:
			s += ", "
		}
		s += fmt.Sprint(p)
	}
	return s
}
