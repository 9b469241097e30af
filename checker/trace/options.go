package trace

import (
	"context"
	"os"
	"time"
)

// Options says what to run and what to do at its stops.
type Options struct {
	Path string   // program to run, as exec.Cmd.Path: PATH is not searched
	Args []string // its arguments, without the program name
	Dir  string   // working directory; "" for the tracer's
	Env  []string // environment; nil for the tracer's

	// Stdin, Stdout and Stderr are given to the program as they are; nil
	// means /dev/null. The caller owns them (and closes its pipe ends).
	Stdin, Stdout, Stderr *os.File
	ExtraFiles            []*os.File // descriptors 3, 4, ... of the program

	// Context, if not nil, bounds the run: when it ends, every process of
	// the tree is killed and Trace.TimedOut is set. Timeout, if not zero,
	// does the same after that long.
	Context context.Context
	Timeout time.Duration

	// MaxTasks, if not zero, caps the threads and processes alive at once
	// in the tree: one more, and the whole tree is killed and
	// Trace.TooMany is set (a fork bomb, or threads without end).
	MaxTasks int

	// OnSyscall is called at the entry (s.Exit false) and at the exit
	// (s.Exit true) of every syscall, with s.Syscall set.
	OnSyscall func(s *Stop)
	// OnNewProcess is called at the first stop of every new process,
	// before it runs its first instruction: the root (after its execve)
	// and every child (right after the fork).
	OnNewProcess func(s *Stop)
	// OnSignal is called when a signal is about to be delivered, with
	// s.Signal set. The signal is delivered after the callback returns.
	OnSignal func(s *Stop)
	// OnExit is called once when a process exits (exit_group, the exit of
	// its last thread, or a fatal signal other than SIGKILL), at a stop
	// where its memory can still be read.
	OnExit func(s *Stop)
}
