/* state_snapshots: the recorded snapshots behind recent state strings
 * (see state_snapshots.h). One array of slots searched linearly: at most
 * JMAP_SNAPSHOTS_MAX of them, and a put is one pass that also finds the
 * victim (the account's least recently used of that kind when it has its
 * share, else a free slot, else the least recently used of all). */
#include "proto/jmap/state_snapshots.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	int64_t account_id;
	enum jmap_snapshot_kind kind;
	char *state; /* NULL: free */
	void *data;  /* NULL with ambiguous */
	size_t len;
	bool ambiguous;
	uint64_t used; /* the clock when last put or found */
};

static struct slot slots[JMAP_SNAPSHOTS_MAX];
static size_t bytes; /* data held, all slots */
static uint64_t clock_now, intermediates;

static void slot_free(struct slot *s)
{
	bytes -= s->len;
	free(s->state);
	free(s->data);
	memset(s, 0, sizeof *s);
}

static struct slot *find(int64_t account_id, enum jmap_snapshot_kind kind, const char *state)
{
	for (size_t i = 0; i < JMAP_SNAPSHOTS_MAX; i++) {
		struct slot *s = &slots[i];
		if (s->state && s->account_id == account_id && s->kind == kind &&
		    strcmp(s->state, state) == 0)
			return s;
	}
	return NULL;
}

/* The least recently used slot of all, NULL when none is taken. */
static struct slot *oldest(void)
{
	struct slot *o = NULL;
	for (size_t i = 0; i < JMAP_SNAPSHOTS_MAX; i++)
		if (slots[i].state && (!o || slots[i].used < o->used))
			o = &slots[i];
	return o;
}

void jmap_snapshot_put(int64_t account_id, enum jmap_snapshot_kind kind, const char *state,
                       const void *data, size_t len)
{
	struct slot *s = find(account_id, kind, state);
	if (s) {
		s->used = ++clock_now;
		if (!s->ambiguous && (s->len != len || memcmp(s->data, data, len) != 0)) {
			bytes -= s->len;
			free(s->data);
			s->data = NULL;
			s->len = 0;
			s->ambiguous = true;
		}
		return;
	}
	if (len > JMAP_SNAPSHOTS_MAX_BYTES)
		return;
	/* the account's own share first, then the whole table's bounds */
	size_t mine = 0;
	struct slot *victim = NULL, *free_slot = NULL;
	for (size_t i = 0; i < JMAP_SNAPSHOTS_MAX; i++) {
		struct slot *t = &slots[i];
		if (!t->state) {
			if (!free_slot)
				free_slot = t;
			continue;
		}
		if (t->account_id == account_id && t->kind == kind) {
			mine++;
			if (!victim || t->used < victim->used)
				victim = t;
		}
	}
	if (mine >= JMAP_SNAPSHOTS_PER_ACCOUNT) {
		slot_free(victim);
		free_slot = victim;
	}
	while (bytes + len > JMAP_SNAPSHOTS_MAX_BYTES) {
		struct slot *o = oldest();
		slot_free(o);
	}
	if (!free_slot) {
		free_slot = oldest();
		slot_free(free_slot);
	}
	s = free_slot;
	s->state = strdup(state);
	s->data = malloc(len ? len : 1);
	if (!s->state || !s->data) {
		free(s->state);
		free(s->data);
		memset(s, 0, sizeof *s);
		return;
	}
	memcpy(s->data, data, len);
	s->len = len;
	s->account_id = account_id;
	s->kind = kind;
	s->used = ++clock_now;
	bytes += len;
}

void *jmap_snapshot_get(int64_t account_id, enum jmap_snapshot_kind kind, const char *state,
                        size_t *len)
{
	struct slot *s = find(account_id, kind, state);
	if (!s || s->ambiguous)
		return NULL;
	s->used = ++clock_now;
	void *copy = malloc(s->len ? s->len : 1);
	if (!copy)
		return NULL;
	memcpy(copy, s->data, s->len);
	*len = s->len;
	return copy;
}

int jmap_snapshot_intermediate(const char *base, char *out, size_t outlen)
{
	int w = snprintf(out, outlen, "%s-%llx", base, (unsigned long long)++intermediates);
	return w < 0 || (size_t)w >= outlen ? -ENOSPC : 0;
}

void jmap_snapshot_clear(void)
{
	for (size_t i = 0; i < JMAP_SNAPSHOTS_MAX; i++)
		if (slots[i].state)
			slot_free(&slots[i]);
	bytes = 0;
}
