/* dkim_msg: the header section of a message as it streams past, split
 * into fields, for the DKIM signer and verifier.
 *
 * Only the header section is kept (bounded: DKIM_HEADER_MAX bytes,
 * DKIM_FIELDS_MAX fields); the body is handed back to the caller chunk by
 * chunk, to go straight into the body canonicalizers. Bare LF line ends
 * are kept as CRLF, as they were on the wire. */
#ifndef TERN_MAILAUTH_DKIM_MSG_H
#define TERN_MAILAUTH_DKIM_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/dkim_canon.h"

#define DKIM_HEADER_MAX (1u << 20)
#define DKIM_FIELDS_MAX 1000

struct dkim_field {
	const char *text; /* name ":" value, with its folding, no final CRLF */
	size_t len;
	size_t name_len; /* up to the colon, trailing whitespace excluded */
};

struct dkim_msg {
	struct buf hdr;
	size_t line_start; /* where the current line starts in hdr */
	size_t line_len;   /* bytes of the current line so far */
	bool last_cr;      /* its last byte was a CR */
	bool done;         /* the header section has ended */
	const char *error; /* the header section is malformed or too large */
	struct dkim_field *field;
	size_t nfield;
};

/* Takes bytes of the message. Returns how many of them belong to the header
 * section (with the empty line that ends it): once m->done, the rest of
 * data, and everything fed later, is body. */
size_t dkim_msg_feed(struct dkim_msg *m, const void *data, size_t len);
/* dkim_msg_feed for a streaming reader: the header bytes of this piece go
 * to m, and data and len are left on its body bytes (none while the header
 * section goes on). 1 when this piece ended the header section, else 0. */
int dkim_msg_take(struct dkim_msg *m, const void **data, size_t *len);
/* The message has ended (a message without a body). Splits the fields. */
void dkim_msg_end_headers(struct dkim_msg *m);
void dkim_msg_free(struct dkim_msg *m);
/* A header field name as h= lists it. */
struct dkim_name {
	const char *name;
	size_t len;
};

/* Hashes the fields names[] select, canonicalized, in h= order: each name
 * takes the lowest instance of that field not taken yet; a name with no
 * instance left (over-signing) adds nothing (RFC 6376 §5.4.2). */
void dkim_msg_hash_fields(const struct dkim_msg *m, crypto_hash_sha256_state *sha,
                          enum dkim_canon canon, const struct dkim_name *names, size_t n);
/* field's name is name (case-insensitive). */
bool dkim_field_is(const struct dkim_field *f, const char *name, size_t name_len);
/* How many fields of the message are called name (case-insensitive). */
size_t dkim_msg_count(const struct dkim_msg *m, const char *name);

#endif
