package run

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// Limits bound one run. The zero value means the defaults.
type Limits struct {
	Timeout time.Duration // wall-clock limit of the run
	CPU     time.Duration // CPU time of each process
	Output  int           // bytes kept of stdout and of stderr each
	Flood   int64         // bytes of output after which the run is killed
	Memory  int64         // resident memory of the whole tree, in bytes
	Tasks   int           // processes and threads alive at once
	// Unconfined runs the program without the launcher: no Landlock,
	// seccomp, cgroup or CPU limit (the tracer's own tests).
	Unconfined bool
	// NoLandlock and NoCgroup turn one part of the confinement off, as
	// on a kernel without it: the checker then finds files written
	// outside from the trace, and watches the tree's memory itself.
	NoLandlock, NoCgroup bool
}

// Defaults for Limits.
const (
	DefaultTimeout = 10 * time.Second
	DefaultOutput  = 1 << 20  // 1 MiB kept of each stream
	DefaultFlood   = 64 << 20 // 64 MiB printed in all: the run ends
	DefaultMemory  = 2 << 30  // 2 GiB for the whole tree
	DefaultTasks   = 256      // lab 06 needs 64 workers and ~10 threads
	// Grace is how long the other processes of a tree may live on after
	// its root exited before they count as left behind and are killed;
	// it is also the time a program has between SIGTERM and SIGKILL
	// when its time is up.
	Grace = 300 * time.Millisecond
)

// The limits that can end a run, as Exec.Limit names them.
const (
	LimitTime   = "time"
	LimitCPU    = "cpu"
	LimitMemory = "memory"
	LimitTasks  = "processes"
	LimitOutput = "output"
)

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.CPU <= 0 {
		// Half the wall-clock limit: a busy loop is told apart from a
		// program that sleeps or waits.
		l.CPU = l.Timeout / 2
	}
	if l.Output <= 0 {
		l.Output = DefaultOutput
	}
	if l.Flood <= 0 {
		l.Flood = DefaultFlood
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	if l.Tasks <= 0 {
		l.Tasks = DefaultTasks
	}
	return l
}

// watchdog ends the run when its time is up (SIGTERM to every process,
// SIGKILL after Grace to whatever ignored it) or when ctx ends (SIGKILL
// at once), and, where no memory cgroup holds the tree, watches its
// resident memory.
func (r *Running) watchdog(ctx context.Context) {
	deadline := time.NewTimer(r.lim.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-ctx.Done():
			r.tracer.KillAll()
			return
		case <-deadline.C:
			r.hit(LimitTime)
			r.tracer.Signal(unix.SIGTERM)
			select {
			case <-r.done:
			case <-time.After(Grace):
				r.tracer.KillAll()
			}
			return
		case <-tick.C:
			if r.box != nil && r.box.overMemory(r.lim.Memory) {
				r.hit(LimitMemory)
				r.tracer.KillAll()
				return
			}
		}
	}
}
