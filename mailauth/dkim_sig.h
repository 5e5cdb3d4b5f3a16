/* dkim_sig: one DKIM-Signature header field parsed and checked against
 * RFC 6376 §3.5 and §6.1.1, before any DNS lookup: required tags, v=1,
 * a known algorithm (rsa-sha1 refused, RFC 8301), i= within d=, From in
 * h=, x= not passed, q=dns/txt, bounded sizes. */
#ifndef TERN_MAILAUTH_DKIM_SIG_H
#define TERN_MAILAUTH_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_msg.h"

#define DKIM_H_MAX 64 /* header names in h= */
#define DKIM_NAME_MAX 256

struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon header_canon, body_canon;
	char domain[DKIM_NAME_MAX];     /* d=, as written */
	char selector[DKIM_NAME_MAX];   /* s= */
	char auid[DKIM_NAME_MAX + 64];  /* i=, or "@" d= */
	struct dkim_name h[DKIM_H_MAX]; /* h=, pointing into the field */
	size_t nh;
	bool has_l;
	uint64_t l;
	int64_t t, x; /* -1: absent */
	unsigned char bh[32];
	unsigned char b[DKIM_SIG_MAX];
	size_t b_len;
	size_t b_off, b_end; /* the b= value's span in the field text, emptied for hashing */
	unsigned instance;   /* ARC-Message-Signature: i= (1..ARC_MAX_INSTANCE) */
};

/* field: the whole DKIM-Signature field as in the message (dkim_msg.h);
 * value_off: where its value starts (after the colon). now: unix seconds
 * for x=. 0, or -1 with *why and *syntax (true: the field itself is
 * malformed; false: well-formed but unacceptable). */
int dkim_sig_parse(const char *field, size_t len, size_t value_off, int64_t now,
                   struct dkim_sig *out, const char **why, bool *syntax);

/* The same for an ARC-Message-Signature (RFC 8617 §4.1.2): no v=, i= is
 * the instance number (1..50), h= may be empty (or hold empty names) and
 * need not name From, but must not name ARC-Seal; no c= means
 * relaxed/relaxed (the ARC test suite, dkimpy). auid is "@" d=. */
#define DKIM_ARC_INSTANCE_MAX 50
int dkim_sig_parse_ams(const char *field, size_t len, size_t value_off, int64_t now,
                       struct dkim_sig *out, const char **why, bool *syntax);

#endif
