/* hashpool: see hashpool.h. Two lists under one mutex: jobs waiting for a
 * thread, and jobs done waiting for the loop. A thread takes the oldest
 * waiting job, runs it unlocked, appends it to the done list and wakes
 * the loop (uv_async_send coalesces wake-ups; the callback takes the whole
 * list). pending is the loop's own count of jobs not yet handed back; the
 * async handle is referenced only while it is non-zero.
 *
 * The threads run at a lower priority (nice +HASH_NICE) than the rest of
 * the process: when the cores are busy, the loop (every other connection)
 * and the store's writer go first, and logins wait a little longer. */
#include "auth/hashpool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define HASH_POOL_MAX_THREADS 64
#define HASH_NICE 5

struct hash_pool {
	uv_loop_t *loop;
	uv_async_t wake;
	uv_mutex_t mu;
	uv_cond_t cond;
	struct hash_job *wait_head, *wait_tail; /* under mu */
	struct hash_job *done_head, *done_tail; /* under mu */
	bool stopping;                          /* under mu */
	size_t pending;                         /* loop thread only */
	unsigned nthreads;
	uv_thread_t threads[HASH_POOL_MAX_THREADS];
};

static void append(struct hash_job **head, struct hash_job **tail, struct hash_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static void worker(void *arg)
{
	struct hash_pool *p = arg;
	/* Linux: a thread's nice value is its own (PRIO_PROCESS on its tid).
	 * Raising it needs no privilege; failing to is harmless. */
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (errno == 0)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), prio + HASH_NICE);
	uv_mutex_lock(&p->mu);
	for (;;) {
		while (!p->wait_head && !p->stopping)
			uv_cond_wait(&p->cond, &p->mu);
		struct hash_job *job = p->wait_head;
		if (!job)
			break; /* stopping, nothing left */
		p->wait_head = job->next;
		if (!p->wait_head)
			p->wait_tail = NULL;
		uv_mutex_unlock(&p->mu);
		job->work(job);
		uv_mutex_lock(&p->mu);
		append(&p->done_head, &p->done_tail, job);
		uv_async_send(&p->wake);
	}
	uv_mutex_unlock(&p->mu);
}

static void on_wake(uv_async_t *a)
{
	struct hash_pool *p = a->data;
	uv_mutex_lock(&p->mu);
	struct hash_job *job = p->done_head;
	p->done_head = p->done_tail = NULL;
	uv_mutex_unlock(&p->mu);
	while (job) {
		struct hash_job *next = job->next;
		p->pending--;
		job->after(job); /* may free job, may submit more */
		job = next;
	}
	if (p->pending == 0)
		uv_unref((uv_handle_t *)&p->wake);
}

struct hash_pool *hash_pool_new(uv_loop_t *loop, unsigned threads)
{
	if (threads == 0)
		threads = uv_available_parallelism();
	if (threads == 0)
		threads = 1;
	if (threads > HASH_POOL_MAX_THREADS)
		threads = HASH_POOL_MAX_THREADS;
	struct hash_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->loop = loop;
	if (uv_mutex_init(&p->mu) < 0) {
		free(p);
		return NULL;
	}
	if (uv_cond_init(&p->cond) < 0) {
		uv_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	if (uv_async_init(loop, &p->wake, on_wake) < 0) {
		uv_cond_destroy(&p->cond);
		uv_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	p->wake.data = p;
	uv_unref((uv_handle_t *)&p->wake);
	for (unsigned i = 0; i < threads; i++) {
		if (uv_thread_create(&p->threads[i], worker, p) < 0)
			break;
		p->nthreads++;
	}
	if (p->nthreads == 0) {
		hash_pool_free(&p);
		return NULL;
	}
	return p;
}

int hash_pool_submit(struct hash_pool *pool, struct hash_job *job, hash_work_fn work,
                     hash_after_fn after)
{
	job->work = work;
	job->after = after;
	uv_mutex_lock(&pool->mu);
	if (pool->stopping) {
		uv_mutex_unlock(&pool->mu);
		return -ECANCELED;
	}
	append(&pool->wait_head, &pool->wait_tail, job);
	uv_cond_signal(&pool->cond);
	uv_mutex_unlock(&pool->mu);
	if (pool->pending++ == 0)
		uv_ref((uv_handle_t *)&pool->wake);
	return 0;
}

unsigned hash_pool_threads(const struct hash_pool *pool)
{
	return pool->nthreads;
}

static void on_closed(uv_handle_t *h)
{
	struct hash_pool *p = h->data;
	uv_cond_destroy(&p->cond);
	uv_mutex_destroy(&p->mu);
	free(p);
}

void hash_pool_free(struct hash_pool **pool)
{
	struct hash_pool *p = *pool;
	if (!p)
		return;
	*pool = NULL;
	uv_mutex_lock(&p->mu);
	p->stopping = true;
	uv_cond_broadcast(&p->cond);
	uv_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		uv_thread_join(&p->threads[i]);
	uv_close((uv_handle_t *)&p->wake, on_closed);
}
