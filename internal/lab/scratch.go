package lab

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// makeScratch creates the lab's scratch directory in parent (default
// $TMPDIR). A lab that needs a disk-backed file system gets one: where
// $TMPDIR is tmpfs (RAM only, no write-back), it moves to the user's cache
// directory and says so in note.
func makeScratch(name, parent string, disk bool) (dir, note string, err error) {
	if parent == "" {
		parent = os.TempDir()
		if disk && OnTmpfs(parent) {
			if alt, ok := diskCacheDir(); ok {
				note = "$TMPDIR is tmpfs (no write-back to a disk), so " +
					"the scratch files are in the user's cache directory"
				parent = alt
			}
		}
	}
	dir, err = os.MkdirTemp(parent, "mmaplab-"+name+"-")
	if err != nil {
		return "", "", fmt.Errorf("make scratch directory: %w", err)
	}
	return dir, note, nil
}

// diskCacheDir returns the user's cache directory if it is on a disk.
func diskCacheDir() (string, bool) {
	dir, err := os.UserCacheDir()
	if err != nil || OnTmpfs(dir) {
		return "", false
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false
	}
	return dir, true
}

// OnTmpfs reports whether path is on tmpfs, where file pages live only in
// memory: they are never read from or written back to a disk.
func OnTmpfs(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC
}

// FileSystem names the file system that holds path, for notes.
func FileSystem(path string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Clean(path), &st); err != nil {
		return "unknown"
	}
	switch st.Type {
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("type %#x", st.Type)
}
