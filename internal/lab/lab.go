// Package lab is the frame every lab program shares: its command line
// (-h, -list, -only, -dir), its scratch directory, its numbered steps with
// the page faults each one caused, and its "skipped: why" lines. The
// experiments themselves live in each lab's main package.
package lab

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/mmaplab/mmaplab/internal/fault"
)

// Section is one experiment of a lab. Sections run in order; -only runs
// some of them, which is how the golden tests pin each one.
type Section struct {
	Name string // one word, for -only
	Doc  string // one line, for -list
	Run  func(*Lab) error
}

// Program describes a lab's command.
type Program struct {
	Name     string // "01-pages"
	Summary  string // what the lab shows, one paragraph for -h
	Sections []Section

	// Flags, if set, adds the lab's own flags to its flag set.
	Flags func(*flag.FlagSet)

	// Disk asks for a scratch directory on a disk-backed file system:
	// page cache write-back and readahead do not happen on tmpfs.
	Disk bool

	// Children are the roles in which the lab runs its own binary again
	// as another process: "prog -child NAME args...".
	Children map[string]func(l *Lab, args []string) error
}

// Run runs the lab with the command-line arguments args and returns the
// exit status: 0 done, 1 an experiment failed, 2 a usage error.
func (p *Program) Run(stdout, stderr io.Writer, args []string) int {
	// A lab piped into head must still remove its scratch directory: a
	// write to a closed pipe returns EPIPE instead of killing the lab.
	signal.Ignore(syscall.SIGPIPE)
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	list := fs.Bool("list", false, "list the sections and exit")
	only := fs.String("only", "", "run only these sections (comma-separated)")
	dir := fs.String("dir", "", "make the scratch directory in `DIR` "+
		"(default $TMPDIR, or a disk-backed directory where needed)")
	child := fs.String("child", "", "internal: run as a child process of the lab")
	if p.Flags != nil {
		p.Flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			p.usage(stdout, fs)
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v (see -h)\n", p.Name, err)
		return 2
	}
	if *list {
		for _, s := range p.Sections {
			fmt.Fprintf(stdout, "%-12s %s\n", s.Name, s.Doc)
		}
		return 0
	}
	if *child != "" {
		return p.runChild(stdout, stderr, *child, fs.Args())
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q (see -h)\n",
			p.Name, fs.Arg(0))
		return 2
	}
	sections, err := p.choose(*only)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (see -h)\n", p.Name, err)
		return 2
	}
	return p.runSections(stdout, stderr, *dir, sections)
}

func (p *Program) usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: go run ./labs/%s [flags]\n\n%s\n\n", p.Name,
		strings.TrimSpace(p.Summary))
	fmt.Fprintf(w, "Sections (run in this order; pick with -only):\n")
	for _, s := range p.Sections {
		fmt.Fprintf(w, "  %-12s %s\n", s.Name, s.Doc)
	}
	fmt.Fprintf(w, "\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "child" {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" &&
			!strings.Contains(usage, "default") {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  -%s %s\n    \t%s\n", f.Name, name, usage)
	})
}

// choose returns the sections named in a comma-separated list, in the
// lab's order; an empty list means all of them.
func (p *Program) choose(only string) ([]Section, error) {
	if only == "" {
		return p.Sections, nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(only, ",") {
		if !p.has(name) {
			return nil, fmt.Errorf("no section %q", name)
		}
		want[name] = true
	}
	var chosen []Section
	for _, s := range p.Sections {
		if want[s.Name] {
			chosen = append(chosen, s)
		}
	}
	return chosen, nil
}

func (p *Program) has(name string) bool {
	for _, s := range p.Sections {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (p *Program) runSections(stdout, stderr io.Writer, dir string,
	sections []Section) int {
	l, err := p.start(stdout, dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 1
	}
	defer l.Close()
	for _, s := range sections {
		l.section(s)
		if err := s.Run(l); err != nil {
			fmt.Fprintf(stderr, "%s: %s: %v\n", p.Name, s.Name, err)
			return 1
		}
	}
	return 0
}

func (p *Program) runChild(stdout, stderr io.Writer, role string,
	args []string) int {
	f := p.Children[role]
	if f == nil {
		fmt.Fprintf(stderr, "%s: no child role %q\n", p.Name, role)
		return 2
	}
	l := &Lab{Out: stdout, name: p.Name}
	runtime.LockOSThread()
	if err := f(l, args); err != nil {
		fmt.Fprintf(stderr, "%s child %s: %v\n", p.Name, role, err)
		return 1
	}
	return 0
}

// start makes the scratch directory and arranges for it to be removed
// also when the lab is interrupted: the handler is in place before the
// directory exists.
func (p *Program) start(stdout io.Writer, dir string) (*Lab, error) {
	// Fault counters are per thread: keep the experiments on one.
	runtime.LockOSThread()
	growStack()
	fault.Warm()
	l := &Lab{Out: stdout, name: p.Name}
	l.stopSignals = onInterrupt(l.cleanup)
	var note string
	err := l.Make(func() error {
		var err error
		l.Dir, note, err = makeScratch(p.Name, dir, p.Disk)
		return err
	}, func() { os.RemoveAll(l.Dir) })
	if err != nil {
		l.Close()
		return nil, err
	}
	if note != "" {
		fmt.Fprintf(stdout, "note: %s\n", note)
	}
	return l, nil
}

// onInterrupt runs cleanup when the lab gets SIGINT, SIGTERM or SIGHUP,
// then dies of that signal as it would have without the handler. It
// returns a function that stops watching.
func onInterrupt(cleanup func()) (stop func()) {
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case sig := <-sigs:
			cleanup()
			signal.Reset(sig)
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

// growStack makes the goroutine's stack big once, before any step, so
// that a step never pays for a stack copy: that would add page faults
// that the experiment did not cause.
//
//go:noinline
func growStack() byte {
	var pad [64 << 10]byte
	pad[len(pad)-1] = 1
	return pad[len(pad)-1] + pad[0]
}
