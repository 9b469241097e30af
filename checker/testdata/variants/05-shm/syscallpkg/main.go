// A correct "shm send NAME TEXT" / "shm recv NAME" written differently
// from the reference: the syscall package, its own name check, the
// length and text written with one copy, and a receiver that polls every
// 5 ms and reads the size from the object itself.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	a := os.Args[1:]
	switch {
	case len(a) == 3 && a[0] == "send" && valid(a[1]):
		if err := send(a[1], a[2]); err != nil {
			fmt.Fprintln(os.Stderr, "shm send:", err)
			os.Exit(1)
		}
		fmt.Printf("sent %d bytes to %s\n", len(a[2]), a[1])
	case len(a) == 2 && a[0] == "recv" && valid(a[1]):
		text, err := recv(a[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "shm recv:", err)
			os.Exit(1)
		}
		fmt.Println(text)
	default:
		fmt.Fprintln(os.Stderr, "usage: shm send NAME TEXT | shm recv NAME")
		os.Exit(2)
	}
}

func valid(name string) bool {
	rest, ok := strings.CutPrefix(name, "/")
	return ok && len(rest) >= 1 && len(rest) <= 255 && rest != "." &&
		rest != ".." && !strings.ContainsAny(rest, "/\x00")
}

func send(name, text string) error {
	fd, err := syscall.Open("/dev/shm"+name,
		syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|
			syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if err := syscall.Ftruncate(fd, int64(8+len(text))); err != nil {
		return err
	}
	m, err := syscall.Mmap(fd, 0, 8+len(text),
		syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	body := binary.LittleEndian.AppendUint32(nil, uint32(len(text)))
	copy(m[4:], append(body, text...))
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&m[0])), 1)
	return syscall.Munmap(m)
}

func recv(name string) (string, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		fd, err := syscall.Open("/dev/shm"+name,
			syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err == nil {
			text, ok, err := read(fd)
			syscall.Close(fd)
			if err != nil {
				return "", err
			}
			if ok {
				return text, syscall.Unlink("/dev/shm" + name)
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s: timed out", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// read returns the text if the object fd is ready.
func read(fd int) (string, bool, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Size < 8 {
		return "", false, err
	}
	m, err := syscall.Mmap(fd, 0, int(st.Size), syscall.PROT_READ,
		syscall.MAP_SHARED)
	if err != nil {
		return "", false, err
	}
	defer syscall.Munmap(m)
	if atomic.LoadUint32((*uint32)(unsafe.Pointer(&m[0]))) != 1 {
		return "", false, nil
	}
	n := binary.LittleEndian.Uint32(m[4:])
	return string(m[8 : 8+n]), true, nil
}
