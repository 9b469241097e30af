// Command 05-shm shows POSIX shared memory on Linux: a named object that
// unrelated processes open by its name and map, and how two processes
// take turns on it without reading half-written messages.
//
// It follows the talk's "Map Shared Memory" slides. shm_open is a glibc
// function, not a system call: internal/shm does for Go what glibc does,
// and each section shows what the kernel does with the file it names.
package main

import (
	"errors"
	"flag"
	"os"
	"strconv"

	"github.com/mmaplab/mmaplab/internal/lab"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

var program = &lab.Program{
	Name: "05-shm",
	Summary: `A POSIX shared-memory object is a file in /dev/shm, a file system
in memory: processes open it by name, size it with ftruncate and map it
MAP_SHARED. It lives until shm_unlink, not until its creator exits. Two
processes that share it must take turns: with a flag stored atomically
last, or with semaphores built on futex.`,
	Sections: []lab.Section{
		{Name: "names", Doc: "an object's name is a file in /dev/shm",
			Run: names},
		{Name: "object", Doc: "created empty, sized by ftruncate, no msync",
			Run: object},
		{Name: "lifetime", Doc: "the object outlives its creator until unlink",
			Run: lifetime},
		{Name: "race", Doc: "without synchronisation, half a message",
			Run: race},
		{Name: "private", Doc: "a private futex does not cross processes",
			Run: private},
		{Name: "pingpong", Doc: "two processes take turns with semaphores",
			Run: pingpong},
	},
	Flags: func(fs *flag.FlagSet) {
		fs.Var(&rounds, "rounds", "`N` round trips in the pingpong "+
			"section (default 1000)")
	},
	Children: map[string]func(*lab.Lab, []string) error{
		"create": createChild,
		"writer": writerChild,
		"waker":  wakerChild,
		"pong":   pongChild,
	},
}

// rounds is the number of round trips in the pingpong section.
var rounds = positive(1000)

// positive is a flag value that must be a whole number above zero: any
// other value is a usage error.
type positive int

func (p *positive) String() string { return strconv.Itoa(int(*p)) }

func (p *positive) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return errors.New("want a whole number above 0")
	}
	*p = positive(n)
	return nil
}
