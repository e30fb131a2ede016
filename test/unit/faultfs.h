/*
 * Fault injection for the durability tests: faultfs.c defines fsync(),
 * renameat2() and renameat(), so the library's calls land there.
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

/* Forgets the directory fsyncs recorded so far. */
void faultfs_forget_syncs(void);
/* Directory fsyncs recorded since the last faultfs_forget_syncs(). */
size_t faultfs_sync_count(void);
/* How often the directory at path was fsynced since then. */
int faultfs_times_synced(const char *path);
ino_t faultfs_inode_of(const char *path);

#endif
