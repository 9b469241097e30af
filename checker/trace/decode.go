package trace

import "golang.org/x/sys/unix"

const (
	maxPath = 4096 // longest string read from a tracee (PATH_MAX)
	maxArgv = 64   // most execve arguments kept
	dataLen = 32   // bytes of a read or write buffer kept, as strace -s 32
)

// decodeEntry reads at a syscall's entry what its arguments point to,
// while the pointers and descriptors still mean what they meant: path
// strings, the paths of descriptors, the data written, argv.
func decodeEntry(tid int, c *Syscall) {
	for i, k := range signatureOf(c.Name).args {
		p := uintptr(c.Args[i])
		switch k {
		case aPath, aStr:
			if p != 0 {
				c.Strs[i], _ = readString(tid, p, maxPath)
			}
		case aFd, aDirFd:
			if fd := c.Int(i); fd >= 0 {
				c.Strs[i] = fdPath(tid, fd)
			}
		case aMapFd:
			if fd := c.Int(i); fd >= 0 && c.Args[3]&unix.MAP_ANONYMOUS == 0 {
				c.Strs[i] = fdPath(tid, fd)
			}
		case aWBuf:
			c.Data, _ = readMem(tid, p, int(min(c.Args[i+1], dataLen)))
		case aArgv:
			c.Argv = readArgv(tid, p)
		case aClone3:
			readCloneArgs(tid, c)
		}
		setFirst(c, i, k)
	}
	switch c.Name {
	case "clone":
		c.CloneFlags, c.exitSig = c.Args[0]&^0xff, int(c.Args[0]&0xff)
	case "fork":
		c.exitSig = int(unix.SIGCHLD)
	case "vfork":
		c.CloneFlags = unix.CLONE_VM | unix.CLONE_VFORK
		c.exitSig = int(unix.SIGCHLD)
	}
}

// setFirst fills Path and FdPath from the first argument of their kind.
func setFirst(c *Syscall, i int, k argKind) {
	switch k {
	case aPath:
		if c.Path == "" {
			c.Path = c.Strs[i]
		}
	case aFd, aDirFd, aMapFd:
		if c.FdPath == "" {
			c.FdPath = c.Strs[i]
		}
	}
}

// decodeExit reads at a syscall's exit the data it returned.
func decodeExit(tid int, c *Syscall) {
	for i, k := range signatureOf(c.Name).args {
		if k == aRBuf && c.Ret > 0 {
			n := int(min(c.Ret, dataLen))
			c.Data, _ = readMem(tid, uintptr(c.Args[i]), n)
		}
	}
}

// readArgv reads a NULL-terminated array of strings (execve's argv).
func readArgv(tid int, addr uintptr) []string {
	argv := []string{}
	for addr != 0 && len(argv) < maxArgv {
		w, err := readWords(tid, addr, 1)
		if err != nil || w[0] == 0 {
			break
		}
		s, _ := readString(tid, uintptr(w[0]), maxPath)
		argv = append(argv, s)
		addr += 8
	}
	return argv
}

// readCloneArgs reads the flags and exit signal of clone3's struct
// clone_args (linux/sched.h): flags at offset 0, exit_signal at 32.
func readCloneArgs(tid int, c *Syscall) {
	w, err := readWords(tid, uintptr(c.Args[0]), 5)
	if err != nil {
		return
	}
	c.CloneFlags, c.exitSig = w[0], int(w[4])
}
