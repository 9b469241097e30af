package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/check"
)

// watch checks the labs, then again whenever a file of their directories
// changes (inotify), or when Enter is pressed: the fallback where file
// events do not arrive (some network and container file systems). It
// ends with Ctrl-C.
func watch(ctx context.Context, module string, labs []*check.Lab,
	o options, stdout io.Writer) (int, error) {
	changed := make(chan struct{}, 1)
	var dirs []string
	for _, lab := range labs {
		dirs = append(dirs, checkedDir(module, lab, o))
	}
	stop, err := watchDirs(dirs, changed)
	if err != nil {
		fmt.Fprintf(stdout, "file events are not available here (%v)\n", err)
	} else {
		defer stop()
	}
	go pressEnter(os.Stdin, changed)
	for {
		res := checkLabs(ctx, module, labs, o)
		if ctx.Err() != nil {
			return 130, nil
		}
		res.print(stdout, o, len(labs) == 1)
		fmt.Fprintln(stdout, "\nwatching for changes: save a file, or "+
			"press Enter to check again; Ctrl-C to stop")
		select {
		case <-ctx.Done():
			return 130, nil
		case <-changed:
		}
		// An editor saves in several steps: let them settle.
		time.Sleep(200 * time.Millisecond)
		select {
		case <-changed:
		default:
		}
		fmt.Fprintln(stdout)
	}
}

// checkedDir is the directory checked for lab under the options.
func checkedDir(module string, lab *check.Lab, o options) string {
	switch {
	case o.dir != "":
		return o.dir
	case o.solution:
		return lab.SolutionDir(module)
	}
	return lab.ExerciseDir(module)
}

// watchDirs sends on changed whenever a file in dirs is written, created,
// moved in or removed.
func watchDirs(dirs []string, changed chan<- struct{}) (stop func(), err error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	const mask = unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_MOVED_TO |
		unix.IN_DELETE
	for _, d := range dirs {
		if _, err := unix.InotifyAddWatch(fd, d, mask); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("inotify_add_watch %s: %w", d, err)
		}
	}
	f := os.NewFile(uintptr(fd), "inotify")
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			notify(changed)
		}
	}()
	return func() { f.Close() }, nil
}

// pressEnter sends on changed for every line read from stdin.
func pressEnter(stdin io.Reader, changed chan<- struct{}) {
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		notify(changed)
	}
}

func notify(changed chan<- struct{}) {
	select {
	case changed <- struct{}{}:
	default:
	}
}
