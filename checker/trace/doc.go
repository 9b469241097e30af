// Package trace runs a program under ptrace and records what it asked of
// the kernel: every syscall of every thread of every process of the tree,
// with its arguments decoded, and every signal delivered. A checker judges
// a student's program from this record, and can act while it runs.
//
// # Stops
//
// A traced thread (a "tracee") runs until the kernel stops it and tells the
// tracer, through wait4, why: it is entering or leaving a syscall, a signal
// is about to be delivered to it, it forked, exec'd or is exiting. The
// tracer reads what it needs (registers, memory, /proc) and resumes it.
// Package trace does all of this on one locked OS thread, because the kernel
// accepts ptrace requests only from the thread that is the tracer. A stopped
// tracee does not run, so what the tracer reads at a stop is exactly the
// state at that instant: the path of a file descriptor at the entry of an
// mmap, the memory a worker leaves behind when it exits.
//
// # Threads and processes
//
// The kernel knows threads (tids); a process is a thread group whose id (the
// tgid, what getpid returns) is the tid of its first thread. A Go program is
// one process with several threads. The tracer follows both kinds of clone:
// a clone with CLONE_THREAD adds a thread to the same Process, any other
// (fork, vfork, clone(SIGCHLD), clone3) makes a new Process whose Parent is
// the process that made it. Children are counted from the kernel's fork and
// clone events, never from clone syscall entries: a fork interrupted by a
// signal is restarted and shows several entries for one child. Each record
// carries the exec generation of its process (Gen), so that a check can skip
// what a launcher did before it exec'd the real program.
//
// # Callbacks
//
// Options has callbacks called at stops: OnSyscall at the entry and at the
// exit of every syscall, OnNewProcess at the first stop of a new process,
// OnSignal at a signal delivery, OnExit when a process exits while its
// memory can still be read. The Stop they receive reads the tracee's memory
// and its mappings, and acts on it:
//
//   - Hold keeps that one thread stopped for a while, and the tracer keeps
//     serving every other tracee meanwhile. Holding a sender right after its
//     ftruncate, or a child before its first instruction, exposes a race a
//     correct program must survive.
//   - Watch sets a hardware write watchpoint (a debug register of the CPU)
//     on an address, in every thread of the process, including threads made
//     later. When a store hits it, the CPU traps and the callback runs at
//     that very instant, before the thread executes anything else: it sees
//     what the other memory held when the word was written. No syscall
//     separates two stores, so this is the only way to see their order.
//   - Kill ends the process; Tracer.KillAll ends the whole tree.
//
// Every other signal is passed back to its tracee untouched: the Go runtime
// preempts goroutines with SIGURG and catches SIGSEGV and SIGBUS itself (a
// Go program that faults exits with status 2; the signal record says where).
//
// # Limits
//
// Each syscall costs two stops, about 10 µs each on a small machine (more
// when it is busy), so a traced program runs slower; timings measured
// under the tracer are not the program's own. A tracee that stops
// (SIGSTOP, SIGTSTP) stays stopped until a SIGCONT; without PTRACE_SEIZE
// the kernel does not tell the tracer of it, so the tracer polls /proc for
// a pending SIGCONT meanwhile. A thread at a syscall stop takes no signal,
// so a signal sent to a whole process may be taken by another of its
// threads than it would be untraced: a process that stops itself with kill
// may run a little further first. OnExit is not called for a process
// killed by SIGKILL, which dies without a stop. Watchpoints are tested on
// amd64 only; on arm64 the CPU stops before the store, and the tracer
// steps over it.
//
//go:generate go run gen_sysnames.go
package trace
