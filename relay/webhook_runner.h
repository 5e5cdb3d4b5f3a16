/* webhook_runner: POSTs the webhook events waiting in the store.
 *
 * Like the queue runner: a timer (and a kick after the queue records
 * events) reads the due rows of webhook_events and starts at most
 * max_concurrent POSTs. Each one resolves the URL's host, refuses the
 * POST when an address is private or local (webhook_addr.h) unless
 * allow_private, connects to the address it checked, and sends the event
 * signed (webhook_sign.h) with Tern-Event-Id. A 2xx marks the row
 * delivered; anything else is tried again after retry_first * 2^(n-1)
 * seconds, at most retry_max, until lifetime has passed since the event:
 * then it is marked failed (`tern webhook retry` requeues it).
 *
 * At least once: the mark is a store transaction after the 2xx, so a
 * crash in between sends the event again; receivers dedup by
 * Tern-Event-Id. */
#ifndef TERN_RELAY_WEBHOOK_RUNNER_H
#define TERN_RELAY_WEBHOOK_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct store;

/* [webhooks] */
struct webhook_settings {
	bool allow_private;     /* POST to loopback/private addresses (tests) */
	int64_t scan_interval;  /* seconds between scans for due events */
	int64_t retry_first;    /* seconds */
	int64_t retry_max;      /* seconds */
	int64_t lifetime;       /* seconds after which an event is failed */
	int64_t max_concurrent; /* POSTs at once */
	int64_t timeout;        /* seconds per POST */
};

struct webhook_services {
	uv_loop_t *loop;
	struct store *store;
	const bool *stopping;
};

/* settings is kept by pointer, svc copied. */
void webhook_runner_start(const struct webhook_settings *settings,
                          const struct webhook_services *svc);
/* Cancel what is in flight (those events are tried again at the next
 * start). Run the loop afterwards so handles can close. */
void webhook_runner_stop(void);
/* New events were committed: scan within 100 ms. Safe before start. */
void webhook_runner_kick(void);

#endif
