/* throttle: how many password guesses a client, or the world against one
 * account, may make.
 *
 * Two budgets, both over a sliding window of fail_window seconds:
 *
 *   per network  a client address (IPv4 /32, IPv6 /64: one host owns a
 *                whole /64) may fail fail_limit times; past that it is
 *                refused (a temporary error) until the window passes.
 *                Every failure also delays its answer, doubling up to
 *                fail_max_delay_ms.
 *   per account  an account (the address tried, known or not) may fail
 *                account_fail_limit times. Past that, guesses from
 *                networks the account never logged in from are slowed to
 *                one per account_fail_interval_ms, the rest refused, so an
 *                attacker rotating through many addresses gets a trickle,
 *                while the owner, logging in from a network that
 *                succeeded before, is never held back.
 *
 * An attempt is charged to both budgets when it *starts*, and refunded if
 * it succeeds: a burst of parallel guesses cannot slip through while the
 * first ones are still being hashed.
 *
 * Memory is bounded: fixed tables where the oldest entry of a probe
 * sequence makes room, whatever the attacker sends. Loop thread only. */
#ifndef TERN_AUTH_THROTTLE_H
#define TERN_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth_settings;
struct throttle;

enum throttle_verdict {
	THROTTLE_GO = 0,  /* check it (the attempt is charged) */
	THROTTLE_NETWORK, /* this network failed too often */
	THROTTLE_ACCOUNT, /* this account failed too often, from elsewhere */
};

/* settings are kept by pointer. NULL on allocation failure. */
struct throttle *throttle_new(const struct auth_settings *settings);
void throttle_free(struct throttle **t);

/* A check of account's password from ip is about to start at now_ms. */
enum throttle_verdict throttle_begin(struct throttle *t, const char *ip, const char *account,
                                     uint64_t now_ms);
/* It ended: ok refunds the charge and remembers ip's network as one the
 * account logs in from; otherwise the failure stands. Returns how long to
 * wait before answering (0 for a success). */
uint64_t throttle_end(struct throttle *t, const char *ip, const char *account, bool ok,
                      uint64_t now_ms);

/* It could not be checked (store trouble): the charge is refunded, and
 * nothing is learnt. */
void throttle_cancel(struct throttle *t, const char *ip, const char *account, uint64_t now_ms);

/* The network an address is counted in: "192.0.2.7" for IPv4 (and
 * IPv4-mapped IPv6), "2001:db8:1:2::/64" for IPv6; anything unparsable as
 * it is. out needs THROTTLE_NET_MAX bytes. */
#define THROTTLE_NET_MAX 64
void throttle_network(const char *ip, char *out, size_t outlen);

#endif
