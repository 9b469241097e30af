package trace

import "golang.org/x/sys/unix"

// The flag tables below decode the less central arguments.

var atFlags = []flagName{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
	{unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
	{unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},
	{unix.AT_EACCESS, "AT_EACCESS"},
}

var unlinkFlags = []flagName{{unix.AT_REMOVEDIR, "AT_REMOVEDIR"}}

var futexOps = []flagName{
	{0, "FUTEX_WAIT"}, {1, "FUTEX_WAKE"}, {2, "FUTEX_FD"},
	{3, "FUTEX_REQUEUE"}, {4, "FUTEX_CMP_REQUEUE"}, {5, "FUTEX_WAKE_OP"},
	{6, "FUTEX_LOCK_PI"}, {7, "FUTEX_UNLOCK_PI"}, {8, "FUTEX_TRYLOCK_PI"},
	{9, "FUTEX_WAIT_BITSET"}, {10, "FUTEX_WAKE_BITSET"},
	{11, "FUTEX_WAIT_REQUEUE_PI"}, {12, "FUTEX_CMP_REQUEUE_PI"},
	{13, "FUTEX_LOCK_PI2"},
}

// futexString formats a futex op as strace does: "FUTEX_WAIT_PRIVATE".
func futexString(op uint64) string {
	s := valueName(op&127, futexOps)
	if op&128 != 0 {
		s += "_PRIVATE"
	}
	if op&256 != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

var whenceNames = []flagName{
	{0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"},
	{4, "SEEK_HOLE"},
}

var mremapFlags = []flagName{
	{unix.MREMAP_MAYMOVE, "MREMAP_MAYMOVE"},
	{unix.MREMAP_FIXED, "MREMAP_FIXED"},
	{unix.MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP"},
}

var memfdFlags = []flagName{
	{unix.MFD_CLOEXEC, "MFD_CLOEXEC"},
	{unix.MFD_ALLOW_SEALING, "MFD_ALLOW_SEALING"},
	{unix.MFD_HUGETLB, "MFD_HUGETLB"},
	{unix.MFD_NOEXEC_SEAL, "MFD_NOEXEC_SEAL"}, {unix.MFD_EXEC, "MFD_EXEC"},
}

var waitFlags = []flagName{
	{unix.WNOHANG, "WNOHANG"}, {unix.WSTOPPED, "WSTOPPED"},
	{unix.WEXITED, "WEXITED"}, {unix.WCONTINUED, "WCONTINUED"},
	{unix.WNOWAIT, "WNOWAIT"}, {unix.WNOTHREAD, "__WNOTHREAD"},
	{unix.WALL, "__WALL"}, {unix.WCLONE, "__WCLONE"},
}

var idTypes = []flagName{
	{unix.P_ALL, "P_ALL"}, {unix.P_PID, "P_PID"}, {unix.P_PGID, "P_PGID"},
	{unix.P_PIDFD, "P_PIDFD"},
}

var sigHows = []flagName{
	{unix.SIG_BLOCK, "SIG_BLOCK"}, {unix.SIG_UNBLOCK, "SIG_UNBLOCK"},
	{unix.SIG_SETMASK, "SIG_SETMASK"},
}

var accessFlags = []flagName{
	{unix.R_OK, "R_OK"}, {unix.W_OK, "W_OK"}, {unix.X_OK, "X_OK"},
}

// accessString formats the mode of access: "F_OK", "R_OK|W_OK".
func accessString(mode uint64) string {
	if mode == 0 {
		return "F_OK"
	}
	return flagString(mode, accessFlags)
}

var fallocFlags = []flagName{
	{unix.FALLOC_FL_KEEP_SIZE, "FALLOC_FL_KEEP_SIZE"},
	{unix.FALLOC_FL_PUNCH_HOLE, "FALLOC_FL_PUNCH_HOLE"},
	{unix.FALLOC_FL_NO_HIDE_STALE, "FALLOC_FL_NO_HIDE_STALE"},
	{unix.FALLOC_FL_COLLAPSE_RANGE, "FALLOC_FL_COLLAPSE_RANGE"},
	{unix.FALLOC_FL_ZERO_RANGE, "FALLOC_FL_ZERO_RANGE"},
	{unix.FALLOC_FL_INSERT_RANGE, "FALLOC_FL_INSERT_RANGE"},
	{unix.FALLOC_FL_UNSHARE_RANGE, "FALLOC_FL_UNSHARE_RANGE"},
}

var fcntlCmds = []flagName{
	{unix.F_DUPFD, "F_DUPFD"}, {unix.F_GETFD, "F_GETFD"},
	{unix.F_SETFD, "F_SETFD"}, {unix.F_GETFL, "F_GETFL"},
	{unix.F_SETFL, "F_SETFL"}, {unix.F_GETLK, "F_GETLK"},
	{unix.F_SETLK, "F_SETLK"}, {unix.F_SETLKW, "F_SETLKW"},
	{unix.F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC"},
	{unix.F_ADD_SEALS, "F_ADD_SEALS"}, {unix.F_GET_SEALS, "F_GET_SEALS"},
	{unix.F_OFD_GETLK, "F_OFD_GETLK"}, {unix.F_OFD_SETLK, "F_OFD_SETLK"},
	{unix.F_OFD_SETLKW, "F_OFD_SETLKW"},
}

var ipcFlags = []flagName{
	{unix.IPC_CREAT, "IPC_CREAT"}, {unix.IPC_EXCL, "IPC_EXCL"},
	{0o4000, "SHM_HUGETLB"}, {0o10000, "SHM_NORESERVE"},
}

// ipcString formats the flags of shmget: "IPC_CREAT|IPC_EXCL|0600".
func ipcString(flags uint64) string {
	s := modeString(flags & 0o777)
	if rest := flags &^ 0o777; rest != 0 {
		s = flagString(rest, ipcFlags) + "|" + s
	}
	return s
}

var shmatFlags = []flagName{
	{unix.SHM_RDONLY, "SHM_RDONLY"}, {unix.SHM_RND, "SHM_RND"},
	{0o40000, "SHM_REMAP"}, {0o100000, "SHM_EXEC"},
}

var renameFlags = []flagName{
	{unix.RENAME_NOREPLACE, "RENAME_NOREPLACE"},
	{unix.RENAME_EXCHANGE, "RENAME_EXCHANGE"},
	{unix.RENAME_WHITEOUT, "RENAME_WHITEOUT"},
}
