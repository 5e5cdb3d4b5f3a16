/* vcard: see vcard.h. The reader unfolds one logical line at a time into
 * a buffer, splits it into group, name, parameters and value, and copies
 * what it keeps into the list's arena; the writer folds as it goes. */
#include "contacts/vcard.h"

#include "lib/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- reading ---- */

struct reader {
	const char *p, *end;
	size_t line;  /* of the next physical line */
	struct buf l; /* the logical line being read */
	char *err;
	size_t errlen;
};

static int fail(struct reader *r, size_t line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct reader *r, size_t line, int code, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		int n = snprintf(r->err, r->errlen, "line %zu: ", line);
		va_list ap;
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < r->errlen)
			vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The next logical line into r->l (NUL-terminated, fold removed); its
 * first physical line's number in *line. 1, 0 at the end, or negative. */
static int next_line(struct reader *r, size_t *line)
{
	r->l.len = 0;
	if (r->p >= r->end)
		return 0;
	*line = r->line;
	bool first = true;
	while (r->p < r->end && (first || *r->p == ' ' || *r->p == '\t')) {
		const char *s = first ? r->p : r->p + 1;
		const char *nl = memchr(s, '\n', (size_t)(r->end - s));
		const char *e = nl ? nl : r->end;
		size_t n = (size_t)(e - s);
		if (n && s[n - 1] == '\r')
			n--;
		if (r->l.len + n > VCARD_MAX_LINE)
			return fail(r, *line, -EFBIG, "a content line longer than %u bytes",
			            VCARD_MAX_LINE);
		if (buf_add(&r->l, s, n) < 0)
			return -ENOMEM;
		r->p = nl ? nl + 1 : r->end;
		r->line++;
		first = false;
	}
	if (buf_addc(&r->l, '\0') < 0)
		return -ENOMEM;
	r->l.len--;
	return 1;
}

static bool name_char(unsigned char c)
{
	return isalnum(c) || c == '-';
}

/* RFC 6868: ^n a line break, ^^ a caret, ^' a double quote; any other ^
 * stands for itself. */
static char *param_value(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '^' && i + 1 < n &&
		    (s[i + 1] == 'n' || s[i + 1] == '^' || s[i + 1] == '\'')) {
			*o++ = s[i + 1] == 'n' ? '\n' : s[i + 1] == '^' ? '^' : '"';
			i++;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static char *upper_dup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_strndup(a, s, n);
	for (size_t i = 0; d && i < n; i++)
		d[i] = (char)toupper((unsigned char)d[i]);
	return d;
}

/* One content line: "[group.]name *(;param) :value". 0, or negative with
 * err set. */
static int content_line(struct reader *r, size_t line, struct arena *a, struct vcard_prop *out)
{
	const char *s = r->l.data, *end = r->l.data + r->l.len;
	for (const char *c = s; c < end; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return fail(r, line, -EINVAL, "a control character (RFC 6350 §3.3)");
	const char *q = s;
	while (q < end && (name_char((unsigned char)*q) || *q == '.'))
		q++;
	if (q == s)
		return fail(r, line, -EINVAL, "no property name");
	if (q == end || (*q != ';' && *q != ':'))
		return fail(r, line, -EINVAL, "a property name is letters, digits and '-'");
	const char *dot = memchr(s, '.', (size_t)(q - s));
	const char *name = s;
	*out = (struct vcard_prop){0};
	if (dot) {
		if (dot == s || dot + 1 == q || memchr(dot + 1, '.', (size_t)(q - dot - 1)))
			return fail(r, line, -EINVAL, "a group is one name before one '.'");
		if (!(out->group = arena_strndup(a, s, (size_t)(dot - s))))
			return -ENOMEM;
		name = dot + 1;
	}
	if (!(out->name = upper_dup(a, name, (size_t)(q - name))))
		return -ENOMEM;
	struct vcard_param params[VCARD_MAX_PARAMS];
	size_t np = 0;
	while (q < end && *q == ';') {
		q++;
		const char *pn = q;
		while (q < end && name_char((unsigned char)*q))
			q++;
		if (q == pn)
			return fail(r, line, -EINVAL, "a parameter without a name");
		if (np == VCARD_MAX_PARAMS)
			return fail(r, line, -EFBIG, "more than %d parameters", VCARD_MAX_PARAMS);
		struct vcard_param *p = &params[np++];
		const char *vals[VCARD_MAX_VALUES];
		size_t nv = 0;
		if (q < end && *q == '=') {
			if (!(p->name = upper_dup(a, pn, (size_t)(q - pn))))
				return -ENOMEM;
			do {
				q++; /* '=' or ',' */
				const char *v = q, *ve;
				if (q < end && *q == '"') {
					v = ++q;
					while (q < end && *q != '"')
						q++;
					if (q == end)
						return fail(r, line, -EINVAL,
						            "a quoted value without its end");
					ve = q++;
				} else {
					while (q < end && *q != ',' && *q != ';' && *q != ':' &&
					       *q != '"')
						q++;
					ve = q;
				}
				if (nv == VCARD_MAX_VALUES)
					return fail(r, line, -EFBIG, "more than %d values of %s",
					            VCARD_MAX_VALUES, p->name);
				if (!(vals[nv++] = param_value(a, v, (size_t)(ve - v))))
					return -ENOMEM;
			} while (q < end && *q == ',');
		} else {
			/* vCard 2.1's bare type ("TEL;HOME:"), as old exports write */
			if (!(p->name = arena_strndup(a, "TYPE", 4)) ||
			    !(vals[nv++] = upper_dup(a, pn, (size_t)(q - pn))))
				return -ENOMEM;
		}
		const char **vv = arena_alloc(a, nv * sizeof *vv);
		if (!vv)
			return -ENOMEM;
		memcpy(vv, vals, nv * sizeof *vv);
		p->values = vv;
		p->nvalues = nv;
	}
	if (q == end || *q != ':')
		return fail(r, line, -EINVAL, "no ':' before the value");
	q++;
	if (np) {
		struct vcard_param *pp = arena_alloc(a, np * sizeof *pp);
		if (!pp)
			return -ENOMEM;
		memcpy(pp, params, np * sizeof *pp);
		out->params = pp;
		out->nparams = np;
	}
	if (!(out->value = arena_strndup(a, q, (size_t)(end - q))))
		return -ENOMEM;
	return 0;
}

struct building {
	struct vcard_prop *props;
	size_t n, cap;
};

static int add_prop(struct building *b, const struct vcard_prop *p)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct vcard_prop *np = realloc(b->props, cap * sizeof *np);
		if (!np)
			return -ENOMEM;
		b->props = np;
		b->cap = cap;
	}
	b->props[b->n++] = *p;
	return 0;
}

static int add_card(struct vcard_list *l, size_t *cap, const struct vcard *c)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct vcard *nc = realloc(l->cards, ncap * sizeof *nc);
		if (!nc)
			return -ENOMEM;
		l->cards = nc;
		*cap = ncap;
	}
	l->cards[l->n++] = *c;
	return 0;
}

static int parse(struct reader *r, struct vcard_list *out)
{
	struct building b = {0};
	size_t cards_cap = 0, line = 0, begun = 0;
	bool in = false;
	int version = 0, rc;
	while ((rc = next_line(r, &line)) == 1) {
		if (!in) {
			if (r->l.len == 0)
				continue; /* blank lines between vCards */
			if (strcasecmp(r->l.data, "BEGIN:VCARD") != 0) {
				rc = fail(r, line, -EINVAL, "BEGIN:VCARD expected");
				break;
			}
			if (out->n == VCARD_MAX_CARDS) {
				rc = fail(r, line, -EFBIG, "more than %d vCards", VCARD_MAX_CARDS);
				break;
			}
			in = true;
			begun = line;
			version = 0;
			b.n = 0;
			continue;
		}
		struct vcard_prop p;
		if ((rc = content_line(r, line, &out->arena, &p)) < 0)
			break;
		if (!strcmp(p.name, "BEGIN")) {
			rc = fail(r, line, -EINVAL, "BEGIN inside a vCard");
			break;
		}
		if (!strcmp(p.name, "VERSION")) {
			if (version || p.group || p.nparams) {
				rc = fail(r, line, -EINVAL,
				          "VERSION again, or with a group or parameters");
				break;
			}
			version = !strcmp(p.value, "4.0") ? 40 : !strcmp(p.value, "3.0") ? 30 : -1;
			if (version < 0) {
				rc = fail(r, line, -EINVAL, "VERSION %.20s is not 4.0 or 3.0",
				          p.value);
				break;
			}
			continue;
		}
		if (!strcmp(p.name, "END")) {
			if (strcasecmp(p.value, "VCARD") != 0 || p.group || p.nparams) {
				rc = fail(r, line, -EINVAL, "END:VCARD expected");
				break;
			}
			if (!version) {
				rc = fail(r, begun, -EINVAL, "a vCard without VERSION");
				break;
			}
			struct vcard c = {.version = version, .nprops = b.n};
			struct vcard_prop *props =
			    b.n ? arena_alloc(&out->arena, b.n * sizeof *props) : NULL;
			if (b.n && !props) {
				rc = -ENOMEM;
				break;
			}
			if (b.n)
				memcpy(props, b.props, b.n * sizeof *props);
			c.props = props;
			if ((rc = add_card(out, &cards_cap, &c)) < 0)
				break;
			in = false;
			continue;
		}
		if (b.n == VCARD_MAX_PROPS) {
			rc = fail(r, line, -EFBIG, "more than %d properties", VCARD_MAX_PROPS);
			break;
		}
		if ((rc = add_prop(&b, &p)) < 0)
			break;
	}
	free(b.props);
	if (rc < 0)
		return rc;
	if (in)
		return fail(r, begun, -EINVAL, "a vCard without END:VCARD");
	return 0;
}

int vcard_parse(const char *data, size_t len, struct vcard_list *out, char *err, size_t errlen)
{
	*out = (struct vcard_list){0};
	struct reader r = {.p = data, .end = data + len, .line = 1, .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (len > VCARD_MAX_INPUT)
		return fail(&r, 1, -EFBIG, "a file over %u bytes", VCARD_MAX_INPUT);
	int rc = parse(&r, out);
	buf_free(&r.l);
	if (rc < 0)
		vcard_list_free(out);
	return rc;
}

void vcard_list_free(struct vcard_list *l)
{
	free(l->cards);
	arena_reset(&l->arena);
	l->cards = NULL;
	l->n = 0;
}

/* ---- writing ---- */

struct writer {
	struct buf b;
	size_t col; /* octets on the current physical line */
	bool oom;
};

/* Adds s[0..n) to the current line, folding before 75 octets and never
 * inside a UTF-8 sequence. */
static void put(struct writer *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t seq = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (seq > n - i)
			seq = n - i;
		if (w->col + seq > 75) {
			if (buf_add(&w->b, "\r\n ", 3) < 0)
				w->oom = true;
			w->col = 1;
		}
		if (buf_add(&w->b, s + i, seq) < 0)
			w->oom = true;
		w->col += seq;
		i += seq - 1;
	}
}

static void puts_(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void end_line(struct writer *w)
{
	if (buf_add(&w->b, "\r\n", 2) < 0)
		w->oom = true;
	w->col = 0;
}

static void put_param_value(struct writer *w, const char *v)
{
	bool quote = strpbrk(v, ":;,") != NULL;
	if (quote)
		put(w, "\"", 1);
	for (const char *p = v; *p;) {
		size_t run = strcspn(p, "^\n\"\r");
		put(w, p, run);
		p += run;
		if (*p == '^')
			put(w, "^^", 2);
		else if (*p == '\n')
			put(w, "^n", 2);
		else if (*p == '"')
			put(w, "^'", 2);
		if (*p)
			p++;
	}
	if (quote)
		put(w, "\"", 1);
}

char *vcard_write(const struct vcard *cards, size_t n, size_t *len)
{
	struct writer w = {0};
	for (size_t c = 0; c < n; c++) {
		puts_(&w, "BEGIN:VCARD");
		end_line(&w);
		puts_(&w, cards[c].version == 30 ? "VERSION:3.0" : "VERSION:4.0");
		end_line(&w);
		for (size_t i = 0; i < cards[c].nprops; i++) {
			const struct vcard_prop *p = &cards[c].props[i];
			if (p->group) {
				puts_(&w, p->group);
				put(&w, ".", 1);
			}
			puts_(&w, p->name);
			for (size_t k = 0; k < p->nparams; k++) {
				put(&w, ";", 1);
				puts_(&w, p->params[k].name);
				put(&w, "=", 1);
				for (size_t v = 0; v < p->params[k].nvalues; v++) {
					if (v)
						put(&w, ",", 1);
					put_param_value(&w, p->params[k].values[v]);
				}
			}
			put(&w, ":", 1);
			/* a value never holds a raw line break: the reader unfolded it,
			 * and vcard_escape_text writes \n */
			for (const char *v = p->value; *v;) {
				size_t run = strcspn(v, "\r\n");
				put(&w, v, run);
				v += run;
				if (*v)
					v++;
			}
			end_line(&w);
		}
		puts_(&w, "END:VCARD");
		end_line(&w);
	}
	if (buf_addc(&w.b, '\0') < 0)
		w.oom = true;
	if (w.oom) {
		buf_free(&w.b);
		return NULL;
	}
	*len = w.b.len - 1;
	return w.b.data;
}

/* ---- lookups and values ---- */

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_prop(const struct vcard_prop *p, const struct vcard_prop *q)
{
	if (!same_str(p->group, q->group) || strcmp(p->name, q->name) ||
	    strcmp(p->value, q->value) || p->nparams != q->nparams)
		return false;
	for (size_t k = 0; k < p->nparams; k++) {
		if (strcmp(p->params[k].name, q->params[k].name) ||
		    p->params[k].nvalues != q->params[k].nvalues)
			return false;
		for (size_t v = 0; v < p->params[k].nvalues; v++)
			if (strcmp(p->params[k].values[v], q->params[k].values[v]))
				return false;
	}
	return true;
}

bool vcard_list_equal(const struct vcard_list *a, const struct vcard_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t c = 0; c < a->n; c++) {
		const struct vcard *x = &a->cards[c], *y = &b->cards[c];
		if (x->version != y->version || x->nprops != y->nprops)
			return false;
		for (size_t i = 0; i < x->nprops; i++)
			if (!same_prop(&x->props[i], &y->props[i]))
				return false;
	}
	return true;
}

const struct vcard_prop *vcard_get(const struct vcard *c, const char *name)
{
	for (size_t i = 0; i < c->nprops; i++)
		if (strcasecmp(c->props[i].name, name) == 0)
			return &c->props[i];
	return NULL;
}

const char *vcard_param(const struct vcard_prop *p, const char *name)
{
	for (size_t i = 0; i < p->nparams; i++)
		if (strcasecmp(p->params[i].name, name) == 0 && p->params[i].nvalues)
			return p->params[i].values[0];
	return NULL;
}

/* Decodes s[0..n) as text into a malloc'd string. */
static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			char c = s[++i];
			*o++ = c == 'n' || c == 'N' ? '\n' : c;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

char *vcard_text(const char *value)
{
	return unescape(value, strlen(value));
}

char *vcard_component(const char *value, size_t i)
{
	const char *s = value;
	for (size_t k = 0; k < i; k++) {
		while (*s && *s != ';')
			s += s[0] == '\\' && s[1] ? 2 : 1;
		if (!*s)
			return unescape("", 0);
		s++;
	}
	const char *e = s;
	while (*e && *e != ';')
		e += e[0] == '\\' && e[1] ? 2 : 1;
	return unescape(s, (size_t)(e - s));
}

char *vcard_escape_text(const char *s)
{
	struct buf b = {0};
	int rc = 0;
	for (; *s && rc == 0; s++) {
		if (*s == '\\' || *s == ',' || *s == ';')
			rc = buf_addc(&b, '\\') < 0 ? -1 : buf_addc(&b, *s);
		else if (*s == '\n')
			rc = buf_add(&b, "\\n", 2);
		else if (*s != '\r')
			rc = buf_addc(&b, *s);
	}
	if (rc < 0 || buf_addc(&b, '\0') < 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}
