/* limits: per-IP connection counts in a small open hash table.
 *
 * Why a hand-rolled table: the key set is "IPs with at least one open
 * connection", small and churning; an entry is deleted when its count drops
 * to zero, so the table never holds stale clients. Chaining with a fixed
 * bucket array keeps deletion trivial. The hash is FNV-1a salted per
 * process so a client cannot aim many addresses at one bucket from a
 * predictable function (the addresses an attacker controls are few anyway:
 * an IPv6 /64 is the realistic case, and that costs a chain walk, not a
 * crash). Keys are the textual IPs conn produces (IPv4-mapped IPv6 already
 * folded to dotted quad).
 */
#include "net/limits.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS 1024

struct ip_entry {
	struct ip_entry *next;
	unsigned count;
	char ip[];
};

static struct ip_entry *buckets[NBUCKETS];
static size_t total;
static uint64_t salt;

static size_t bucket_of(const char *ip)
{
	if (salt == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		salt =
		    ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&ts;
		salt |= 1;
	}
	uint64_t h = 14695981039346656037ull ^ salt;
	for (const unsigned char *p = (const unsigned char *)ip; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return (size_t)(h % NBUCKETS);
}

static struct ip_entry **find(const char *ip)
{
	struct ip_entry **pp = &buckets[bucket_of(ip)];
	while (*pp && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

int limits_conn_acquire(const char *ip, unsigned max_per_ip, unsigned max_total)
{
	if (max_total && total >= max_total)
		return -1;
	struct ip_entry **pp = find(ip);
	if (*pp) {
		if (max_per_ip && (*pp)->count >= max_per_ip)
			return -1;
		(*pp)->count++;
	} else {
		size_t n = strlen(ip);
		struct ip_entry *e = malloc(sizeof *e + n + 1);
		if (!e)
			return -1;
		memcpy(e->ip, ip, n + 1);
		e->count = 1;
		e->next = NULL;
		*pp = e;
	}
	total++;
	return 0;
}

void limits_conn_release(const char *ip)
{
	struct ip_entry **pp = find(ip);
	if (!*pp)
		return;
	if (total > 0)
		total--;
	if (--(*pp)->count == 0) {
		struct ip_entry *e = *pp;
		*pp = e->next;
		free(e);
	}
}

size_t limits_conn_total(void)
{
	return total;
}

unsigned limits_conn_count(const char *ip)
{
	struct ip_entry **pp = find(ip);
	return *pp ? (*pp)->count : 0;
}
