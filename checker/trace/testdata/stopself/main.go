// Command stopself sends itself SIGSTOP, then prints "continued".
// Untraced, it would stay stopped until someone sent it SIGCONT; traced,
// it must not be left hanging.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	fmt.Println("continued")
}
