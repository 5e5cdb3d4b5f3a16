/* esearch: the one writer of "* ESEARCH" responses (RFC 4731, RFC 9051
 * §7.3.4), for SEARCH and for SORT's RETURN form (ESORT, RFC 5267 §3),
 * with PARTIAL (RFC 9394) and the ADDTO/REMOVEFROM updates of
 * CONTEXT=SEARCH (RFC 5267 §4.3).
 *
 * Why one writer. SEARCH hands over its hits in mailbox order, SORT in
 * the sort order; what RETURN asks for (MIN, MAX, COUNT, ALL, PARTIAL,
 * MODSEQ) is the same operation on an ordered array whoever made it, so
 * PARTIAL slices that array here and never inside an evaluation. MIN and
 * MAX are the first and last of the array (for SEARCH the lowest and
 * highest numbers; for SORT the first and last in the sort order).
 */
#ifndef TERN_IMAP_ESEARCH_H
#define TERN_IMAP_ESEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/imap/search_keys.h"

struct imap_session;

struct imap_esearch {
	const char *tag; /* the command's tag (the search correlator) */
	bool uid;        /* numbers are UIDs ("UID" in the response) */
	unsigned ret;    /* IMAP_SEARCH_RET_*: what to report */
	struct imap_partial partial;
	const uint32_t *nums; /* the result, in the requested order */
	size_t n;
	bool has_modseq; /* report MODSEQ (when n > 0) */
	int64_t modseq;
};

/* Write "* ESEARCH (TAG ...) [UID] ..." for e, or nothing when e->ret
 * asks for no data (a lone SAVE). */
void imap_esearch_write(struct imap_session *s, const struct imap_esearch *e);

/* "* ESEARCH (TAG tag) [UID] ADDTO (0 set)" or REMOVEFROM (what is
 * "ADDTO" or "REMOVEFROM"); nums ascending (mailbox order, context
 * position 0). Nothing for n == 0. */
void imap_esearch_write_update(struct imap_session *s, const char *tag, bool uid, const char *what,
                               const uint32_t *nums, size_t n);

/* The same for a CONTEXT=SORT context (sort_context.h): "ADDTO (p set p
 * set ...)" with nums[0..n) at positions pos[0..n) (ascending), one pair
 * per run: when adding, a run's positions go up by one; when removing,
 * they are equal. Nothing for n == 0. */
void imap_esearch_write_update_at(struct imap_session *s, const char *tag, bool uid,
                                  const char *what, const uint32_t *pos, const uint32_t *nums,
                                  size_t n);
/* Append " (p set p set ...)" as above to out; a set is written in its
 * order, ascending steps of one as "a:b". 0 or -ENOMEM. */
struct buf;
int imap_esearch_format_positioned(struct buf *out, bool adding, const uint32_t *pos,
                                   const uint32_t *nums, size_t n);

#endif
