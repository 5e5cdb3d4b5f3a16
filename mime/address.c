/* address: RFC 5322 address lists (§3.4) into name, route, mailbox, host.
 *
 * Two passes.  The lexer cuts the value into atoms, quoted strings (quotes
 * and quoted-pairs removed), comments, domain literals and specials; the
 * token texts go into one buffer.  The list walk then splits the tokens at
 * top-level "," and at a group's ":" and ";" (skipping over "<...>", whose
 * obsolete route may hold both), and each mailbox is "phrase <[route:]
 * addr-spec>" or a bare addr-spec, whichever its tokens allow.
 *
 * Nothing fails on bad input: tokens that fit nowhere are dropped, a
 * missing "@" gives an empty host, an unclosed quote or comment runs to
 * the end.  Comments alone between separators are no address.  Token and address counts are capped
 * (MAX_TOKS, MAX_ADDRS). */
#include "mime/mime_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	struct buf text; /* token texts, quotes/escapes removed */
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
	int r = buf_add(&lx->text, "", 0);
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
					r = buf_addc(&lx->text, v[i]);
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
					r = buf_addc(&lx->text, v[i]);
				i++;
			}
			i++;
		} else if (c == '[') {
			t->kind = T_DLIT;
			while (i < len && v[i] != ']' && r == 0) {
				if (v[i] != '\r' && v[i] != '\n' && !mime_wsp(v[i]))
					r = buf_addc(&lx->text, v[i]);
				i++;
			}
			if (i < len)
				r = buf_addc(&lx->text, v[i++]);
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
			r = buf_add(&lx->text, v + s, i - s);
		}
		t->len = lx->text.len - t->off;
		if (r == 0)
			r = buf_addc(&lx->text, '\0');
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
                struct buf *out)
{
	buf_reset(out);
	int r = buf_add(out, "", 0);
	bool first = true;
	for (size_t i = s; i < e && r == 0; i++) {
		if (lx->t[i].kind == T_COMMENT && skip_comments)
			continue;
		if (lx->t[i].kind == T_SPECIAL) {
			/* "phil@example.com <phil@...>": an unquoted '@' in a
			 * phrase stays attached to its neighbours */
			if (lx->t[i].c == '@') {
				r = buf_addc(out, '@');
				first = true;
			}
			continue;
		}
		if (!first && *sep)
			r = buf_adds(out, sep);
		first = false;
		if (r == 0)
			r = buf_add(out, ttext(lx, i), lx->t[i].len);
	}
	return r;
}

/* One mailbox from tokens [s, e) (no top-level ',', ':' or ';'). */
static int mailbox(struct alex *lx, size_t s, size_t e, struct alist *l)
{
	/* Comments alone are CFWS, not an address: "g: a@b; (end of group)"
	 * (RFC 5322 appendix A.1.3) or "Hidden: (nobody) ;" hold no mailbox,
	 * and making one of the comment would invent an entry (an ENVELOPE
	 * address "MISSING_DOMAIN" inside or after a group). */
	size_t k = s;
	while (k < e && lx->t[k].kind == T_COMMENT)
		k++;
	if (k == e)
		return 0;
	struct buf name = {0}, route = {0}, local = {0}, dom = {0};
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
				r = buf_add(&route, "", 0);
			for (size_t i = lt + 1; i < colon && r == 0; i++) {
				if (lx->t[i].kind == T_COMMENT)
					continue;
				if (lx->t[i].kind == T_SPECIAL)
					r = buf_addc(&route, lx->t[i].c);
				else
					r = buf_add(&route, ttext(lx, i), lx->t[i].len);
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
		r = buf_add(&local, "", 0);
	if (r == 0)
		r = buf_add(&dom, "", 0);
	for (size_t i = as; i < at && r == 0; i++)
		if (lx->t[i].kind == T_ATOM || lx->t[i].kind == T_QSTR)
			r = buf_add(&local, ttext(lx, i), lx->t[i].len);
		else if (lx->t[i].kind == T_SPECIAL && lx->t[i].c != '@' && lx->t[i].c != '<' &&
		         lx->t[i].c != '>')
			r = buf_addc(&local, lx->t[i].c);
	for (size_t i = at + 1; i < ae && r == 0; i++)
		if (lx->t[i].kind == T_ATOM || lx->t[i].kind == T_DLIT)
			r = buf_add(&dom, ttext(lx, i), lx->t[i].len);
	if (r)
		goto out;
	if (!have_name && comment && clen) {
		buf_reset(&name);
		r = buf_add(&name, comment, clen);
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
	buf_free(&name);
	buf_free(&route);
	buf_free(&local);
	buf_free(&dom);
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
	struct buf gname = {0};
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
	buf_free(&gname);
	free(lx.t);
	buf_free(&lx.text);
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
