/* imap.c: BODY, BODYSTRUCTURE and ENVELOPE strings from a parsed message.
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
#include "mime/header.h"
#include "mime/mime_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTED_MAX 1024

int mime_imap_string(struct mime_buf *out, const char *s, size_t n)
{
	bool quotable = n <= QUOTED_MAX;
	size_t nul = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0)
			nul++;
		else if (c == '\r' || c == '\n' || c >= 0x80)
			quotable = false;
	}
	int r;
	if (quotable) {
		r = mime_buf_addc(out, '"');
		for (size_t i = 0; i < n && r == 0; i++) {
			if (s[i] == '\0')
				continue;
			if (s[i] == '"' || s[i] == '\\')
				r = mime_buf_addc(out, '\\');
			if (r == 0)
				r = mime_buf_addc(out, s[i]);
		}
		return r ? r : mime_buf_addc(out, '"');
	}
	char hdr[32];
	snprintf(hdr, sizeof(hdr), "{%zu}\r\n", n - nul);
	r = mime_buf_adds(out, hdr);
	for (size_t i = 0; i < n && r == 0;) {
		const char *z = memchr(s + i, '\0', n - i);
		size_t run = z ? (size_t)(z - s) - i : n - i;
		r = mime_buf_add(out, s + i, run);
		i += run + (z ? 1 : 0);
	}
	return r;
}

int mime_imap_nstring(struct mime_buf *out, const char *s)
{
	if (!s)
		return mime_buf_add(out, "NIL", 3);
	return mime_imap_string(out, s, strlen(s));
}

/* ---- addresses --------------------------------------------------------- */

enum tok_kind { T_ATOM, T_QSTR, T_COMMENT, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_kind kind;
	char c;          /* T_SPECIAL */
	size_t off, len; /* into the token text buffer */
};

#define MAX_TOKS 20000
#define MAX_ADDRS 10000

struct alex {
	struct tok *t;
	size_t n;
	struct mime_buf text; /* token texts, quotes/escapes removed */
};

static bool addr_special(char c)
{
	return c == '<' || c == '>' || c == '@' || c == ',' || c == ':' || c == ';' || c == '(' ||
	       c == ')' || c == '"' || c == '[' || c == ']' || c == '\\';
}

static int lex(const char *v, size_t len, struct alex *lx)
{
	lx->t = malloc(sizeof(struct tok) * (len < MAX_TOKS ? len + 1 : MAX_TOKS));
	if (!lx->t)
		return -ENOMEM;
	lx->n = 0;
	size_t cap = len < MAX_TOKS ? len + 1 : MAX_TOKS;
	int r = mime_buf_add(&lx->text, "", 0);
	size_t i = 0;
	while (i < len && lx->n < cap && r == 0) {
		char c = v[i];
		if (mime_wsp(c) || c == '\r' || c == '\n' || c == '\0') {
			i++;
			continue;
		}
		struct tok *t = &lx->t[lx->n];
		t->off = lx->text.len;
		t->c = 0;
		if (c == '"') {
			t->kind = T_QSTR;
			i++;
			while (i < len && v[i] != '"' && r == 0) {
				if (v[i] == '\\' && i + 1 < len)
					i++;
				if (v[i] != '\r' && v[i] != '\n')
					r = mime_buf_addc(&lx->text, v[i]);
				i++;
			}
			i++;
		} else if (c == '(') {
			t->kind = T_COMMENT;
			int depth = 1;
			i++;
			while (i < len && r == 0) {
				if (v[i] == '\\' && i + 1 < len) {
					i++;
				} else if (v[i] == '(') {
					depth++;
				} else if (v[i] == ')') {
					if (--depth == 0)
						break;
				}
				if (v[i] != '\r' && v[i] != '\n')
					r = mime_buf_addc(&lx->text, v[i]);
				i++;
			}
			i++;
		} else if (c == '[') {
			t->kind = T_DLIT;
			while (i < len && v[i] != ']' && r == 0) {
				if (v[i] != '\r' && v[i] != '\n' && !mime_wsp(v[i]))
					r = mime_buf_addc(&lx->text, v[i]);
				i++;
			}
			if (i < len)
				r = mime_buf_addc(&lx->text, v[i++]);
		} else if (addr_special(c)) {
			t->kind = T_SPECIAL;
			t->c = c;
			i++;
		} else {
			t->kind = T_ATOM;
			size_t s = i;
			while (i < len && !addr_special(v[i]) && !mime_wsp(v[i]) && v[i] != '\r' &&
			       v[i] != '\n' && v[i] != '\0')
				i++;
			r = mime_buf_add(&lx->text, v + s, i - s);
		}
		t->len = lx->text.len - t->off;
		if (r == 0)
			r = mime_buf_addc(&lx->text, '\0');
		lx->n++;
	}
	return r;
}

static const char *ttext(struct alex *lx, size_t i)
{
	return lx->text.data + lx->t[i].off;
}

static bool is_sp(struct alex *lx, size_t i, char c)
{
	return i < lx->n && lx->t[i].kind == T_SPECIAL && lx->t[i].c == c;
}

struct alist {
	struct mime_address *a;
	size_t n, cap;
};

static int alist_add(struct alist *l, const char *name, size_t nl, const char *route, size_t rl,
                     const char *mbox, size_t ml, const char *host, size_t hl)
{
	if (l->n >= MAX_ADDRS)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct mime_address *a = realloc(l->a, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		l->a = a;
		l->cap = cap;
	}
	struct mime_address *e = &l->a[l->n];
	e->name = name ? strndup(name, nl) : NULL;
	e->route = route ? strndup(route, rl) : NULL;
	e->mailbox = mbox ? strndup(mbox, ml) : NULL;
	e->host = host ? strndup(host, hl) : NULL;
	l->n++;
	if ((name && !e->name) || (route && !e->route) || (mbox && !e->mailbox) ||
	    (host && !e->host))
		return -ENOMEM;
	return 0;
}

/* Join the texts of tokens [s, e) of the given kinds with sep. */
static int join(struct alex *lx, size_t s, size_t e, const char *sep, bool skip_comments,
                struct mime_buf *out)
{
	mime_buf_reset(out);
	int r = mime_buf_add(out, "", 0);
	bool first = true;
	for (size_t i = s; i < e && r == 0; i++) {
		if (lx->t[i].kind == T_COMMENT && skip_comments)
			continue;
		if (lx->t[i].kind == T_SPECIAL) {
			/* "phil@example.com <phil@...>": an unquoted '@' in a
			 * phrase stays attached to its neighbours */
			if (lx->t[i].c == '@') {
				r = mime_buf_addc(out, '@');
				first = true;
			}
			continue;
		}
		if (!first && *sep)
			r = mime_buf_adds(out, sep);
		first = false;
		if (r == 0)
			r = mime_buf_add(out, ttext(lx, i), lx->t[i].len);
	}
	return r;
}

/* One mailbox from tokens [s, e) (no top-level ',', ':' or ';'). */
static int mailbox(struct alex *lx, size_t s, size_t e, struct alist *l)
{
	struct mime_buf name = {0}, route = {0}, local = {0}, dom = {0};
	int r = 0;
	size_t lt = s;
	while (lt < e && !is_sp(lx, lt, '<'))
		lt++;
	const char *comment = NULL;
	size_t clen = 0;
	size_t as, ae; /* addr-spec tokens */
	bool have_name = false;
	if (lt < e) {
		/* phrase <[route:]addr-spec> */
		size_t gt = lt + 1;
		while (gt < e && !is_sp(lx, gt, '>'))
			gt++;
		/* phrase: atoms and quoted strings, single spaces; a phrase of
		 * only comments gives no name */
		r = join(lx, s, lt, " ", true, &name);
		have_name = name.len > 0;
		if (!have_name && r == 0) {
			/* "<a@b> Name": a phrase after the address */
			size_t gt2 = lt + 1;
			while (gt2 < e && !is_sp(lx, gt2, '>'))
				gt2++;
			if (gt2 + 1 < e) {
				r = join(lx, gt2 + 1, e, " ", true, &name);
				have_name = name.len > 0;
			}
		}
		size_t colon = lt + 1;
		while (colon < gt && !is_sp(lx, colon, ':'))
			colon++;
		as = lt + 1;
		if (colon < gt) {
			/* obs-route: @a,@b: */
			if (r == 0)
				r = mime_buf_add(&route, "", 0);
			for (size_t i = lt + 1; i < colon && r == 0; i++) {
				if (lx->t[i].kind == T_COMMENT)
					continue;
				if (lx->t[i].kind == T_SPECIAL)
					r = mime_buf_addc(&route, lx->t[i].c);
				else
					r = mime_buf_add(&route, ttext(lx, i), lx->t[i].len);
			}
			as = colon + 1;
		}
		ae = gt;
	} else {
		as = s;
		ae = e;
		for (size_t i = s; i < e; i++)
			if (lx->t[i].kind == T_COMMENT) {
				comment = ttext(lx, i);
				clen = lx->t[i].len;
			}
	}
	/* addr-spec: local-part @ domain; the last '@' splits */
	size_t at = ae;
	for (size_t i = as; i < ae; i++)
		if (is_sp(lx, i, '@'))
			at = i;
	if (r == 0)
		r = mime_buf_add(&local, "", 0);
	if (r == 0)
		r = mime_buf_add(&dom, "", 0);
	for (size_t i = as; i < at && r == 0; i++)
		if (lx->t[i].kind == T_ATOM || lx->t[i].kind == T_QSTR)
			r = mime_buf_add(&local, ttext(lx, i), lx->t[i].len);
		else if (lx->t[i].kind == T_SPECIAL && lx->t[i].c != '@' && lx->t[i].c != '<' &&
		         lx->t[i].c != '>')
			r = mime_buf_addc(&local, lx->t[i].c);
	for (size_t i = at + 1; i < ae && r == 0; i++)
		if (lx->t[i].kind == T_ATOM || lx->t[i].kind == T_DLIT)
			r = mime_buf_add(&dom, ttext(lx, i), lx->t[i].len);
	if (r)
		goto out;
	if (!have_name && comment && clen) {
		mime_buf_reset(&name);
		r = mime_buf_add(&name, comment, clen);
		have_name = r == 0;
	}
	if (r == 0 && (local.len || dom.len || have_name)) {
		if (!local.len && !dom.len) {
			/* a bare word: a local part without a domain */
			r = alist_add(l, NULL, 0, NULL, 0, name.data, name.len, "", 0);
		} else {
			r = alist_add(l, have_name ? name.data : NULL, name.len,
			              route.len ? route.data : NULL, route.len, local.data,
			              local.len, dom.data, dom.len);
		}
	}
out:
	mime_buf_free(&name);
	mime_buf_free(&route);
	mime_buf_free(&local);
	mime_buf_free(&dom);
	return r;
}

int mime_addresses_parse(const char *v, size_t len, struct mime_address **out, size_t *n)
{
	struct alex lx = {0};
	struct alist l = {0};
	*out = NULL;
	*n = 0;
	int r = lex(v, len, &lx);
	bool in_group = false;
	size_t s = 0;
	struct mime_buf gname = {0};
	for (size_t i = 0; r == 0 && i <= lx.n; i++) {
		if (i < lx.n && is_sp(&lx, i, '<')) {
			/* skip to '>' so route commas and colons stay inside */
			while (i < lx.n && !is_sp(&lx, i, '>'))
				i++;
			if (i == lx.n)
				i--;
			continue;
		}
		if (i < lx.n && is_sp(&lx, i, ':') && !in_group) {
			/* group: phrase ':' */
			r = join(&lx, s, i, " ", true, &gname);
			if (r == 0)
				r = alist_add(&l, NULL, 0, NULL, 0, gname.data, gname.len, NULL, 0);
			in_group = true;
			s = i + 1;
			continue;
		}
		bool semi = i < lx.n && is_sp(&lx, i, ';');
		if (i == lx.n || is_sp(&lx, i, ',') || semi) {
			if (i > s)
				r = mailbox(&lx, s, i, &l);
			s = i + 1;
			if ((semi || i == lx.n) && in_group && r == 0) {
				r = alist_add(&l, NULL, 0, NULL, 0, NULL, 0, NULL, 0);
				in_group = false;
			}
		}
	}
	mime_buf_free(&gname);
	free(lx.t);
	mime_buf_free(&lx.text);
	if (r < 0) {
		mime_addresses_free(&l.a, l.n);
		return r;
	}
	*out = l.a;
	*n = l.n;
	return 0;
}

void mime_addresses_free(struct mime_address **a, size_t n)
{
	if (!*a)
		return;
	for (size_t i = 0; i < n; i++) {
		free((*a)[i].name);
		free((*a)[i].route);
		free((*a)[i].mailbox);
		free((*a)[i].host);
	}
	free(*a);
	*a = NULL;
}

/* ---- ENVELOPE ------------------------------------------------------------ */

static int env_string(const struct mime_message *m, const struct mime_part *p, const char *name,
                      struct mime_buf *out)
{
	const char *v;
	size_t vl;
	if (!mime_header_get(m, p, name, &v, &vl))
		return mime_buf_add(out, "NIL", 3);
	struct mime_buf u = {0};
	int r = mime_unfold(v, vl, &u);
	if (r == 0)
		r = mime_imap_string(out, u.data, u.len);
	mime_buf_free(&u);
	return r;
}

/* Returns 1 if something was written, 0 if the field is absent or holds no
 * address (the caller may write a default), <0 on error. */
static int env_addrs(const struct mime_message *m, const struct mime_part *p, const char *name,
                     struct mime_buf *out)
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
	r = mime_buf_addc(out, '(');
	for (size_t i = 0; i < n && r == 0; i++) {
		r = mime_buf_addc(out, '(');
		if (r == 0)
			r = mime_imap_nstring(out, a[i].name);
		if (r == 0)
			r = mime_buf_addc(out, ' ');
		if (r == 0)
			r = mime_imap_nstring(out, a[i].route);
		if (r == 0)
			r = mime_buf_addc(out, ' ');
		/* Dovecot fills what a broken address lacks, so that a
		 * client never mistakes it for a group marker */
		const char *mbox = a[i].mailbox, *host = a[i].host;
		if (host && !*host)
			host = "MISSING_DOMAIN";
		if (host && mbox && !*mbox)
			mbox = "MISSING_MAILBOX";
		if (r == 0)
			r = mime_imap_nstring(out, mbox);
		if (r == 0)
			r = mime_buf_addc(out, ' ');
		if (r == 0)
			r = mime_imap_nstring(out, host);
		if (r == 0)
			r = mime_buf_addc(out, ')');
	}
	if (r == 0)
		r = mime_buf_addc(out, ')');
	mime_addresses_free(&a, n);
	return r < 0 ? r : 1;
}

int mime_envelope(const struct mime_message *m, const struct mime_part *msg, struct mime_buf *out)
{
	int r = mime_buf_addc(out, '(');
	if (r == 0)
		r = env_string(m, msg, "date", out);
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = env_string(m, msg, "subject", out);
	size_t from_at = out->len, from_len = 0;
	static const char *const fields[] = {"from", "sender", "reply-to", "to", "cc", "bcc"};
	for (int f = 0; f < 6 && r == 0; f++) {
		r = mime_buf_addc(out, ' ');
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
				r = mime_buf_add(out, copy, from_len);
				free(copy);
			} else {
				r = mime_buf_add(out, "NIL", 3);
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
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = env_string(m, msg, "in-reply-to", out);
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = env_string(m, msg, "message-id", out);
	if (r == 0)
		r = mime_buf_addc(out, ')');
	return r;
}

/* ---- BODYSTRUCTURE -------------------------------------------------------- */

static int params_write(struct mime_buf *out, const struct mime_param *ps, unsigned n,
                        bool default_charset)
{
	bool seen = false;
	if (n == 0 && !default_charset)
		return mime_buf_add(out, "NIL", 3);
	int r = mime_buf_addc(out, '(');
	for (unsigned i = 0; i < n && r == 0; i++) {
		if (i)
			r = mime_buf_addc(out, ' ');
		if (strcmp(ps[i].name, "charset") == 0)
			seen = true;
		if (r == 0)
			r = mime_imap_nstring(out, ps[i].wire_name);
		if (r == 0)
			r = mime_buf_addc(out, ' ');
		if (r == 0)
			r = mime_imap_nstring(out, ps[i].wire_value);
	}
	if (r == 0 && default_charset && !seen)
		r = mime_buf_adds(out,
		                  n ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
	return r ? r : mime_buf_addc(out, ')');
}

/* disposition, language, location: shared tail of the extension data */
static int ext_tail(struct mime_buf *out, const struct mime_part *p)
{
	int r = mime_buf_addc(out, ' ');
	if (r == 0 && p->disposition) {
		r = mime_buf_addc(out, '(');
		if (r == 0)
			r = mime_imap_nstring(out, p->disposition);
		if (r == 0)
			r = mime_buf_addc(out, ' ');
		if (r == 0)
			r = params_write(out, p->dparams, p->ndparams, false);
		if (r == 0)
			r = mime_buf_addc(out, ')');
	} else if (r == 0) {
		r = mime_buf_add(out, "NIL", 3);
	}
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0 && p->nlanguages) {
		r = mime_buf_addc(out, '(');
		for (unsigned i = 0; i < p->nlanguages && r == 0; i++) {
			if (i)
				r = mime_buf_addc(out, ' ');
			if (r == 0)
				r = mime_imap_nstring(out, p->languages[i]);
		}
		if (r == 0)
			r = mime_buf_addc(out, ')');
	} else if (r == 0) {
		r = mime_buf_add(out, "NIL", 3);
	}
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = mime_imap_nstring(out, p->location);
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

static int num(struct mime_buf *out, size_t v)
{
	char b[32];
	snprintf(b, sizeof(b), " %zu", v);
	return mime_buf_adds(out, b);
}

/* The fields of a non-multipart part up to and including size. */
static int single_head(const struct mime_message *m, const struct mime_part *p,
                       struct mime_buf *out)
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
	int r = mime_imap_nstring(out, type);
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = mime_imap_nstring(out, subtype);
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = params_write(out, ps, np, text);
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = mime_imap_nstring(out, p->id);
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = mime_imap_nstring(out, p->description);
	if (r == 0)
		r = mime_buf_addc(out, ' ');
	if (r == 0)
		r = mime_imap_nstring(out, p->encoding ? p->encoding : "7bit");
	if (r == 0)
		r = num(out, p->size);
	if (r == 0 && text)
		r = num(out, p->lines);
	(void)m;
	return r;
}

/* Everything after a part's children: closes the part. */
static int part_tail(const struct mime_part *p, bool ext, struct mime_buf *out)
{
	int r = 0;
	switch (part_kind(p)) {
	case W_MULTI:
		r = mime_buf_addc(out, ' ');
		if (r == 0)
			r = mime_imap_nstring(out, p->subtype);
		if (r == 0 && ext) {
			r = mime_buf_addc(out, ' ');
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
			r = mime_buf_addc(out, ' ');
			if (r == 0)
				r = mime_imap_nstring(out, p->md5);
			if (r == 0)
				r = ext_tail(out, p);
		}
		break;
	}
	return r ? r : mime_buf_addc(out, ')');
}

int mime_part_bodystructure(const struct mime_message *m, const struct mime_part *top, bool ext,
                            struct mime_buf *out)
{
	const struct mime_part *p = top;
	int r = 0;
	while (r == 0) {
		/* open p */
		r = mime_buf_addc(out, '(');
		if (r)
			break;
		enum wkind k = part_kind(p);
		if (k == W_MULTI && p->children) {
			p = p->children;
			continue;
		}
		if (k == W_MULTI) {
			/* Dovecot's EMPTY_BODY / EMPTY_BODYSTRUCTURE */
			r = mime_buf_adds(out, ext ? EMPTY_BODYSTRUCTURE : EMPTY_BODY);
		} else {
			r = single_head(m, p, out);
			if (r == 0 && k == W_MESSAGE) {
				r = mime_buf_addc(out, ' ');
				if (r == 0)
					r = mime_envelope(m, p->message, out);
				if (r == 0)
					r = mime_buf_addc(out, ' ');
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

int mime_bodystructure(const struct mime_message *m, bool extensible, struct mime_buf *out)
{
	return mime_part_bodystructure(m, m->root, extensible, out);
}
