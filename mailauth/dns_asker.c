/* dns_asker: one outstanding DNS question of a step machine (dns_asker.h). */
#include "mailauth/dns_asker.h"

#include <stddef.h>

void dns_asker_ask(struct dns_asker *q, const char *name, enum dns_qtype type, dns_query_cb cb,
                   void *ud)
{
	q->waiting = true;
	q->pending = NULL;
	void *h = q->res.query(q->res.ud, name, type, cb, ud);
	if (!q->waiting)
		return; /* answered already */
	if (h) {
		q->pending = h;
		return;
	}
	/* could not start: a temporary failure */
	static const struct dns_answer temp = {.status = DNS_Q_TEMP};
	cb(ud, &temp);
}

void dns_asker_answered(struct dns_asker *q)
{
	q->waiting = false;
	q->pending = NULL;
}

void dns_asker_cancel(struct dns_asker *q)
{
	if (q->pending && q->res.cancel)
		q->res.cancel(q->res.ud, q->pending);
	q->pending = NULL;
}
