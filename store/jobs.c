/* jobs: handing finished jobs back to the loop (completions run there,
 * after the commit and, for a durable job, the sync), and stopping the
 * store's threads. */
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_post_completions(struct store *s, struct store_job *first, struct store_job *last)
{
	uv_mutex_lock(&s->cmu);
	if (s->ctail)
		s->ctail->next = first;
	else
		s->chead = first;
	s->ctail = last;
	uv_mutex_unlock(&s->cmu);
	uv_async_send(s->async);
}

void store_run_completions(struct store *s)
{
	uv_mutex_lock(&s->cmu);
	struct store_job *j = s->chead;
	s->chead = s->ctail = NULL;
	uv_mutex_unlock(&s->cmu);
	while (j) {
		struct store_job *next = j->next;
		if (j->done)
			j->done(j->arg, j->status);
		free(j);
		s->outstanding--;
		j = next;
	}
}

void store_on_async(uv_async_t *h)
{
	store_run_completions(h->data);
}

void store_fail_all(struct store_job *j, int status)
{
	for (; j; j = j->next)
		if (j->status >= 0)
			j->status = status;
}

/* Tells a thread waiting on cond (under mu) that *closing is set, and
 * waits for it to end. */
void store_stop_thread(uv_mutex_t *mu, uv_cond_t *cond, bool *closing, uv_thread_t *thread)
{
	uv_mutex_lock(mu);
	*closing = true;
	uv_cond_signal(cond);
	uv_mutex_unlock(mu);
	uv_thread_join(thread);
}
