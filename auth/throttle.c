/* throttle: the two failure budgets (see throttle.h). */
#include "auth/throttle.h"
#include "auth/auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_SLOTS 4096
#define ACCOUNT_SLOTS 2048
#define PROBES 8
#define KNOWN_NETS 4 /* networks remembered per account */
#define ACCOUNT_KEY_MAX 320

struct net_entry {
	char key[THROTTLE_NET_MAX]; /* "" = free */
	uint32_t failures;          /* charged attempts in the window */
	uint64_t first_ms;          /* start of the window */
};

struct account_entry {
	char key[ACCOUNT_KEY_MAX]; /* lower-cased address; "" = free */
	uint32_t failures;
	uint64_t first_ms;
	uint64_t next_ok_ms; /* over budget: the next slot for an unknown network */
	struct {
		char net[THROTTLE_NET_MAX];
		uint64_t last_ms;
	} known[KNOWN_NETS];
};

struct throttle {
	const struct auth_settings *set;
	struct net_entry nets[NET_SLOTS];
	struct account_entry accounts[ACCOUNT_SLOTS];
};

struct throttle *throttle_new(const struct auth_settings *settings)
{
	struct throttle *t = calloc(1, sizeof *t);
	if (t)
		t->set = settings;
	return t;
}

void throttle_free(struct throttle **t)
{
	free(*t);
	*t = NULL;
}

void throttle_network(const char *ip, char *out, size_t outlen)
{
	unsigned char a[16];
	if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, sizeof mapped) == 0) {
			snprintf(out, outlen, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
			return;
		}
		memset(a + 8, 0, 8); /* one host holds a whole /64 */
		char buf[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, a, buf, sizeof buf);
		snprintf(out, outlen, "%s/64", buf);
		return;
	}
	snprintf(out, outlen, "%s", ip);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static uint64_t window_ms(const struct throttle *t)
{
	return (uint64_t)t->set->fail_window * 1000;
}

/* Open addressing with a short probe. Without create, NULL when absent;
 * with it, the oldest entry of the probe makes room (bounded memory). */
static struct net_entry *net_find(struct throttle *t, const char *key, uint64_t now, bool create)
{
	uint32_t h = hash(key);
	struct net_entry *room = NULL;
	for (int p = 0; p < PROBES; p++) {
		struct net_entry *e = &t->nets[(h + (uint32_t)p) % NET_SLOTS];
		if (e->key[0] && now - e->first_ms > window_ms(t))
			e->key[0] = '\0'; /* its window passed */
		if (e->key[0] && strcmp(e->key, key) == 0)
			return e;
		if (!room || !e->key[0] || (room->key[0] && e->first_ms < room->first_ms))
			room = e;
	}
	if (!create)
		return NULL;
	memset(room, 0, sizeof *room);
	snprintf(room->key, sizeof room->key, "%s", key);
	room->first_ms = now;
	return room;
}

static bool has_known(const struct account_entry *e)
{
	for (int i = 0; i < KNOWN_NETS; i++)
		if (e->known[i].net[0])
			return true;
	return false;
}

/* An account's entry outlives its failure window (it remembers where the
 * owner logs in from); when room is needed, an entry without such
 * memories goes first, then the oldest. */
static struct account_entry *account_find(struct throttle *t, const char *key, uint64_t now,
                                          bool create)
{
	uint32_t h = hash(key);
	struct account_entry *room = NULL;
	for (int p = 0; p < PROBES; p++) {
		struct account_entry *e = &t->accounts[(h + (uint32_t)p) % ACCOUNT_SLOTS];
		if (e->key[0] && strcmp(e->key, key) == 0) {
			if (now - e->first_ms > window_ms(t)) {
				e->failures = 0; /* a new window; the known networks stay */
				e->first_ms = now;
			}
			return e;
		}
		if (!room || !e->key[0])
			room = e;
		else if (room->key[0] &&
		         (has_known(room) > has_known(e) ||
		          (has_known(room) == has_known(e) && e->first_ms < room->first_ms)))
			room = e;
	}
	if (!create)
		return NULL;
	memset(room, 0, sizeof *room);
	snprintf(room->key, sizeof room->key, "%s", key);
	room->first_ms = now;
	return room;
}

static void account_key(const char *account, char *out)
{
	size_t i = 0;
	for (; account[i] && i + 1 < ACCOUNT_KEY_MAX; i++)
		out[i] = (char)tolower((unsigned char)account[i]);
	out[i] = '\0';
}

static bool known_net(const struct account_entry *e, const char *net)
{
	for (int i = 0; i < KNOWN_NETS; i++)
		if (e->known[i].net[0] && strcmp(e->known[i].net, net) == 0)
			return true;
	return false;
}

static void remember_net(struct account_entry *e, const char *net, uint64_t now)
{
	int slot = 0;
	for (int i = 0; i < KNOWN_NETS; i++) {
		if (strcmp(e->known[i].net, net) == 0) {
			slot = i;
			break;
		}
		if (e->known[i].last_ms < e->known[slot].last_ms)
			slot = i; /* the least recently used (or a free one) */
	}
	snprintf(e->known[slot].net, sizeof e->known[slot].net, "%s", net);
	e->known[slot].last_ms = now;
}

enum throttle_verdict throttle_begin(struct throttle *t, const char *ip, const char *account,
                                     uint64_t now)
{
	char net[THROTTLE_NET_MAX], key[ACCOUNT_KEY_MAX];
	throttle_network(ip, net, sizeof net);
	account_key(account, key);
	struct net_entry *ne = net_find(t, net, now, true);
	if (ne->failures >= (uint64_t)t->set->fail_limit)
		return THROTTLE_NETWORK;
	struct account_entry *ae = account_find(t, key, now, true);
	if (ae->failures >= (uint64_t)t->set->account_fail_limit && !known_net(ae, net)) {
		if (now < ae->next_ok_ms)
			return THROTTLE_ACCOUNT;
		ae->next_ok_ms = now + (uint64_t)t->set->account_fail_interval_ms;
	}
	ne->failures++;
	ae->failures++;
	return THROTTLE_GO;
}

/* Give back the charge of throttle_begin(); the account's entry (made if
 * it was evicted meanwhile) is returned when the caller wants it. */
static struct account_entry *refund(struct throttle *t, const char *net, const char *key,
                                    uint64_t now, bool want_account)
{
	struct net_entry *ne = net_find(t, net, now, false);
	if (ne && ne->failures)
		ne->failures--;
	struct account_entry *ae = account_find(t, key, now, want_account);
	if (ae && ae->failures)
		ae->failures--;
	return ae;
}

void throttle_cancel(struct throttle *t, const char *ip, const char *account, uint64_t now)
{
	char net[THROTTLE_NET_MAX], key[ACCOUNT_KEY_MAX];
	throttle_network(ip, net, sizeof net);
	account_key(account, key);
	refund(t, net, key, now, false);
}

uint64_t throttle_end(struct throttle *t, const char *ip, const char *account, bool ok,
                      uint64_t now)
{
	char net[THROTTLE_NET_MAX], key[ACCOUNT_KEY_MAX];
	throttle_network(ip, net, sizeof net);
	account_key(account, key);
	if (ok) {
		remember_net(refund(t, net, key, now, true), net, now);
		return 0;
	}
	struct net_entry *ne = net_find(t, net, now, false);
	uint64_t delay = (uint64_t)t->set->fail_delay_ms;
	uint64_t max = (uint64_t)t->set->fail_max_delay_ms;
	for (uint32_t i = 1; ne && i < ne->failures && delay < max; i++)
		delay *= 2;
	return delay > max ? max : delay;
}
