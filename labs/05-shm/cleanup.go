package main

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/internal/lab"
)

// runHoldingSignals runs the program. internal/lab stops watching for
// Ctrl-C before its final cleanups, and a signal then would kill the lab
// half-way through them: so this holds SIGINT, SIGTERM and SIGHUP until
// the program is done, and then dies of the one that came, as a program
// interrupted by Ctrl-C should.
func runHoldingSignals(args []string) int {
	held := make(chan os.Signal, 1)
	signal.Notify(held, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	code := program.Run(os.Stdout, os.Stderr, args)
	select {
	case sig := <-held:
		signal.Reset(sig)
		// Sent to this thread, the signal is taken before the system
		// call returns: the process dies before it could exit.
		runtime.LockOSThread()
		unix.Tgkill(os.Getpid(), unix.Gettid(), sig.(syscall.Signal))
	default:
	}
	return code
}

// The lab's Ctrl-C handler (internal/lab) runs the OnClose cleanups in a
// goroutine of its own, while the experiment goes on in the main one. An
// object made, or a child started, after those cleanups would be left
// behind. So making such a thing (making) and undoing it (onEnd) exclude
// each other, and once the lab is ending nothing new is made.
var ending struct {
	sync.Mutex
	done bool
}

// errEnding is what making returns once the lab is ending.
var errEnding = errors.New("the lab is ending (interrupted)")

// onEnd registers undo to run when the lab ends, also on Ctrl-C.
func onEnd(l *lab.Lab, undo func()) {
	l.OnClose(func() {
		markEnding()
		undo()
	})
	// OnClose waits while the cleanups run. If they have run already
	// (the scratch directory, which they remove last, is gone), undo
	// never will: nothing more may be made.
	if _, err := os.Stat(l.Dir); err != nil {
		markEnding()
	}
}

func markEnding() {
	ending.Lock()
	ending.done = true
	ending.Unlock()
}

// making runs do, which makes something that an onEnd undoes, unless the
// lab is ending. While do runs, the undoing waits.
func making(do func() error) error {
	ending.Lock()
	defer ending.Unlock()
	if ending.done {
		return errEnding
	}
	return do()
}
