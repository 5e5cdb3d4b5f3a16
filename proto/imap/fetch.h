/* imap_fetch: FETCH attributes, parsed (pure) and then executed
 * (cmd_fetch.c).
 *
 * Parsing turns the argument AST of "FETCH <set> <atts> [(modifiers)]"
 * into a flat list of struct imap_fetch_att, with macros expanded and
 * every section spec checked, so a bad command is BAD before anything is
 * read from the store. It knows nothing about sessions: the unit tests
 * drive it with hand-built arguments.
 */
#ifndef TERN_IMAP_FETCH_H
#define TERN_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/imap/seqset.h"

struct imap_arg;
struct arena;

enum imap_fetch_kind {
	IMAP_FA_FLAGS = 1,
	IMAP_FA_INTERNALDATE,
	IMAP_FA_RFC822_SIZE,
	IMAP_FA_ENVELOPE,
	IMAP_FA_BODY, /* BODY without section: non-extensible structure */
	IMAP_FA_BODYSTRUCTURE,
	IMAP_FA_UID,
	IMAP_FA_MODSEQ,
	IMAP_FA_SECTION,       /* BODY[...] / BODY.PEEK[...] */
	IMAP_FA_BINARY,        /* BINARY[...] / BINARY.PEEK[...] */
	IMAP_FA_BINARY_SIZE,   /* BINARY.SIZE[...] */
	IMAP_FA_RFC822,        /* = BODY[] with \Seen, named RFC822 */
	IMAP_FA_RFC822_HEADER, /* = BODY.PEEK[HEADER] */
	IMAP_FA_RFC822_TEXT,   /* = BODY[TEXT] with \Seen */
	IMAP_FA_EMAILID,       /* RFC 8474 */
	IMAP_FA_THREADID,
	IMAP_FA_SAVEDATE, /* RFC 8514 */
	IMAP_FA_PREVIEW,  /* RFC 8970; lazy: PREVIEW (LAZY) */
};

struct imap_fetch_att {
	enum imap_fetch_kind kind;
	bool peek;           /* no implicit \Seen */
	const char *section; /* text between [ and ] (SECTION/BINARY*), in the arena */
	size_t section_len;
	bool partial;
	uint64_t offset, count; /* <offset.count> */
	const char *name;       /* response name, e.g. "BODY[HEADER]<0>"; in the arena */
	bool lazy;              /* PREVIEW (LAZY): NIL rather than work it out now */
};

#define IMAP_FETCH_MAX_ATTS 64

struct imap_fetch_spec {
	struct imap_fetch_att *atts;
	size_t n;
	bool sets_seen;       /* some attribute without PEEK reads body data */
	bool needs_message;   /* some attribute needs the raw message parsed */
	bool needs_info;      /* ENVELOPE/BODY/BODYSTRUCTURE */
	bool header_only;     /* the message is needed for top-level HEADER* sections only */
	int64_t changedsince; /* -1: none */
	bool vanished;        /* VANISHED modifier */
	bool has_partial;     /* PARTIAL modifier (RFC 9394 §3.3, UID FETCH only) */
	struct imap_partial partial;
};

/* Parse the attribute argument (an atom or a list) and the optional
 * modifier list (may be NULL). uid adds UID; CHANGEDSINCE adds MODSEQ.
 * Returns 0, or -EINVAL with *err set to a static text for the BAD reply. */
int imap_fetch_parse(const struct imap_arg *atts, const struct imap_arg *mods, bool uid,
                     struct arena *a, struct imap_fetch_spec *out, const char **err);

/* Check a BODY section spec (RFC 9051 section-spec): "", "1.2",
 * "HEADER", "1.HEADER.FIELDS (A B)", "2.MIME", ... Returns 0 or -EINVAL. */
int imap_fetch_section_check(const char *s, size_t len, bool binary);

/* Does an attribute list contain this kind? */
bool imap_fetch_has(const struct imap_fetch_spec *f, enum imap_fetch_kind k);

#endif
