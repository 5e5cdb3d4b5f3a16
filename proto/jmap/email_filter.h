/* email_filter: Email/query's filter and sort arguments (RFC 8621 §4.4.1,
 * §4.4.2) read from JSON into a tree and a comparator list. Pure: no
 * store; email_query.c evaluates them.
 *
 * Bounded: a filter nests at most JMAP_FILTER_MAX_DEPTH operators and
 * has at most JMAP_FILTER_MAX_NODES conditions, a sort at most
 * JMAP_SORT_MAX comparators; more is refused, never allocated. */
#ifndef TERN_JMAP_EMAIL_FILTER_H
#define TERN_JMAP_EMAIL_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JMAP_FILTER_MAX_DEPTH 16
#define JMAP_FILTER_MAX_NODES 256
#define JMAP_FILTER_MAX_MAILBOXES 256
#define JMAP_FILTER_MAX_TEXT 1000 /* bytes of one search string */
#define JMAP_SORT_MAX 8

enum jmap_fkind {
	JMAP_F_AND,
	JMAP_F_OR,
	JMAP_F_NOT, /* none of the children */
	JMAP_F_IN_MAILBOX,
	JMAP_F_IN_MAILBOX_OTHER_THAN,
	JMAP_F_BEFORE, /* receivedAt < num */
	JMAP_F_AFTER,  /* receivedAt >= num */
	JMAP_F_MIN_SIZE,
	JMAP_F_MAX_SIZE,       /* size < num */
	JMAP_F_HAS_ATTACHMENT, /* num: 1 true, 0 false (mime/body_lists.h's rule) */
	JMAP_F_HAS_KEYWORD,
	JMAP_F_NOT_KEYWORD,
	/* str is the keyword; each has its own thread_index */
	JMAP_F_ALL_IN_THREAD,
	JMAP_F_SOME_IN_THREAD,
	JMAP_F_NONE_IN_THREAD,
	/* text conditions: str is the needle; each has its own text_index */
	JMAP_F_TEXT,
	JMAP_F_FROM,
	JMAP_F_TO,
	JMAP_F_CC,
	JMAP_F_BCC,
	JMAP_F_SUBJECT,
	JMAP_F_BODY,
	JMAP_F_HEADER, /* header: name (and str, "" for "present") */
};

struct jmap_filter {
	enum jmap_fkind kind;
	struct jmap_filter *kids; /* operators: nkids children */
	size_t nkids;
	int64_t num;           /* sizes, dates (unix seconds) */
	uint32_t *uidvalidity; /* inMailbox: 1, inMailboxOtherThan: n */
	size_t n;
	char *str;           /* keyword (lowercased) or needle */
	char *name;          /* header name */
	size_t text_index;   /* text conditions: 0..ntext-1 */
	size_t thread_index; /* thread keyword conditions: 0..nthread-1 */
};

/* A parsed filter: the root (NULL: no filter, every Email matches) and
 * how many text and thread keyword conditions it holds. */
struct jmap_filter_tree {
	struct jmap_filter *root;
	size_t ntext;
	size_t nthread;
	size_t nodes;
};

/* 0, or -1 with *type ("invalidArguments" or "unsupportedFilter") and
 * *why set to static strings. j may be NULL or JSON null (no filter). On
 * failure the tree is left empty. */
int jmap_filter_parse(const json_t *j, struct jmap_filter_tree *t, const char **type,
                      const char **why);
void jmap_filter_tree_free(struct jmap_filter_tree *t);

enum jmap_sort_key {
	JMAP_SORT_RECEIVED_AT,
	JMAP_SORT_SENT_AT,
	JMAP_SORT_SIZE,
	JMAP_SORT_FROM,
	JMAP_SORT_TO,
	JMAP_SORT_SUBJECT,
};
struct jmap_sort {
	enum jmap_sort_key key;
	bool ascending;
};

/* The sort argument (NULL or null: none, *n 0). 0, or -1 with *type
 * ("invalidArguments" or "unsupportedSort") and *why. */
int jmap_sort_parse(const json_t *j, struct jmap_sort *out, size_t *n, const char **type,
                    const char **why);

/* A UTCDate ("2014-10-30T06:12:00Z", RFC 8620 §1.4; a fraction of a
 * second is ignored) as unix seconds. 0 or -1. */
int jmap_utc_date_parse(const char *s, int64_t *out);

#endif
