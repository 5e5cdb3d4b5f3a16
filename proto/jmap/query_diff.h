/* query_diff: the changes between two results of one query (RFC 8620
 * §5.6, Email/queryChanges): the ids to remove from the old list and the
 * ids to add, each at its index in the new one, so that a client that
 * removes the first and then adds the second in ascending index order has
 * the new list.
 *
 * What stays is the longest run of ids that are in both lists in the same
 * order (a longest increasing subsequence of their new positions); every
 * other id of the old list is removed, every other id of the new one
 * added. A new message at the top of a list sorted newest first is then
 * one addition, not a rewrite of the whole list. Pure; O(n log n). */
#ifndef TERN_JMAP_QUERY_DIFF_H
#define TERN_JMAP_QUERY_DIFF_H

#include <stddef.h>
#include <stdint.h>

struct jmap_query_added {
	int64_t id;
	size_t index;
};

struct jmap_query_diff {
	int64_t *removed; /* in the old list's order */
	size_t nremoved;
	struct jmap_query_added *added; /* ascending index */
	size_t nadded;
};

/* Ids are distinct within each list. 0, or -ENOMEM (d is empty then). */
int jmap_query_diff(const int64_t *old, size_t nold, const int64_t *cur, size_t ncur,
                    struct jmap_query_diff *d);
void jmap_query_diff_free(struct jmap_query_diff *d);

#endif
