/*
 * File-system primitives shared by the spool, the Maildir and the state
 * files.  They set errno and record no failure: the caller knows what the
 * file was for and says so.  The exception is the trust rule for the files
 * we read our orders from, which is one rule with one wording everywhere.
 */
#ifndef MAILPIPE_FS_H
#define MAILPIPE_FS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* mkdir -p, durably: creates the missing directories of path with mode and
 * fsyncs the parent of each one it created, so that a crash cannot undo the
 * creation under files already made durable in it.  0, or -1 with errno set
 * (no failure recorded). */
int fs_mkdirs(const char *path, mode_t mode);
/* write() until all n bytes are written (EINTR retried); 0, or -1 with
 * errno set (no failure recorded). */
int fs_write_all(int fd, const void *p, size_t n);

/* The home directory: $HOME, or when it is unset or empty (daemons such as
 * smartd or mdadm, systemd units) the one in the passwd entry of the real
 * user.  A new string, or NULL when there is neither (no failure recorded). */
char *fs_home_dir(void);

/* Who besides its owner may read a file we trust. */
enum fs_readers {
	FS_READERS_ANY,		/* it holds no secret */
	FS_READERS_GROUP,	/* a secret a group may share (password_file) */
	FS_READERS_OWNER,	/* a secret for its owner alone (a config with password) */
};
/* The rule for every file that decides what we run, where mail goes or
 * whom we trust (config, aliases, password_file, tls_ca_file), like the
 * one OpenSSH applies to its configuration but for the file alone (its
 * directories are not walked): owned by the caller or root, writable by
 * nobody else, and readable as readers says.  Whoever else could change it
 * could run commands as the caller.  0, or -1 with FAIL_AUTH recorded: one
 * line naming path and the chmod or chown that fixes it. */
int fs_check_trusted(const struct stat *st, const char *path, enum fs_readers readers);
/* The same for a file we have open, checked with fstat() on fd, so the
 * check and the read concern the same file whatever happens to path
 * meanwhile.  FAIL_NOINPUT if fstat() fails. */
int fs_check_trusted_fd(int fd, const char *path, enum fs_readers readers);

/* For a file we write where the caller's rights reach (the log, the
 * report): each directory on the way to path (not path itself) must be
 * the caller's or root's and writable by nobody else unless sticky, and
 * each symbolic link on the way the caller's or root's; otherwise another
 * user could point our write (as root: anywhere) at a file of their
 * choice.  NULL when the way is trusted, else why not. */
const char *fs_untrusted_dirs(const char *path);

/* Opens a file we read our orders or secrets from, for reading; one that
 * is not a regular file (a FIFO would block the open, a device the read)
 * fails with EINVAL.  -1 with errno set (no failure recorded). */
int fs_open_regular(const char *path);
/* The same as a stdio stream. */
FILE *fs_fopen_regular(const char *path);
/* close(fd) unless fd is -1; for descriptors only read, or whose write
 * errors were already checked (fsync), so its error is not one to report. */
void fs_close(int fd);
/* What to say for an errno of those two. */
const char *fs_open_error(int err);

/* The path with symbolic links resolved (realpath()) when it exists, else
 * made absolute against the working directory; a new string. */
char *fs_absolute_path(const char *path);

#endif
