/*
 * Maildir sink: the commit sequence, names, and every failure path leaving
 * no file behind in tmp/.  The message paths run twice: with unnamed files
 * (O_TMPFILE + linkat) and, with O_TMPFILE refused as a file system
 * without it refuses it, with named files in tmp/ renamed into new/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultfs.h"
#include "fs.h"
#include "maildir.h"
#include "status.h"
#include "tap.h"

static char root[] = "/tmp/test-maildir.XXXXXX";
/* The run with O_TMPFILE refused: files named in tmp/. */
static bool classic;

/* root/NAME-MODE: each mode's own Maildir. */
static void
md_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s-%s", root, name, classic ? "classic" : "unnamed");
}

/* What tmp/ holds while n files are written and not yet named in new/. */
static int
in_tmp_while_writing(int n)
{
	return classic ? n : 0;
}

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *
path_in(const char *md, const char *sub, const char *name)
{
	static char buf[4][1024];
	static int slot;
	char *p = buf[slot++ % 4];

	snprintf(p, sizeof buf[0], "%s/%s%s%s", md, sub, name ? "/" : "", name ? name : "");
	return p;
}

static char *
slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void
test_create_and_commit(void)
{
	char mdpath[1024];
	struct maildir *md;
	struct maildir_msg *m;
	struct stat st;
	char name[MAILDIR_NAME_MAX];

	md_dir(mdpath, sizeof mdpath, "a");
	strcat(mdpath, "/b/Maildir");
	ok(maildir_open(mdpath, true, &md) == 0, "open creates a missing Maildir and parents");
	ok(stat(path_in(mdpath, "tmp", NULL), &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700, "tmp/ is a 0700 directory");
	ok(stat(path_in(mdpath, "new", NULL), &st) == 0 && (st.st_mode & 0777) == 0700,
	    "new/ is 0700");
	ok(stat(path_in(mdpath, "cur", NULL), &st) == 0 && (st.st_mode & 0777) == 0700,
	    "cur/ is 0700");
	ok(maildir_msg_begin(md, &m) == 0, "begin a message");
	snprintf(name, sizeof name, "%s", maildir_msg_name(m));
	ok(strchr(name, '/') == NULL && strchr(name, ':') == NULL && maildir_name_valid(name),
	    "name %s has no '/' or ':'", name);
	ok(count_files(path_in(mdpath, "tmp", NULL)) == in_tmp_while_writing(1) &&
	    count_files(path_in(mdpath, "new", NULL)) == 0,
	    classic ? "the file is in tmp/" : "the file has no name yet: tmp/ and new/ empty");
	ok(maildir_msg_write(m, "Subject: x\n\nbody\n", 17) == 0, "write");
	ok(maildir_msg_end(m) == 0, "end");
	ok(maildir_msg_size(m) == 17, "size counted");
	ok(maildir_sync_batch(md, &m, 1) == 0, "sync");
	ok(maildir_commit_batch(md, &m, 1) == 0, "commit: %s, fsync new/",
	    classic ? "rename" : "link");
	ok(maildir_msg_committed(m), "committed");
	maildir_msg_free(m);
	is_str(slurp(path_in(mdpath, "new", name)), "Subject: x\n\nbody\n", "content in new/");
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 0, "tmp/ is empty after commit");
	ok(maildir_has(md, name), "maildir_has finds it in new/");
	maildir_close(md);
}

static void
test_batch_and_cur(void)
{
	char mdpath[1024];
	struct maildir_msg *m[20];
	struct maildir *md;
	char first[MAILDIR_NAME_MAX];
	int good = 1;

	md_dir(mdpath, sizeof mdpath, "batch");
	ok(maildir_open(mdpath, true, &md) == 0, "open batch Maildir");
	for (int i = 0; i < 20; i++) {
		char body[64];
		int n = snprintf(body, sizeof body, "message %d\n", i);

		good &= maildir_msg_begin(md, &m[i]) == 0 && maildir_msg_write(m[i], body,
		    (size_t)n) == 0 && maildir_msg_end(m[i]) == 0;
	}
	ok(good, "20 messages written");
	ok(count_files(path_in(mdpath, "tmp", NULL)) == in_tmp_while_writing(20),
	    "%d files in tmp/", in_tmp_while_writing(20));
	ok(maildir_sync_batch(md, m, 20) == 0, "one sync pass for the batch (syncfs)");
	ok(maildir_commit_batch(md, m, 20) == 0, "20 names in new/, one fsync of new/");
	ok(count_files(path_in(mdpath, "new", NULL)) == 20, "20 files in new/");
	snprintf(first, sizeof first, "%s", maildir_msg_name(m[0]));
	for (int i = 0; i < 20; i++)
		maildir_msg_free(m[i]);
	ok(strcmp(first, "x") != 0, "names are distinct");

	/* A reader moved it to cur/ and added flags. */
	char from[1024], to[1400];

	snprintf(from, sizeof from, "%s", path_in(mdpath, "new", first));
	snprintf(to, sizeof to, "%s/cur/%s:2,S", mdpath, first);
	ok(rename(from, to) == 0, "move one to cur/ with :2,S");
	maildir_close(md);
	ok(maildir_open(mdpath, true, &md) == 0, "reopen");
	ok(maildir_has(md, first), "maildir_has finds it in cur/ with an info suffix");
	ok(!maildir_has(md, "1.M1P1Q1R0.nohost"), "and not a name that is not there");
	maildir_close(md);
}

static void
test_abort_paths(void)
{
	char mdpath[1024];
	struct maildir *md;
	struct maildir_msg *m;

	md_dir(mdpath, sizeof mdpath, "abort");
	ok(maildir_open(mdpath, true, &md) == 0, "open abort Maildir");
	ok(maildir_msg_begin(md, &m) == 0 && maildir_msg_write(m, "partial", 7) == 0,
	    "a message half written");
	maildir_msg_free(m);
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 0, "free without commit removes tmp");
	ok(maildir_msg_begin(md, &m) == 0 && maildir_msg_write(m, "x\n", 2) == 0 &&
	    maildir_msg_end(m) == 0 && maildir_sync_batch(md, &m, 1) == 0,
	    "a message synced but never renamed");
	maildir_msg_free(m);
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 0 &&
	    count_files(path_in(mdpath, "new", NULL)) == 0, "removed; nothing in new/");
	maildir_close(md);
}

/* RLIMIT_FSIZE makes write() fail with EFBIG, like a full disk would with
 * ENOSPC, without needing a small file system. */
static void
test_write_failure(void)
{
	char mdpath[1024];
	struct rlimit old, small = { 4096, 4096 };
	static char big[200000];
	struct maildir *md;
	struct maildir_msg *m;
	int rc;

	md_dir(mdpath, sizeof mdpath, "full");
	ok(maildir_open(mdpath, true, &md) == 0, "open full Maildir");
	getrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_IGN);
	small.rlim_max = old.rlim_max;
	setrlimit(RLIMIT_FSIZE, &small);
	memset(big, 'x', sizeof big);
	fail_clear();
	ok(maildir_msg_begin(md, &m) == 0, "begin");
	rc = maildir_msg_write(m, big, sizeof big);
	if (rc == 0)
		rc = maildir_msg_end(m);
	setrlimit(RLIMIT_FSIZE, &old);
	ok(rc < 0 && fail_class() == FAIL_IO, "write failure is FAIL_IO (%s)", fail_reason());
	maildir_msg_free(m);
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 0, "tmp file removed after failure");
	ok(count_files(path_in(mdpath, "new", NULL)) == 0, "nothing in new/");
	maildir_close(md);
}

static void
test_cannot_create(void)
{
	char *file = path_in(root, "plainfile", NULL);
	char md_path[1100];
	struct maildir *md;
	int fd = open(file, O_WRONLY | O_CREAT, 0600), rc;

	close(fd);
	snprintf(md_path, sizeof md_path, "%s/Maildir", file);
	fail_clear();
	rc = maildir_open(md_path, true, &md);
	ok(rc < 0 && fail_class() == FAIL_CANTCREAT,
	    "a Maildir under a plain file is FAIL_CANTCREAT (%s)", fail_reason());
	fail_clear();
	ok(maildir_open(path_in(root, "missing", NULL), false, &md) == 0, "a missing Maildir "
	    "opens read-only (for --list)");
	ok(!maildir_has(md, "anything"), "and is empty");
	ok(maildir_msg_begin(md, &(struct maildir_msg *){ NULL }) < 0,
	    "and cannot be delivered into");
	maildir_close(md);
	ok(access(path_in(root, "missing", NULL), F_OK) < 0, "and was not created");
}

/* A tmp file left by a killed run of ours is removed at the next open; one
 * of a live process is not. */
static void
test_orphans(void)
{
	char mdpath[1024], dead[600], live[600], path[1700];
	struct maildir *md;
	struct maildir_msg *m;
	const char *host;
	long pid = 4194303;
	int fd;

	snprintf(mdpath, sizeof mdpath, "%s/orphans", root);
	ok(maildir_open(mdpath, true, &md) == 0 && maildir_msg_begin(md, &m) == 0,
	    "open orphans Maildir");
	host = strchr(strchr(maildir_msg_name(m), 'R'), '.') + 1;
	while (kill((pid_t)pid, 0) == 0)
		pid--;
	snprintf(dead, sizeof dead, "1.M1P%ldQ1R00.%s", pid, host);
	snprintf(live, sizeof live, "1.M1P%ldQ2R00.%s", (long)getpid(), host);
	snprintf(path, sizeof path, "%s/tmp/%s", mdpath, dead);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	snprintf(path, sizeof path, "%s/tmp/%s", mdpath, live);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	snprintf(path, sizeof path, "%s/tmp/other.host.file", mdpath);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	maildir_msg_free(m);
	maildir_close(md);
	ok(maildir_open(mdpath, true, &md) == 0, "reopen");
	snprintf(path, sizeof path, "%s/tmp/%s", mdpath, dead);
	ok(access(path, F_OK) < 0, "the tmp file of a dead run of ours is removed");
	snprintf(path, sizeof path, "%s/tmp/%s", mdpath, live);
	ok(access(path, F_OK) == 0, "the tmp file of a live process stays");
	snprintf(path, sizeof path, "%s/tmp/other.host.file", mdpath);
	ok(access(path, F_OK) == 0, "someone else's fresh tmp file stays");
	maildir_close(md);
}

/* Every directory made is fsynced into its parent: root (parent of a/),
 * a/, a/b/ and the Maildir itself (parent of tmp/ new/ cur/). */
static void
test_durable_mkdirs(void)
{
	char a[600], ab[700], md_path[800];
	struct maildir *md;

	snprintf(a, sizeof a, "%s/d1", root);
	snprintf(ab, sizeof ab, "%s/d2", a);
	snprintf(md_path, sizeof md_path, "%s/Maildir", ab);
	faultfs_forget_syncs();
	ok(maildir_open(md_path, true, &md) == 0, "open a Maildir two levels down");
	ok(faultfs_times_synced(root) > 0 && faultfs_times_synced(a) > 0 &&
	    faultfs_times_synced(ab) > 0 && faultfs_times_synced(md_path) > 0,
	    "the parent of every directory made was fsynced");
	maildir_close(md);
	faultfs_forget_syncs();
	ok(maildir_open(md_path, true, &md) == 0 && faultfs_sync_count() == 0,
	    "nothing made, nothing fsynced");
	maildir_close(md);
	ok(fs_mkdirs("", 0700) < 0, "fs_mkdirs of an empty path fails");
}

static struct maildir_msg *
written(struct maildir *md, const char *body)
{
	struct maildir_msg *m = NULL;

	if (maildir_msg_begin(md, &m) < 0 || maildir_msg_write(m, body, strlen(body)) < 0 ||
	    maildir_msg_end(m) < 0)
		return NULL;
	return m;
}

/* A rename failing in the middle of a batch: those before it are made
 * durable all the same; if the fsync of new/ fails, nothing is committed
 * and nothing stays visible. */
static void
test_commit_failures(void)
{
	char mdpath[1024], tmpfile[1400];
	struct maildir_msg *m[3];
	struct maildir *md;
	int rc;

	md_dir(mdpath, sizeof mdpath, "partial");
	ok(maildir_open(mdpath, true, &md) == 0, "open partial Maildir");
	for (int i = 0; i < 3; i++)
		m[i] = written(md, "x\n");
	ok(maildir_sync_batch(md, m, 3) == 0, "three messages synced");
	snprintf(tmpfile, sizeof tmpfile, "%s/tmp/%s", mdpath, maildir_msg_name(m[1]));
	if (classic)
		unlink(tmpfile);	/* the second rename will fail */
	else
		faultfs_fail_link_at = 2;
	faultfs_forget_syncs();
	fail_clear();
	rc = maildir_commit_batch(md, m, 3);
	faultfs_fail_link_at = 0;
	ok(rc < 0 && fail_class() == FAIL_IO, "the second %s fails: FAIL_IO (%s)",
	    classic ? "rename" : "link", fail_reason());
	ok(maildir_msg_committed(m[0]) && !maildir_msg_committed(m[1]) &&
	    !maildir_msg_committed(m[2]), "only the first is committed");
	ok(faultfs_times_synced(path_in(mdpath, "new", NULL)) > 0, "and new/ was fsynced for it");
	for (int i = 0; i < 3; i++)
		maildir_msg_free(m[i]);
	ok(count_files(path_in(mdpath, "new", NULL)) == 1 &&
	    count_files(path_in(mdpath, "tmp", NULL)) == 0, "one file in new/, tmp/ empty");

	for (int i = 0; i < 3; i++)
		m[i] = written(md, "y\n");
	ok(maildir_sync_batch(md, m, 3) == 0, "three more synced");
	faultfs_fail_fsync_of = faultfs_inode_of(path_in(mdpath, "new", NULL));
	fail_clear();
	rc = maildir_commit_batch(md, m, 3);
	faultfs_fail_fsync_of = 0;
	ok(rc < 0 && fail_class() == FAIL_IO && strstr(fail_reason(), "fsync") != NULL,
	    "the fsync of new/ fails: FAIL_IO (%s)", fail_reason());
	ok(!maildir_msg_committed(m[0]) && !maildir_msg_committed(m[2]), "none committed");
	for (int i = 0; i < 3; i++)
		maildir_msg_free(m[i]);
	ok(count_files(path_in(mdpath, "new", NULL)) == 1 &&
	    count_files(path_in(mdpath, "tmp", NULL)) == 0,
	    "the names were undone: still one file in new/, tmp/ empty");
	maildir_close(md);
}

/* Without CAP_DAC_READ_SEARCH (an ordinary user) linkat() refuses
 * AT_EMPTY_PATH: the file's /proc/self/fd link names it instead.  Where
 * that fails too (no /proc), the probe finds out before any message is
 * written, and messages go through tmp/. */
static void
test_link_fallbacks(void)
{
	char mdpath[1024];
	struct maildir *md;
	struct maildir_msg *m;

	snprintf(mdpath, sizeof mdpath, "%s/unprivileged", root);
	faultfs_no_flink = 1;
	m = NULL;
	ok(maildir_open(mdpath, true, &md) == 0 && (m = written(md, "p\n")) != NULL,
	    "without AT_EMPTY_PATH: a message written");
	if (m == NULL)
		return;
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 0, "into an unnamed file");
	ok(maildir_sync_batch(md, &m, 1) == 0 && maildir_commit_batch(md, &m, 1) == 0 &&
	    maildir_msg_committed(m), "committed through /proc/self/fd");
	is_str(slurp(path_in(mdpath, "new", maildir_msg_name(m))), "p\n", "whole in new/");
	maildir_msg_free(m);
	maildir_close(md);

	snprintf(mdpath, sizeof mdpath, "%s/no-proc", root);
	faultfs_no_proc_link = 1;
	m = NULL;
	ok(maildir_open(mdpath, true, &md) == 0 && (m = written(md, "q\n")) != NULL,
	    "nor /proc: a message written");
	if (m == NULL)
		return;
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 1, "into a named file in tmp/");
	ok(maildir_sync_batch(md, &m, 1) == 0 && maildir_commit_batch(md, &m, 1) == 0 &&
	    maildir_msg_committed(m), "committed by rename");
	is_str(slurp(path_in(mdpath, "new", maildir_msg_name(m))), "q\n", "whole in new/");
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 0, "the probe left nothing in tmp/");
	faultfs_no_flink = faultfs_no_proc_link = 0;
	maildir_msg_free(m);
	maildir_close(md);
}

/* In a child: three messages written, synced and their names sent up the
 * pipe, then killed right after the second got its name in new/ (before
 * new/ is fsynced): where a SIGKILL between the link and the commit point
 * leaves the batch. */
static void
killed_after_second_name(const char *mdpath, int out)
{
	struct maildir *md;
	struct maildir_msg *m[3];

	if (maildir_open(mdpath, true, &md) < 0)
		_exit(2);
	for (int i = 0; i < 3; i++)
		if ((m[i] = written(md, "k\n")) == NULL ||
		    write(out, maildir_msg_name(m[i]), MAILDIR_NAME_MAX) != MAILDIR_NAME_MAX)
			_exit(3);
	if (maildir_sync_batch(md, m, 3) < 0)
		_exit(4);
	faultfs_kill_after_link = 2;
	faultfs_kill_after_rename = 2;
	maildir_commit_batch(md, m, 3);
	_exit(5);
}

static void
test_kill_after_name(void)
{
	char mdpath[1024], names[3][MAILDIR_NAME_MAX];
	struct maildir *md;
	int p[2], status = 0;
	pid_t pid;

	md_dir(mdpath, sizeof mdpath, "killed");
	if (pipe(p) < 0)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[0]);
		killed_after_second_name(mdpath, p[1]);
	}
	close(p[1]);
	for (int i = 0; i < 3; i++)
		if (read(p[0], names[i], MAILDIR_NAME_MAX) != MAILDIR_NAME_MAX)
			names[i][0] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "killed after the 2nd %s",
	    classic ? "rename" : "link");
	ok(count_files(path_in(mdpath, "new", NULL)) == 2, "two files in new/");
	is_str(slurp(path_in(mdpath, "new", names[1])), "k\n", "the second one whole");
	ok(count_files(path_in(mdpath, "tmp", NULL)) == in_tmp_while_writing(1),
	    classic ? "the third still in tmp/" :
	    "the third, unnamed, went with the process: tmp/ empty");
	ok(maildir_open(mdpath, true, &md) == 0, "the next run opens the Maildir");
	ok(count_files(path_in(mdpath, "tmp", NULL)) == 0, "tmp/ is empty after it");
	ok(maildir_has(md, names[0]) && maildir_has(md, names[1]) && !maildir_has(md, names[2]),
	    "its replay finds the two named (they count) and not the third (fetched again)");
	maildir_close(md);
}

/* The paths a message takes, with unnamed files or named ones. */
static void
message_paths(void)
{
	test_create_and_commit();
	test_batch_and_cur();
	test_abort_paths();
	test_write_failure();
	test_commit_failures();
	test_kill_after_name();
}

static void
test_names(void)
{
	ok(maildir_name_valid("1700000000.M1P2Q3R4.host"), "generated form valid");
	ok(!maildir_name_valid("../x"), "../x invalid");
	ok(!maildir_name_valid(".hidden"), "leading dot invalid");
	ok(!maildir_name_valid("a/b"), "slash invalid");
	ok(!maildir_name_valid("a:2,S"), "colon invalid");
	ok(!maildir_name_valid("a b"), "space invalid");
	ok(!maildir_name_valid(""), "empty invalid");
}

/* In a child with its own host name (a UTS namespace): the name of a file
 * begun in a Maildir.  False when this machine does not allow it. */
static bool
name_on_host(const char *node, char *name, size_t size)
{
	struct maildir *md;
	struct maildir_msg *m;
	char mdpath[700];
	int p[2], status = -1;
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		return false;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[0]);
		snprintf(mdpath, sizeof mdpath, "%s/hostnames", root);
		if (unshare(CLONE_NEWUTS) < 0 || sethostname(node, strlen(node)) < 0)
			_exit(1);
		if (maildir_open(mdpath, true, &md) < 0 || maildir_msg_begin(md, &m) < 0)
			_exit(2);
		n = write(p[1], maildir_msg_name(m), strlen(maildir_msg_name(m)));
		maildir_msg_free(m);
		maildir_close(md);
		_exit(n > 0 ? 0 : 3);
	}
	close(p[1]);
	n = pid > 0 ? read(p[0], name, size - 1) : -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	name[n > 0 ? n : 0] = '\0';
	return n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The host part of a file name: the node name, with what could be taken
 * for a path or an info delimiter escaped as \ooo; 64 octets, the longest
 * node name Linux allows, whole. */
static void
host_part(const char *node, const char *want)
{
	char name[MAILDIR_NAME_MAX + 1];
	const char *r;

	if (!name_on_host(node, name, sizeof name)) {
		skip("no UTS namespace to name the host %s", node);
		return;
	}
	r = strchr(name, 'R');
	is_str(r != NULL && strchr(r, '.') != NULL ? strchr(r, '.') + 1 : name, want,
	    "host part of a name made on host %s", node);
}

static void
test_host_part(void)
{
	char longest[65];

	host_part("mail.example.org", "mail.example.org");
	host_part("a/b:c\\d e", "a\\057b\\072c\\134d\\040e");
	memset(longest, 'h', 64);
	longest[64] = '\0';
	host_part(longest, longest);
}

/* A Maildir others can write, or one whose new/ is a link, is refused
 * before anything is delivered into it. */
static void
test_untrusted(void)
{
	char path[600], sub[700], elsewhere[700];
	struct maildir *md = NULL;

	snprintf(path, sizeof path, "%s/shared", root);
	ok(maildir_open(path, true, &md) == 0, "a Maildir");
	maildir_close(md);
	chmod(path, 0777);
	fail_clear();
	ok(maildir_open(path, true, &md) < 0 && fail_class() == FAIL_AUTH,
	    "writable by others: 77 (%s)", fail_reason());
	chmod(path, 0700);
	snprintf(sub, sizeof sub, "%s/new", path);
	chmod(sub, 0775);
	fail_clear();
	ok(maildir_open(path, true, &md) < 0 && fail_class() == FAIL_AUTH,
	    "new/ writable by the group: 77 (%s)", fail_reason());
	chmod(sub, 0700);
	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", root);
	mkdir(elsewhere, 0700);
	rmdir(sub);
	if (symlink(elsewhere, sub) < 0)
		diag("symlink: %s", strerror(errno));
	fail_clear();
	ok(maildir_open(path, true, &md) < 0 && fail_class() == FAIL_AUTH,
	    "new/ a symbolic link: 77 (%s)", fail_reason());
}

int
main(void)
{
	char cmd[256];

	if (mkdtemp(root) == NULL)
		return 1;
	message_paths();
	classic = true;
	faultfs_no_tmpfile = 1;
	message_paths();
	faultfs_no_tmpfile = 0;
	test_link_fallbacks();
	test_cannot_create();
	test_orphans();
	test_durable_mkdirs();
	test_names();
	test_host_part();
	test_untrusted();
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
