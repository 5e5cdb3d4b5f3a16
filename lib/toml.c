/* toml.c: TOML 1.0.0 parser (see toml.h for the contract).
 *
 * Why it looks like this: tern reads its configuration once at startup and
 * must reject a bad file with a precise line:col instead of half-applying
 * it, so the parser accepts and rejects exactly what TOML 1.0.0 does.
 *
 * 1. A validating pre-pass checks the whole input for invalid UTF-8 and the
 *    control characters TOML 1.0 forbids everywhere (strings and comments
 *    alike: everything below U+0020 except tab, LF and the CR of a CRLF, plus
 *    DEL). The grammar code can then copy bytes without re-checking them.
 * 2. A recursive-descent parser builds the tree. Recursion only happens for
 *    arrays and inline tables and is capped at TOML_MAX_NEST; the tree depth
 *    (header paths, dotted keys) is capped at TOML_MAX_DEPTH.
 * 3. The (re)definition rules are enforced with per-table flags:
 *    F_DEFINED  opened by a [header] (or is a [[header]] element): a second
 *               [header] for it is an error;
 *    F_DOTTED   created by a dotted key: can be extended by more dotted keys
 *               in the same table body and by [a.b.c] sub-headers, but never
 *               opened with [header] itself;
 *    F_INLINE   an inline table: immutable once written;
 *    F_AOT      an array created by [[header]]: only those can be appended
 *               to, and a header path through one goes to its last element.
 *    A table with none of the first three flags was created implicitly by a
 *    header path ([a.b] creates a) and may still be opened once by [a].
 *
 * Tables keep insertion order in an entry array and add an open-addressing
 * hash index once they grow past a few keys, so no input is quadratic.
 * toml_free walks the tree through an intrusive list: no recursion. */

#include "lib/toml.h"
#include "lib/utf8.h"
#include "lib/hex.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	F_DEFINED = 1,
	F_DOTTED = 2,
	F_INLINE = 4,
	F_AOT = 8,
};

#define HASH_MIN 8 /* tables with at least this many keys get a hash index */

struct entry {
	char *key;
	size_t klen;
	uint32_t hash;
	struct toml_value *val;
};

struct toml_value {
	enum toml_type type;
	unsigned flags;
	int line, col;
	struct toml_value *free_next;
	union {
		struct {
			char *s;
			size_t len;
		} str; /* TOML_STRING and the four date/time types */
		int64_t i;
		double f;
		bool b;
		struct {
			struct toml_value **items;
			size_t n, cap;
		} arr;
		struct {
			struct entry *e;
			size_t n, cap;
			uint32_t *idx; /* entry index + 1, 0 = empty; icap is a power of 2 */
			size_t icap;
		} tab;
	} u;
};

struct parser {
	const char *s;
	size_t len, pos;
	int line;
	size_t line_start;
	struct toml_error *err;
	bool failed;
	struct toml_value *root, *cur;
	int cur_depth; /* tree depth of cur (root = 0) */
	int nest;      /* current array / inline table nesting */
};

/* Growable byte buffer for decoded strings and keys. */
struct sbuf {
	char *d;
	size_t n, cap;
};

struct keyseg {
	char *s;
	size_t len;
	int line, col;
};

struct keypath {
	struct keyseg *seg;
	size_t n, cap;
};

/* ---- errors and position ---------------------------------------------- */

static int clamp_int(size_t v)
{
	return v > (size_t)INT32_MAX ? INT32_MAX : (int)v;
}

static int col_here(const struct parser *p)
{
	return clamp_int(p->pos - p->line_start + 1);
}

static int fail_at(struct parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(struct parser *p, int line, int col, const char *fmt, ...)
{
	if (p->failed)
		return -1;
	p->failed = true;
	if (p->err) {
		va_list ap;
		p->err->line = line;
		p->err->col = col;
		va_start(ap, fmt);
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

#define fail(p, ...) fail_at((p), (p)->line, col_here(p), __VA_ARGS__)

/* A printable description of the byte at pos, for messages. */
static const char *what_here(const struct parser *p, char *buf, size_t len)
{
	if (p->pos >= p->len)
		return "end of file";
	unsigned char c = (unsigned char)p->s[p->pos];
	if (c == '\n' || c == '\r')
		return "newline";
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", c);
	return buf;
}

/* ---- small helpers ---------------------------------------------------- */

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const struct parser *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->s[p->pos + off] : -1;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
		p->pos++;
}

/* Comments run to the end of the line; their contents were checked by the
 * pre-pass, and a CR there is always part of a CRLF. */
static void skip_comment(struct parser *p)
{
	if (peek(p) != '#')
		return;
	while (p->pos < p->len && p->s[p->pos] != '\n' && p->s[p->pos] != '\r')
		p->pos++;
}

static bool eat_newline(struct parser *p)
{
	int c = peek(p);
	if (c == '\r' && peek_at(p, 1) == '\n')
		p->pos++;
	else if (c != '\n')
		return false;
	p->pos++;
	if (p->line < INT32_MAX)
		p->line++;
	p->line_start = p->pos;
	return true;
}

/* Whitespace, comments and newlines, as allowed inside arrays. */
static void skip_wcn(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		skip_comment(p);
		if (!eat_newline(p))
			return;
	}
}

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int sb_reserve(struct parser *p, struct sbuf *b, size_t extra)
{
	if (extra < b->cap - b->n)
		return 0; /* always keep room for a terminating NUL */
	size_t ncap = b->cap ? b->cap : 32;
	while (ncap - b->n <= extra) {
		if (ncap > SIZE_MAX / 2)
			return fail(p, "out of memory");
		ncap *= 2;
	}
	char *d = realloc(b->d, ncap);
	if (!d)
		return fail(p, "out of memory");
	b->d = d;
	b->cap = ncap;
	return 0;
}

static int sb_put(struct parser *p, struct sbuf *b, const char *data, size_t n)
{
	if (sb_reserve(p, b, n))
		return -1;
	memcpy(b->d + b->n, data, n);
	b->n += n;
	b->d[b->n] = '\0';
	return 0;
}

static int sb_utf8(struct parser *p, struct sbuf *b, uint32_t cp)
{
	char u[4];
	return sb_put(p, b, u, utf8_encode(cp, u));
}

/* Hand the buffer's bytes over (NUL-terminated, possibly empty). */
static char *sb_take(struct parser *p, struct sbuf *b, size_t *len)
{
	if (!b->d && sb_reserve(p, b, 0))
		return NULL;
	b->d[b->n] = '\0';
	char *d = b->d;
	*len = b->n;
	b->d = NULL;
	b->n = b->cap = 0;
	return d;
}

static void kp_free(struct keypath *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->seg[i].s);
	free(k->seg);
	k->seg = NULL;
	k->n = k->cap = 0;
}

/* ---- values and tables ------------------------------------------------ */

static struct toml_value *new_value(struct parser *p, enum toml_type type, int line, int col)
{
	struct toml_value *v = calloc(1, sizeof(*v));
	if (!v) {
		fail_at(p, line, col, "out of memory");
		return NULL;
	}
	v->type = type;
	v->line = line;
	v->col = col;
	return v;
}

void toml_free(struct toml_value **pv)
{
	if (!pv || !*pv)
		return;
	struct toml_value *stack = *pv;
	*pv = NULL;
	stack->free_next = NULL;
	while (stack) {
		struct toml_value *v = stack;
		stack = v->free_next;
		switch (v->type) {
		case TOML_ARRAY:
			for (size_t i = 0; i < v->u.arr.n; i++) {
				v->u.arr.items[i]->free_next = stack;
				stack = v->u.arr.items[i];
			}
			free(v->u.arr.items);
			break;
		case TOML_TABLE:
			for (size_t i = 0; i < v->u.tab.n; i++) {
				free(v->u.tab.e[i].key);
				v->u.tab.e[i].val->free_next = stack;
				stack = v->u.tab.e[i].val;
			}
			free(v->u.tab.e);
			free(v->u.tab.idx);
			break;
		case TOML_STRING:
		case TOML_DATETIME:
		case TOML_DATETIME_LOCAL:
		case TOML_DATE_LOCAL:
		case TOML_TIME_LOCAL:
			free(v->u.str.s);
			break;
		default:
			break;
		}
		free(v);
	}
}

static uint32_t hash_key(const char *k, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 16777619u;
	}
	return h;
}

static struct entry *table_find_h(const struct toml_value *t, const char *k, size_t n, uint32_t h)
{
	if (t->u.tab.idx) {
		size_t mask = t->u.tab.icap - 1;
		for (size_t i = h & mask;; i = (i + 1) & mask) {
			uint32_t x = t->u.tab.idx[i];
			if (!x)
				return NULL;
			struct entry *e = &t->u.tab.e[x - 1];
			if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0)
				return e;
		}
	}
	for (size_t i = 0; i < t->u.tab.n; i++) {
		struct entry *e = &t->u.tab.e[i];
		if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0)
			return e;
	}
	return NULL;
}

static struct toml_value *table_find(const struct toml_value *t, const char *k, size_t n)
{
	struct entry *e = table_find_h(t, k, n, hash_key(k, n));
	return e ? e->val : NULL;
}

static int table_reindex(struct toml_value *t, size_t icap)
{
	uint32_t *idx = calloc(icap, sizeof(*idx));
	if (!idx)
		return -1;
	for (size_t j = 0; j < t->u.tab.n; j++) {
		size_t i = t->u.tab.e[j].hash & (icap - 1);
		while (idx[i])
			i = (i + 1) & (icap - 1);
		idx[i] = (uint32_t)(j + 1);
	}
	free(t->u.tab.idx);
	t->u.tab.idx = idx;
	t->u.tab.icap = icap;
	return 0;
}

/* Add key -> val to t; the key is copied. The caller has checked that the
 * key is absent. On failure val is NOT freed (the caller owns it). */
static int table_add(struct parser *p, struct toml_value *t, const char *k, size_t n,
                     struct toml_value *val)
{
	if (t->u.tab.n >= UINT32_MAX - 1)
		return fail(p, "too many keys in one table");
	if (t->u.tab.n == t->u.tab.cap) {
		size_t ncap = t->u.tab.cap ? t->u.tab.cap * 2 : 4;
		struct entry *e = realloc(t->u.tab.e, ncap * sizeof(*e));
		if (!e)
			return fail(p, "out of memory");
		t->u.tab.e = e;
		t->u.tab.cap = ncap;
	}
	char *key = malloc(n + 1);
	if (!key)
		return fail(p, "out of memory");
	memcpy(key, k, n);
	key[n] = '\0';
	struct entry *e = &t->u.tab.e[t->u.tab.n++];
	e->key = key;
	e->klen = n;
	e->hash = hash_key(k, n);
	e->val = val;
	size_t cnt = t->u.tab.n;
	if (cnt >= HASH_MIN && cnt * 2 > t->u.tab.icap) {
		size_t icap = 16;
		while (icap < cnt * 4)
			icap *= 2;
		if (table_reindex(t, icap)) {
			t->u.tab.n--;
			free(key);
			return fail(p, "out of memory");
		}
	} else if (t->u.tab.idx) {
		size_t mask = t->u.tab.icap - 1, i = e->hash & mask;
		while (t->u.tab.idx[i])
			i = (i + 1) & mask;
		t->u.tab.idx[i] = (uint32_t)cnt;
	}
	return 0;
}

static int array_push(struct parser *p, struct toml_value *a, struct toml_value *v)
{
	if (a->u.arr.n == a->u.arr.cap) {
		size_t ncap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
		struct toml_value **items = realloc(a->u.arr.items, ncap * sizeof(*items));
		if (!items)
			return fail(p, "out of memory");
		a->u.arr.items = items;
		a->u.arr.cap = ncap;
	}
	a->u.arr.items[a->u.arr.n++] = v;
	return 0;
}

/* ---- pre-pass: UTF-8 and control characters ---------------------------- */

static int validate(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;
	size_t i = p->pos, ls = p->line_start;
	int line = 1;
	while (i < p->len) {
		unsigned c = s[i];
		if (c < 0x80) {
			if (c == '\n') {
				line += line < INT32_MAX;
				ls = ++i;
				continue;
			}
			if (c == '\r' && i + 1 < p->len && s[i + 1] == '\n') {
				i++;
				continue;
			}
			if (c == '\r')
				return fail_at(p, line, clamp_int(i - ls + 1),
				               "carriage return not followed by newline");
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail_at(p, line, clamp_int(i - ls + 1),
				               "control character 0x%02x not allowed", c);
			i++;
			continue;
		}
		size_t n;
		unsigned lo = 0x80, hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		else
			return fail_at(p, line, clamp_int(i - ls + 1), "invalid UTF-8");
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
		else if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* > U+10FFFF */
		if (p->len - i < n || s[i + 1] < lo || s[i + 1] > hi)
			return fail_at(p, line, clamp_int(i - ls + 1), "invalid UTF-8");
		for (size_t k = 2; k < n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return fail_at(p, line, clamp_int(i - ls + 1), "invalid UTF-8");
		i += n;
	}
	return 0;
}

/* ---- strings ---------------------------------------------------------- */

/* At a backslash inside a basic string: decode one escape. */
static int parse_escape(struct parser *p, struct sbuf *b)
{
	int line = p->line, col = col_here(p);
	int c = peek_at(p, 1);
	char ch;
	switch (c) {
	case 'b':
		ch = '\b';
		break;
	case 't':
		ch = '\t';
		break;
	case 'n':
		ch = '\n';
		break;
	case 'f':
		ch = '\f';
		break;
	case 'r':
		ch = '\r';
		break;
	case '"':
		ch = '"';
		break;
	case '\\':
		ch = '\\';
		break;
	case 'u':
	case 'U': {
		int nd = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (int i = 0; i < nd; i++) {
			int h = hex_value(peek_at(p, 2 + (size_t)i));
			if (h < 0)
				return fail_at(p, line, col, "\\%c escape needs %d hex digits", c,
				               nd);
			cp = cp << 4 | (uint32_t)h;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return fail_at(p, line, col, "\\%c escape is not a Unicode scalar value",
			               c);
		p->pos += 2 + (size_t)nd;
		return sb_utf8(p, b, cp);
	}
	default:
		return fail_at(p, line, col, "invalid escape sequence");
	}
	p->pos += 2;
	return sb_put(p, b, &ch, 1);
}

/* Copy a run of bytes that need no interpretation, stopping at any of the
 * special characters for the string kind. */
static int copy_run(struct parser *p, struct sbuf *b, bool basic)
{
	size_t st = p->pos;
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c == '\n' || c == '\r' || c == '\'' || c == '"' || (basic && c == '\\'))
			break;
		p->pos++;
	}
	return p->pos > st ? sb_put(p, b, p->s + st, p->pos - st) : 0;
}

/* "..." or '...' (single line). */
static int parse_line_string(struct parser *p, struct sbuf *b)
{
	int line = p->line, col = col_here(p);
	char q = p->s[p->pos++];
	for (;;) {
		if (copy_run(p, b, q == '"'))
			return -1;
		int c = peek(p);
		if (c == -1 || c == '\n' || c == '\r')
			return fail_at(p, line, col, "unterminated string");
		if (c == q) {
			p->pos++;
			return 0;
		}
		if (c == '\\' && q == '"') {
			if (parse_escape(p, b))
				return -1;
		} else {
			if (sb_put(p, b, p->s + p->pos, 1))
				return -1;
			p->pos++;
		}
	}
}

/* """...""" or '''...'''. */
static int parse_ml_string(struct parser *p, struct sbuf *b)
{
	int line = p->line, col = col_here(p);
	char q = p->s[p->pos];
	p->pos += 3;
	eat_newline(p); /* a newline right after the opening delimiter is trimmed */
	for (;;) {
		if (copy_run(p, b, q == '"'))
			return -1;
		int c = peek(p);
		if (c == -1)
			return fail_at(p, line, col, "unterminated multi-line string");
		if (c == q) {
			size_t n = 0;
			while (peek_at(p, n) == q)
				n++;
			if (n >= 3) {
				if (n > 5)
					return fail(p, "too many quotes in multi-line string");
				if (sb_put(p, b, p->s + p->pos, n - 3))
					return -1;
				p->pos += n;
				return 0;
			}
			if (sb_put(p, b, p->s + p->pos, n))
				return -1;
			p->pos += n;
		} else if (c == '\n' || c == '\r') {
			eat_newline(p);
			if (sb_put(p, b, "\n", 1))
				return -1;
		} else if (c == '\\' && q == '"') {
			int d = peek_at(p, 1);
			if (d == ' ' || d == '\t' || d == '\n' || d == '\r') {
				/* line-ending backslash: trim whitespace and newlines */
				int l = p->line, cl = col_here(p);
				p->pos++;
				skip_ws(p);
				if (!eat_newline(p))
					return fail_at(p, l, cl, "invalid escape sequence");
				for (;;) {
					skip_ws(p);
					if (!eat_newline(p))
						break;
				}
			} else if (parse_escape(p, b)) {
				return -1;
			}
		} else {
			/* the other quote character */
			if (sb_put(p, b, p->s + p->pos, 1))
				return -1;
			p->pos++;
		}
	}
}

/* ---- keys ------------------------------------------------------------- */

/* key = simple-key *( ws "." ws simple-key ); leaves pos after the last
 * simple key's trailing whitespace. */
static int parse_key(struct parser *p, struct keypath *kp)
{
	for (;;) {
		struct keyseg sg = {NULL, 0, p->line, col_here(p)};
		int c = peek(p);
		if (c == '"' || c == '\'') {
			if (peek_at(p, 1) == c && peek_at(p, 2) == c)
				return fail(p, "a multi-line string cannot be a key");
			struct sbuf b = {0};
			if (parse_line_string(p, &b) || !(sg.s = sb_take(p, &b, &sg.len))) {
				free(b.d);
				return -1;
			}
		} else if (is_bare(c)) {
			size_t st = p->pos;
			while (is_bare(peek(p)))
				p->pos++;
			struct sbuf b = {0};
			if (sb_put(p, &b, p->s + st, p->pos - st) ||
			    !(sg.s = sb_take(p, &b, &sg.len))) {
				free(b.d);
				return -1;
			}
		} else {
			char w[16];
			return fail(p, "expected a key, found %s", what_here(p, w, sizeof(w)));
		}
		if (kp->n == kp->cap) {
			size_t ncap = kp->cap ? kp->cap * 2 : 4;
			struct keyseg *seg = realloc(kp->seg, ncap * sizeof(*seg));
			if (!seg) {
				free(sg.s);
				return fail(p, "out of memory");
			}
			kp->seg = seg;
			kp->cap = ncap;
		}
		kp->seg[kp->n++] = sg;
		if (kp->n > TOML_MAX_DEPTH)
			return fail_at(p, sg.line, sg.col, "key has too many parts (limit %d)",
			               TOML_MAX_DEPTH);
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		p->pos++;
		skip_ws(p);
	}
}

/* ---- scalars ---------------------------------------------------------- */

static bool is_radix_digit(int c, int radix)
{
	switch (radix) {
	case 2:
		return c == '0' || c == '1';
	case 8:
		return c >= '0' && c <= '7';
	case 16:
		return hex_value(c) >= 0;
	default:
		return is_digit(c);
	}
}

/* digits with single underscores between digits; returns the end or NULL. */
static const char *scan_digits(const char *s, const char *e, int radix)
{
	if (s >= e || !is_radix_digit((unsigned char)*s, radix))
		return NULL;
	s++;
	while (s < e) {
		if (*s == '_') {
			if (s + 1 >= e || !is_radix_digit((unsigned char)s[1], radix))
				return NULL;
			s += 2;
		} else if (is_radix_digit((unsigned char)*s, radix)) {
			s++;
		} else {
			break;
		}
	}
	return s;
}

static bool is_numchar(int c)
{
	return is_bare(c) || c == '.' || c == '+';
}

static struct toml_value *parse_number(struct parser *p, int line, int col)
{
	size_t st = p->pos;
	while (is_numchar(peek(p)))
		p->pos++;
	const char *s = p->s + st, *e = p->s + p->pos, *q;
	bool sign = false;
	if (s < e && (*s == '+' || *s == '-')) {
		sign = true;
		s++;
	}
	if (e - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
		int radix = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		if (sign) {
			fail_at(p, line, col,
			        "a sign is not allowed on hex, octal or binary integers");
			return NULL;
		}
		q = scan_digits(s + 2, e, radix);
		if (!q || q != e) {
			fail_at(p, line, col, "invalid integer");
			return NULL;
		}
		uint64_t v = 0;
		for (q = s + 2; q < e; q++) {
			if (*q == '_')
				continue;
			uint64_t d = (uint64_t)hex_value((unsigned char)*q);
			if (v > ((uint64_t)INT64_MAX - d) / (uint64_t)radix) {
				fail_at(p, line, col, "integer out of range");
				return NULL;
			}
			v = v * (uint64_t)radix + d;
		}
		struct toml_value *r = new_value(p, TOML_INTEGER, line, col);
		if (r)
			r->u.i = (int64_t)v;
		return r;
	}
	q = scan_digits(s, e, 10);
	if (!q) {
		fail_at(p, line, col, "invalid number");
		return NULL;
	}
	if (s[0] == '0' && q - s > 1) {
		fail_at(p, line, col, "leading zeros are not allowed");
		return NULL;
	}
	bool is_float = false;
	if (q < e && *q == '.') {
		q = scan_digits(q + 1, e, 10);
		is_float = true;
	}
	if (q && q < e && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < e && (*q == '+' || *q == '-'))
			q++;
		q = scan_digits(q, e, 10);
		is_float = true;
	}
	if (!q || q != e) {
		fail_at(p, line, col, is_float ? "invalid float" : "invalid number");
		return NULL;
	}
	char *buf = malloc((size_t)(e - (p->s + st)) + 1);
	if (!buf) {
		fail_at(p, line, col, "out of memory");
		return NULL;
	}
	size_t n = 0;
	for (q = p->s + st; q < e; q++)
		if (*q != '_')
			buf[n++] = *q;
	buf[n] = '\0';
	struct toml_value *r = NULL;
	char *end;
	errno = 0;
	if (is_float) {
		double d = strtod(buf, &end);
		if (*end) /* only if a non-C LC_NUMERIC was installed */
			fail_at(p, line, col, "cannot convert float (LC_NUMERIC is not \"C\")");
		else if (isinf(d))
			fail_at(p, line, col, "float out of range");
		else if ((r = new_value(p, TOML_FLOAT, line, col)))
			r->u.f = d;
	} else {
		long long v = strtoll(buf, &end, 10);
		if (errno == ERANGE)
			fail_at(p, line, col, "integer out of range");
		else if ((r = new_value(p, TOML_INTEGER, line, col)))
			r->u.i = (int64_t)v;
	}
	free(buf);
	return r;
}

static bool digits_at(const struct parser *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(peek_at(p, off + i)))
			return false;
	return true;
}

static int num_at(const struct parser *p, size_t off, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p->s[p->pos + off + i] - '0');
	return v;
}

static bool time_at(const struct parser *p, size_t off)
{
	return digits_at(p, off, 2) && peek_at(p, off + 2) == ':';
}

/* Offset date-time, local date-time, local date or local time. Called when
 * the input starts with DDDD- or DD:. */
static struct toml_value *parse_datetime(struct parser *p, int line, int col)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct sbuf b = {0};
	enum toml_type type = TOML_TIME_LOCAL;
	bool has_time = true;
	if (!time_at(p, 0)) {
		if (!(digits_at(p, 0, 4) && peek_at(p, 4) == '-' && digits_at(p, 5, 2) &&
		      peek_at(p, 7) == '-' && digits_at(p, 8, 2))) {
			fail_at(p, line, col, "invalid date (expected YYYY-MM-DD)");
			goto err;
		}
		int y = num_at(p, 0, 4), m = num_at(p, 5, 2), d = num_at(p, 8, 2);
		if (m < 1 || m > 12) {
			fail_at(p, line, col, "invalid month %d", m);
			goto err;
		}
		int md = mdays[m - 1];
		if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
			md = 29;
		if (d < 1 || d > md) {
			fail_at(p, line, col, "invalid day %d of month %d", d, m);
			goto err;
		}
		if (sb_put(p, &b, p->s + p->pos, 10))
			goto err;
		p->pos += 10;
		int c = peek(p);
		if (c == 'T' || c == 't' || (c == ' ' && time_at(p, 1))) {
			p->pos++;
			type = TOML_DATETIME_LOCAL;
			if (sb_put(p, &b, "T", 1))
				goto err;
		} else {
			type = TOML_DATE_LOCAL;
			has_time = false;
		}
	}
	if (has_time) {
		if (!(time_at(p, 0) && digits_at(p, 3, 2) && peek_at(p, 5) == ':' &&
		      digits_at(p, 6, 2))) {
			fail(p, "invalid time (expected HH:MM:SS)");
			goto err;
		}
		int h = num_at(p, 0, 2), mi = num_at(p, 3, 2), s = num_at(p, 6, 2);
		if (h > 23 || mi > 59 || s > 60) {
			fail(p, "invalid time %02d:%02d:%02d", h, mi, s);
			goto err;
		}
		if (sb_put(p, &b, p->s + p->pos, 8))
			goto err;
		p->pos += 8;
		if (peek(p) == '.') {
			size_t n = 0;
			while (is_digit(peek_at(p, 1 + n)))
				n++;
			if (n == 0) {
				fail(p, "expected digits after '.' in time");
				goto err;
			}
			if (sb_put(p, &b, p->s + p->pos, n + 1))
				goto err;
			p->pos += n + 1;
		}
		if (type == TOML_DATETIME_LOCAL) {
			int c = peek(p);
			if (c == 'Z' || c == 'z') {
				p->pos++;
				type = TOML_DATETIME;
				if (sb_put(p, &b, "Z", 1))
					goto err;
			} else if (c == '+' || c == '-') {
				if (!(digits_at(p, 1, 2) && peek_at(p, 3) == ':' &&
				      digits_at(p, 4, 2))) {
					fail(p, "invalid time offset (expected +HH:MM)");
					goto err;
				}
				if (num_at(p, 1, 2) > 23 || num_at(p, 4, 2) > 59) {
					fail(p, "invalid time offset");
					goto err;
				}
				if (sb_put(p, &b, p->s + p->pos, 6))
					goto err;
				p->pos += 6;
				type = TOML_DATETIME;
			}
		}
	}
	struct toml_value *v = new_value(p, type, line, col);
	if (!v)
		goto err;
	if (!(v->u.str.s = sb_take(p, &b, &v->u.str.len))) {
		free(v);
		goto err;
	}
	return v;
err:
	free(b.d);
	return NULL;
}

/* ---- values, arrays, inline tables ------------------------------------- */

static struct toml_value *parse_value(struct parser *p, int depth);
static int parse_keyval(struct parser *p, struct toml_value *tab, int depth);

static struct toml_value *parse_array(struct parser *p, int depth)
{
	int line = p->line, col = col_here(p);
	if (p->nest >= TOML_MAX_NEST || depth > TOML_MAX_DEPTH) {
		fail(p, "arrays and inline tables nested too deeply");
		return NULL;
	}
	struct toml_value *a = new_value(p, TOML_ARRAY, line, col);
	if (!a)
		return NULL;
	p->nest++;
	p->pos++;
	for (;;) {
		skip_wcn(p);
		if (peek(p) == ']')
			break;
		struct toml_value *v = parse_value(p, depth + 1);
		if (!v)
			goto err;
		if (array_push(p, a, v)) {
			toml_free(&v);
			goto err;
		}
		skip_wcn(p);
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == ']')
			break;
		char w[16];
		fail(p, "expected ',' or ']' in array, found %s", what_here(p, w, sizeof(w)));
		goto err;
	}
	p->pos++;
	p->nest--;
	return a;
err:
	p->nest--;
	toml_free(&a);
	return NULL;
}

static struct toml_value *parse_inline_table(struct parser *p, int depth)
{
	int line = p->line, col = col_here(p);
	if (p->nest >= TOML_MAX_NEST || depth > TOML_MAX_DEPTH) {
		fail(p, "arrays and inline tables nested too deeply");
		return NULL;
	}
	struct toml_value *t = new_value(p, TOML_TABLE, line, col);
	if (!t)
		return NULL;
	t->flags = F_INLINE;
	p->nest++;
	p->pos++;
	skip_ws(p);
	if (peek(p) != '}') {
		for (;;) {
			skip_ws(p);
			if (parse_keyval(p, t, depth))
				goto err;
			skip_ws(p);
			if (peek(p) == ',') {
				p->pos++;
				continue;
			}
			if (peek(p) == '}')
				break;
			char w[16];
			fail(p, "expected ',' or '}' in inline table, found %s",
			     what_here(p, w, sizeof(w)));
			goto err;
		}
	}
	p->pos++;
	p->nest--;
	return t;
err:
	p->nest--;
	toml_free(&t);
	return NULL;
}

static struct toml_value *parse_value(struct parser *p, int depth)
{
	int line = p->line, col = col_here(p);
	int c = peek(p);
	struct toml_value *v;
	if (c == '"' || c == '\'') {
		struct sbuf b = {0};
		int r = (peek_at(p, 1) == c && peek_at(p, 2) == c) ? parse_ml_string(p, &b)
		                                                   : parse_line_string(p, &b);
		if (r || !(v = new_value(p, TOML_STRING, line, col))) {
			free(b.d);
			return NULL;
		}
		if (!(v->u.str.s = sb_take(p, &b, &v->u.str.len))) {
			free(v);
			return NULL;
		}
		return v;
	}
	if (c == '[')
		return parse_array(p, depth);
	if (c == '{')
		return parse_inline_table(p, depth);
	if (c == 't' || c == 'f') {
		const char *w = c == 't' ? "true" : "false";
		size_t n = strlen(w);
		if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) {
			fail(p, "invalid value (expected true or false)");
			return NULL;
		}
		p->pos += n;
		if ((v = new_value(p, TOML_BOOL, line, col)))
			v->u.b = c == 't';
		return v;
	}
	size_t off = (c == '+' || c == '-') ? 1 : 0;
	int c1 = peek_at(p, off);
	if (c1 == 'i' || c1 == 'n') {
		const char *w = c1 == 'i' ? "inf" : "nan";
		if (p->len - p->pos - off < 3 || memcmp(p->s + p->pos + off, w, 3) != 0) {
			fail(p, "invalid value");
			return NULL;
		}
		p->pos += off + 3;
		if ((v = new_value(p, TOML_FLOAT, line, col))) {
			v->u.f = c1 == 'i' ? INFINITY : NAN;
			if (c == '-')
				v->u.f = -v->u.f;
		}
		return v;
	}
	if (is_digit(c) && ((digits_at(p, 0, 4) && peek_at(p, 4) == '-') || time_at(p, 0)))
		return parse_datetime(p, line, col);
	if (is_digit(c) || c == '+' || c == '-')
		return parse_number(p, line, col);
	char w[16];
	fail(p, "expected a value, found %s", what_here(p, w, sizeof(w)));
	return NULL;
}

/* Insert val under the dotted key kp into tab (the current [table] or an
 * inline table being built). Takes ownership of val. */
static int insert_keyval(struct parser *p, struct toml_value *tab, struct keypath *kp,
                         struct toml_value *val)
{
	struct toml_value *t = tab;
	for (size_t i = 0; i + 1 < kp->n; i++) {
		struct keyseg *sg = &kp->seg[i];
		struct toml_value *c = table_find(t, sg->s, sg->len);
		if (!c) {
			if (!(c = new_value(p, TOML_TABLE, sg->line, sg->col)))
				goto err;
			c->flags = F_DOTTED;
			if (table_add(p, t, sg->s, sg->len, c)) {
				free(c);
				goto err;
			}
		} else if (c->type != TOML_TABLE || (c->flags & F_INLINE) ||
		           !(c->flags & F_DOTTED)) {
			if (c->type != TOML_TABLE)
				fail_at(p, sg->line, sg->col, "key '%s' is already a %s value",
				        sg->s, toml_type_name(c->type));
			else if (c->flags & F_INLINE)
				fail_at(p, sg->line, sg->col,
				        "cannot add keys to inline table '%s'", sg->s);
			else
				fail_at(p, sg->line, sg->col,
				        "cannot use dotted keys to add to table '%s' defined by a "
				        "header",
				        sg->s);
			goto err;
		}
		t = c;
	}
	struct keyseg *last = &kp->seg[kp->n - 1];
	if (table_find(t, last->s, last->len)) {
		fail_at(p, last->line, last->col, "duplicate key '%s'", last->s);
		goto err;
	}
	if (table_add(p, t, last->s, last->len, val))
		goto err;
	return 0;
err:
	toml_free(&val);
	return -1;
}

/* key ws "=" ws value, inserted into tab (whose tree depth is depth). */
static int parse_keyval(struct parser *p, struct toml_value *tab, int depth)
{
	struct keypath kp = {0};
	struct toml_value *v;
	int r = -1;
	if (parse_key(p, &kp))
		goto out;
	if (peek(p) != '=') {
		char w[16];
		fail(p, "expected '=' after key, found %s", what_here(p, w, sizeof(w)));
		goto out;
	}
	if (depth + (int)kp.n > TOML_MAX_DEPTH) {
		fail_at(p, kp.seg[0].line, kp.seg[0].col, "tables nested too deeply");
		goto out;
	}
	p->pos++;
	skip_ws(p);
	if (!(v = parse_value(p, depth + (int)kp.n)))
		goto out;
	r = insert_keyval(p, tab, &kp, v);
out:
	kp_free(&kp);
	return r;
}

/* [a.b.c] or [[a.b.c]]: make the named table the current one. */
static int parse_header(struct parser *p)
{
	struct keypath kp = {0};
	int r = -1, depth = 0;
	bool aot = peek_at(p, 1) == '[';
	p->pos += aot ? 2 : 1;
	skip_ws(p);
	if (parse_key(p, &kp))
		goto out;
	if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
		fail(p, aot ? "expected ']]' after table name" : "expected ']' after table name");
		goto out;
	}
	p->pos += aot ? 2 : 1;

	struct toml_value *t = p->root, *c;
	for (size_t i = 0; i + 1 < kp.n; i++) {
		struct keyseg *sg = &kp.seg[i];
		c = table_find(t, sg->s, sg->len);
		if (!c) {
			if (!(c = new_value(p, TOML_TABLE, sg->line, sg->col)))
				goto out;
			if (table_add(p, t, sg->s, sg->len, c)) {
				free(c);
				goto out;
			}
		} else if (c->type == TOML_ARRAY && (c->flags & F_AOT)) {
			c = c->u.arr.items[c->u.arr.n - 1];
			depth++;
		} else if (c->type != TOML_TABLE || (c->flags & F_INLINE)) {
			if (c->type == TOML_TABLE)
				fail_at(p, sg->line, sg->col, "cannot extend inline table '%s'",
				        sg->s);
			else
				fail_at(p, sg->line, sg->col, "key '%s' is already a %s value",
				        sg->s, toml_type_name(c->type));
			goto out;
		}
		t = c;
		depth++;
	}
	struct keyseg *last = &kp.seg[kp.n - 1];
	c = table_find(t, last->s, last->len);
	depth++;
	if (!aot) {
		if (!c) {
			if (!(c = new_value(p, TOML_TABLE, last->line, last->col)))
				goto out;
			if (table_add(p, t, last->s, last->len, c)) {
				free(c);
				goto out;
			}
		} else if (c->type == TOML_TABLE &&
		           !(c->flags & (F_DEFINED | F_DOTTED | F_INLINE))) {
			c->line = last->line;
			c->col = last->col;
		} else {
			if (c->type == TOML_TABLE)
				fail_at(p, last->line, last->col, "table '%s' is already defined",
				        last->s);
			else
				fail_at(p, last->line, last->col, "key '%s' is already a %s value",
				        last->s, toml_type_name(c->type));
			goto out;
		}
		c->flags |= F_DEFINED;
	} else {
		struct toml_value *a = c;
		if (!a) {
			if (!(a = new_value(p, TOML_ARRAY, last->line, last->col)))
				goto out;
			a->flags = F_AOT;
			if (table_add(p, t, last->s, last->len, a)) {
				free(a);
				goto out;
			}
		} else if (a->type != TOML_ARRAY || !(a->flags & F_AOT)) {
			if (a->type == TOML_ARRAY)
				fail_at(p, last->line, last->col,
				        "cannot append to static array '%s'", last->s);
			else
				fail_at(p, last->line, last->col, "key '%s' is already a %s value",
				        last->s, toml_type_name(a->type));
			goto out;
		}
		if (!(c = new_value(p, TOML_TABLE, last->line, last->col)))
			goto out;
		c->flags = F_DEFINED;
		if (array_push(p, a, c)) {
			free(c);
			goto out;
		}
		depth++;
	}
	if (depth > TOML_MAX_DEPTH) {
		fail_at(p, last->line, last->col, "tables nested too deeply");
		goto out;
	}
	p->cur = c;
	p->cur_depth = depth;
	r = 0;
out:
	kp_free(&kp);
	return r;
}

struct toml_value *toml_parse(const char *src, size_t len, struct toml_error *err)
{
	struct parser p = {.s = src, .len = len, .line = 1, .err = err};
	if (err)
		memset(err, 0, sizeof(*err));
	if (!src && len) {
		fail_at(&p, 1, 1, "no input");
		return NULL;
	}
	if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
		p.pos = p.line_start = 3;
	if (validate(&p))
		return NULL;
	if (!(p.root = new_value(&p, TOML_TABLE, 1, 1)))
		return NULL;
	p.root->flags = F_DEFINED;
	p.cur = p.root;
	while (p.pos < p.len) {
		skip_ws(&p);
		int c = peek(&p);
		if (c == '[') {
			if (parse_header(&p))
				goto fail;
		} else if (c != '#' && c != '\n' && c != '\r' && c != -1) {
			if (parse_keyval(&p, p.cur, p.cur_depth))
				goto fail;
		}
		skip_ws(&p);
		skip_comment(&p);
		if (p.pos < p.len && !eat_newline(&p)) {
			char w[16];
			fail(&p, "expected newline or end of file, found %s",
			     what_here(&p, w, sizeof(w)));
			goto fail;
		}
	}
	return p.root;
fail:
	toml_free(&p.root);
	return NULL;
}

/* ---- accessors -------------------------------------------------------- */

enum toml_type toml_type(const struct toml_value *v)
{
	return v->type;
}

int toml_line(const struct toml_value *v)
{
	return v ? v->line : 0;
}

int toml_col(const struct toml_value *v)
{
	return v ? v->col : 0;
}

size_t toml_table_size(const struct toml_value *t)
{
	return t && t->type == TOML_TABLE ? t->u.tab.n : 0;
}

const char *toml_table_key_len(const struct toml_value *t, size_t i, size_t *len)
{
	if (!t || t->type != TOML_TABLE || i >= t->u.tab.n)
		return NULL;
	if (len)
		*len = t->u.tab.e[i].klen;
	return t->u.tab.e[i].key;
}

const char *toml_table_key(const struct toml_value *t, size_t i)
{
	return toml_table_key_len(t, i, NULL);
}

struct toml_value *toml_table_value(const struct toml_value *t, size_t i)
{
	if (!t || t->type != TOML_TABLE || i >= t->u.tab.n)
		return NULL;
	return t->u.tab.e[i].val;
}

struct toml_value *toml_table_getn(const struct toml_value *t, const char *key, size_t keylen)
{
	if (!t || t->type != TOML_TABLE || !key)
		return NULL;
	return table_find(t, key, keylen);
}

struct toml_value *toml_table_get(const struct toml_value *t, const char *key)
{
	return key ? toml_table_getn(t, key, strlen(key)) : NULL;
}

size_t toml_array_size(const struct toml_value *a)
{
	return a && a->type == TOML_ARRAY ? a->u.arr.n : 0;
}

struct toml_value *toml_array_get(const struct toml_value *a, size_t i)
{
	if (!a || a->type != TOML_ARRAY || i >= a->u.arr.n)
		return NULL;
	return a->u.arr.items[i];
}

const char *toml_string(const struct toml_value *v, size_t *len)
{
	if (!v || v->type != TOML_STRING)
		return NULL;
	if (len)
		*len = v->u.str.len;
	return v->u.str.s;
}

int64_t toml_int(const struct toml_value *v)
{
	return v && v->type == TOML_INTEGER ? v->u.i : 0;
}

double toml_float(const struct toml_value *v)
{
	return v && v->type == TOML_FLOAT ? v->u.f : 0.0;
}

bool toml_bool(const struct toml_value *v)
{
	return v && v->type == TOML_BOOL ? v->u.b : false;
}

const char *toml_datetime_text(const struct toml_value *v)
{
	if (!v)
		return NULL;
	switch (v->type) {
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		return v->u.str.s;
	default:
		return NULL;
	}
}

const char *toml_type_name(enum toml_type t)
{
	static const char *const names[] = {
	    "string",         "integer",    "float",      "bool",  "datetime",
	    "datetime-local", "date-local", "time-local", "array", "table"};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}
