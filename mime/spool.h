/* spool: a message being received (SMTP DATA/BDAT, IMAP APPEND), in RAM.
 *
 * The spool is a growing buffer with a hard limit: bytes past the limit
 * are counted but not kept, so a client that ignores SIZE costs us at most
 * the limit.  All spools of the process together have a budget
 * (mime_spool_set_budget, set from [smtp] spool_memory): a piece that
 * would go over it is dropped and no_space is set, so the message is read
 * to its end and SMTP answers 452 4.3.1; many clients sending big
 * messages at once get "try later", not an exhausted server.  Memory that
 * holds a message being received elsewhere (an IMAP literal, which the
 * parser reads into its command's arena) draws from the same budget
 * through mime_spool_reserve(), so APPENDs and SMTP transactions together
 * stay within it.  (DESIGN.md's
 * "spill to a temp file" is not needed while store_deliver() takes the
 * message as one buffer; the limit bounds it.)
 *
 * Every byte is scanned as it arrives for bare LF, bare CR, NUL and 8-bit
 * bytes, across piece boundaries.  With normalize, a bare LF or bare CR is
 * stored as CRLF.
 *
 * Spools and the budget belong to the loop thread. */
#ifndef TERN_MIME_SPOOL_H
#define TERN_MIME_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the scan saw (struct mime_spool.flags). */
#define MIME_SPOOL_BARE_LF 0x1u
#define MIME_SPOOL_BARE_CR 0x2u
#define MIME_SPOOL_NUL 0x4u
#define MIME_SPOOL_8BIT 0x8u

struct mime_spool {
	char *buf;
	size_t len, cap;
	size_t max;     /* limit on stored bytes */
	uint64_t seen;  /* bytes received (after normalization), even past the limit */
	bool normalize; /* store bare LF / bare CR as CRLF */
	bool prev_cr;   /* the last byte seen was a CR not yet followed by anything */
	bool no_space;  /* the spool budget (or memory) ran out: the rest was dropped */
	unsigned flags; /* MIME_SPOOL_* seen so far */
};

/* The most all spools together may hold (0: no limit, the default). */
void mime_spool_set_budget(size_t bytes);
size_t mime_spool_in_use(void);
/* Take n bytes of the budget for memory held outside a spool: 0, or
 * -ENOSPC when they do not fit (nothing is taken then). Give them back
 * with mime_spool_release(n). */
int mime_spool_reserve(size_t n);
void mime_spool_release(size_t n);

void mime_spool_init(struct mime_spool *m, size_t max, bool normalize);
/* Append a piece. Returns 0, or -ENOMEM. Over the limit, bytes are dropped
 * and mime_spool_too_big() becomes true; over the budget, the rest is
 * dropped and no_space is set. */
int mime_spool_append(struct mime_spool *m, const char *data, size_t len);
/* The body is complete: a trailing lone CR becomes a bare CR. */
int mime_spool_end(struct mime_spool *m);
bool mime_spool_too_big(const struct mime_spool *m);
void mime_spool_free(struct mime_spool *m);

#endif
