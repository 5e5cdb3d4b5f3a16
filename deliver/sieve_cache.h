/* sieve_cache: the compiled active script of an account, kept in memory
 * keyed by (account, updated), so a delivery does not recompile.
 *
 * store/sieve.h's `updated` changes with every put and activation, so a
 * key that matches is the script the store holds now; a stale entry is
 * simply never asked for again and is pushed out by newer ones (the cache
 * holds SIEVE_CACHE_SLOTS entries, the least recently used goes first).
 * An entry is reference-counted: a run in the thread pool holds its own
 * reference, so replacing an entry meanwhile never frees a script in use.
 * Loop thread only (take and drop), the script itself is immutable and
 * may be read from any thread. */
#ifndef TERN_DELIVER_SIEVE_CACHE_H
#define TERN_DELIVER_SIEVE_CACHE_H

#include <stdint.h>

struct store_rd;
struct sieve_script;

#define SIEVE_CACHE_SLOTS 256

struct sieve_cached;

/* The active script of account_id, compiled: 1 with *out (a reference:
 * give it back with sieve_cache_drop), 0 when the account has no active
 * script (or it no longer compiles: logged once per version, and the
 * delivery files as if there were none), or negative (store, memory). */
int sieve_cache_take(struct store_rd *rd, int64_t account_id, struct sieve_cached **out);
const struct sieve_script *sieve_cached_script(const struct sieve_cached *c);
void sieve_cache_drop(struct sieve_cached *c);
/* Free every entry nobody holds (shutdown, tests). */
void sieve_cache_clear(void);

#endif
