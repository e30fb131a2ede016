/*
 * The queue's decisions.  The table below is the one mailpipe-send(1)
 * prints: change both together.
 *
 * Why these rows: a temporary failure (75) is what a queue is for.
 * Credentials that fail (AUTH refused, a password_command that fails or
 * times out, which is how an expired OAuth token shows) are held: the
 * message waits while the user fixes the account.  A permanent refusal of
 * the message itself, and a local input or usage error, would fail the
 * same way at every attempt: a new message fails now, as without a queue,
 * so the caller learns it at once.  A message already queued has no
 * caller to tell: a refusal of the message moves it to failed/, where
 * --queue and --flush report it; anything else (the server or the
 * configuration, not the message) leaves it queued until its lifetime.
 * A message that does not fit what one server offers (over its SIZE
 * limit, or SMTPUTF8 needed and not offered), found before MAIL, is that
 * server's refusal of the message: the same as a refusal at MAIL, except
 * that the next failover account, whose server may take it, is tried
 * first.
 */
#include <stddef.h>
#include <stdio.h>

#include "queue-policy.h"

static const struct {
	enum failure cls;
	enum attempt_stage stage;
	enum queue_action new_message, queued_message;
} table[] = {
	{ FAIL_TEMPORARY, STAGE_CREDENTIALS, QUEUE_HOLD, QUEUE_HOLD },
	{ FAIL_AUTH, STAGE_CREDENTIALS, QUEUE_HOLD, QUEUE_HOLD },
	{ FAIL_CONFIG, STAGE_CREDENTIALS, QUEUE_HOLD, QUEUE_HOLD },
	{ FAIL_TEMPORARY, STAGE_SESSION, QUEUE_KEEP, QUEUE_KEEP },
	{ FAIL_TEMPORARY, STAGE_MESSAGE, QUEUE_KEEP, QUEUE_KEEP },
	{ FAIL_RECIPIENT, STAGE_MESSAGE, QUEUE_NO, QUEUE_FAILED },
	{ FAIL_PERMANENT, STAGE_MESSAGE, QUEUE_NO, QUEUE_FAILED },
	{ FAIL_PERMANENT, STAGE_UNFIT, QUEUE_NO, QUEUE_FAILED },
	{ FAIL_DATA, STAGE_UNFIT, QUEUE_NO, QUEUE_FAILED },
};

enum queue_action
queue_action(enum failure cls, enum attempt_stage stage, bool queued)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].cls == cls && table[i].stage == stage)
			return queued ? table[i].queued_message : table[i].new_message;
	return queued ? QUEUE_KEEP : QUEUE_NO;
}

bool
queue_curable(enum failure cls, enum attempt_stage stage)
{
	enum queue_action act = queue_action(cls, stage, false);

	return act == QUEUE_KEEP || act == QUEUE_HOLD;
}

bool
queue_fails_over(enum failure cls, enum attempt_stage stage, bool server_may_have_it)
{
	if (stage == STAGE_UNFIT)
		return true;
	return cls == FAIL_TEMPORARY && stage != STAGE_CREDENTIALS && !server_may_have_it;
}

int64_t
queue_backoff(unsigned attempts, int first, int limit)
{
	int64_t delay = first;

	if (attempts <= 1)
		return 0;
	for (unsigned i = 2; i < attempts && delay < limit; i++)
		delay *= 2;
	return delay < limit ? delay : limit;
}

bool
queue_is_due(const struct queue_envelope *e, int64_t now)
{
	return e->held || now >= e->next;
}

bool
queue_is_older(const struct queue_envelope *e, int64_t now, int seconds)
{
	return seconds > 0 && now - e->created >= seconds;
}

void
queue_duration_text(int64_t seconds, char *out, size_t size)
{
	static const struct { char unit; int64_t length; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t i = 0;

	if (seconds < 0)
		seconds = 0;
	while (i + 1 < sizeof units / sizeof units[0] && seconds < units[i].length)
		i++;
	if (i + 1 < sizeof units / sizeof units[0] && seconds % units[i].length >=
	    units[i + 1].length)
		snprintf(out, size, "%lld%c%lld%c", (long long)(seconds / units[i].length),
		    units[i].unit, (long long)(seconds % units[i].length / units[i + 1].length),
		    units[i + 1].unit);
	else
		snprintf(out, size, "%lld%c", (long long)(seconds / units[i].length), units[i].unit);
}
