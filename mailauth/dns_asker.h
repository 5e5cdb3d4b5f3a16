/* dns_asker: one DNS question at a time for a check that runs as a step
 * machine (the SPF and DMARC checks). It asks through a struct
 * spf_resolver and copes with the three ways a resolver can answer: later
 * (the usual), at once from inside the query call (a test zone, a cache),
 * or not at all because the question could not start (then it is a
 * temporary failure). The owner keeps its own step loop:
 *
 *     q.in_run = true;
 *     while (!q.waiting && !done) step();
 *     q.in_run = false;
 *
 * and in its answer callback calls dns_asker_answered() first, handles the
 * answer, and runs that loop itself only when it is not on the stack
 * already (!q.in_run). */
#ifndef TERN_MAILAUTH_DNS_ASKER_H
#define TERN_MAILAUTH_DNS_ASKER_H

#include <stdbool.h>

#include "mailauth/spf.h" /* struct spf_resolver */

struct dns_asker {
	struct spf_resolver res;
	void *pending; /* the resolver's handle while the answer is to come */
	bool waiting;  /* a question is outstanding */
	bool in_run;   /* the owner's step loop is on the stack */
};

/* Asks; cb(ud, answer) runs when the answer comes, possibly before this
 * returns. */
void dns_asker_ask(struct dns_asker *q, const char *name, enum dns_qtype type, dns_query_cb cb,
                   void *ud);
/* In the answer callback, first: no question is outstanding any more. */
void dns_asker_answered(struct dns_asker *q);
/* Cancels the outstanding question, if any: its callback never comes. */
void dns_asker_cancel(struct dns_asker *q);

#endif
