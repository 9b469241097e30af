// Command checker checks the lab exercises: it builds a program, runs it
// on cases it chooses under a syscall tracer, and judges the syscalls it
// made and the state it left against the lab's contract.
//
//	go run ./checker              progress of every exercise
//	go run ./checker 03           lab 03 in detail
//	go run ./checker 03 -hint     ... with hints
//	go run ./checker -solution    the reference solutions
//	go run ./checker 03 -dir PATH a submission in PATH
//	go run ./checker reset 03     restore exercise 03 to its stub
//	go run ./checker solution 03  print the reference, once 03 passes
//
// Exit status: 0 when every checked lab passes, 1 when a check fails, 2
// for a usage error or a program that does not build.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmaplab/mmaplab/checker/check"
	"github.com/mmaplab/mmaplab/checker/run"
)

func main() { os.Exit(runMain(os.Stdout, os.Stderr, os.Args[1:])) }

// options are the command's flags.
type options struct {
	dir      string
	solution bool
	verbose  bool
	hints    bool
	format   string
	timeout  time.Duration
	cpu      time.Duration
	watch    bool
	force    bool
}

// usageError is a mistake on the command line: one line, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: go run ./checker [flags] [LAB]
       go run ./checker reset [-force] LAB
       go run ./checker solution LAB

With no LAB, it checks every lab's exercise and prints a progress table,
then the details of the first lab that is not done. LAB is a number (03)
or a name (03-mmap-readwrite).

Flags:
`

func parseArgs(args []string, stderr io.Writer) (options, []string, error) {
	var o options
	fs := flag.NewFlagSet("checker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.dir, "dir", "", "check the main package in `PATH` instead of the lab's exercise")
	fs.BoolVar(&o.solution, "solution", false, "check the reference solutions")
	fs.BoolVar(&o.verbose, "v", false, "print the full trace of failing runs")
	fs.BoolVar(&o.hints, "hint", false, "print the hint of each failing check")
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json, gradescope or junit")
	json := fs.Bool("json", false, "same as -format json")
	fs.DurationVar(&o.timeout, "timeout", run.DefaultTimeout, "time limit of one run")
	fs.DurationVar(&o.cpu, "cpu", 0, "CPU-time limit of each process of a run (default half the -timeout)")
	fs.BoolVar(&o.watch, "watch", false, "check again whenever a file of the exercise changes")
	fs.BoolVar(&o.force, "force", false, "reset: do not ask for confirmation")
	// Flags may come before or after the arguments: parse in rounds.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stderr, usage)
				fs.SetOutput(stderr)
				fs.PrintDefaults()
				return o, nil, err
			}
			return o, nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *json {
		o.format = "json"
	}
	switch o.format {
	case "text", "json", "gradescope", "junit":
	default:
		return o, nil, usageError{fmt.Sprintf("unknown format %q "+
			"(text, json, gradescope, junit)", o.format)}
	}
	if o.timeout <= 0 || o.cpu < 0 {
		return o, nil, usageError{"-timeout and -cpu must be positive"}
	}
	return o, pos, nil
}

func runMain(stdout, stderr io.Writer, args []string) int {
	o, pos, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "checker: %v (see -h)\n", err)
		return 2
	}
	module, err := run.ModuleRoot(".")
	if err != nil {
		fmt.Fprintf(stderr, "checker: %v\n", err)
		return 2
	}
	// Files the programs create get the contracts' modes: 0666 &^ 022.
	unix.Umask(0o022)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	defer stop()
	code, err := dispatch(ctx, module, o, pos, stdout, stderr)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "checker: %v (see -h)\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "checker: %v\n", err)
		return 2
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "checker: interrupted; what was checked "+
			"so far is above")
		return 130
	}
	return code
}

// dispatch runs the subcommand that pos names.
func dispatch(ctx context.Context, module string, o options, pos []string,
	stdout, stderr io.Writer) (int, error) {
	if len(pos) > 0 {
		switch pos[0] {
		case "reset":
			lab, err := oneLab(pos[1:])
			if err != nil {
				return 0, err
			}
			return reset(module, lab, o.force, os.Stdin, stdout)
		case "solution":
			lab, err := oneLab(pos[1:])
			if err != nil {
				return 0, err
			}
			return showSolution(ctx, module, lab, o, stdout)
		}
	}
	if len(pos) > 1 {
		return 0, usageError{"unexpected argument " + pos[1]}
	}
	labs := check.Labs()
	if len(pos) == 1 {
		lab, err := check.Find(pos[0])
		if err != nil {
			return 0, usageError{err.Error()}
		}
		labs = []*check.Lab{lab}
	}
	if o.dir != "" && len(pos) == 0 {
		return 0, usageError{"-dir needs a LAB: which contract does " +
			"the program follow?"}
	}
	if o.dir != "" && o.solution {
		return 0, usageError{"-dir and -solution exclude each other"}
	}
	if o.watch {
		return watch(ctx, module, labs, o, stdout)
	}
	res := checkLabs(ctx, module, labs, o)
	return res.print(stdout, o, len(pos) == 1), nil
}

// oneLab returns the lab a subcommand names.
func oneLab(pos []string) (*check.Lab, error) {
	if len(pos) != 1 {
		return nil, usageError{"name one LAB, such as 03"}
	}
	lab, err := check.Find(pos[0])
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return lab, nil
}

// target says in words what is being checked.
func target(o options) string {
	switch {
	case o.dir != "":
		return o.dir
	case o.solution:
		return "solution"
	}
	return "exercise"
}
