/* dkim: DKIM (RFC 6376) verification and signing, as pure functions: no
 * DNS, no loop, no clock. What the SMTP side wires in later:
 *
 *   verify, as DATA streams in:
 *     v = dkim_verify_new(now, DKIM_VERIFY_MAX_SIGS);
 *     dkim_verify_feed(v, bytes, n) ...          (dot-unstuffed message)
 *     once dkim_verify_headers_done(v): for i < dkim_verify_count(v),
 *       dkim_verify_query(v, i) is the TXT name to look up (NULL: no
 *       lookup, the signature is decided already); start the queries;
 *     dkim_verify_key(v, i, status, txt...)       (when each answer comes)
 *     dkim_verify_end(v);                         (end of DATA)
 *     dkim_verify_result(v, i) for each signature: pass / fail / neutral /
 *       temperror / permerror, a reason, and what l= left uncovered.
 *   Answers and the end of the body may come in either order.
 *
 *   sign: one call per key (dual signing is two calls), in a worker:
 *     k = dkim_signing_key_load("ed25519-sha256", private_text, ...);
 *     dkim_sign(k, "example.com", "sel", now, NULL, msg, len, &out, ...);
 *   or streaming: dkim_signer_new / _feed / _finish.
 *
 * Input is the message as on the wire: CRLF line ends (a bare LF is taken
 * as CRLF). Results use RFC 8601's words. */
#ifndef TERN_MAILAUTH_DKIM_H
#define TERN_MAILAUTH_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_key.h"

#define DKIM_VERIFY_MAX_SIGS 8 /* signatures checked per message, top first */
#define DKIM_KEY_TXT_MAX 4     /* TXT records per key looked at */

enum dkim_result {
	DKIM_PENDING = 0, /* waiting for the key or the end of the body */
	DKIM_PASS,
	DKIM_FAIL,      /* a signature or body hash that does not verify */
	DKIM_NEUTRAL,   /* a DKIM-Signature field with a syntax error */
	DKIM_TEMPERROR, /* the key could not be fetched for now */
	DKIM_PERMERROR, /* not verifiable: no key, revoked, expired, refused... */
};
const char *dkim_result_name(enum dkim_result r);

/* What the DNS said for the key's TXT name. */
enum dkim_dns {
	DKIM_DNS_OK,       /* TXT records given */
	DKIM_DNS_NOKEY,    /* NXDOMAIN or no TXT record */
	DKIM_DNS_TEMPFAIL, /* timeout, SERVFAIL */
	DKIM_DNS_PERMFAIL, /* any other error */
};

/* One key name's TXT answer, kept until the body has ended (DKIM's
 * signatures and ARC's AMS/AS share it). */
struct dkim_key_answer {
	bool given;
	enum dkim_dns status;
	size_t n;
	char *txt[DKIM_KEY_TXT_MAX];
	size_t txt_len[DKIM_KEY_TXT_MAX];
};
/* Keep a copy of the answer (each record cut at DKIM_KEY_RECORD_MAX, so
 * too long a one fails to parse later); a record that could not be kept
 * makes it a temporary failure. */
void dkim_key_answer_set(struct dkim_key_answer *a, enum dkim_dns status, const char *const *txt,
                         const size_t *txt_len, size_t n);
void dkim_key_answer_free(struct dkim_key_answer *a);

struct dkim_sig_result {
	enum dkim_result result;
	const char *reason; /* "" for pass; static text */
	enum dkim_alg alg;  /* 0 when the field did not parse */
	char domain[256];   /* d= ("" when the field did not parse) */
	char selector[256]; /* s= */
	char auid[320];     /* i=, or "@" d= */
	char b[16];         /* the first characters of b=, for header.b */
	bool testing;       /* the key says t=y */
	bool has_l;         /* l= was given: content past it is not covered */
	uint64_t l;
	uint64_t body_uncovered; /* canonical body bytes past l= (0 without l=) */
};

struct dkim_verify;

/* now: unix seconds, for x=. max_sigs: how many DKIM-Signature fields
 * (from the top) to check; 0 or more than DKIM_VERIFY_MAX_SIGS means
 * DKIM_VERIFY_MAX_SIGS. NULL when out of memory. A signature whose key was
 * never given stays DKIM_PENDING ("none"). */
struct dkim_verify *dkim_verify_new(int64_t now, size_t max_sigs);
void dkim_verify_free(struct dkim_verify **v);
void dkim_verify_feed(struct dkim_verify *v, const void *data, size_t len);
bool dkim_verify_headers_done(const struct dkim_verify *v);
/* The message is malformed (verification is impossible): the reason, or
 * NULL. Valid once the headers are done. */
const char *dkim_verify_error(const struct dkim_verify *v);
/* DKIM-Signature fields found (at most max_sigs). */
size_t dkim_verify_count(const struct dkim_verify *v);
/* "selector._domainkey.domain", or NULL when signature i needs no key. */
const char *dkim_verify_query(const struct dkim_verify *v, size_t i);
/* The answer for signature i: n TXT records (each with its strings
 * joined), txt[k] of txt_len[k] bytes. */
void dkim_verify_key(struct dkim_verify *v, size_t i, enum dkim_dns status, const char *const *txt,
                     const size_t *txt_len, size_t n);
/* The message has ended. */
void dkim_verify_end(struct dkim_verify *v);
const struct dkim_sig_result *dkim_verify_result(const struct dkim_verify *v, size_t i);

/* Signing options; NULL means relaxed/relaxed. */
struct dkim_sign_opts {
	enum dkim_canon header_canon, body_canon;
};

struct dkim_signer;

/* key stays the caller's, and must outlive the signer. */
struct dkim_signer *dkim_signer_new(struct dkim_signing_key *key, const char *domain,
                                    const char *selector, int64_t now,
                                    const struct dkim_sign_opts *opts);
void dkim_signer_feed(struct dkim_signer *s, const void *data, size_t len);
/* Appends "DKIM-Signature: ...\r\n" (lines of at most 78 characters) to
 * out. 0, or -1 with err (no From field, a malformed header section). */
int dkim_signer_finish(struct dkim_signer *s, struct buf *out, char *err, size_t errlen);
void dkim_signer_free(struct dkim_signer **s);
/* The three above in one call. */
int dkim_sign(struct dkim_signing_key *key, const char *domain, const char *selector, int64_t now,
              const struct dkim_sign_opts *opts, const void *msg, size_t len, struct buf *out,
              char *err, size_t errlen);

#endif
