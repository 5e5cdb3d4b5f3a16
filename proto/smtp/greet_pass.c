/* greet_pass: see greet_pass.h.
 *
 * An open-addressed table of 16-byte addresses (IPv4 as IPv4-mapped IPv6)
 * and the time each pass runs out. An address lives somewhere in the
 * PROBES slots after its hash, so a lookup reads at most PROBES slots and
 * a revoked entry can simply be freed (a lookup never stops at a hole).
 * A new address takes a free or expired slot of its window. The table
 * starts at MIN_SLOTS and doubles when it is half full or a window is
 * full of live passes, up to the limit; there, a new address takes the
 * slot of its window's oldest pass. */
#include "proto/smtp/greet_pass.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PROBES 16
#define MIN_SLOTS 256

struct entry {
	uint8_t addr[16];
	uint64_t until_ms; /* 0: a free slot */
};

struct smtp_greet_pass {
	struct entry *slots;
	size_t nslots;    /* a power of two */
	size_t max_slots; /* greet_pass_max, rounded up to a power of two */
	size_t count;     /* slots in use */
	uint64_t seed;
};

static bool parse_addr(const char *ip, uint8_t out[16])
{
	struct in_addr v4;
	if (inet_pton(AF_INET, ip, &v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, ip, out) == 1;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static size_t slot_of(const struct smtp_greet_pass *p, const uint8_t addr[16])
{
	uint64_t a, b;
	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	return (size_t)mix(mix(a ^ p->seed) ^ b) & (p->nslots - 1);
}

static struct entry *find(const struct smtp_greet_pass *p, const uint8_t addr[16])
{
	size_t h = slot_of(p, addr);
	for (size_t i = 0; i < PROBES; i++) {
		struct entry *e = &p->slots[(h + i) & (p->nslots - 1)];
		if (e->until_ms && memcmp(e->addr, addr, 16) == 0)
			return e;
	}
	return NULL;
}

/* A slot for a new address in its window: a free one, or one whose pass
 * has run out. NULL if the window is full of live passes. */
static struct entry *free_slot(struct smtp_greet_pass *p, const uint8_t addr[16], uint64_t now_ms)
{
	size_t h = slot_of(p, addr);
	for (size_t i = 0; i < PROBES; i++) {
		struct entry *e = &p->slots[(h + i) & (p->nslots - 1)];
		if (e->until_ms <= now_ms)
			return e;
	}
	return NULL;
}

/* The window's oldest pass: what a new address replaces in a full table. */
static struct entry *oldest_slot(struct smtp_greet_pass *p, const uint8_t addr[16])
{
	size_t h = slot_of(p, addr);
	struct entry *victim = &p->slots[h];
	for (size_t i = 1; i < PROBES; i++) {
		struct entry *e = &p->slots[(h + i) & (p->nslots - 1)];
		if (e->until_ms < victim->until_ms)
			victim = e;
	}
	return victim;
}

static void put(struct smtp_greet_pass *p, struct entry *e, const uint8_t addr[16],
                uint64_t until_ms)
{
	if (!e->until_ms)
		p->count++;
	memcpy(e->addr, addr, 16);
	e->until_ms = until_ms;
}

/* Double the table (again, while a live pass would not fit in its window
 * and the limit allows), dropping expired passes. Returns -1, keeping the
 * table, at the limit or without memory. */
static int grow(struct smtp_greet_pass *p, uint64_t now_ms)
{
	struct entry *old = p->slots;
	size_t nold = p->nslots, size = nold;

	if (size >= p->max_slots)
		return -1;
	while (size < p->max_slots) {
		size *= 2;
		struct entry *slots = calloc(size, sizeof *slots);
		if (!slots)
			break;
		p->slots = slots;
		p->nslots = size;
		p->count = 0;
		bool fits = true;
		for (size_t i = 0; i < nold; i++) {
			if (old[i].until_ms <= now_ms)
				continue;
			struct entry *e = free_slot(p, old[i].addr, now_ms);
			fits = fits && e;
			put(p, e ? e : oldest_slot(p, old[i].addr), old[i].addr, old[i].until_ms);
		}
		if (fits || size >= p->max_slots) {
			free(old);
			return 0;
		}
		free(slots);
	}
	p->slots = old;
	p->nslots = nold;
	p->count = 0;
	for (size_t i = 0; i < nold; i++)
		p->count += old[i].until_ms != 0;
	return -1;
}

struct smtp_greet_pass *smtp_greet_pass_new(size_t max)
{
	struct smtp_greet_pass *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->max_slots = MIN_SLOTS;
	while (p->max_slots < max && p->max_slots < ((size_t)1 << 30))
		p->max_slots <<= 1;
	p->nslots = MIN_SLOTS;
	p->slots = calloc(p->nslots, sizeof *p->slots);
	if (!p->slots) {
		free(p);
		return NULL;
	}
	if (getrandom(&p->seed, sizeof p->seed, 0) != sizeof p->seed)
		p->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)p;
	return p;
}

void smtp_greet_pass_free(struct smtp_greet_pass **p)
{
	if (!*p)
		return;
	free((*p)->slots);
	free(*p);
	*p = NULL;
}

bool smtp_greet_pass_check(const struct smtp_greet_pass *p, const char *ip, uint64_t now_ms)
{
	uint8_t addr[16];
	if (!p || !parse_addr(ip, addr))
		return false;
	const struct entry *e = find(p, addr);
	return e && e->until_ms > now_ms;
}

void smtp_greet_pass_grant(struct smtp_greet_pass *p, const char *ip, uint64_t now_ms,
                           uint64_t ttl_ms)
{
	uint8_t addr[16];
	if (!p || ttl_ms == 0 || !parse_addr(ip, addr))
		return;
	uint64_t until = now_ms + ttl_ms;
	struct entry *e = find(p, addr);
	if (e) {
		e->until_ms = until;
		return;
	}
	/* Below the limit the table grows rather than forget a pass: when it
	 * is half full, and when the address's window is full. */
	if (p->count >= p->nslots / 2)
		grow(p, now_ms);
	e = free_slot(p, addr, now_ms);
	while (!e && grow(p, now_ms) == 0)
		e = free_slot(p, addr, now_ms);
	put(p, e ? e : oldest_slot(p, addr), addr, until);
}

void smtp_greet_pass_revoke(struct smtp_greet_pass *p, const char *ip)
{
	uint8_t addr[16];
	if (!p || !parse_addr(ip, addr))
		return;
	struct entry *e = find(p, addr);
	if (e) {
		e->until_ms = 0;
		p->count--;
	}
}

size_t smtp_greet_pass_count(const struct smtp_greet_pass *p)
{
	return p ? p->count : 0;
}

size_t smtp_greet_pass_slots(const struct smtp_greet_pass *p)
{
	return p ? p->nslots : 0;
}
