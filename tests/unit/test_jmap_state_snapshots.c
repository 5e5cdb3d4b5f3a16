/* test_jmap_state_snapshots: the in-memory record of what recent state
 * strings stood for (proto/jmap/state_snapshots.c): found again by
 * account, kind and string; copies, not the caller's bytes; a string seen
 * with two different snapshots is forgotten; an account keeps at most its
 * share, the least recently used going first, without touching others;
 * intermediate state strings never repeat. */
#include "proto/jmap/state_snapshots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int64_t got_int(int64_t account, enum jmap_snapshot_kind kind, const char *state)
{
	size_t len = 0;
	int64_t *v = jmap_snapshot_get(account, kind, state, &len);
	int64_t r = v && len == sizeof *v ? *v : -1;
	free(v);
	return r;
}

static void put_int(int64_t account, enum jmap_snapshot_kind kind, const char *state, int64_t v)
{
	jmap_snapshot_put(account, kind, state, &v, sizeof v);
}

int main(void)
{
	put_int(1, JMAP_SNAPSHOT_EMAIL, "s1", 11);
	put_int(1, JMAP_SNAPSHOT_MAILBOX, "s1", 12);
	put_int(2, JMAP_SNAPSHOT_EMAIL, "s1", 21);
	CHECK_THAT(got_int(1, JMAP_SNAPSHOT_EMAIL, "s1") == 11);
	CHECK_THAT(got_int(1, JMAP_SNAPSHOT_MAILBOX, "s1") == 12);
	CHECK_THAT(got_int(2, JMAP_SNAPSHOT_EMAIL, "s1") == 21);
	CHECK_THAT(got_int(2, JMAP_SNAPSHOT_MAILBOX, "s1") == -1);
	CHECK_THAT(got_int(1, JMAP_SNAPSHOT_EMAIL, "s2") == -1);

	/* the same again: still there; something else under the same string:
	 * ambiguous, gone for good */
	put_int(1, JMAP_SNAPSHOT_EMAIL, "s1", 11);
	CHECK_THAT(got_int(1, JMAP_SNAPSHOT_EMAIL, "s1") == 11);
	put_int(1, JMAP_SNAPSHOT_EMAIL, "s1", 99);
	CHECK_THAT(got_int(1, JMAP_SNAPSHOT_EMAIL, "s1") == -1);
	put_int(1, JMAP_SNAPSHOT_EMAIL, "s1", 11);
	CHECK_THAT(got_int(1, JMAP_SNAPSHOT_EMAIL, "s1") == -1);

	/* an account's share: the least recently used goes, the one just
	 * looked at stays, other accounts keep theirs */
	char name[32];
	for (int i = 0; i < JMAP_SNAPSHOTS_PER_ACCOUNT; i++) {
		snprintf(name, sizeof name, "r%d", i);
		put_int(3, JMAP_SNAPSHOT_EMAIL, name, i);
	}
	CHECK_THAT(got_int(3, JMAP_SNAPSHOT_EMAIL, "r0") == 0); /* now the most recent */
	put_int(3, JMAP_SNAPSHOT_EMAIL, "extra", 100);
	CHECK_THAT(got_int(3, JMAP_SNAPSHOT_EMAIL, "r0") == 0);
	CHECK_THAT(got_int(3, JMAP_SNAPSHOT_EMAIL, "r1") == -1);
	CHECK_THAT(got_int(3, JMAP_SNAPSHOT_EMAIL, "r2") == 2);
	CHECK_THAT(got_int(3, JMAP_SNAPSHOT_EMAIL, "extra") == 100);
	CHECK_THAT(got_int(2, JMAP_SNAPSHOT_EMAIL, "s1") == 21);
	size_t held = 0;
	for (int i = 0; i < JMAP_SNAPSHOTS_PER_ACCOUNT; i++) {
		snprintf(name, sizeof name, "r%d", i);
		held += got_int(3, JMAP_SNAPSHOT_EMAIL, name) >= 0;
	}
	CHECK(held == JMAP_SNAPSHOTS_PER_ACCOUNT - 1, "held %zu", held);

	/* the whole table: many accounts fill it, the oldest go, nothing grows
	 * past it */
	for (int a = 100; a < 100 + 2 * JMAP_SNAPSHOTS_MAX; a++)
		put_int(a, JMAP_SNAPSHOT_EMAIL, "x", a);
	CHECK_THAT(got_int(100, JMAP_SNAPSHOT_EMAIL, "x") == -1);
	CHECK_THAT(got_int(99 + 2 * JMAP_SNAPSHOTS_MAX, JMAP_SNAPSHOT_EMAIL, "x") ==
	           99 + 2 * JMAP_SNAPSHOTS_MAX);
	size_t alive = 0;
	for (int a = 100; a < 100 + 2 * JMAP_SNAPSHOTS_MAX; a++)
		alive += got_int(a, JMAP_SNAPSHOT_EMAIL, "x") >= 0;
	CHECK(alive == JMAP_SNAPSHOTS_MAX, "alive %zu", alive);

	/* a snapshot larger than the byte budget is not kept */
	size_t big = JMAP_SNAPSHOTS_MAX_BYTES + 1;
	char *b = calloc(1, big);
	CHECK_THAT(b != NULL);
	if (b)
		jmap_snapshot_put(4, JMAP_SNAPSHOT_EMAIL, "big", b, big);
	free(b);
	size_t len;
	CHECK_THAT(jmap_snapshot_get(4, JMAP_SNAPSHOT_EMAIL, "big", &len) == NULL);

	/* intermediate strings: distinct, and out of room is an error */
	char i1[64], i2[64], tiny[4];
	CHECK_THAT(jmap_snapshot_intermediate("abc", i1, sizeof i1) == 0);
	CHECK_THAT(jmap_snapshot_intermediate("abc", i2, sizeof i2) == 0);
	CHECK(strcmp(i1, i2) != 0 && strncmp(i1, "abc-", 4) == 0, "%s %s", i1, i2);
	CHECK_THAT(jmap_snapshot_intermediate("abc", tiny, sizeof tiny) < 0);

	jmap_snapshot_clear();
	CHECK_THAT(got_int(2, JMAP_SNAPSHOT_EMAIL, "s1") == -1);
	return check_report("test_jmap_state_snapshots");
}
