/* fuzz_jmap_email_filter: Email/query's filter and sort parsers
 * (proto/jmap/email_filter.c) on arbitrary JSON, and the UTCDate parser
 * on arbitrary bytes: what a client sends in Email/query,
 * Email/queryChanges and SearchSnippet/get reaches them.
 *
 * Beyond crashes and leaks: a filter either parses, into a tree within
 * the depth and size bounds whose text conditions are numbered 0..n-1,
 * or fails with both an error type and a description and an empty tree;
 * a sort gives at most JMAP_SORT_MAX comparators; a date that parses
 * formats back to the same seconds.
 */
#include "proto/jmap/email_filter.h"
#include "proto/jmap/jmap_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t depth(const struct jmap_filter *f)
{
	size_t d = 0;
	for (size_t i = 0; i < f->nkids; i++) {
		size_t k = depth(&f->kids[i]);
		if (k > d)
			d = k;
	}
	return d + 1;
}

static void texts(const struct jmap_filter *f, uint8_t *seen, size_t n)
{
	for (size_t i = 0; i < f->nkids; i++)
		texts(&f->kids[i], seen, n);
	if (f->kind >= JMAP_F_TEXT) {
		if (f->text_index >= n || seen[f->text_index]++ || !f->str)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t t;
	if (jmap_utc_date_parse(s, &t) == 0) {
		/* a date that parses names the same second when formatted */
		time_t tt = (time_t)t;
		struct tm tm;
		char back[32];
		if (!gmtime_r(&tt, &tm))
			__builtin_trap();
		snprintf(back, sizeof back, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		         tm.tm_mday);
		if (s[17] != '6' && strncmp(back, s, 10) != 0)
			__builtin_trap();
	}
	free(s);

	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	struct jmap_filter_tree tree;
	const char *type = NULL, *why = NULL;
	if (jmap_filter_parse(j, &tree, &type, &why) == 0) {
		if (type || why)
			__builtin_trap();
		if (tree.root && (depth(tree.root) > JMAP_FILTER_MAX_DEPTH + 2 ||
		                  tree.nodes > JMAP_FILTER_MAX_NODES))
			__builtin_trap();
		uint8_t *seen = calloc(tree.ntext + 1, 1);
		if (seen && tree.root)
			texts(tree.root, seen, tree.ntext);
		for (size_t i = 0; seen && i < tree.ntext; i++)
			if (seen[i] != 1)
				__builtin_trap();
		free(seen);
		jmap_filter_tree_free(&tree);
	} else if (!type || !why || tree.root || tree.ntext) {
		__builtin_trap();
	}
	struct jmap_sort sort[JMAP_SORT_MAX];
	size_t n = 99;
	type = why = NULL;
	int r = jmap_sort_parse(j, sort, &n, &type, &why);
	if ((r == 0 && n > JMAP_SORT_MAX) || (r < 0 && (!type || !why)))
		__builtin_trap();
	json_decref(j);
	return 0;
}
