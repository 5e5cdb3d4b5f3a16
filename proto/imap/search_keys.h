/* search_keys: the SEARCH key grammar (RFC 9051 §6.4.4, RFC 7162 MODSEQ,
 * RFC 5032 WITHIN, RFC 4731 ESEARCH / RFC 5182 SEARCHRES return options)
 * as an AST, and
 * its evaluation against one message.
 *
 * Parsing is pure: it takes the argument AST of the command (after the
 * name) and produces struct imap_search. A nested list is an AND; NOT and
 * OR take the following key(s); a sequence set or "UID <set>" keeps its
 * parsed ranges, resolved later against the session's view. Nesting is
 * bounded by IMAP_SEARCH_MAX_DEPTH.
 *
 * Evaluation (imap_search_match) sees one message through struct
 * imap_search_msg. Keys answered by the full-text index (BODY, TEXT) are
 * looked up before the scan: each such key gets an index into
 * imap_search.fts and the caller fills in its sorted UID list.
 */
#ifndef TERN_IMAP_SEARCH_H
#define TERN_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/imap/seqset.h"

struct imap_arg;
struct arena;

#define IMAP_SEARCH_MAX_DEPTH 64
#define IMAP_SEARCH_MAX_FTS 16

enum imap_sk {
	IMAP_SK_ALL = 1,
	IMAP_SK_AND,     /* kids */
	IMAP_SK_OR,      /* kids[0], kids[1] */
	IMAP_SK_NOT,     /* kids[0] */
	IMAP_SK_FLAG,    /* flag set (mask); negated by neg (UNSEEN, ...) */
	IMAP_SK_KEYWORD, /* str; neg for UNKEYWORD */
	IMAP_SK_NEW,     /* \Recent and not \Seen: never (no \Recent), kept for grammar */
	IMAP_SK_OLD,
	IMAP_SK_RECENT,
	IMAP_SK_LARGER,  /* num */
	IMAP_SK_SMALLER, /* num */
	IMAP_SK_BEFORE,  /* num = day */
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE,
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_HEADER,      /* field, str */
	IMAP_SK_BODY,        /* str; fts */
	IMAP_SK_TEXT,        /* str; fts */
	IMAP_SK_SEQ,         /* set (sequence numbers) */
	IMAP_SK_UID,         /* set (UIDs) */
	IMAP_SK_MODSEQ,      /* num */
	IMAP_SK_OLDER,       /* num = seconds (RFC 5032 WITHIN) */
	IMAP_SK_YOUNGER,     /* num = seconds */
	IMAP_SK_EMAILID,     /* num: the message id, -1 for an id that names nothing (RFC 8474) */
	IMAP_SK_THREADID,    /* num: the thread, -1 likewise */
	IMAP_SK_SAVEDBEFORE, /* num = day (RFC 8514) */
	IMAP_SK_SAVEDON,
	IMAP_SK_SAVEDSINCE,
	IMAP_SK_SAVEDATESUPPORTED, /* every message: every mailbox keeps save dates */
};

struct imap_search_key {
	enum imap_sk kind;
	bool neg;
	uint32_t flag;
	int64_t num;
	const char *str, *field; /* NUL-terminated, in the arena */
	size_t len;
	struct imap_seqset set;      /* SEQ/UID, parsed */
	struct imap_seqset resolved; /* SEQ/UID, resolved (sequence numbers) */
	bool by_uid;                 /* resolved holds UIDs (an update context's) */
	int fts;                     /* BODY/TEXT: index into imap_search.fts */
	struct imap_search_key **kids;
	size_t nkids;
};

/* RETURN options */
#define IMAP_SEARCH_RET_MIN 0x01u
#define IMAP_SEARCH_RET_MAX 0x02u
#define IMAP_SEARCH_RET_ALL 0x04u
#define IMAP_SEARCH_RET_COUNT 0x08u
#define IMAP_SEARCH_RET_SAVE 0x10u
#define IMAP_SEARCH_RET_PARTIAL 0x20u /* RFC 9394 / RFC 5267 §4.4 */
#define IMAP_SEARCH_RET_UPDATE 0x40u  /* RFC 5267 §4.3 */
#define IMAP_SEARCH_RET_CONTEXT 0x80u /* RFC 5267 §4.2: a hint, ignored */
/* the options that ask for data in the ESEARCH response */
#define IMAP_SEARCH_RET_DATA                                                                       \
	(IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX | IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT | \
	 IMAP_SEARCH_RET_PARTIAL)

/* Parse a RETURN option list (SEARCH, and SORT's ESORT form): the
 * IMAP_SEARCH_RET_* bits and the PARTIAL range. An empty list means ALL.
 * PARTIAL together with ALL, or twice, is an error (RFC 9394 §3.1).
 * 0, or -EINVAL with *err saying why. */
int imap_search_return_parse(const struct imap_arg *list, unsigned *ret,
                             struct imap_partial *partial, const char **err);

struct imap_search_fts {
	const char *needle;
	size_t len;
	int scope;      /* enum store_fts_scope: BODY, TEXT, or HEADERS (a prefilter) */
	bool off;       /* a prefilter not worth its query: not run, not applied */
	uint32_t *uids; /* filled by the caller, ascending, malloc'd */
	size_t n;
};

struct imap_search {
	struct imap_search_key *root;
	bool esearch;                /* RETURN given */
	unsigned ret;                /* IMAP_SEARCH_RET_* (RETURN () means ALL) */
	struct imap_partial partial; /* with IMAP_SEARCH_RET_PARTIAL */
	bool has_modseq;             /* a MODSEQ key: reply with the highest MODSEQ */
	bool has_seqset;             /* some SEQ/UID key (needs resolving) */
	const char *charset;         /* NULL, or as given */
	int64_t now;                 /* OLDER/YOUNGER: the caller's clock (Unix seconds) */
	struct imap_search_fts fts[IMAP_SEARCH_MAX_FTS];
	size_t nfts;
};

/* Parse args[0..n). Returns 0; -EINVAL (BAD, *err says why) or -ENOTSUP
 * for an unknown CHARSET (NO [BADCHARSET]). */
int imap_search_parse(const struct imap_arg *args, size_t n, struct arena *a,
                      struct imap_search *out, const char **err);

/* The keys alone, without RETURN or CHARSET (SORT and THREAD name their
 * charset before the keys, RFC 5256). Same results. */
int imap_search_parse_keys(const struct imap_arg *args, size_t n, struct arena *a,
                           struct imap_search *out, const char **err);
/* UTF-8 or US-ASCII, the charsets SEARCH, SORT and THREAD accept. */
bool imap_search_charset_ok(const char *charset);

/* One message as SEARCH sees it. */
struct imap_search_msg {
	uint32_t seq, uid;
	uint32_t flags;
	const char *keywords; /* space-separated */
	int64_t size;
	int64_t internal_day;  /* day of INTERNALDATE (UTC) */
	int64_t internal_date; /* INTERNALDATE, Unix seconds (OLDER/YOUNGER) */
	int64_t sent_day;      /* IMAP_NO_DAY when unknown */
	int64_t modseq;
	int64_t email_id, thread_id; /* RFC 8474 (objectid.h) */
	int64_t save_day;            /* day of the save date (UTC) */
	const char *headers;         /* "Name: value\n" lines, decoded; may be NULL */
	bool recent;                 /* \Recent in this session */
};

/* The fields of m a store entry gives (not seq, recent, or headers the
 * entry lacks): SEARCH and the update contexts read messages the same way. */
struct store_entry;
void imap_search_msg_from_entry(struct imap_search_msg *m, const struct store_entry *e);

/* What evaluating k needs besides UID, sequence number, \Recent and the
 * BODY/TEXT UID lists: the mailbox entry (flags, keywords, dates, MODSEQ,
 * size), the message's Date: day (info), its header fields. 0 means the
 * session's view is enough. */
enum {
	IMAP_NEED_ENTRY = 1,
	IMAP_NEED_INFO = 2,
	IMAP_NEED_HEADERS = 4,
};
unsigned imap_search_needs(const struct imap_search_key *k);

bool imap_search_match(const struct imap_search *q, const struct imap_search_key *k,
                       const struct imap_search_msg *m);

/* Case-insensitive (ASCII) substring test; an empty needle matches. */
bool imap_search_substr(const char *hay, size_t hlen, const char *needle, size_t nlen);
/* Does a header block ("Name: value\n" lines) have field `field` whose
 * value contains needle? */
bool imap_search_header(const char *headers, const char *field, const char *needle, size_t nlen);

#endif
