package trace

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// String shows the call in strace's notation:
//
//	mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 3</tmp/f>, 0) = 0x7f3a…
//
// A descriptor is followed by its path at entry; "= ?" means no exit.
func (c *Syscall) String() string {
	return c.Name + "(" + c.argString() + ") = " + c.retString()
}

// argString formats the arguments.
func (c *Syscall) argString() string {
	if c.Name == "clone" {
		return "child_stack=" + ptrString(c.Args[1]) + ", flags=" +
			CloneString(c.CloneFlags, c.exitSig)
	}
	args := signatureOf(c.Name).args
	if c.Name == "futex" {
		args = args[:futexArgs(c.Args[1])]
	}
	parts := make([]string, 0, len(args))
	for i, k := range args {
		if k == aCreat && !creates(c.Args[i-1]) {
			continue
		}
		parts = append(parts, c.argText(i, k))
	}
	return strings.Join(parts, ", ")
}

// futexArgs is how many arguments a futex operation uses.
func futexArgs(op uint64) int {
	switch op & 127 {
	case 1: // FUTEX_WAKE
		return 3
	case 0: // FUTEX_WAIT
		return 4
	}
	return 6
}

// argText formats argument i, of kind k.
func (c *Syscall) argText(i int, k argKind) string {
	v := c.Args[i]
	switch k {
	case aInt:
		return strconv.FormatInt(int64(v), 10)
	case aUint:
		return strconv.FormatUint(v, 10)
	case aHex:
		return hexString(v)
	case aPtr:
		return ptrString(v)
	case aFd, aMapFd:
		return c.fdText(i)
	case aDirFd:
		if c.Int(i) == unix.AT_FDCWD {
			return "AT_FDCWD"
		}
		return c.fdText(i)
	case aPath, aStr:
		if v == 0 {
			return "NULL"
		}
		return strconv.Quote(c.Strs[i])
	case aWBuf:
		return c.dataText(v, c.Args[i+1])
	case aRBuf:
		if !c.Done || c.Ret <= 0 {
			return ptrString(v)
		}
		return c.dataText(v, uint64(c.Ret))
	case aArgv:
		return argvString(v, c.Argv)
	case aClone3:
		return "{flags=" + CloneString(c.CloneFlags, 0) +
			", exit_signal=" + CloneString(0, c.exitSig) + "}"
	}
	return flagText(k, v)
}

// flagText formats the arguments that are flags or named values.
func flagText(k argKind, v uint64) string {
	switch k {
	case aOpen:
		return OpenString(v)
	case aFdFlags:
		return fdFlagString(v)
	case aCreat, aMode:
		return modeString(v)
	case aProt:
		return ProtString(v)
	case aMap:
		return MapString(v)
	case aMsync:
		return MsyncString(v)
	case aMadv:
		return MadviseString(v)
	case aSig:
		return sigText(v)
	case aFutex:
		return futexString(v)
	case aWhence:
		return valueName(v, whenceNames)
	case aIDType:
		return valueName(v, idTypes)
	case aSigHow:
		return valueName(v, sigHows)
	case aFcntl:
		return valueName(v, fcntlCmds)
	case aAccess:
		return accessString(v)
	case aIPC:
		return ipcString(v)
	}
	return flagString(v, flagTables[k])
}

// flagTables are the tables of the kinds that flagString formats.
var flagTables = map[argKind][]flagName{
	aAt: atFlags, aUnlink: unlinkFlags, aMremap: mremapFlags,
	aMemfd: memfdFlags, aWait: waitFlags, aFalloc: fallocFlags,
	aShmat: shmatFlags, aRename: renameFlags,
}

// fdText formats descriptor argument i with its path: "3</tmp/f>".
func (c *Syscall) fdText(i int) string {
	s := strconv.Itoa(c.Int(i))
	if c.Strs[i] != "" {
		s += "<" + c.Strs[i] + ">"
	}
	return s
}

// dataText formats a buffer of n bytes at addr by the bytes kept.
func (c *Syscall) dataText(addr, n uint64) string {
	if c.Data == nil && n > 0 {
		return ptrString(addr)
	}
	s := strconv.Quote(string(c.Data))
	if uint64(len(c.Data)) < n {
		s += "..."
	}
	return s
}

// sigText formats a signal number argument.
func sigText(v uint64) string {
	if v == 0 {
		return "0"
	}
	return SignalString(syscall.Signal(v))
}

// argvString formats execve's argv: ["prog", "arg"].
func argvString(addr uint64, argv []string) string {
	if argv == nil {
		return ptrString(addr)
	}
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// retString formats the result: "3", "0x7f…", "-1 ENOENT (No such file
// or directory)", or "?" when the call did not return.
func (c *Syscall) retString() string {
	switch {
	case !c.Done:
		return "?"
	case c.Errno != 0:
		prefix := "-1 "
		if _, ok := restartErrnos[c.Errno]; ok {
			prefix = "? "
		}
		return prefix + ErrnoString(c.Errno) + " (" + errnoText(c.Errno) + ")"
	case signatureOf(c.Name).hex:
		return hexString(uint64(c.Ret))
	}
	return strconv.FormatInt(c.Ret, 10)
}

func hexString(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

func ptrString(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// siCodes names the si_code values of fault signals.
var siCodes = map[syscall.Signal][]string{
	unix.SIGSEGV: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR",
		4: "SEGV_PKUERR", 5: "SEGV_ACCADI", 6: "SEGV_ADIDERR",
		7: "SEGV_ADIPERR", 8: "SEGV_MTEAERR", 9: "SEGV_MTESERR",
		10: "SEGV_CPERR"},
	unix.SIGBUS: {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR",
		4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"},
	unix.SIGTRAP: {1: "TRAP_BRKPT", 2: "TRAP_TRACE", 3: "TRAP_BRANCH",
		4: "TRAP_HWBKPT", 5: "TRAP_UNK"},
	unix.SIGCHLD: {1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED",
		4: "CLD_TRAPPED", 5: "CLD_STOPPED", 6: "CLD_CONTINUED"},
}

// senderCodes names the si_code values that say who sent a signal.
var senderCodes = map[int32]string{
	0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER",
	-3: "SI_MESGQ", -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL",
}

// CodeString names the si_code of a signal: "BUS_ADRERR", "SI_TKILL".
func CodeString(sig syscall.Signal, code int32) string {
	if code > 0 && code < 0x80 {
		if names := siCodes[sig]; int(code) < len(names) &&
			names[code] != "" {
			return names[code]
		}
	}
	if n, ok := senderCodes[code]; ok {
		return n
	}
	return strconv.Itoa(int(code))
}

// fault reports whether a signal's si_addr is meaningful.
func (s *Signal) fault() bool {
	switch s.Signo {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP:
		return s.Code > 0 && s.Code < 0x80
	}
	return false
}

// String shows the delivery as strace does:
//
//	--- SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRERR, si_addr=0x7f…} ---
func (s *Signal) String() string {
	name := SignalString(s.Signo)
	b := "--- " + name + " {si_signo=" + name + ", si_code=" +
		CodeString(s.Signo, s.Code)
	switch {
	case s.fault():
		b += ", si_addr=" + ptrString(uint64(s.Addr))
	case s.Signo == unix.SIGCHLD:
		b += fmt.Sprintf(", si_pid=%d, si_status=%d", s.Sender, s.Status)
	case s.Code <= 0:
		b += fmt.Sprintf(", si_pid=%d", s.Sender)
	}
	return b + "} ---"
}

// Dump writes the whole trace as strace -f would: every syscall and
// signal in order, each line prefixed by "[pid tid]", then the exits.
func (tr *Trace) Dump(w io.Writer) error { return tr.DumpFrom(w, 0) }

// DumpFrom is Dump from exec generation gen on: it leaves out what a
// launcher did before it exec'd the program (see Syscall.Gen).
func (tr *Trace) DumpFrom(w io.Writer, gen int) error {
	type line struct {
		seq  int
		text string
	}
	var lines []line
	first := 0
	for _, c := range tr.Syscalls {
		if c.Gen < gen {
			continue
		}
		if first == 0 {
			first = c.Seq
		}
		lines = append(lines, line{c.Seq,
			fmt.Sprintf("[%d %d] %s", c.Pid, c.Tid, c)})
	}
	for _, s := range tr.Signals {
		if s.Seq < first {
			continue
		}
		lines = append(lines, line{s.Seq,
			fmt.Sprintf("[%d %d] %s", s.Pid, s.Tid, s)})
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].seq < lines[j].seq })
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l.text); err != nil {
			return err
		}
	}
	for _, p := range tr.Procs {
		if _, err := fmt.Fprintf(w, "[%d] %s\n", p.Pid, p); err != nil {
			return err
		}
	}
	return nil
}

// String summarizes the process's end: "+++ exited with 2 +++".
func (p *Process) String() string {
	switch {
	case !p.Exited:
		return "+++ still running +++"
	case p.Signal != 0:
		return "+++ killed by " + SignalString(p.Signal) + " +++"
	}
	return "+++ exited with " + strconv.Itoa(p.ExitCode) + " +++"
}
