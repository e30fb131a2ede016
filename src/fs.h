/*
 * File-system primitives shared by the spool, the Maildir and the state
 * files.  They set errno and record no failure: the caller knows what the
 * file was for and says so.
 */
#ifndef MAILPIPE_FS_H
#define MAILPIPE_FS_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p, durably: creates the missing directories of path with mode and
 * fsyncs the parent of each one it created, so that a crash cannot undo the
 * creation under files already made durable in it.  0, or -1 with errno set
 * (no failure recorded). */
int fs_mkdirs(const char *path, mode_t mode);
/* write() until all n bytes are written (EINTR retried); 0, or -1 with
 * errno set (no failure recorded). */
int fs_write_all(int fd, const void *p, size_t n);

/* The path with symbolic links resolved (realpath()) when it exists, else
 * made absolute against the working directory; a new string. */
char *fs_absolute_path(const char *path);

struct stat;
/* Why a file or directory cannot be trusted with what it holds: NULL when
 * it belongs to the caller or root and nobody else can write it, else the
 * reason as a phrase ("can be written by group or others"). */
const char *fs_untrusted(const struct stat *st);

#endif
