/* mime.c: the one-pass MIME parser.
 *
 * Why a line-driven state machine and not a recursive splitter: a message
 * is a sequence of lines, and every structural event (end of a header, a
 * boundary delimiter) is a whole line.  Walking the lines once, with a stack
 * of the open multiparts' boundaries, gives every part's offsets in a single
 * pass, handles a boundary that closes several parts at once (an inner
 * multipart that was never closed ends at its parent's next delimiter, as
 * MimeKit and Dovecot do), and needs no recursion at all.
 *
 * State, per line:
 *
 *     HEADER --blank line--> enter_body(cur):
 *         multipart with boundary -> push frame, BODY (preamble)
 *         message/rfc822|global   -> new embedded message part, HEADER
 *         anything else           -> BODY
 *     any state, a line "--boundary" of an open frame (innermost first):
 *         close every part from cur up to that frame's multipart, then
 *         "--boundary--" -> BODY (epilogue of that multipart)
 *         "--boundary"   -> new child part, HEADER
 *     end of input: close every open part at len.
 *
 * Line counts come from a running count of LF bytes at each line start, so
 * a part's lines are computed in O(1) when it closes, never by rescanning
 * (rescanning would cost depth x size on a deeply nested message).
 *
 * Limits: a part at depth MIME_MAX_DEPTH is never multipart or message (it
 * is OPAQUE); after MIME_MAX_PARTS parts the parser stops recognising
 * boundaries at all and the remaining bytes belong to the open parts.
 */
#include "mime/header.h"
#include "mime/mime_int.h"
#include "lib/hex.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* ---- header fields ------------------------------------------------------ */

bool mime_header_get(const struct mime_message *m, const struct mime_part *p, const char *name,
                     const char **value, size_t *vlen)
{
	size_t pos = p->hdr_start;
	const char *n;
	size_t nl;
	while (mime_header_next(m->raw, &pos, p->body_start, &n, &nl, value, vlen) > 0)
		if (mime_ieq(n, nl, name))
			return true;
	return false;
}

static const char *unfold_dup(struct arena *a, const char *v, size_t len)
{
	struct buf b = {0};
	if (mime_unfold(v, len, &b) < 0)
		return NULL;
	char *s = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return s;
}

/* ---- Content-Type and parameters (RFC 2045, RFC 2231) ------------------- */

static bool tspecial(int c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool token_char(int c)
{
	return c > 32 && c < 127 && !tspecial(c);
}

struct seg {
	const char *base; /* original case, NUL-terminated (arena) */
	int section;      /* -1: no *N */
	bool encoded;     /* trailing '*' */
	const char *val;
	size_t vlen;
	bool used;
};

/* Build one parameter from its RFC 2231 segments (already in order). */
static int param_build(struct arena *a, struct seg **g, unsigned n, struct mime_param *out)
{
	struct buf wire = {0}, dec = {0}, tmp = {0};
	char lname[128];
	int r = 0;
	size_t bl = strlen(g[0]->base);
	if (bl >= sizeof(lname))
		bl = sizeof(lname) - 1;
	for (size_t i = 0; i < bl; i++)
		lname[i] = (char)mime_lc((unsigned char)g[0]->base[i]);
	lname[bl] = '\0';
	bool enc = false; /* any segment extended: the result is "name*" */
	for (unsigned i = 0; i < n; i++)
		enc |= g[i]->encoded;
	char charset[64] = "";
	for (unsigned i = 0; i < n && r == 0; i++) {
		const char *v = g[i]->val;
		size_t vl = g[i]->vlen;
		if (i == 0 && enc && !g[0]->encoded) {
			r = buf_add(&wire, "''", 2); /* no charset given */
		} else if (i == 0 && enc) {
			/* charset'language'value */
			const char *q1 = memchr(v, '\'', vl);
			const char *q2 =
			    q1 ? memchr(q1 + 1, '\'', vl - (size_t)(q1 + 1 - v)) : NULL;
			if (q2) {
				size_t cl = (size_t)(q1 - v);
				if (cl < sizeof(charset)) {
					memcpy(charset, v, cl);
					charset[cl] = '\0';
				}
				r = buf_add(&wire, v, (size_t)(q2 + 1 - v));
				vl -= (size_t)(q2 + 1 - v);
				v = q2 + 1;
			} else {
				r = buf_add(&wire, "''", 2);
			}
		} else if (i > 0 && g[i]->encoded && memchr(v, '\'', vl)) {
			/* a later segment repeating "charset'lang'": invalid
			 * (attr-char excludes "'"), seen in the wild; skip it */
			const char *q = v;
			while (q < v + vl &&
			       (token_char((unsigned char)*q) && *q != '%' && *q != '\''))
				q++;
			if (q > v && q < v + vl && *q == '\'') {
				q++;
				vl -= (size_t)(q - v);
				v = q;
			}
		}
		for (size_t j = 0; j < vl && r == 0; j++) {
			unsigned char c = (unsigned char)v[j];
			if (g[i]->encoded && c == '%' && j + 2 < vl && hex_value(v[j + 1]) >= 0 &&
			    hex_value(v[j + 2]) >= 0) {
				char b = (char)(hex_value(v[j + 1]) * 16 + hex_value(v[j + 2]));
				r = buf_addc(&dec, b);
				if (r == 0)
					r = buf_add(&wire, v + j, 3);
				j += 2;
				continue;
			}
			r = buf_addc(&dec, (char)c);
			if (r == 0 && enc && !g[i]->encoded && c == '%') {
				/* a plain segment joined to encoded ones: only
				 * '%' needs escaping (Dovecot's rfc2231_escape) */
				r = buf_add(&wire, "%25", 3);
			} else if (r == 0) {
				r = buf_addc(&wire, (char)c);
			}
		}
	}
	if (r == 0)
		r = buf_add(&dec, "", 0);
	if (r == 0) {
		if (enc)
			r = mime_to_utf8(charset[0] ? charset : "us-ascii", dec.data, dec.len,
			                 &tmp);
		else if (memmem(dec.data, dec.len, "=?", 2))
			r = mime_decode_header_value(dec.data, dec.len, &tmp);
		else
			r = mime_to_utf8("utf-8", dec.data, dec.len, &tmp);
	}
	if (r == 0) {
		char wname[130];
		snprintf(wname, sizeof(wname), "%.*s%s", (int)bl, g[0]->base, enc ? "*" : "");
		out->name = arena_strndup(a, lname, strlen(lname));
		out->wire_name = arena_strndup(a, wname, strlen(wname));
		out->wire_value = arena_strndup(a, wire.data ? wire.data : "", wire.len);
		out->value = arena_strndup(a, tmp.data ? tmp.data : "", tmp.len);
		if (!out->name || !out->wire_name || !out->wire_value || !out->value)
			r = -ENOMEM;
	}
	buf_free(&wire);
	buf_free(&dec);
	buf_free(&tmp);
	return r;
}

#define MAX_SEGS 128

static void params_parse(struct arena *a, const char *s, size_t len, size_t i,
                         struct mime_param **params, unsigned *nparams)
{
	struct seg segs[MAX_SEGS];
	unsigned nseg = 0;
	char *vstore = NULL;
	/* Collect segments; values go into one arena string to stay valid. */
	size_t vcap = len + 1;
	vstore = arena_alloc(a, vcap);
	size_t vused = 0;
	if (!vstore)
		return;
	while (i < len && nseg < MAX_SEGS) {
		while (i < len && (mime_wsp(s[i]) || s[i] == ';'))
			i++;
		size_t ns = i;
		while (i < len && s[i] != '=' && s[i] != ';' && !mime_wsp(s[i]))
			i++;
		size_t ne = i;
		while (i < len && mime_wsp(s[i]))
			i++;
		if (ne == ns || i >= len || s[i] != '=') {
			while (i < len && s[i] != ';')
				i++;
			continue;
		}
		i++;
		while (i < len && mime_wsp(s[i]))
			i++;
		size_t vstart = vused;
		if (i < len && s[i] == '"') {
			i++;
			while (i < len && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				vstore[vused++] = s[i++];
			}
			if (i < len)
				i++;
			/* junk after the closing quote belongs to nothing */
			while (i < len && s[i] != ';')
				i++;
		} else {
			/* An unquoted value runs to the ';' (file names with
			 * spaces are common), unless white space is followed by
			 * "token=": a sender that forgot the ';' between two
			 * parameters. */
			size_t vs = i;
			while (i < len && s[i] != ';') {
				if (mime_wsp(s[i])) {
					size_t k = i;
					while (k < len && mime_wsp(s[k]))
						k++;
					size_t t = k;
					while (t < len && token_char((unsigned char)s[t]))
						t++;
					if (t > k && t < len && s[t] == '=')
						break;
				}
				i++;
			}
			size_t ve = i;
			while (ve > vs && mime_wsp(s[ve - 1]))
				ve--;
			if (ve == vs)
				continue; /* "name=" with nothing: no parameter */
			memcpy(vstore + vused, s + vs, ve - vs);
			vused += ve - vs;
		}
		/* name[*N][*] */
		struct seg *g = &segs[nseg];
		size_t star = ns;
		while (star < ne && s[star] != '*')
			star++;
		g->section = -1;
		g->encoded = false;
		if (star < ne) {
			/* name*  |  name*N  |  name*N* */
			size_t k = star + 1;
			if (k < ne && s[k] >= '0' && s[k] <= '9') {
				int num = 0;
				while (k < ne && s[k] >= '0' && s[k] <= '9' && num < 100000)
					num = num * 10 + (s[k++] - '0');
				g->section = num;
				if (k < ne && s[k] == '*') {
					g->encoded = true;
					k++;
				}
			} else {
				g->encoded = true;
			}
			if (k != ne || star == ns) { /* not RFC 2231 after all */
				star = ne;
				g->section = -1;
				g->encoded = false;
			}
		}
		g->base = arena_strndup(a, s + ns, star - ns);
		g->val = vstore + vstart;
		g->vlen = vused - vstart;
		g->used = false;
		if (!g->base)
			break;
		nseg++;
	}
	if (!nseg)
		return;
	struct mime_param *ps = arena_alloc(a, nseg * sizeof(*ps));
	if (!ps)
		return;
	unsigned np = 0;
	struct seg *grp[MAX_SEGS];
	/* Dovecot's order (rfc2231_parse()): plain parameters as they come,
	 * then the RFC 2231 ones, grouped and sorted by name. */
	for (unsigned k = 0; k < nseg; k++) {
		if (segs[k].section >= 0 || segs[k].encoded)
			continue;
		segs[k].used = true;
		grp[0] = &segs[k];
		if (param_build(a, grp, 1, &ps[np]) == 0)
			np++;
	}
	for (;;) {
		/* the smallest unused name */
		struct seg *first = NULL;
		for (unsigned k = 0; k < nseg; k++)
			if (!segs[k].used && (!first || strcmp(segs[k].base, first->base) < 0))
				first = &segs[k];
		if (!first)
			break;
		unsigned n = 0;
		for (unsigned j = 0; j < nseg; j++) {
			if (segs[j].used || strcasecmp(segs[j].base, first->base) != 0)
				continue;
			segs[j].used = true;
			/* insertion by section number ("name*" counts as 0) */
			int sec = segs[j].section < 0 ? 0 : segs[j].section;
			unsigned at = n;
			while (at > 0 &&
			       (grp[at - 1]->section < 0 ? 0 : grp[at - 1]->section) > sec) {
				grp[at] = grp[at - 1];
				at--;
			}
			grp[at] = &segs[j];
			n++;
		}
		bool contiguous = true;
		for (unsigned j = 0; j < n; j++)
			if ((grp[j]->section < 0 ? 0 : grp[j]->section) != (int)j)
				contiguous = false;
		if (contiguous) {
			if (param_build(a, grp, n, &ps[np]) == 0)
				np++;
			continue;
		}
		/* missing or repeated sections: not RFC 2231 after all, each
		 * segment is its own parameter named as sent (Dovecot) */
		for (unsigned j = 0; j < n; j++) {
			struct seg one = *grp[j];
			char nm[160];
			snprintf(nm, sizeof(nm), "%.100s*%d%s", one.base,
			         one.section < 0 ? 0 : one.section, one.encoded ? "*" : "");
			one.base = arena_strndup(a, nm, strlen(nm));
			one.section = -1;
			one.encoded = false;
			struct seg *op = &one;
			if (one.base && param_build(a, &op, 1, &ps[np]) == 0)
				np++;
		}
	}
	*params = ps;
	*nparams = np;
}

bool mime_ctype_parse(struct arena *a, const char *v, size_t len, bool want_subtype,
                      const char **type, const char **subtype, struct mime_param **params,
                      unsigned *nparams)
{
	struct buf b = {0};
	bool ok = false;
	*type = *subtype = NULL;
	*params = NULL;
	*nparams = 0;
	if (mime_strip_comments(v, len, &b) < 0)
		goto out;
	const char *s = b.data;
	size_t n = b.len, i = 0;
	while (i < n && mime_wsp(s[i]))
		i++;
	size_t ts = i;
	while (i < n && token_char((unsigned char)s[i]))
		i++;
	size_t te = i;
	while (i < n && mime_wsp(s[i]))
		i++;
	if (te > ts) {
		if (!want_subtype) {
			ok = true;
		} else if (i < n && s[i] == '/') {
			i++;
			while (i < n && mime_wsp(s[i]))
				i++;
			size_t ss = i;
			while (i < n && token_char((unsigned char)s[i]))
				i++;
			if (i > ss) {
				*subtype = arena_strndup(a, s + ss, i - ss);
				ok = *subtype != NULL;
			}
		}
		if (ok) {
			*type = arena_strndup(a, s + ts, te - ts);
			ok = *type != NULL;
		}
	}
	/* Parameters start at the first ';'.  When a sender forgot it
	 * ("multipart/mixed<fold>boundary=x"), they start after the type:
	 * losing the boundary would lose the whole structure. */
	const char *semi = memchr(s, ';', n);
	if (semi)
		params_parse(a, s, n, (size_t)(semi - s), params, nparams);
	else if (ok && i < n && memchr(s + i, '=', n - i))
		params_parse(a, s, n, i, params, nparams);
out:
	buf_free(&b);
	return ok;
}

const char *mime_part_param(const struct mime_part *p, const char *name)
{
	for (unsigned i = 0; i < p->nparams; i++)
		if (strcmp(p->params[i].name, name) == 0)
			return p->params[i].value;
	return NULL;
}

bool mime_part_is(const struct mime_part *p, const char *type, const char *subtype)
{
	return strcmp(p->ltype, type) == 0 && (!subtype || strcmp(p->lsubtype, subtype) == 0);
}

/* ---- the parser -------------------------------------------------------- */

enum pstate { ST_HEADER, ST_BODY };

struct frame {
	struct mime_part *mp;
	const char *bnd;
	size_t blen;
	bool epilogue;
};

struct parser {
	const char *raw;
	size_t len;
	struct mime_message *m;
	struct arena *a;
	struct mime_part *cur;
	enum pstate st;
	size_t field; /* start of the pending header field or SIZE_MAX */
	size_t lineno;
	bool frozen;
	unsigned nframes;
	struct frame frames[MIME_MAX_DEPTH + 2];
	bool nomem;
};

struct part_ext {
	struct mime_part p;
	struct mime_part *last_child;
	size_t body_lineno;
	bool hdr_done;
	bool have_ct, have_cte, have_id, have_desc, have_md5, have_loc, have_disp, have_lang;
};

static char *lower_dup(struct arena *a, const char *s)
{
	size_t n = strlen(s);
	char *d = arena_strndup(a, s, n);
	if (d)
		for (size_t i = 0; i < n; i++)
			d[i] = (char)mime_lc((unsigned char)d[i]);
	return d;
}

static struct mime_part *part_new(struct parser *ps, struct mime_part *parent, size_t hdr_start)
{
	struct part_ext *x = arena_alloc(ps->a, sizeof(*x));
	if (!x) {
		ps->nomem = true;
		return NULL;
	}
	struct mime_part *p = &x->p;
	p->parent = parent;
	p->depth = parent ? parent->depth + 1 : 0;
	p->hdr_start = p->body_start = p->body_end = hdr_start;
	ps->m->nparts++;
	return p;
}

static void field_done(struct parser *ps, size_t start, size_t end)
{
	struct part_ext *x = (struct part_ext *)ps->cur;
	struct mime_part *p = ps->cur;
	const char *name, *v;
	size_t nl, vl, pos = start;
	if (mime_header_next(ps->raw, &pos, end, &name, &nl, &v, &vl) <= 0)
		return;
	if (nl < 8 || mime_lc((unsigned char)name[0]) != 'c')
		return;
	if (mime_ieq(name, nl, "content-type")) {
		if (x->have_ct)
			return;
		x->have_ct = true;
		const char *t, *st;
		if (mime_ctype_parse(ps->a, v, vl, true, &t, &st, &p->params, &p->nparams)) {
			p->type = t;
			p->subtype = st;
		}
	} else if (mime_ieq(name, nl, "content-transfer-encoding")) {
		if (x->have_cte)
			return;
		x->have_cte = true;
		const char *t, *st;
		struct mime_param *pp;
		unsigned np;
		if (mime_ctype_parse(ps->a, v, vl, false, &t, &st, &pp, &np))
			p->encoding = t;
	} else if (mime_ieq(name, nl, "content-id")) {
		if (!x->have_id && (x->have_id = true))
			p->id = unfold_dup(ps->a, v, vl);
	} else if (mime_ieq(name, nl, "content-description")) {
		if (!x->have_desc && (x->have_desc = true))
			p->description = unfold_dup(ps->a, v, vl);
	} else if (mime_ieq(name, nl, "content-md5")) {
		if (!x->have_md5 && (x->have_md5 = true))
			p->md5 = unfold_dup(ps->a, v, vl);
	} else if (mime_ieq(name, nl, "content-location")) {
		if (!x->have_loc && (x->have_loc = true))
			p->location = unfold_dup(ps->a, v, vl);
	} else if (mime_ieq(name, nl, "content-disposition")) {
		if (x->have_disp)
			return;
		x->have_disp = true;
		const char *t, *st;
		if (mime_ctype_parse(ps->a, v, vl, false, &t, &st, &p->dparams, &p->ndparams))
			p->disposition = t;
	} else if (mime_ieq(name, nl, "content-language")) {
		if (x->have_lang)
			return;
		x->have_lang = true;
		struct buf b = {0};
		if (mime_strip_comments(v, vl, &b) < 0)
			return;
		unsigned cnt = 0;
		for (size_t i = 0; i < b.len;) {
			while (i < b.len && (mime_wsp(b.data[i]) || b.data[i] == ','))
				i++;
			if (i < b.len)
				cnt++;
			while (i < b.len && !mime_wsp(b.data[i]) && b.data[i] != ',')
				i++;
		}
		if (cnt > 64)
			cnt = 64;
		if (cnt)
			p->languages = arena_alloc(ps->a, cnt * sizeof(char *));
		for (size_t i = 0; p->languages && i < b.len && p->nlanguages < cnt;) {
			while (i < b.len && (mime_wsp(b.data[i]) || b.data[i] == ','))
				i++;
			size_t s = i;
			while (i < b.len && !mime_wsp(b.data[i]) && b.data[i] != ',')
				i++;
			if (i > s) {
				const char *l = arena_strndup(ps->a, b.data + s, i - s);
				if (l)
					p->languages[p->nlanguages++] = l;
			}
		}
		buf_free(&b);
	}
}

/* The header of cur is complete: apply defaults. */
static void header_done(struct parser *ps)
{
	struct mime_part *p = ps->cur;
	struct part_ext *x = (struct part_ext *)p;
	if (x->hdr_done)
		return;
	x->hdr_done = true;
	if (!p->type) {
		p->flags |= MIME_PART_NO_CTYPE;
		if (p->parent && !(p->flags & MIME_PART_MESSAGE) && p->parent->lsubtype &&
		    strcmp(p->parent->lsubtype, "digest") == 0) {
			p->type = "message";
			p->subtype = "rfc822";
		} else {
			p->type = "text";
			p->subtype = "plain";
		}
	}
	p->ltype = lower_dup(ps->a, p->type);
	p->lsubtype = lower_dup(ps->a, p->subtype);
	if (!p->ltype || !p->lsubtype) {
		ps->nomem = true;
		p->ltype = "application";
		p->lsubtype = "octet-stream";
	}
}

static size_t eol_before(const char *raw, size_t at)
{
	if (at > 0 && raw[at - 1] == '\n')
		return (at > 1 && raw[at - 2] == '\r') ? 2 : 1;
	return 0;
}

/* Close part p at end e, where lf_at_e is the number of LFs before e. */
static void part_close(struct parser *ps, struct mime_part *p, size_t e, size_t lf_at_e)
{
	struct part_ext *x = (struct part_ext *)p;
	if (!x->hdr_done) {
		/* the header was cut short by a boundary or the end; an empty
		 * header ("--b\n--b") ends where it starts */
		if (e < p->hdr_start) {
			e = p->hdr_start;
			lf_at_e = 0;
		}
		p->body_start = e;
		x->body_lineno = lf_at_e;
		struct mime_part *save = ps->cur;
		ps->cur = p;
		header_done(ps);
		ps->cur = save;
	}
	if (e < p->body_start) {
		/* "header\n\n--boundary": the blank line is the line break
		 * that belongs to the boundary, so the header ends before it
		 * and the body is empty (MimeKit's offsets agree) */
		p->body_start = e > p->hdr_start ? e : p->hdr_start;
		e = p->body_start;
		lf_at_e = x->body_lineno = 0;
		struct mime_part *em = p->message;
		if (em && em->hdr_start > e) {
			/* its (empty) embedded message moves along */
			em->hdr_start = em->body_start = em->body_end = e;
			em->size = em->lines = 0;
		}
	}
	p->body_end = e;
	p->size = e - p->body_start;
	p->lines = 0;
	if (p->size) {
		p->lines = lf_at_e - x->body_lineno;
		if (ps->raw[e - 1] != '\n')
			p->lines++;
	}
	if ((p->flags & MIME_PART_MULTIPART) && ps->nframes &&
	    ps->frames[ps->nframes - 1].mp == p) {
		if (!ps->frames[ps->nframes - 1].epilogue)
			p->flags |= MIME_PART_TRUNCATED;
		ps->nframes--;
	}
}

/* The header of cur ended; its body starts at body_start (lf = LF count
 * there).  Decide what the body is. */
static void enter_body(struct parser *ps, size_t body_start, size_t lf)
{
	struct mime_part *p = ps->cur;
	struct part_ext *x = (struct part_ext *)p;
	header_done(ps);
	p->body_start = body_start;
	x->body_lineno = lf;
	ps->st = ST_BODY;
	bool limit = p->depth >= MIME_MAX_DEPTH || ps->frozen;
	if (strcmp(p->ltype, "multipart") == 0) {
		const char *b = mime_part_param(p, "boundary");
		if (!b || !*b || strlen(b) > 200)
			return; /* no usable boundary: a leaf, text */
		if (limit) {
			p->flags |= MIME_PART_OPAQUE;
			return;
		}
		p->flags |= MIME_PART_MULTIPART;
		struct frame *f = &ps->frames[ps->nframes++];
		f->mp = p;
		f->bnd = b;
		f->blen = strlen(b);
		f->epilogue = false;
	} else if (strcmp(p->ltype, "message") == 0 &&
	           (strcmp(p->lsubtype, "rfc822") == 0 || strcmp(p->lsubtype, "global") == 0)) {
		if (mime_part_encoding(p) != MIME_ENC_IDENTITY)
			return; /* an encoded message is opaque data */
		if (limit || ps->m->nparts >= MIME_MAX_PARTS) {
			p->flags |= MIME_PART_OPAQUE;
			return;
		}
		struct mime_part *e = part_new(ps, p, body_start);
		if (!e)
			return;
		((struct part_ext *)e)->body_lineno = lf;
		e->flags |= MIME_PART_MESSAGE;
		p->message = e;
		ps->cur = e;
		ps->st = ST_HEADER;
		ps->field = SIZE_MAX;
	}
}

/* Does line [s, ce) match an open boundary?  Returns the frame index or -1;
 * *close tells a close delimiter. */
static int boundary_match(struct parser *ps, size_t s, size_t ce, bool *close)
{
	const char *l = ps->raw + s + 2;
	size_t n = ce - s - 2;
	for (int k = (int)ps->nframes - 1; k >= 0; k--) {
		struct frame *f = &ps->frames[k];
		if (f->epilogue || n < f->blen || memcmp(l, f->bnd, f->blen) != 0)
			continue;
		const char *r = l + f->blen;
		size_t rn = n - f->blen;
		if (rn >= 2 && r[0] == '-' && r[1] == '-') {
			*close = true;
			return k;
		}
		size_t i = 0;
		while (i < rn && (mime_wsp(r[i]) || r[i] == '\r'))
			i++;
		if (i == rn) {
			*close = false;
			return k;
		}
	}
	return -1;
}

static void on_boundary(struct parser *ps, int k, bool close, size_t s, size_t next)
{
	struct frame *f = &ps->frames[k];
	struct mime_part *mp = f->mp;
	size_t eol = eol_before(ps->raw, s);
	size_t e = s - eol;
	size_t lf_e = ps->lineno - (eol ? 1 : 0);
	if (ps->st == ST_HEADER && ps->field != SIZE_MAX) {
		field_done(ps, ps->field, s);
		ps->field = SIZE_MAX;
	}
	for (struct mime_part *p = ps->cur; p && p != mp; p = p->parent)
		part_close(ps, p, e, lf_e);
	ps->nframes = (unsigned)k + 1;
	ps->cur = mp;
	ps->st = ST_BODY;
	if (close) {
		f->epilogue = true;
		return;
	}
	struct mime_part *c = part_new(ps, mp, next);
	if (!c)
		return;
	struct part_ext *mx = (struct part_ext *)mp;
	if (mx->last_child)
		mx->last_child->next = c;
	else
		mp->children = c;
	mx->last_child = c;
	mp->nchildren++;
	ps->cur = c;
	ps->st = ST_HEADER;
	ps->field = SIZE_MAX;
}

int mime_parse(const char *msg, size_t len, struct mime_message **out)
{
	*out = NULL;
	struct mime_message *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->raw = msg;
	m->len = len;
	m->arena = mime_arena_new();
	struct parser *ps = calloc(1, sizeof(*ps));
	if (!m->arena || !ps) {
		free(ps);
		mime_free(&m);
		return -ENOMEM;
	}
	ps->raw = msg;
	ps->len = len;
	ps->m = m;
	ps->a = m->arena;
	ps->field = SIZE_MAX;
	m->root = part_new(ps, NULL, 0);
	if (!m->root) {
		free(ps);
		mime_free(&m);
		return -ENOMEM;
	}
	m->root->flags |= MIME_PART_MESSAGE;
	ps->cur = m->root;
	ps->st = ST_HEADER;

	size_t pos = 0;
	while (pos < len && !ps->nomem) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t next = nl ? (size_t)(nl - msg) + 1 : len;
		size_t ce = nl ? (size_t)(nl - msg) : len;
		if (ce > pos && msg[ce - 1] == '\r')
			ce--;
		if (ps->nframes && !ps->frozen && ce - pos >= 2 && msg[pos] == '-' &&
		    msg[pos + 1] == '-') {
			bool close = false;
			int k = boundary_match(ps, pos, ce, &close);
			if (k >= 0 && !close && m->nparts >= MIME_MAX_PARTS)
				ps->frozen = true;
			else if (k >= 0) {
				on_boundary(ps, k, close, pos, next);
				pos = next;
				ps->lineno += nl ? 1 : 0;
				continue;
			}
		}
		if (ps->st == ST_HEADER) {
			if (ce == pos) {
				if (ps->field != SIZE_MAX)
					field_done(ps, ps->field, pos);
				ps->field = SIZE_MAX;
				enter_body(ps, next, ps->lineno + (nl ? 1 : 0));
			} else if (mime_wsp(msg[pos])) {
				/* continuation of the pending field (or stray) */
			} else if (mime_field_line(msg + pos, msg + ce)) {
				if (ps->field != SIZE_MAX)
					field_done(ps, ps->field, pos);
				ps->field = pos;
			} else {
				/* Not a header field ("From " lines, a body
				 * that forgot its blank line).  MimeKit and
				 * Dovecot keep such lines in the header, which
				 * only a blank line ends; so do we. */
				if (ps->field != SIZE_MAX)
					field_done(ps, ps->field, pos);
				ps->field = SIZE_MAX;
			}
		}
		pos = next;
		ps->lineno += nl ? 1 : 0;
	}
	if (ps->st == ST_HEADER && ps->field != SIZE_MAX)
		field_done(ps, ps->field, len);
	for (struct mime_part *p = ps->cur; p; p = p->parent)
		part_close(ps, p, len, ps->lineno);
	bool nomem = ps->nomem;
	free(ps);
	if (nomem) {
		mime_free(&m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void mime_free(struct mime_message **m)
{
	if (!*m)
		return;
	mime_arena_free((*m)->arena);
	free(*m);
	*m = NULL;
}
