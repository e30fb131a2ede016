/*
 * Fault injection for the durability tests: faultfs.c defines fsync(),
 * renameat2(), renameat(), openat() and linkat(), so the library's calls
 * land there.
 * Directory fsyncs are recorded by inode; the fsync of one directory, or
 * the nth rename, can be made to fail with EIO; the nth state save can be
 * made a SIGKILL.
 */
#ifndef MAILPIPE_TEST_FAULTFS_H
#define MAILPIPE_TEST_FAULTFS_H

#include <stddef.h>
#include <sys/types.h>

extern ino_t faultfs_fail_fsync_of;	/* this directory's fsync fails */
extern int faultfs_fail_rename_at;	/* the nth renameat2() or renameat() from now fails */
extern int faultfs_kill_at_state_save;	/* the nth rename onto *.state: SIGKILL */
/* O_TMPFILE refused with EOPNOTSUPP, as a file system without it does. */
extern int faultfs_no_tmpfile;
/* linkat() with AT_EMPTY_PATH refused with ENOENT, as for a process
 * without CAP_DAC_READ_SEARCH. */
extern int faultfs_no_flink;
/* linkat() of a /proc/self/fd link refused with ENOENT, as without /proc. */
extern int faultfs_no_proc_link;
extern int faultfs_fail_link_at;	/* the nth linkat() from now fails with EIO */
extern int faultfs_kill_after_link;	/* the nth linkat() from now: done, then SIGKILL */
extern int faultfs_kill_after_rename;	/* the nth renameat2() from now: done, then SIGKILL */
extern int faultfs_links;		/* linkat() calls that succeeded */

/* Forgets the directory fsyncs recorded so far. */
void faultfs_forget_syncs(void);
/* Directory fsyncs recorded since the last faultfs_forget_syncs(). */
size_t faultfs_sync_count(void);
/* How often the directory at path was fsynced since then. */
int faultfs_times_synced(const char *path);
ino_t faultfs_inode_of(const char *path);

#endif
