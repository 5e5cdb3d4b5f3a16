/* greet_pass: the client addresses that waited for the greeting, and for
 * how long that is remembered (Postfix postscreen's greet cache).
 *
 * An mx listener without TLS waits [smtp] greet_delay_ms before its 220,
 * and a client that talks in that window is an early talker (554 5.5.1):
 * spam bots often do not wait. A real MTA always waits, so making it wait
 * again on every connection only slows it: a sender that opens a new
 * connection per message at 20 sessions got 80 messages/s. So, as
 * postscreen does, an address whose client waited once has a pass for
 * greet_pass_ttl seconds and is greeted at once; an early talker loses its
 * address's pass. A pass runs from when it was earned: it is not renewed
 * by use, so a client is tested again once a TTL.
 *
 * Memory is bounded: at most greet_pass_max addresses, 24 bytes each (the
 * table starts small and doubles up to that), and when the table is full a new pass
 * takes the place of an expired one or of the oldest one in its probe
 * sequence. Forgetting a pass costs its client one greeting delay, nothing
 * more, so an attacker who floods the table with addresses gains nothing.
 * The hash is keyed with a random seed, so which addresses collide cannot
 * be chosen from outside. Keys are whole addresses (IPv4, or IPv6 with
 * IPv4-mapped ones as IPv4), as postscreen's are. Loop thread only. */
#ifndef TERN_SMTP_GREET_PASS_H
#define TERN_SMTP_GREET_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smtp_greet_pass;

/* A table for at most max addresses (rounded up to a power of two, at
 * least 256). NULL without memory. */
struct smtp_greet_pass *smtp_greet_pass_new(size_t max);
void smtp_greet_pass_free(struct smtp_greet_pass **p);

/* Does ip ("192.0.2.7", "2001:db8::1") hold a pass at now_ms? An address
 * that does not parse never does. */
bool smtp_greet_pass_check(const struct smtp_greet_pass *p, const char *ip, uint64_t now_ms);
/* ip's client waited for the greeting: a pass until now_ms + ttl_ms. */
void smtp_greet_pass_grant(struct smtp_greet_pass *p, const char *ip, uint64_t now_ms,
                           uint64_t ttl_ms);
/* ip's client talked early: its pass, if any, is gone. */
void smtp_greet_pass_revoke(struct smtp_greet_pass *p, const char *ip);
/* Addresses holding an entry (expired ones included until reused), and
 * the table's size in slots: for tests. */
size_t smtp_greet_pass_count(const struct smtp_greet_pass *p);
size_t smtp_greet_pass_slots(const struct smtp_greet_pass *p);

#endif
