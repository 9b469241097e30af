// Command 08-ipc moves the same bytes between two processes in the ways
// the talk lists for sharing data (pipes, sockets, a shared file, shared
// memory), measures each one on this machine, and checks every byte that
// arrives.
//
// The other process is this lab's binary run again ("-child peer"),
// pinned to another CPU where there are two. Numbers are this machine's
// own, measured in this run; -verify leaves them out, for the golden
// tests.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/mmaplab/mmaplab/internal/lab"
)

func main() { os.Exit(program.Run(os.Stdout, os.Stderr, os.Args[1:])) }

var program = &lab.Program{
	Name: "08-ipc",
	Summary: `Two processes can share data through a pipe, a socket, a file
they both map, or shared memory. This lab moves the same bytes from a
child process to this one each way, in chunks from 64 B to 1 MiB, checks
every byte (CRC-32C), and measures throughput and round-trip latency on
this machine, next to copy() in one process. Pipes and sockets copy each
byte into the kernel and out again and wake the other side with a system
call; a ring in shared memory needs neither.`,
	Sections: []lab.Section{
		{Name: "machine", Doc: "the CPUs, the pipes and the files used",
			Run: machine},
		{Name: "throughput", Doc: "the same bytes from a child, each way",
			Run: throughput},
		{Name: "roundtrip", Doc: "a message there and back, four ways",
			Run: roundtrip},
	},
	// The shared file is the talk's "same file on disk": keep it off
	// tmpfs where the machine has a disk.
	Disk: true,
	Flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&opts.quick, "quick", false, "fewer and smaller "+
			"measurements: a few seconds in all, for workshops")
		fs.BoolVar(&opts.verify, "verify", false, "tiny transfers that "+
			"only check the bytes: print no numbers (golden tests)")
		fs.StringVar(&opts.json, "json", "", "also write the results to "+
			"`FILE` as JSON")
		fs.StringVar(&opts.csv, "csv", "", "also write the results to "+
			"`FILE` as CSV")
		fs.Var(&opts.pin, "pin", "where the two processes run, `MODE`: "+
			"two CPUs (two, the default), one CPU (one), or where the "+
			"kernel puts them (off)")
	},
	Children: map[string]func(*lab.Lab, []string) error{
		"peer": peerChild,
	},
}

// options are the lab's own flags.
type options struct {
	quick, verify bool
	json, csv     string
	pin           pinMode
}

var opts options

// pinMode is where the two processes run: -pin two, one or off.
type pinMode string

func (m *pinMode) String() string {
	if *m == "" {
		return "two"
	}
	return string(*m)
}

func (m *pinMode) Set(s string) error {
	switch s {
	case "two", "one", "off":
		*m = pinMode(s)
		return nil
	}
	return errors.New("want two, one or off")
}

// labName is how the lab calls its binary in what it prints.
const labName = "08-ipc"

// labBinary returns the path of this lab's binary, to run it again.
func labBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the lab's binary: %w", err)
	}
	return exe, nil
}
