/* sieve_reply: a vacation response (see sieve_reply.h). Kept apart from
 * the filter so the one place that turns untrusted strings into header
 * fields is small enough to read whole. */
#include "deliver/sieve_reply.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deliver/trace.h"
#include "lib/buf.h"
#include "mime/msgid.h"

#define FIELD_MAX 900 /* bytes of one value before encoding */

/* v with CR, LF and other controls as spaces, cut at FIELD_MAX. */
static void clean(const char *v, char *out, size_t cap)
{
	size_t n = 0;
	for (; v && *v && n + 1 < cap && n < FIELD_MAX; v++) {
		unsigned char c = (unsigned char)*v;
		out[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[n] = '\0';
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* A plain addr-spec: something@something, no spaces, quotes or brackets. */
static bool plain_address(const char *a)
{
	const char *at = a ? strrchr(a, '@') : NULL;
	if (!at || at == a || !at[1] || strlen(a) > 320)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>()[]\\,;:\"", *p))
			return false;
	return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 2047 B-encoded words of UTF-8 s, folded: each word holds at most 45
 * bytes of s, cut on a character boundary. */
static int add_encoded(struct buf *b, const char *s)
{
	size_t len = strlen(s), i = 0;
	while (i < len) {
		size_t take = len - i < 45 ? len - i : 45;
		while (take < len - i && take > 0 && ((unsigned char)s[i + take] & 0xC0) == 0x80)
			take--;
		if (take == 0)
			take = 1;
		if (i && buf_add(b, "\r\n ", 3) < 0)
			return -1;
		if (buf_add(b, "=?UTF-8?B?", 10) < 0)
			return -1;
		for (size_t k = 0; k < take; k += 3) {
			const unsigned char *p = (const unsigned char *)s + i + k;
			size_t r = take - k;
			uint32_t v = (uint32_t)p[0] << 16 | (r > 1 ? (uint32_t)p[1] << 8 : 0) |
			             (r > 2 ? p[2] : 0);
			char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63],
			             r > 1 ? b64[v >> 6 & 63] : '=', r > 2 ? b64[v & 63] : '='};
			if (buf_add(b, q, 4) < 0)
				return -1;
		}
		if (buf_add(b, "?=", 2) < 0)
			return -1;
		i += take;
	}
	return 0;
}

static int add_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* In-Reply-To: the original's id; References: its parents oldest first,
 * then its id (RFC 5322 3.6.4). */
static int add_thread_fields(struct buf *b, const struct mime_thread_ids *o)
{
	if (!o || !o->message_id)
		return 0;
	if (add_str(b, "In-Reply-To: <") < 0 || add_str(b, o->message_id) < 0 ||
	    add_str(b, ">\r\nReferences:") < 0)
		return -1;
	for (size_t i = o->nparents; i-- > 0;) {
		if (add_str(b, "\r\n <") < 0 || add_str(b, o->parents[i]) < 0 ||
		    add_str(b, ">") < 0)
			return -1;
	}
	if (add_str(b, "\r\n <") < 0 || add_str(b, o->message_id) < 0 || add_str(b, ">\r\n") < 0)
		return -1;
	return 0;
}

/* With :mime the reason is an entity whose header section goes on top of
 * the reply's: only Content-* fields (and their folds) may come from
 * there, so a script cannot add Bcc: or To:. false: send it as text. */
static bool entity_ok(const char *r)
{
	const char *p = r;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0)
			return p != r; /* the blank line, after at least one field */
		if (memchr(p, '\r', n))
			return false; /* a bare CR would end the line when written */
		if (n > 900 || (p == r && (*p == ' ' || *p == '\t')))
			return false; /* add_body would break it; a fold of nothing */
		if (!(*p == ' ' || *p == '\t') &&
		    (n < 8 || strncasecmp(p, "Content-", 8) != 0 || !memchr(p, ':', n)))
			return false;
		if (!nl)
			return false; /* no body */
		p = nl + 1;
	}
	return false;
}

/* The reason as the body, lines ending in CRLF and broken before 998
 * bytes (RFC 5322 2.1.1), and a final CRLF. */
static int add_body(struct buf *b, const char *r)
{
	size_t col = 0;
	for (const char *p = r; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		bool eol = *p == '\n' || *p == '\r';
		if (eol || col == 990) {
			if (buf_add(b, "\r\n", 2) < 0)
				return -1;
			col = 0;
			if (eol)
				continue;
		}
		if (buf_add(b, p, 1) < 0)
			return -1;
		col++;
	}
	return buf_add(b, "\r\n", 2);
}

char *sieve_reply_build(const struct sieve_reply_params *p, size_t *len)
{
	char from[FIELD_MAX + 1], to[FIELD_MAX + 1], subject[FIELD_MAX + 1];
	clean(p->from && plain_address(p->from) ? p->from : p->own, from, sizeof from);
	clean(p->to, to, sizeof to);
	clean(p->subject ? p->subject : "Auto: (no subject)", subject, sizeof subject);
	int mime = p->mime && p->reason && entity_ok(p->reason);
	struct buf b = {0};
	char ids[600];
	/* the Message-ID and Date of a header that has neither */
	size_t nids = deliver_submission_headers("\r\n", 2, p->hostname, "vacation",
	                                         (uint64_t)p->now, p->now, ids, sizeof ids);
	/* first: relay/dsn.h's dsn_is_ours() knows a reply of ours by it, and
	 * the relay DKIM-signs it */
	int rc = add_str(&b, "Auto-Submitted: auto-replied (vacation)\r\n");
	if (rc == 0)
		rc = buf_add(&b, ids, nids);
	if (rc == 0)
		rc = add_str(&b, "From: <");
	if (rc == 0)
		rc = add_str(&b, from);
	if (rc == 0)
		rc = add_str(&b, ">\r\nTo: <");
	if (rc == 0)
		rc = add_str(&b, to);
	if (rc == 0)
		rc = add_str(&b, ">\r\nSubject: ");
	if (rc == 0)
		rc = ascii(subject) ? add_str(&b, subject) : add_encoded(&b, subject);
	if (rc == 0)
		rc = add_str(&b, "\r\n");
	if (rc == 0)
		rc = add_thread_fields(&b, p->orig);
	if (rc == 0)
		rc = add_str(&b, "MIME-Version: 1.0\r\n");
	if (rc == 0 && !mime)
		rc = add_str(&b, "Content-Type: text/plain; charset=utf-8\r\n"
		                 "Content-Transfer-Encoding: 8bit\r\n\r\n");
	/* with :mime the reason starts with its own header fields */
	if (rc == 0)
		rc = add_body(&b, p->reason ? p->reason : "");
	if (rc < 0) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}
