/* limits: connection counting, total and per client IP.
 *
 * conn_accept() acquires a slot before it does anything else with a new
 * socket and releases it when the conn is freed. The counters live on the
 * loop thread only (no locking). 0 for a maximum means unlimited; the
 * connection is still counted so that limits changed by a reload apply to
 * the connections already open.
 */
#ifndef TERN_LIMITS_H
#define TERN_LIMITS_H

#include <stddef.h>

/* Take one slot for ip. Returns 0, or -1 if ip already holds max_per_ip
 * connections or max_total are open (nothing is taken then). */
int limits_conn_acquire(const char *ip, unsigned max_per_ip, unsigned max_total);
/* Give back a slot taken by limits_conn_acquire(). */
void limits_conn_release(const char *ip);

/* Current counts (tests, status). */
size_t limits_conn_total(void);
unsigned limits_conn_count(const char *ip);

#endif
