package trace

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pageSize bounds each read of a string so that it never crosses into a
// page that may not be mapped.
var pageSize = uintptr(os.Getpagesize())

// readMem reads n bytes at addr in the address space of thread tid, with
// process_vm_readv, or word by word with PTRACE_PEEKDATA if that fails
// (the thread must then be stopped).
func readMem(tid int, addr uintptr, n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(n)
	remote := []unix.RemoteIovec{{Base: addr, Len: n}}
	got, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err == nil && got == n {
		return buf, nil
	}
	got, err = unix.PtracePeekData(tid, addr, buf)
	if err != nil {
		return buf[:got], fmt.Errorf("read %d bytes at %#x of %d: %w",
			n, addr, tid, err)
	}
	return buf, nil
}

// readString reads a NUL-terminated string of at most max bytes at addr.
func readString(tid int, addr uintptr, max int) (string, error) {
	var s []byte
	for len(s) < max {
		n := int(pageSize - addr%pageSize)
		n = min(n, max-len(s))
		b, err := readMem(tid, addr, n)
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(append(s, b[:i]...)), nil
		}
		if err != nil {
			return string(s), err
		}
		s = append(s, b...)
		addr += uintptr(n)
	}
	return string(s), nil
}

// readWords reads n 64-bit words at addr (argv, struct clone_args).
func readWords(tid int, addr uintptr, n int) ([]uint64, error) {
	b, err := readMem(tid, addr, 8*n)
	if err != nil {
		return nil, err
	}
	w := make([]uint64, n)
	for i := range w {
		w[i] = binary.NativeEndian.Uint64(b[8*i:])
	}
	return w, nil
}

// fdPath returns what descriptor fd of thread tid refers to, as
// /proc/TID/fd/FD says: a path, "pipe:[123]", "/memfd:x (deleted)"...
func fdPath(tid, fd int) string {
	p, err := os.Readlink("/proc/" + strconv.Itoa(tid) + "/fd/" +
		strconv.Itoa(fd))
	if err != nil {
		return ""
	}
	return p
}
