/* dkim_canon: the "simple" and "relaxed" canonicalizations of RFC 6376
 * §3.4, for header fields and for the body, hashed with SHA-256 as the
 * bytes come.
 *
 * The body canonicalizer is a byte-loop state machine: it holds back only
 * what it cannot decide yet (a run of whitespace, a CR, the count of empty
 * lines that may turn out to be the body's end), so a 50 MB message is
 * never held, here or by the caller. It counts every canonical byte, also
 * those past l=, so the verifier can say how much of the body a signature
 * does not cover. A bare LF is taken as a line end (a CRLF), as the
 * message had it over SMTP; a CR not before an LF is an ordinary byte. */
#ifndef TERN_MAILAUTH_DKIM_CANON_H
#define TERN_MAILAUTH_DKIM_CANON_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dkim_canon { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };

#define DKIM_BODY_NO_LIMIT UINT64_MAX

struct dkim_body {
	enum dkim_canon canon;
	uint64_t limit;     /* hash only this many canonical bytes (l=) */
	uint64_t total;     /* canonical bytes seen, with those past limit */
	uint64_t empty_run; /* empty lines held back: they may end the body */
	bool in_line;       /* the current line has content */
	bool wsp;           /* relaxed: whitespace held back in the line */
	bool cr;            /* a CR held back: a line end if LF follows */
	crypto_hash_sha256_state sha;
	size_t out_len;
	unsigned char out[512]; /* canonical bytes on their way to the hash */
};

void dkim_body_init(struct dkim_body *b, enum dkim_canon canon, uint64_t limit);
void dkim_body_feed(struct dkim_body *b, const void *data, size_t len);
/* Ends the body and writes its hash (bh=). */
void dkim_body_final(struct dkim_body *b, unsigned char hash[32]);

/* Hashes one header field, field[0..len) as it was in the message (name,
 * colon, value with its folding; no final CRLF), canonicalized, with a
 * CRLF after it unless crlf is false (the signature's own field). */
void dkim_header_hash(crypto_hash_sha256_state *sha, enum dkim_canon canon, const char *field,
                      size_t len, bool crlf);

/* Hashes a signature's own field (DKIM-Signature, ARC-Message-Signature,
 * ARC-Seal) as its verifier sees it: canonicalized, with its b= value,
 * field[b_off..b_end), left out and no CRLF after it. -1: out of memory. */
int dkim_header_hash_unsigned(crypto_hash_sha256_state *sha, enum dkim_canon canon,
                              const char *field, size_t len, size_t b_off, size_t b_end);

/* The body canonicalizers of a verifier, one per distinct c=/l= pair:
 * signatures that agree share one, so the body is hashed once for them. */
#define DKIM_BODIES_MAX 8

struct dkim_bodies {
	size_t n;
	struct dkim_body body[DKIM_BODIES_MAX];
	unsigned char hash[DKIM_BODIES_MAX][32]; /* after dkim_bodies_final */
};

/* The index of the canonicalizer for canon and limit, started if there is
 * none yet; -1 when all DKIM_BODIES_MAX are taken. */
int dkim_bodies_get(struct dkim_bodies *bs, enum dkim_canon canon, uint64_t limit);
void dkim_bodies_feed(struct dkim_bodies *bs, const void *data, size_t len);
/* Ends every body and writes its hash. */
void dkim_bodies_final(struct dkim_bodies *bs);

#endif
