/* render: BODY, BODYSTRUCTURE and ENVELOPE strings from a parsed message
 * (see render.h).
 *
 * The grammar is RFC 9051 §7.5.2 / RFC 3501 §7.4.2; where the RFCs leave a
 * choice we answer what Dovecot answers, because that is what clients have
 * been tested against:
 *   - type, subtype, parameter values, encoding are sent as the message has
 *     them; the defaults for a part without Content-Type are lower case:
 *     "text" "plain" ("charset" "us-ascii"), "7bit" for a missing encoding;
 *   - a "text/..." part without a charset parameter gets "charset" "us-ascii"
 *     appended to its parameter list;
 *   - RFC 2231 parameters are joined but stay encoded ("title*"
 *     "us-ascii'en'...") since a BODYSTRUCTURE string has no charset;
 *   - Content-Language is always a parenthesised list;
 *   - a message/rfc822 part is written "message" "rfc822", whatever case
 *     the sender used (Dovecot writes these as constants);
 *   - a multipart that has no parts is written with one empty text/plain
 *     part (the grammar needs at least one): Dovecot's EMPTY_BODY and
 *     EMPTY_BODYSTRUCTURE;
 *   - ENVELOPE values are the raw header values, unfolded and trimmed, with
 *     RFC 2047 words left encoded (RFC 9051 says so); sender and reply-to
 *     default to from; an address without a domain or local part gets
 *     "MISSING_DOMAIN" / "MISSING_MAILBOX" (never NIL, which would mark a
 *     group), as in Dovecot.
 *
 * Where we differ from Dovecot on purpose, so that the output always
 * parses and says what the parser did:
 *   - a multipart without a boundary is written as the text/plain it was
 *     parsed as; an opaque (depth- or part-limited) message or multipart,
 *     and a message/rfc822 with a base64/quoted-printable encoding (RFC 2046
 *     §5.2.1 forbids it; it has no byte ranges to point at), are written
 *     as application/octet-stream;
 *   - a Content-Type that does not parse (no subtype, 8-bit) gives the
 *     defaults; Dovecot keeps what it could read ("text" "");
 *
 * Nesting: BODYSTRUCTURE is written by an iterative walk.  Each part opens
 * with "(" and writes its fields; after the last child of a multipart (or
 * the embedded message of a message/rfc822 part) the walk climbs and writes
 * the closing fields of every part it leaves.  The tree is at most
 * MIME_MAX_DEPTH deep, so this needs no stack at all: the parent pointers
 * are the stack.
 */
#include "proto/imap/render.h"
#include "proto/imap/parser.h"
#include "mime/header.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTED_MAX 1024

int imap_string(struct buf *out, const char *s, size_t n)
{
	bool quotable = n <= QUOTED_MAX;
	size_t nul = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0)
			nul++; /* dropped, quoted or not */
		else if (!imap_is_quoted_char(c, false))
			quotable = false;
	}
	int r;
	if (quotable) {
		r = buf_addc(out, '"');
		for (size_t i = 0; i < n && r == 0; i++) {
			if (s[i] == '\0')
				continue;
			if (s[i] == '"' || s[i] == '\\')
				r = buf_addc(out, '\\');
			if (r == 0)
				r = buf_addc(out, s[i]);
		}
		return r ? r : buf_addc(out, '"');
	}
	char hdr[32];
	snprintf(hdr, sizeof(hdr), "{%zu}\r\n", n - nul);
	r = buf_adds(out, hdr);
	for (size_t i = 0; i < n && r == 0;) {
		const char *z = memchr(s + i, '\0', n - i);
		size_t run = z ? (size_t)(z - s) - i : n - i;
		r = buf_add(out, s + i, run);
		i += run + (z ? 1 : 0);
	}
	return r;
}

int imap_nstring(struct buf *out, const char *s)
{
	if (!s)
		return buf_add(out, "NIL", 3);
	return imap_string(out, s, strlen(s));
}

/* ---- ENVELOPE ------------------------------------------------------------ */

static int env_string(const struct mime_message *m, const struct mime_part *p, const char *name,
                      struct buf *out)
{
	const char *v;
	size_t vl;
	if (!mime_header_get(m, p, name, &v, &vl))
		return buf_add(out, "NIL", 3);
	struct buf u = {0};
	int r = mime_unfold(v, vl, &u);
	if (r == 0)
		r = imap_string(out, u.data, u.len);
	buf_free(&u);
	return r;
}

/* Returns 1 if something was written, 0 if the field is absent or holds no
 * address (the caller may write a default), <0 on error. */
static int env_addrs(const struct mime_message *m, const struct mime_part *p, const char *name,
                     struct buf *out)
{
	const char *v;
	size_t vl;
	if (!mime_header_get(m, p, name, &v, &vl))
		return 0;
	struct mime_address *a;
	size_t n;
	int r = mime_addresses_parse(v, vl, &a, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return 0;
	r = buf_addc(out, '(');
	for (size_t i = 0; i < n && r == 0; i++) {
		r = buf_addc(out, '(');
		if (r == 0)
			r = imap_nstring(out, a[i].name);
		if (r == 0)
			r = buf_addc(out, ' ');
		if (r == 0)
			r = imap_nstring(out, a[i].route);
		if (r == 0)
			r = buf_addc(out, ' ');
		/* Dovecot fills what a broken address lacks, so that a
		 * client never mistakes it for a group marker */
		const char *mbox = a[i].mailbox, *host = a[i].host;
		if (host && !*host)
			host = "MISSING_DOMAIN";
		if (host && mbox && !*mbox)
			mbox = "MISSING_MAILBOX";
		if (r == 0)
			r = imap_nstring(out, mbox);
		if (r == 0)
			r = buf_addc(out, ' ');
		if (r == 0)
			r = imap_nstring(out, host);
		if (r == 0)
			r = buf_addc(out, ')');
	}
	if (r == 0)
		r = buf_addc(out, ')');
	mime_addresses_free(&a, n);
	return r < 0 ? r : 1;
}

int imap_envelope(const struct mime_message *m, const struct mime_part *msg, struct buf *out)
{
	int r = buf_addc(out, '(');
	if (r == 0)
		r = env_string(m, msg, "date", out);
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = env_string(m, msg, "subject", out);
	size_t from_at = out->len, from_len = 0;
	static const char *const fields[] = {"from", "sender", "reply-to", "to", "cc", "bcc"};
	for (int f = 0; f < 6 && r == 0; f++) {
		r = buf_addc(out, ' ');
		size_t at = out->len;
		if (r == 0)
			r = env_addrs(m, msg, fields[f], out);
		if (r == 0) {
			if ((f == 1 || f == 2) && from_len) {
				/* sender and reply-to default to from */
				char *copy = malloc(from_len);
				if (!copy)
					return -ENOMEM;
				memcpy(copy, out->data + from_at, from_len);
				r = buf_add(out, copy, from_len);
				free(copy);
			} else {
				r = buf_add(out, "NIL", 3);
			}
		} else if (r > 0) {
			r = 0;
		}
		if (f == 0) {
			from_at = at;
			from_len = out->len - at;
			if (from_len == 3 && memcmp(out->data + at, "NIL", 3) == 0)
				from_len = 0;
		}
	}
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = env_string(m, msg, "in-reply-to", out);
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = env_string(m, msg, "message-id", out);
	if (r == 0)
		r = buf_addc(out, ')');
	return r;
}

/* ---- BODYSTRUCTURE -------------------------------------------------------- */

static int params_write(struct buf *out, const struct mime_param *ps, unsigned n,
                        bool default_charset)
{
	bool seen = false;
	if (n == 0 && !default_charset)
		return buf_add(out, "NIL", 3);
	int r = buf_addc(out, '(');
	for (unsigned i = 0; i < n && r == 0; i++) {
		if (i)
			r = buf_addc(out, ' ');
		if (strcmp(ps[i].name, "charset") == 0)
			seen = true;
		if (r == 0)
			r = imap_nstring(out, ps[i].wire_name);
		if (r == 0)
			r = buf_addc(out, ' ');
		if (r == 0)
			r = imap_nstring(out, ps[i].wire_value);
	}
	if (r == 0 && default_charset && !seen)
		r = buf_adds(out, n ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
	return r ? r : buf_addc(out, ')');
}

/* disposition, language, location: shared tail of the extension data */
static int ext_tail(struct buf *out, const struct mime_part *p)
{
	int r = buf_addc(out, ' ');
	if (r == 0 && p->disposition) {
		r = buf_addc(out, '(');
		if (r == 0)
			r = imap_nstring(out, p->disposition);
		if (r == 0)
			r = buf_addc(out, ' ');
		if (r == 0)
			r = params_write(out, p->dparams, p->ndparams, false);
		if (r == 0)
			r = buf_addc(out, ')');
	} else if (r == 0) {
		r = buf_add(out, "NIL", 3);
	}
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0 && p->nlanguages) {
		r = buf_addc(out, '(');
		for (unsigned i = 0; i < p->nlanguages && r == 0; i++) {
			if (i)
				r = buf_addc(out, ' ');
			if (r == 0)
				r = imap_nstring(out, p->languages[i]);
		}
		if (r == 0)
			r = buf_addc(out, ')');
	} else if (r == 0) {
		r = buf_add(out, "NIL", 3);
	}
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = imap_nstring(out, p->location);
	return r;
}

#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"
#define EMPTY_BODYSTRUCTURE                                                                        \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"

enum wkind { W_MULTI, W_MESSAGE, W_BASIC };

static enum wkind part_kind(const struct mime_part *p)
{
	if (p->flags & MIME_PART_MULTIPART)
		return W_MULTI;
	if (p->message)
		return W_MESSAGE;
	return W_BASIC;
}

static int num(struct buf *out, size_t v)
{
	char b[32];
	snprintf(b, sizeof(b), " %zu", v);
	return buf_adds(out, b);
}

/* The fields of a non-multipart part up to and including size. */
static int single_head(const struct mime_message *m, const struct mime_part *p, struct buf *out)
{
	const char *type = p->type, *subtype = p->subtype;
	const struct mime_param *ps = p->params;
	unsigned np = p->nparams;
	bool text = strcmp(p->ltype, "text") == 0;
	if ((p->flags & MIME_PART_OPAQUE) ||
	    (strcmp(p->ltype, "message") == 0 && !p->message &&
	     (strcmp(p->lsubtype, "rfc822") == 0 || strcmp(p->lsubtype, "global") == 0))) {
		type = "application";
		subtype = "octet-stream";
		text = false;
	} else if (strcmp(p->ltype, "multipart") == 0) {
		/* multipart without a (usable) boundary: parsed as text */
		type = "text";
		subtype = "plain";
		ps = NULL;
		np = 0;
		text = true;
	}
	if (p->message && strcmp(p->lsubtype, "rfc822") == 0) {
		/* Dovecot writes these two as constants */
		type = "message";
		subtype = "rfc822";
	}
	int r = imap_nstring(out, type);
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = imap_nstring(out, subtype);
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = params_write(out, ps, np, text);
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = imap_nstring(out, p->id);
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = imap_nstring(out, p->description);
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = imap_nstring(out, p->encoding ? p->encoding : "7bit");
	if (r == 0)
		r = num(out, p->size);
	if (r == 0 && text)
		r = num(out, p->lines);
	(void)m;
	return r;
}

/* Everything after a part's children: closes the part. */
static int part_tail(const struct mime_part *p, bool ext, struct buf *out)
{
	int r = 0;
	switch (part_kind(p)) {
	case W_MULTI:
		r = buf_addc(out, ' ');
		if (r == 0)
			r = imap_nstring(out, p->subtype);
		if (r == 0 && ext) {
			r = buf_addc(out, ' ');
			if (r == 0)
				r = params_write(out, p->params, p->nparams, false);
			if (r == 0)
				r = ext_tail(out, p);
		}
		break;
	case W_MESSAGE:
		r = num(out, p->lines);
		/* fall through */
	case W_BASIC:
		if (r == 0 && ext) {
			r = buf_addc(out, ' ');
			if (r == 0)
				r = imap_nstring(out, p->md5);
			if (r == 0)
				r = ext_tail(out, p);
		}
		break;
	}
	return r ? r : buf_addc(out, ')');
}

int imap_part_bodystructure(const struct mime_message *m, const struct mime_part *top, bool ext,
                            struct buf *out)
{
	const struct mime_part *p = top;
	int r = 0;
	while (r == 0) {
		/* open p */
		r = buf_addc(out, '(');
		if (r)
			break;
		enum wkind k = part_kind(p);
		if (k == W_MULTI && p->children) {
			p = p->children;
			continue;
		}
		if (k == W_MULTI) {
			/* Dovecot's EMPTY_BODY / EMPTY_BODYSTRUCTURE */
			r = buf_adds(out, ext ? EMPTY_BODYSTRUCTURE : EMPTY_BODY);
		} else {
			r = single_head(m, p, out);
			if (r == 0 && k == W_MESSAGE) {
				r = buf_addc(out, ' ');
				if (r == 0)
					r = imap_envelope(m, p->message, out);
				if (r == 0)
					r = buf_addc(out, ' ');
				if (r == 0) {
					/* descend into the embedded message */
					p = p->message;
					continue;
				}
			}
		}
		/* close p and every ancestor whose last child it is */
		for (;;) {
			if (r == 0)
				r = part_tail(p, ext, out);
			if (r || p == top)
				return r;
			const struct mime_part *par = p->parent;
			if (par->message == p) {
				/* leaving an embedded message: the
				 * message/rfc822 part closes next */
				p = par;
				continue;
			}
			if (p->next) {
				p = p->next;
				break;
			}
			p = par;
		}
	}
	return r;
}

int imap_bodystructure(const struct mime_message *m, bool extensible, struct buf *out)
{
	return imap_part_bodystructure(m, m->root, extensible, out);
}
