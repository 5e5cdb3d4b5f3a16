/* hashpool: a few threads of our own for password hashing.
 *
 * yescrypt costs tens of milliseconds of CPU per check on purpose. On the
 * loop it would stall every connection; in libuv's shared pool it would
 * queue in front of (and behind) file-system work, DNS and everything
 * else that uses it, and its four threads are not the cores. So hashing
 * gets its own pool: one thread per core (uv_available_parallelism), a
 * FIFO queue under a mutex, and a uv_async that brings finished jobs back
 * to the loop, where their after callback runs.
 *
 * A job is embedded in its owner's request (like uv_work_t). work runs on
 * a pool thread and must touch only the job's own data; after runs on the
 * loop thread. The pool keeps the loop alive while jobs are pending, and
 * not when idle. */
#ifndef TERN_AUTH_HASHPOOL_H
#define TERN_AUTH_HASHPOOL_H

#include <uv.h>

struct hash_pool;
struct hash_job;

typedef void (*hash_work_fn)(struct hash_job *job);
typedef void (*hash_after_fn)(struct hash_job *job);

struct hash_job {
	struct hash_job *next; /* the pool's */
	hash_work_fn work;
	hash_after_fn after;
};

/* threads 0: one per core (at most 64). NULL on failure. */
struct hash_pool *hash_pool_new(uv_loop_t *loop, unsigned threads);
/* Queue a job; 0, or a negative errno when the pool is stopping. */
int hash_pool_submit(struct hash_pool *pool, struct hash_job *job, hash_work_fn work,
                     hash_after_fn after);
unsigned hash_pool_threads(const struct hash_pool *pool);
/* Stop and join the threads, close the async handle; the memory goes when
 * the loop runs the close callback. Only once no job is pending. Safe on
 * NULL; sets *pool to NULL. */
void hash_pool_free(struct hash_pool **pool);

#endif
