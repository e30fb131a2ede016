/*
 * The queue directory (queue.c, queue-list.c) in a temp dir: a message
 * goes in whole and comes out byte for byte; a claimed message is busy
 * for every other process until released; removal and failed/ are final;
 * an untrusted directory, a planted link and a damaged envelope are
 * refused; what killed runs leave is tidied only when nobody holds it;
 * and a failed fsync (faultfs.c) leaves nothing half-written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultfs.h"
#include "queue.h"
#include "status.h"
#include "tap.h"

static char base[] = "/tmp/test-queue.XXXXXX";
static const char message_text[] = "From: a@example.test\nSubject: x\n\nbody\n.\nend\n";

static char *
path_in(const char *name)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof buf[0], "%s/%s", base, name);
	return p;
}

/* A file holding the message, as the spool would. */
static int
spool_file(void)
{
	FILE *f = tmpfile();

	if (f == NULL || fputs(message_text, f) < 0 || fflush(f) != 0)
		abort();
	return dup(fileno(f));
}

static void
envelope(struct queue_envelope *e, const char *sender, long long created)
{
	memset(e, 0, sizeof *e);
	queue_envelope_set(&e->account, "work");
	queue_envelope_set(&e->sender, sender);
	e->created = e->next = created;
	e->attempts = 1;
	queue_envelope_add_rcpt(e, "bob@example.test", QRCPT_PENDING);
}

static int
add(struct queue *q, const char *sender, long long created, char id[QUEUE_ID_LENGTH + 1])
{
	struct queue_envelope e;
	int fd = spool_file(), rc;

	envelope(&e, sender, created);
	rc = queue_add(q, &e, fd, id);
	queue_envelope_free(&e);
	close(fd);
	return rc;
}

static size_t
entries_in(const char *dir)
{
	char cmd[600];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null", dir);
	p = popen(cmd, "r");
	while (p != NULL && fgets(cmd, sizeof cmd, p) != NULL)
		n++;
	if (p != NULL)
		pclose(p);
	return n;
}

static void
test_add_list_claim(void)
{
	struct queue *q;
	struct queue_list l;
	struct queue_entry *e;
	char id1[QUEUE_ID_LENGTH + 1], id2[QUEUE_ID_LENGTH + 1], got[sizeof message_text];
	struct stat st;

	is_int(queue_open(path_in("q"), true, &q), 0, "the queue directory is made");
	ok(stat(path_in("q"), &st) == 0 && (st.st_mode & 0777) == 0700, "mode 0700");
	is_int(add(q, "late@example.test", 2000, id1), 0, "a message is added");
	is_int(add(q, "early@example.test", 1000, id2), 0, "another");
	ok(strspn(id1, "0123456789abcdef") == QUEUE_ID_LENGTH && strcmp(id1, id2) != 0,
	    "ids are 16 hex digits, not the same");
	is_int(queue_list(q, false, &l), 0, "listed");
	is_int(l.count, 2, "two messages");
	if (l.count == 2) {
		is_str(l.items[0].id, id2, "oldest first");
		is_str(l.items[0].env.sender, "early@example.test", "its envelope");
		is_int(l.items[0].size, strlen(message_text), "its size");
		ok(l.items[0].problem == NULL, "no problem");
	}
	queue_list_free(&l);
	is_int(queue_claim(q, id1, false, &e), QUEUE_CLAIMED, "claimed");
	ok(e != NULL && pread(e->fd, got, sizeof got, 0) == (ssize_t)strlen(message_text) &&
	    memcmp(got, message_text, strlen(message_text)) == 0, "its bytes, as spooled");
	e->env.attempts = 7;
	queue_envelope_set(&e->env.error, "refused for now");
	is_int(queue_update(e), 0, "the envelope is rewritten");
	queue_release(e);
	is_int(queue_claim(q, id1, false, &e), QUEUE_CLAIMED, "claimed again");
	ok(e != NULL && e->env.attempts == 7 && strcmp(e->env.error, "refused for now") == 0,
	    "the rewrite is what is read");
	is_int(queue_remove(e), 0, "removed");
	queue_release(e);
	is_int(queue_claim(q, id1, false, &e), QUEUE_GONE, "a removed message is gone");
	is_int(queue_claim(q, "../../etc/passwd", false, &e), QUEUE_GONE, "not an id: nothing");
	is_int(entries_in(path_in("q")), 1, "only the other message is left");
	queue_close(q);
}

/* While one process holds a message, another sees it busy; then it may
 * take it. */
/* Messages queued within one second (a burst of cron jobs) are listed,
 * and so flushed, in the order they were queued, not by their random ids. */
static void
test_same_second_order(void)
{
	struct queue *q;
	struct queue_list l;
	char ids[5][QUEUE_ID_LENGTH + 1];
	const struct timespec pause = { 0, 20 * 1000 * 1000 };	/* past the mtime granularity */
	bool in_order = true;

	is_int(queue_open(path_in("order"), true, &q), 0, "a second queue");
	for (int i = 0; i < 5; i++) {
		add(q, "burst@example.test", 5000, ids[i]);
		nanosleep(&pause, NULL);
	}
	is_int(queue_list(q, false, &l), 0, "listed");
	for (size_t i = 0; i < 5 && l.count == 5; i++)
		in_order &= strcmp(l.items[i].id, ids[i]) == 0;
	ok(l.count == 5 && in_order, "five of the same second: in the order they were queued");
	queue_list_free(&l);
	queue_close(q);
}

static void
test_lock(void)
{
	struct queue *q;
	struct queue_entry *e;
	char id[QUEUE_ID_LENGTH + 1];
	int status;
	pid_t pid;

	queue_open(path_in("lock"), true, &q);
	add(q, "s@example.test", 1, id);
	is_int(queue_claim(q, id, false, &e), QUEUE_CLAIMED, "parent claims");
	pid = fork();
	if (pid == 0) {
		struct queue_entry *c;

		_exit(queue_claim(q, id, false, &c) == QUEUE_BUSY ? 0 : 1);
	}
	ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "another process finds it busy");
	queue_release(e);
	pid = fork();
	if (pid == 0) {
		struct queue_entry *c;

		_exit(queue_claim(q, id, false, &c) == QUEUE_CLAIMED ? 0 : 1);
	}
	ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "once released, another process claims it");
	queue_close(q);
}

static void
test_failed(void)
{
	struct queue *q;
	struct queue_list l;
	struct queue_entry *e;
	char id[QUEUE_ID_LENGTH + 1];

	queue_open(path_in("f"), true, &q);
	add(q, "s@example.test", 1, id);
	queue_claim(q, id, false, &e);
	is_int(queue_move_failed(e), 0, "moved to failed/");
	queue_release(e);
	queue_list(q, false, &l);
	is_int(l.count, 0, "no longer queued");
	queue_list_free(&l);
	queue_list(q, true, &l);
	ok(l.count == 1 && strcmp(l.items[0].id, id) == 0, "listed in failed/");
	queue_list_free(&l);
	is_int(queue_claim(q, id, true, &e), QUEUE_CLAIMED, "claimed in failed/");
	is_int(queue_remove(e), 0, "removed from failed/");
	queue_release(e);
	is_int(entries_in(path_in("f/failed")), 0, "failed/ is empty");
	queue_close(q);
}

static void
test_trust(void)
{
	struct queue *q;
	struct queue_list l;
	struct queue_entry *e;
	char id[QUEUE_ID_LENGTH + 1], target[600];
	int fd;

	mkdir(path_in("open"), 0700);
	chmod(path_in("open"), 0777);
	fail_clear();
	ok(queue_open(path_in("open"), true, &q) < 0 && fail_class() == FAIL_AUTH &&
	    strstr(fail_reason(), "queue_dir: ") == fail_reason() &&
	    strstr(fail_reason(), "writable by group or others") != NULL,
	    "a queue directory others can write is refused (77)");
	queue_close(q);

	queue_open(path_in("t"), true, &q);
	add(q, "s@example.test", 1, id);
	snprintf(target, sizeof target, "%s/t/%s", base, id);
	symlink(target, path_in("t/0123456789abcdef"));
	queue_list(q, false, &l);
	ok(l.count == 2 && l.items[0].problem != NULL &&
	    strstr(l.items[0].problem, "symbolic link") != NULL, "a planted link is listed as refused");
	queue_list_free(&l);
	fail_clear();
	ok(queue_claim(q, "0123456789abcdef", false, &e) < 0 && fail_class() == FAIL_AUTH,
	    "and never claimed");
	snprintf(target, sizeof target, "%s/t/%s/envelope", base, id);
	fd = open(target, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "junk\n", 5) == 5, "an envelope damaged");
	close(fd);
	fail_clear();
	ok(queue_claim(q, id, false, &e) < 0 && fail_class() == FAIL_IO &&
	    strstr(fail_reason(), "is corrupt") != NULL, "a damaged envelope is refused (74)");
	queue_close(q);
}

static void
test_tidy(void)
{
	struct queue *q;
	struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
	char id[QUEUE_ID_LENGTH + 1];

	queue_open(path_in("tidy"), true, &q);
	mkdir(path_in("tidy/00000000000000aa.new"), 0700);
	close(open(path_in("tidy/00000000000000aa.new/message"), O_CREAT | O_WRONLY, 0600));
	utimensat(AT_FDCWD, path_in("tidy/00000000000000aa.new"), old, 0);
	mkdir(path_in("tidy/00000000000000bb.new"), 0700);		/* fresh: being added */
	add(q, "s@example.test", 1, id);
	mkdir(path_in("tidy/00000000000000cc"), 0700);			/* removal cut short */
	close(open(path_in("tidy/00000000000000cc/message"), O_CREAT | O_WRONLY, 0600));
	queue_tidy(q, time(NULL));
	ok(access(path_in("tidy/00000000000000aa.new"), F_OK) < 0, "an abandoned addition goes");
	ok(access(path_in("tidy/00000000000000bb.new"), F_OK) == 0, "a recent one stays");
	ok(access(path_in("tidy/00000000000000cc"), F_OK) < 0, "an entry without envelope goes");
	is_int(entries_in(path_in("tidy")), 2, "the queued message stays");
	queue_close(q);
}

/* A full disk shows as a failed write or fsync: whatever fails, no part
 * of the message stays behind. */
static void
test_fsync_fails(void)
{
	struct queue *q;
	char id[QUEUE_ID_LENGTH + 1];

	queue_open(path_in("full"), true, &q);
	faultfs_fail_fsync_of = faultfs_inode_of(path_in("full"));
	fail_clear();
	ok(add(q, "s@example.test", 1, id) < 0 && fail_class() == FAIL_IO &&
	    strstr(fail_reason(), "cannot add a message in the queue ") != NULL,
	    "the queue directory's fsync fails: FAIL_IO");
	faultfs_fail_fsync_of = 0;
	is_int(entries_in(path_in("full")), 0, "nothing is left in the queue");
	queue_close(q);
}

/* An envelope update that fails (a full disk: the write, its fsync or
 * the rename) leaves the old envelope in place and no envelope.new beside
 * it (a second copy that a full disk cannot spare).  Regression:
 * envelope.new stayed (test/faults/disk-full.sh, the queue full). */
static void
test_update_fails(void)
{
	struct queue *q;
	struct queue_entry *e = NULL;
	char id[QUEUE_ID_LENGTH + 1], path[4096];

	queue_open(path_in("upd"), true, &q);
	add(q, "s@example.test", 1, id);
	is_int(queue_claim(q, id, false, &e), QUEUE_CLAIMED, "update fails: claimed");
	if (e == NULL) {
		queue_close(q);
		return;
	}
	e->env.attempts = 3;
	faultfs_fail_rename_at = 1;
	fail_clear();
	ok(queue_update(e) < 0 && fail_class() == FAIL_IO, "update fails: FAIL_IO");
	faultfs_fail_rename_at = 0;
	snprintf(path, sizeof path, "%s/%s/envelope.new", path_in("upd"), id);
	ok(access(path, F_OK) < 0, "update fails: no envelope.new left behind");
	queue_release(e);
	is_int(queue_claim(q, id, false, &e), QUEUE_CLAIMED, "update fails: still claimable");
	ok(e != NULL && e->env.attempts == 1, "update fails: the old envelope is what is read");
	if (e != NULL)
		queue_release(e);
	queue_close(q);
}

static void
test_missing(void)
{
	struct queue *q;
	struct queue_list l;

	is_int(queue_open(path_in("none"), false, &q), 0, "a missing queue opens without create");
	ok(queue_list(q, false, &l) == 0 && l.count == 0, "as an empty one");
	ok(access(path_in("none"), F_OK) < 0, "and is not made");
	queue_close(q);
}

int
main(void)
{
	char cmd[600];

	if (mkdtemp(base) == NULL)
		return 1;
	test_add_list_claim();
	test_same_second_order();
	test_lock();
	test_failed();
	test_trust();
	test_tidy();
	test_fsync_fails();
	test_update_fails();
	test_missing();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		diag("could not remove %s", base);
	return done_testing();
}
