/* fake_resolver_testutil: the deferred half of a fake struct spf_resolver,
 * shared by the SPF and DMARC tests. A test's fake answers from its own
 * zone; to check a check also works when answers come later (as from
 * c-ares), the fake queues the question here instead and the test pumps. */
#ifndef TERN_TEST_FAKE_RESOLVER_TESTUTIL_H
#define TERN_TEST_FAKE_RESOLVER_TESTUTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "net/dns_query.h"

struct fake_question {
	char name[300];
	enum dns_qtype type;
	dns_query_cb cb;
	void *ud;
	bool cancelled, used;
};

struct fake_queue {
	struct fake_question q[64];
	size_t head, nq; /* q[head..nq) are waiting */
};

/* Queues a question: the handle for the resolver's cancel, NULL when full. */
static struct fake_question *fake_queue_add(struct fake_queue *fq, const char *name,
                                            enum dns_qtype t, dns_query_cb cb, void *cb_ud)
{
	if (fq->nq >= sizeof fq->q / sizeof fq->q[0])
		return NULL;
	struct fake_question *p = &fq->q[fq->nq++];
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->type = t;
	p->cb = cb;
	p->ud = cb_ud;
	return p;
}

static void fake_question_cancel(void *handle)
{
	((struct fake_question *)handle)->cancelled = true;
}

/* Answers the questions queued so far (not those their answers ask) with
 * answer(f, ...), the test's zone lookup. */
static void fake_queue_pump(struct fake_queue *fq,
                            void (*answer)(void *f, const char *name, enum dns_qtype t,
                                           dns_query_cb cb, void *cb_ud),
                            void *f)
{
	size_t n = fq->nq;
	for (size_t i = fq->head; i < n; i++) {
		struct fake_question *p = &fq->q[i];
		if (p->used || p->cancelled)
			continue;
		p->used = true;
		answer(f, p->name, p->type, p->cb, p->ud);
	}
	fq->head = n;
	if (fq->head == fq->nq) /* no handle is outstanding: the slots can be reused */
		fq->head = fq->nq = 0;
}

#endif
