// Command reexec runs itself again as a child ("reexec child") with
// os/exec and waits for it; the child exits 3, the parent 0 if it saw
// that.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		os.Exit(3)
	}
	err := exec.Command(os.Args[0], "child").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		fmt.Fprintln(os.Stderr, "reexec: child:", err)
		os.Exit(1)
	}
}
