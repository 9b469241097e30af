// Command exercise is your solution of exercise 03-mmap-readwrite,
// "mmapcopy SRC DST": it copies the file SRC to DST through memory
// mappings, SRC mapped read-only and DST mapped shared and writable, and
// prints "copied N bytes". The lab's README, section "Exercise", says
// what the checker verifies. Run it with:
//
//	go run ./labs/03-mmap-readwrite/exercise SRC DST
//
// and check your work with: go run ./checker 03
//
// NOT DONE: delete this line when you want your work checked
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

// run does the whole command and returns its exit status: 0 done, 1 a
// system call failed, 2 a usage error (then nothing was touched). It is
// done for you.
func run(stdout, stderr io.Writer, args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "mmapcopy: usage: mmapcopy SRC DST")
		return 2
	}
	n, err := mmapcopy(args[0], args[1])
	if err != nil {
		fmt.Fprintf(stderr, "mmapcopy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d bytes\n", n)
	return 0
}

// mmapcopy copies the file src to dst and returns how many bytes it
// copied. Use golang.org/x/sys/unix for every system call. Wrap each
// error so that it names the operation and the file, and keeps the
// errno text: fmt.Errorf("open %s: %w", src, err) prints as
// "open nosuch: no such file or directory".
func mmapcopy(src, dst string) (int64, error) {
	// TODO 1: open src read-only (unix.Open, unix.O_RDONLY; O_CLOEXEC is
	// allowed) and close it when you are done. Open src before dst: a
	// missing src must not leave a new, empty dst behind.
	//
	// TODO 2: ask the kernel how big src is (unix.Fstat, field Size).
	//
	// TODO 3: open dst with O_RDWR|O_CREAT|O_TRUNC and mode 0644. Why
	// O_RDWR and not O_WRONLY, although you only write to dst? Try
	// O_WRONLY once and read the error that mmap gives you in TODO 6.
	//
	// TODO 4: dst is empty now. Give it src's size with unix.Ftruncate,
	// before you map it: a store to a page past the end of a file is
	// SIGBUS (lab sections "eof" and "truncate").
	//
	// TODO 5: an empty src gives an empty dst, and you are done: a
	// mapping of 0 bytes is EINVAL (section "args"), so do not map.
	//
	// TODO 6: map both files, all of each, from offset 0, with
	// unix.Mmap: src with PROT_READ only (the copy must not be able to
	// change it), dst with PROT_READ|PROT_WRITE and MAP_SHARED (section
	// "private": MAP_PRIVATE writes never reach the file).
	//
	// TODO 7: copy src's mapping into dst's with Go's copy. No
	// unix.Read, unix.Write, Pread, Pwrite, Sendfile or CopyFileRange:
	// the data moves through the mappings only.
	//
	// TODO 8: unix.Munmap both mappings, and report an error of either.
	// You need no msync: the pages are in the page cache, and read(2)
	// sees them at once (section "munmap").
	return 0, errors.New("not done yet: see the TODOs in mmapcopy")
}
