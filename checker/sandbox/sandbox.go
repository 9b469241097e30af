// Package sandbox confines a program the checker runs: code nobody has
// reviewed, run on an instructor's own machine. Go cannot run code
// between fork and exec, so the confinement is applied by a launcher: the
// checker's own binary, run again with the program's command line and an
// environment variable that says what to apply. Before anything else in
// the process runs, this package's init function sees the variable,
// applies the limits to itself, and execs the program, which inherits
// them (still under the tracer, which follows the exec).
//
// What the launcher applies:
//   - a CPU-time limit (RLIMIT_CPU: SIGXCPU, then SIGKILL),
//   - no core dumps, and a cap on the size of a file it writes,
//   - the umask 022 the contracts assume,
//   - Landlock (Linux 5.13+), where the kernel has it: the program may
//     write only in the directories it is given (its scratch directory,
//     /dev/shm) and to /dev/null; it may read anything,
//   - a seccomp filter: no IP sockets (socket(AF_INET or AF_INET6) fails
//     with EACCES); Unix sockets and socketpairs stay allowed,
//   - membership of a memory cgroup, where the checker could make one.
package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// envVar carries the Config from the checker to its launcher.
const envVar = "MMAPLAB_SANDBOX"

// Config is what the launcher applies before it execs the program.
type Config struct {
	CPUSeconds uint64   // RLIMIT_CPU; 0 for none
	FileBytes  uint64   // RLIMIT_FSIZE; 0 for none
	Writable   []string // directories the program may write in (Landlock)
	NoInet     bool     // refuse IP sockets (seccomp)
	Cgroup     string   // cgroup directory to join; "" for none
}

// Command returns the launcher's path, its arguments (after the program
// name) and its environment, to run exe with args confined by c. env is the program's environment (nil
// for the checker's own).
func Command(c Config, exe string, args, env []string) (string, []string,
	[]string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, nil, fmt.Errorf("find the checker's binary: %w", err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return "", nil, nil, err
	}
	if env == nil {
		env = os.Environ()
	}
	env = append(withoutVar(env), envVar+"="+string(data))
	return self, append([]string{exe}, args...), env, nil
}

func init() {
	if cfg, ok := os.LookupEnv(envVar); ok {
		launch(cfg)
	}
}

// launch is the launcher: it applies the configuration and execs the
// program named by its arguments. It never returns: when a step fails it
// says which on stderr and exits 126, as a shell does for a command it
// cannot run.
func launch(cfg string) {
	runtime.LockOSThread() // Landlock and seccomp bind this thread
	var c Config
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fail(fmt.Errorf("read the sandbox configuration: %w", err))
	}
	if len(os.Args) < 2 {
		fail(fmt.Errorf("no program to run"))
	}
	if err := c.apply(); err != nil {
		fail(err)
	}
	exe, args := os.Args[1], os.Args[1:]
	args[0] = exe
	err := syscall.Exec(exe, args, withoutVar(os.Environ()))
	fail(fmt.Errorf("exec %s: %w", exe, err))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "mmaplab sandbox: %v\n", err)
	os.Exit(126)
}

// apply confines the calling thread, and so the program it will exec.
func (c Config) apply() error {
	unix.Umask(0o022)
	if c.Cgroup != "" {
		if err := joinCgroup(c.Cgroup); err != nil {
			return err
		}
	}
	limits := []struct {
		res int
		max uint64
	}{
		{unix.RLIMIT_CORE, 0},
		{unix.RLIMIT_CPU, c.CPUSeconds},
		{unix.RLIMIT_FSIZE, c.FileBytes},
	}
	for _, l := range limits {
		if l.max == 0 && l.res != unix.RLIMIT_CORE {
			continue
		}
		// Soft limit first: SIGXCPU, SIGXFSZ. The hard limit for CPU is
		// a second later: SIGKILL, for a program that ignores SIGXCPU.
		hard := l.max
		if l.res == unix.RLIMIT_CPU {
			hard++
		}
		lim := unix.Rlimit{Cur: l.max, Max: hard}
		if err := unix.Setrlimit(l.res, &lim); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.res, err)
		}
	}
	// Both Landlock and seccomp need no_new_privs without CAP_SYS_ADMIN,
	// and it is what an untrusted program should run with anyway.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
	}
	if len(c.Writable) > 0 && LandlockABI() > 0 {
		if err := restrictWrites(c.Writable); err != nil {
			return err
		}
	}
	if c.NoInet {
		if err := denyInetSockets(); err != nil {
			return err
		}
	}
	return nil
}

func withoutVar(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) < len(envVar)+1 || kv[:len(envVar)+1] != envVar+"=" {
			out = append(out, kv)
		}
	}
	return out
}
