/* seqset: IMAP sequence sets (RFC 9051 §9 sequence-set, RFC 5182 "$").
 *
 * Two steps. Parsing turns the text into ranges, with '*' kept symbolic
 * (IMAP_SEQ_STAR) because what it means depends on the mailbox at the time
 * the command runs. Resolving maps the ranges onto a view (the session's
 * ascending UID array) and yields ascending, disjoint, merged ranges of
 * SEQUENCE NUMBERS of messages that exist in that view; iterate those and
 * look the UID up with uids[seq - 1].
 *
 * Only '*' is "the largest number in use" (RFC 9051 §9 seq-number): the
 * number 4294967295 is a number like any other, so "UID SEARCH UID
 * <uidnext>:4294967295" matches nothing while "<uidnext>:*" matches the
 * last message. A parsed bound is therefore either a number or '*', never
 * a number that stands for '*': code that reads parsed ranges goes through
 * imap_seqrange_bounds() and says what '*' means to it.
 *
 * Everything is bounded by the input: a set of n characters has at most
 * n/2 ranges, and resolving costs O(r log r + r log count) whatever the
 * numbers are, so "1:4294967295" is as cheap as "1".
 */
#ifndef TERN_IMAP_SEQSET_H
#define TERN_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

/* '*' in a parsed range. Numbers are nz-number (1..4294967295), so 0 is
 * free to mean '*'. */
#define IMAP_SEQ_STAR 0u

struct imap_seqrange {
	/* parsed: numbers with lo <= hi, or '*' (IMAP_SEQ_STAR) in hi, or in
	 * both; resolved: sequence numbers, 1 <= lo <= hi */
	uint32_t lo, hi;
};

/* The bounds of a parsed range with '*' standing for star, in order. */
static inline void imap_seqrange_bounds(const struct imap_seqrange *r, uint32_t star, uint32_t *lo,
                                        uint32_t *hi)
{
	uint32_t a = r->lo == IMAP_SEQ_STAR ? star : r->lo;
	uint32_t b = r->hi == IMAP_SEQ_STAR ? star : r->hi;
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

struct imap_seqset {
	struct imap_seqrange *r; /* in the arena */
	size_t n;
	bool dollar; /* the set is "$" (SEARCHRES) */
};

/* Does the parsed set have a '*' anywhere? */
bool imap_seqset_has_star(const struct imap_seqset *set);

/* Parse "1,3:5,7:*" / "*" / "$". Numbers are nz-number (1..2^32-1); "0"
 * is an error. Ranges may be written either way round ("5:1"). Returns 0
 * or -EINVAL. */
int imap_seqset_parse(const char *text, size_t len, struct imap_seqset *out, struct arena *a);

/* Resolve against a view: uids[0..count) ascending. uid_mode: the numbers
 * are UIDs (a UID not in the view is skipped; '*' is the highest UID in the
 * view, or matches nothing when the view is empty); otherwise they are
 * sequence numbers and one above count is -ERANGE ('*' is count; on an
 * empty view any set is -ERANGE; 4294967295 is -ERANGE like any number
 * above count). "$" resolves to the saved UIDs
 * (saved[0..nsaved) ascending) that are in the view, in either mode.
 * out gets ascending, disjoint, merged sequence-number ranges (possibly
 * none). Returns 0, -ERANGE, or -EINVAL. */
int imap_seqset_resolve(const uint32_t *uids, uint32_t count, const uint32_t *saved, size_t nsaved,
                        const struct imap_seqset *set, bool uid_mode, struct imap_seqset *out,
                        struct arena *a);

/* Messages in a resolved set. */
uint64_t imap_seqset_count(const struct imap_seqset *resolved);
bool imap_seqset_contains(const struct imap_seqset *resolved, uint32_t n);

/* A PARTIAL range (RFC 9394 partial-range): positions lo..hi (1-based,
 * lo <= hi) in the ordered result, counted from the first result, or
 * from the last when from_end ("-1:-50": the last 50). first/second
 * are the numbers as the client wrote them, for the echo in the reply. */
struct imap_partial {
	bool from_end;
	uint32_t lo, hi;
	uint32_t first, second;
};
/* Parse "a:b" or "-a:-b" (nz-numbers, no '*', no 0). 0 or -EINVAL. */
int imap_partial_parse(const char *text, size_t len, struct imap_partial *out);
/* The slice [*from, *to) of an ordered result of n that the range names
 * (empty, *from == *to, when it names none). */
void imap_partial_slice(const struct imap_partial *p, size_t n, size_t *from, size_t *to);

/* The messages at positions [from, to) (0-based) of a resolved set, as a
 * resolved set (PARTIAL on UID FETCH). */
void imap_seqset_slice(const struct imap_seqset *resolved, uint64_t from, uint64_t to,
                       struct imap_seqset *out, struct arena *a);

/* Ascending UID arrays (the view, FTS hit lists, \Recent arrivals): the
 * first index with v[i] >= x, and whether x is in v. */
size_t imap_uids_lower_bound(const uint32_t *v, size_t n, uint32_t x);
bool imap_uids_contain(const uint32_t *v, size_t n, uint32_t x);
/* Append x to a malloc'd array that grows by doubling; false when out of
 * memory (the array is unchanged). */
bool imap_uids_push(uint32_t **v, size_t *n, size_t *cap, uint32_t x);

/* Format numbers as a compact set, keeping their order: runs of +1 become
 * "a:b" ("3,4,5,9" -> "3:5,9"). For VANISHED (sorted input) and COPYUID
 * (source and destination UIDs in corresponding order). Returns a string
 * in the arena; "" for n == 0. */
char *imap_seqset_format(struct arena *a, const uint32_t *nums, size_t n);

#endif
