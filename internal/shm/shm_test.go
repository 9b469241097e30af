package shm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// testName returns a name no other test or run uses, and removes the
// object when the test ends.
func testName(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("/mmaplab-shmtest-%d-%s", os.Getpid(), t.Name())
	t.Cleanup(func() { os.Remove(Dir + name) })
	return name
}

// create makes a new object and closes it.
func create(t *testing.T, name string) {
	t.Helper()
	fd, err := Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
}

func TestPathStripsEveryLeadingSlash(t *testing.T) {
	for _, name := range []string{"/obj", "//obj", "///obj", "obj"} {
		got, err := Path(name)
		if err != nil || got != "/dev/shm/obj" {
			t.Errorf("Path(%q) = %q, %v; want /dev/shm/obj", name, got, err)
		}
	}
}

func TestPathEmptyNameIsEINVAL(t *testing.T) {
	for _, name := range []string{"", "/", "///"} {
		if _, err := Path(name); err != unix.EINVAL {
			t.Errorf("Path(%q): %v, want EINVAL", name, err)
		}
	}
}

func TestPathSlashInsideIsEINVAL(t *testing.T) {
	for _, name := range []string{"/a/b", "a/b", "/a/", "/../x"} {
		if _, err := Path(name); err != unix.EINVAL {
			t.Errorf("Path(%q): %v, want EINVAL", name, err)
		}
	}
}

// A '/' inside is checked before the length, as glibc does.
func TestPathSlashInsideLongNameIsEINVAL(t *testing.T) {
	name := "/" + strings.Repeat("x", 150) + "/" + strings.Repeat("y", 150)
	if _, err := Path(name); err != unix.EINVAL {
		t.Errorf("Path(301 bytes with a '/' inside): %v, want EINVAL", err)
	}
}

func TestPathNULIsEINVAL(t *testing.T) {
	if _, err := Path("/a\x00b"); err != unix.EINVAL {
		t.Errorf("Path with a NUL byte: %v, want EINVAL", err)
	}
}

func TestPathLongestName(t *testing.T) {
	longest := strings.Repeat("x", NameMax)
	for _, name := range []string{longest, "/" + longest, "//" + longest} {
		if got, err := Path(name); err != nil || got != Dir+"/"+longest {
			t.Errorf("Path(%d bytes) = %v; want the path", len(name), err)
		}
	}
}

func TestPathTooLongIsENAMETOOLONG(t *testing.T) {
	for _, n := range []int{NameMax + 1, NameMax + 5, 4096} {
		if _, err := Path("/" + strings.Repeat("x", n)); err != unix.ENAMETOOLONG {
			t.Errorf("Path(/ + %d bytes): %v, want ENAMETOOLONG", n, err)
		}
	}
}

// The kernel agrees on the limit: the longest name can be created, and
// Open reports the same errno for a longer one as the kernel would.
func TestOpenLongestNameWorks(t *testing.T) {
	name := testName(t)[1:]
	name += strings.Repeat("m", NameMax-len(name))
	t.Cleanup(func() { os.Remove(Dir + "/" + name) })
	create(t, "/"+name)
	_, err := Open("/"+name+"m", unix.O_RDWR|unix.O_CREAT, 0o600)
	if !errors.Is(err, unix.ENAMETOOLONG) {
		t.Errorf("Open(%d bytes): %v, want ENAMETOOLONG", NameMax+1, err)
	}
	_, kernel := unix.Open(Dir+"/"+name+"m", unix.O_RDWR|unix.O_CREAT, 0o600)
	if kernel != unix.ENAMETOOLONG {
		t.Errorf("the kernel's open of a %d-byte name: %v", NameMax+1, kernel)
	}
}

func TestOpenCreatesAnEmptyFileInDevShm(t *testing.T) {
	name := testName(t)
	create(t, name)
	st, err := os.Lstat(Dir + name)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mode().IsRegular() || st.Size() != 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, size %d; want a regular file, 0600, "+
			"size 0", Dir+name, st.Mode(), st.Size())
	}
}

func TestOpenAddsCloexec(t *testing.T) {
	name := testName(t)
	fd, err := Open(name, unix.O_RDWR|unix.O_CREAT, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("F_GETFD = %#x, %v: want FD_CLOEXEC", flags, err)
	}
}

// O_NOFOLLOW: a symbolic link planted in /dev/shm under the name is not
// followed (ELOOP), and its target is not touched.
func TestOpenAddsNoFollow(t *testing.T) {
	name := testName(t)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, Dir+name); err != nil {
		t.Fatal(err)
	}
	_, err := Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o600)
	if !errors.Is(err, unix.ELOOP) {
		t.Errorf("Open through a symbolic link: %v, want ELOOP", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was changed: %q", b)
	}
}

func TestOpenExclOnExistingIsEEXIST(t *testing.T) {
	name := testName(t)
	create(t, name)
	_, err := Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600)
	if !errors.Is(err, unix.EEXIST) {
		t.Fatalf("second exclusive create: %v, want EEXIST", err)
	}
	want := "shm_open " + name + ": file exists"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestOpenMissingIsENOENT(t *testing.T) {
	name := testName(t)
	if _, err := Open(name, unix.O_RDWR, 0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Open of a missing name without O_CREAT: %v, want ENOENT",
			err)
	}
}

func TestOpenBadNameIsEINVAL(t *testing.T) {
	for _, name := range []string{"", "/", "/a/b"} {
		_, err := Open(name, unix.O_RDWR|unix.O_CREAT, 0o600)
		if !errors.Is(err, unix.EINVAL) {
			t.Errorf("Open(%q): %v, want EINVAL", name, err)
		}
	}
}

func TestOpenTooLongIsENAMETOOLONG(t *testing.T) {
	name := "/" + strings.Repeat("x", 300)
	_, err := Open(name, unix.O_RDWR|unix.O_CREAT, 0o600)
	if !errors.Is(err, unix.ENAMETOOLONG) {
		t.Errorf("Open(300 bytes): %v, want ENAMETOOLONG", err)
	}
}

// "." and ".." name directories: open for writing fails with EISDIR,
// which shm_open reports as EINVAL.
func TestOpenDirectoryIsEINVAL(t *testing.T) {
	for _, c := range []struct {
		name string
		flag int
	}{
		{"/.", unix.O_RDWR},
		{"/..", unix.O_RDWR},
		{"/.", unix.O_RDWR | unix.O_CREAT},
	} {
		_, err := Open(c.name, c.flag, 0o600)
		if !errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EISDIR) {
			t.Errorf("Open(%q, %#x): %v, want EINVAL", c.name, c.flag, err)
		}
	}
}

// glibc does no more than that: opened read-only, "." is /dev/shm itself.
func TestOpenDotReadOnlyOpensTheDirectory(t *testing.T) {
	fd, err := Open("/.", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("Open(\"/.\", O_RDONLY): %v; glibc's shm_open succeeds", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil ||
		st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("fstat: mode %#o, %v; want the directory", st.Mode, err)
	}
}

func TestUnlinkRemovesTheName(t *testing.T) {
	name := testName(t)
	create(t, name)
	if err := Unlink(name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(Dir + name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Unlink: %v, want no such file", err)
	}
}

func TestUnlinkMissingIsENOENT(t *testing.T) {
	err := Unlink(testName(t))
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Unlink of a missing name: %v, want ENOENT", err)
	}
	if !strings.HasPrefix(err.Error(), "shm_unlink /") {
		t.Errorf("error %q does not name shm_unlink", err)
	}
}

func TestUnlinkBadNameIsEINVAL(t *testing.T) {
	for _, name := range []string{"", "/a/b"} {
		if err := Unlink(name); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Unlink(%q): %v, want EINVAL", name, err)
		}
	}
	err := Unlink("/" + strings.Repeat("x", 300))
	if !errors.Is(err, unix.ENAMETOOLONG) {
		t.Errorf("Unlink(300 bytes): %v, want ENAMETOOLONG", err)
	}
}

// shm_unlink maps only EPERM: "." stays EISDIR, from unlink itself.
func TestUnlinkDotIsEISDIR(t *testing.T) {
	if err := Unlink("/."); !errors.Is(err, unix.EISDIR) {
		t.Errorf("Unlink(\"/.\"): %v, want EISDIR", err)
	}
}

// /dev/shm has the sticky bit: only a file's owner may remove it, and
// unlink says EPERM to anyone else, which shm_unlink reports as EACCES.
// The test takes another user's identity for file access on its own
// thread (setfsuid), which only root may do.
func TestUnlinkEPERMIsEACCES(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: to act as another user (setfsuid)")
	}
	name := testName(t)
	create(t, name)
	runtime.LockOSThread() // the thread exits with the test: never unlocked
	const nobody = 65534
	unix.Setfsuid(nobody)
	if uid, _ := unix.SetfsuidRetUid(-1); uid != nobody {
		t.Fatalf("setfsuid %d did not take (fsuid %d)", nobody, uid)
	}
	err := Unlink(name)
	kernel := unix.Unlink(Dir + name)
	unix.Setfsuid(0)
	if kernel != unix.EPERM {
		t.Fatalf("the kernel's unlink as another user: %v, want EPERM",
			kernel)
	}
	if !errors.Is(err, unix.EACCES) {
		t.Errorf("Unlink as another user: %v, want EACCES", err)
	}
}
