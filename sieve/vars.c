/* vars: the variables of one run (RFC 5229): their values, the match
 * variables ${0}..${9} a successful :matches leaves, the expansion of
 * "${...}" in strings, and set's modifiers.
 *
 * Expansion (§3): "${name}" is the variable's value ("" when it was never
 * set), "${N}" a match variable ("" out of range); anything else that
 * looks like one (a bad name, no closing brace) stays as written. A value
 * never grows past the run's max_variable_len: set cuts it there, on a
 * UTF-8 character boundary (§6 allows truncation), and an expansion
 * longer than 64 times that is cut as well. */
#include "sieve/sieve_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sieve_vars_init(struct sieve_vars *v, const struct sieve_script *s)
{
	memset(v, 0, sizeof *v);
	v->script = s;
	if (s->n_variables && !(v->values = calloc(s->n_variables, sizeof *v->values)))
		return -ENOMEM;
	return 0;
}

void sieve_vars_free(struct sieve_vars *v)
{
	if (v->values)
		for (unsigned i = 0; i < v->script->n_variables; i++)
			buf_free(&v->values[i]);
	free(v->values);
	v->values = NULL;
	for (unsigned i = 0; i < SIEVE_MAX_CAPTURES; i++)
		buf_free(&v->match[i]);
}

int sieve_vars_slot(const struct sieve_script *s, const char *name)
{
	for (unsigned i = 0; i < s->n_variables; i++)
		if (strcasecmp(s->variable_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* n cut back so that it does not end inside a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The value a "${...}" names, or NULL when the name is not a variable
 * reference at all (then the text stays). */
static const struct buf *lookup(const struct sieve_vars *v, const char *name, size_t n)
{
	static const struct buf empty = {0};
	if (n == 0)
		return NULL;
	if (isdigit((unsigned char)name[0])) {
		unsigned idx = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)name[i]))
				return NULL;
			idx = idx < 1000 ? idx * 10 + (unsigned)(name[i] - '0') : idx;
		}
		return idx < v->n_match ? &v->match[idx] : &empty;
	}
	if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)name[i]) || name[i] == '_'))
			return NULL; /* a namespace ("env.x") or garbage: left as is */
	for (unsigned i = 0; i < v->script->n_variables; i++) {
		const char *vn = v->script->variable_names[i];
		if (strlen(vn) == n && strncasecmp(vn, name, n) == 0)
			return &v->values[i];
	}
	return &empty;
}

int sieve_vars_expand(const struct sieve_vars *v, const char *s, size_t len, struct buf *out)
{
	buf_reset(out);
	int r = buf_add(out, "", 0);
	size_t max = v->script->limits.max_variable_len * 64;
	if (!(v->script->extensions & SIEVE_EXT_VARIABLES))
		return r < 0 ? r : buf_add(out, s, len);
	for (size_t i = 0; i < len && r == 0;) {
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
			size_t j = i + 2;
			while (j < len && s[j] != '}' && j - i < 80)
				j++;
			if (j < len && s[j] == '}') {
				const struct buf *val = lookup(v, s + i + 2, j - i - 2);
				if (val) {
					if (val->len)
						r = buf_add(out, val->data, val->len);
					i = j + 1;
					continue;
				}
			}
		}
		r = buf_addc(out, s[i]);
		i++;
		if (out->len > max)
			break;
	}
	if (r == 0 && out->len > max)
		out->len = utf8_cut(out->data, out->len, max), out->data[out->len] = '\0';
	return r;
}

static int keep_cut(struct buf *dst, const char *s, size_t len, size_t max)
{
	buf_reset(dst);
	len = utf8_cut(s, len, max);
	int r = buf_add(dst, s, len);
	return r < 0 ? r : buf_add(dst, "", 0);
}

int sieve_vars_set(struct sieve_vars *v, int slot, const char *value, size_t len, unsigned mods)
{
	struct buf t = {0};
	int r = buf_add(&t, value, len);
	if (r == 0)
		r = buf_add(&t, "", 0);
	/* 40: :lower / :upper */
	for (size_t i = 0; r == 0 && i < t.len; i++) {
		if (mods & SIEVE_MOD_LOWER)
			t.data[i] = (char)tolower((unsigned char)t.data[i]);
		else if (mods & SIEVE_MOD_UPPER)
			t.data[i] = (char)toupper((unsigned char)t.data[i]);
	}
	/* 30: :lowerfirst / :upperfirst */
	if (r == 0 && t.len && (mods & SIEVE_MOD_LOWERFIRST))
		t.data[0] = (char)tolower((unsigned char)t.data[0]);
	if (r == 0 && t.len && (mods & SIEVE_MOD_UPPERFIRST))
		t.data[0] = (char)toupper((unsigned char)t.data[0]);
	/* 20: :quotewildcard */
	if (r == 0 && (mods & SIEVE_MOD_QUOTEWILDCARD)) {
		struct buf q = {0};
		for (size_t i = 0; r == 0 && i < t.len; i++) {
			char c = t.data[i];
			if (c == '*' || c == '?' || c == '\\')
				r = buf_addc(&q, '\\');
			if (r == 0)
				r = buf_addc(&q, c);
		}
		if (r == 0)
			r = buf_add(&q, "", 0);
		buf_free(&t);
		t = q;
	}
	/* 10: :length, in characters */
	if (r == 0 && (mods & SIEVE_MOD_LENGTH)) {
		size_t chars = 0;
		for (size_t i = 0; i < t.len; i++)
			if (((unsigned char)t.data[i] & 0xc0) != 0x80)
				chars++;
		buf_reset(&t);
		r = buf_printf(&t, "%zu", chars);
	}
	if (r == 0)
		r = keep_cut(&v->values[slot], t.data ? t.data : "", t.len,
		             v->script->limits.max_variable_len);
	buf_free(&t);
	return r;
}

int sieve_vars_set_matches(struct sieve_vars *v, const char *value,
                           const struct sieve_captures *caps)
{
	v->n_match = caps->n;
	for (unsigned i = 0; i < caps->n; i++) {
		int r = keep_cut(&v->match[i], value + caps->start[i], caps->len[i],
		                 v->script->limits.max_variable_len);
		if (r < 0)
			return r;
	}
	return 0;
}
