package lab

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/fatih/color"

	"github.com/mmaplab/mmaplab/internal/proc"
)

// Lab is one run of a lab: where it prints, its scratch directory, and
// the state of its narrative.
type Lab struct {
	Out io.Writer
	Dir string // scratch directory, removed by Close

	name        string
	step        int
	keyShown    bool // the diagram's key was printed in this section
	mu          sync.Mutex
	cleanups    []func()
	closed      bool // the cleanups have run
	stopSignals func()
}

var (
	bold   = color.New(color.Bold)
	yellow = color.New(color.FgYellow)
	faint  = color.New(color.FgHiBlack)
)

// Path returns the path of name inside the scratch directory.
func (l *Lab) Path(name string) string { return filepath.Join(l.Dir, name) }

// ErrClosed is returned by Make once the lab is ending (interrupted).
var ErrClosed = errors.New("the lab is ending")

// OnClose registers f to run when the lab ends, also when it is
// interrupted: removing shared-memory objects, killing children. If the
// lab is already ending, f runs at once.
func (l *Lab) OnClose(f func()) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		f()
		return
	}
	l.cleanups = append(l.cleanups, f)
	l.mu.Unlock()
}

// Make runs do, which makes something (a shared-memory object, a child
// process), and registers undo to remove it when the lab ends, as one
// step: an interruption cannot fall between the two, and once the lab is
// ending nothing new is made (ErrClosed).
func (l *Lab) Make(do func() error, undo func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if err := do(); err != nil {
		return err
	}
	l.cleanups = append(l.cleanups, undo)
	return nil
}

// Close runs the cleanups, last registered first, and removes the scratch
// directory. An interruption while they run waits for them, then ends
// the lab.
func (l *Lab) Close() {
	l.cleanup()
	if l.stopSignals != nil {
		l.stopSignals()
	}
}

func (l *Lab) cleanup() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for i := len(l.cleanups) - 1; i >= 0; i-- {
		l.cleanups[i]()
	}
	l.cleanups = nil
}

func (l *Lab) section(s Section) {
	fmt.Fprintln(l.Out)
	bold.Fprintf(l.Out, "== %s: %s\n", s.Name, s.Doc)
	l.step = 0
	l.keyShown = false
}

// Step runs do, counts the page faults it caused on this thread, and
// prints a numbered header with the counts:
//
//	step 2: read m[0]                        minflt +1  majflt +0
//
// do should only touch memory or make the system call the step is about:
// anything else it does (allocating, printing) may fault too. So that the
// Go runtime adds nothing of its own, Step collects garbage and yields
// first, and keeps the runtime's preemption signal (SIGURG) blocked while
// do runs: a signal that arrives while a fault waits for the disk makes
// the kernel retry the fault, and the retry counts as minor.
func (l *Lab) Step(title string, do func() error) (proc.Faults, error) {
	runtime.GC()
	runtime.Gosched()
	var d proc.Faults
	var doErr, countErr error
	blockErr := proc.WithoutPreemption(func() {
		before, err := proc.ThreadFaults()
		if err != nil {
			countErr = err
			return
		}
		doErr = do()
		after, err := proc.ThreadFaults()
		if err != nil {
			countErr = err
			return
		}
		d = after.Sub(before)
	})
	if countErr != nil {
		return proc.Faults{}, countErr
	}
	if blockErr != nil {
		return proc.Faults{}, blockErr
	}
	l.step++
	fmt.Fprintln(l.Out)
	head := fmt.Sprintf("step %d: %s", l.step, title)
	bold.Fprintf(l.Out, "%-48s", head)
	fmt.Fprintf(l.Out, " minflt +%d  majflt +%d\n", d.Minor, d.Major)
	return d, doErr
}

// Say prints narrative, indented under the current step and wrapped to
// fit 80 columns.
func (l *Lab) Say(format string, args ...any) {
	l.print(nil, "", fmt.Sprintf(format, args...))
}

// Claim prints what the experiment showed and whether it held: "ok" when
// it did, "UNEXPECTED" when the kernel did something else. A lab never
// hides a surprise, and a golden file pins every claim.
func (l *Lab) Claim(held bool, format string, args ...any) {
	if held {
		l.print(faint, "ok  ", fmt.Sprintf(format, args...))
	} else {
		l.print(yellow, "UNEXPECTED", fmt.Sprintf(format, args...))
	}
}

// Skip prints why an experiment cannot run here: "skipped: why".
func (l *Lab) Skip(format string, args ...any) {
	l.print(yellow, "skipped:", fmt.Sprintf(format, args...))
}

// Talk quotes what the talk says. Where Linux does otherwise, a Claim
// follows that shows it.
func (l *Lab) Talk(format string, args ...any) {
	l.print(faint, "talk:", fmt.Sprintf(format, args...))
}

// print writes text indented under the step, after a coloured tag if
// there is one, wrapped to 80 columns with a hanging indent.
func (l *Lab) print(c *color.Color, tag, text string) {
	fmt.Fprint(l.Out, "  ")
	indent := "  "
	if tag != "" {
		c.Fprint(l.Out, tag)
		fmt.Fprint(l.Out, " ")
		indent += strings.Repeat(" ", width(tag)+1)
	}
	for i, line := range wrap(text, 78-len(indent)) {
		if i > 0 {
			fmt.Fprint(l.Out, indent)
		}
		fmt.Fprintln(l.Out, line)
	}
}

// wrap breaks text into lines of at most width columns. Text that fits is
// left as it is, spacing included.
func wrap(text string, cols int) []string {
	if width(text) <= cols {
		return []string{text}
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && width(line)+1+width(word) > cols {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// width is the number of columns s takes on a terminal: one per
// character (µ and × are two bytes, one column).
func width(s string) int { return utf8.RuneCountInString(s) }

// Plural returns "1 page", "3 pages".
func Plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
