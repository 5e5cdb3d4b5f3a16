/* arc: ARC (RFC 8617) chain validation, sealing and the trusted-sealer
 * decision, as pure functions on top of the DKIM pieces: no DNS, no
 * loop, no clock. What the SMTP side wires in later:
 *
 *   verify, as DATA streams in (like dkim.h):
 *     v = arc_verify_new(now);
 *     arc_verify_feed(v, bytes, n) ...            (dot-unstuffed message)
 *     once arc_verify_headers_done(v): for k < arc_verify_query_count(v),
 *       arc_verify_query(v, k) is a TXT name to look up (distinct names,
 *       so one query each); start them;
 *     arc_verify_key(v, k, status, txt...)          (when each answer comes)
 *     arc_verify_end(v);                            (end of DATA)
 *     arc_verify_result(v): none / pass / fail (pending until every
 *       answer and the end are in), the oldest-pass instance, a reason.
 *
 *   seal, for a message tern forwards (one call, or streaming):
 *     arc_seal(key, "example.com", "sel", now, NULL, result.status,
 *              "mx.example.com; spf=pass ...", msg, len, &out, err, n);
 *     out gets ARC-Seal, ARC-Message-Signature, ARC-Authentication-
 *     Results (in that order, to go on top of the message).
 *
 *   trust: arc_trusted_override(v, sealers, n, ...) says whether a DMARC
 *     failure may be overridden by the chain (RFC 8617 §7.2).
 *
 * Input is the message as on the wire (a bare LF is taken as CRLF). */
#ifndef TERN_MAILAUTH_ARC_H
#define TERN_MAILAUTH_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mailauth/arc_set.h"
#include "mailauth/dkim.h"

enum arc_status {
	ARC_PENDING = 0, /* waiting for keys or the end of the message */
	ARC_NONE,        /* no ARC fields */
	ARC_PASS,
	ARC_FAIL,
};
const char *arc_status_name(enum arc_status s);

struct arc_result {
	enum arc_status status;
	unsigned instances;   /* N, the highest instance (0: none, or unparsable) */
	unsigned oldest_pass; /* lowest i such that AMS(i..N) all verify; 0: not even AMS(N) */
	unsigned failed;      /* the instance that failed (0: structure, or none) */
	const char *reason;   /* static text; "" for pass and none */
	bool temporary;       /* fail only because a key lookup failed for now */
};

/* What was found out about one instance (after the result is known). */
struct arc_instance {
	unsigned i;
	enum arc_cv cv;          /* the seal's cv= (0 if the seal did not parse) */
	char seal_domain[256];   /* AS d= */
	char seal_selector[256]; /* AS s= */
	char ams_domain[256];    /* AMS d= */
	bool seal_ok, ams_ok;    /* the signature verified */
	const char *aar;         /* AAR after "i=N;": authserv-id; results */
	size_t aar_len;
};

struct arc_verify;

/* now: unix seconds (for AMS x=). NULL when out of memory. */
struct arc_verify *arc_verify_new(int64_t now);
void arc_verify_free(struct arc_verify **v);
void arc_verify_feed(struct arc_verify *v, const void *data, size_t len);
bool arc_verify_headers_done(const struct arc_verify *v);
size_t arc_verify_query_count(const struct arc_verify *v);
/* "selector._domainkey.domain" */
const char *arc_verify_query(const struct arc_verify *v, size_t k);
/* The answer to query k (dkim.h's statuses); txt as dkim_verify_key. */
void arc_verify_key(struct arc_verify *v, size_t k, enum dkim_dns status, const char *const *txt,
                    const size_t *txt_len, size_t n);
void arc_verify_end(struct arc_verify *v);
const struct arc_result *arc_verify_result(const struct arc_verify *v);
/* Instance i (1..N), or NULL. */
const struct arc_instance *arc_verify_instance(const struct arc_verify *v, unsigned i);

/* Streaming sealer. headers: the AMS h= list (NULL: tern's default list
 * of the fields present); ARC fields in it are ignored. key stays the
 * caller's. */
struct arc_sealer;
struct arc_sealer *arc_sealer_new(struct dkim_signing_key *key, const char *domain,
                                  const char *selector, int64_t now, const char *const *headers,
                                  size_t nheaders);
void arc_sealer_feed(struct arc_sealer *s, const void *data, size_t len);
/* chain: arc_verify_result()'s status for this message. authres: our
 * Authentication-Results value ("authserv-id; method=result; ...").
 * Appends the three fields (CRLF-terminated, folded) to out and returns
 * 0; returns 1 without output when the message must not be sealed (its
 * chain already ended in cv=fail, or 50 sets are there); -1 with err. */
int arc_sealer_finish(struct arc_sealer *s, enum arc_status chain, const char *authres,
                      struct buf *out, char *err, size_t errlen);
void arc_sealer_free(struct arc_sealer **s);
int arc_seal(struct dkim_signing_key *key, const char *domain, const char *selector, int64_t now,
             const char *const *headers, size_t nheaders, enum arc_status chain,
             const char *authres, const void *msg, size_t len, struct buf *out, char *err,
             size_t errlen);

/* RFC 8617 §7.2: may a DMARC failure be overridden? True when the chain
 * passes and the oldest instance sealed by one of the sealer domains
 * (case-insensitive, exact) has an AAR that says dmarc=pass (or, with
 * no dmarc result in it, some dkim=pass or spf=pass). *instance: that
 * instance; *why: the reason either way (static text). */
bool arc_trusted_override(const struct arc_verify *v, const char *const *sealers, size_t n,
                          unsigned *instance, const char **why);

/* The [auth] arc_trusted_sealers list: domain names separated by commas
 * and/or blanks, split in place (list is modified; out points into it;
 * a trailing dot is dropped). Names are letters, digits, '-', '_' and
 * '.', at most 253 characters. Returns how many (0..max), or -1 with why
 * for a bad name or more than max. */
#define ARC_MAX_SEALERS 32
int arc_sealers_parse(char *list, const char **out, size_t max, char *why, size_t whylen);

/* The results of an AAR payload (authserv-id; resinfo; ...): the first
 * result word of method (e.g. "dmarc"), lowercased, into out, or false
 * when absent. */
bool arc_aar_method_result(const char *payload, size_t len, const char *method, char *out,
                           size_t outlen);

#endif
