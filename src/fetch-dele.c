/*
 * DELE answers and the DELEs sent among RETRs (fetch-dele.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "fetch-dele.h"
#include "xalloc.h"

int
dele_answer(struct pop3 *pop, struct plan_msg *m, struct fetch_report *rep)
{
	int rc = pop3_read_dele(pop);

	if (rc < 0)
		return -1;
	if (rc == POP3_REFUSED) {
		report_message(rep, m);
		return 0;
	}
	m->deleted = true;
	if (rep->rec != NULL)
		rep->rec->deleted++;
	return 0;
}

void
dele_queue_init(struct dele_queue *d, size_t max)
{
	*d = (struct dele_queue){ .deles = xcalloc(max + 1, sizeof *d->deles), .max = max };
}

int
dele_queue_send(struct dele_queue *d, struct pop3 *pop, struct plan_msg *m,
	size_t retrs_sent)
{
	if (d->sent == d->max)
		return fail(FAIL_PROTOCOL, "internal error: more DELEs than planned");
	if (pop3_send_dele(pop, m->num) < 0)
		return -1;
	d->deles[d->sent++] = (struct queued_dele){ .m = m, .retrs_before = retrs_sent };
	return 0;
}

int
dele_queue_read_due(struct dele_queue *d, struct pop3 *pop, size_t retrs_read,
	struct fetch_report *rep)
{
	for (; d->done < d->sent && d->deles[d->done].retrs_before <= retrs_read; d->done++)
		if (dele_answer(pop, d->deles[d->done].m, rep) < 0)
			return -1;
	return 0;
}

void
dele_queue_free(struct dele_queue *d)
{
	free(d->deles);
	d->deles = NULL;
}
