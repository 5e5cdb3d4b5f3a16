/* spf_macro: the SPF macro language (RFC 7208 7): syntax check and
 * expansion of domain-specs and explanation strings.
 *
 * Why check and expand separately: a record's syntax (and so its macros)
 * is checked in full before evaluation (4.6), while expansion happens term
 * by term, and only for terms evaluation reaches. Both walk the same
 * grammar through next_macro(). Expansion is bounded by the output buffer. */
#include "mailauth/spf_record.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct macro {
	char letter;     /* lowercase */
	bool url_escape; /* the letter was uppercase */
	int digits;      /* 0 = all parts */
	bool reverse;
	char delims[8]; /* NUL-terminated; "." by default */
};

/* One %-sequence at s (s[0] == '%'). Returns its length, or 0 if bad.
 * *literal gets the character of %% %_ (and "%20" for %-) or m is filled. */
static size_t next_macro(const char *s, bool explain, const char **literal, struct macro *m)
{
	*literal = NULL;
	switch (s[1]) {
	case '%':
		*literal = "%";
		return 2;
	case '_':
		*literal = " ";
		return 2;
	case '-':
		*literal = "%20";
		return 2;
	case '{':
		break;
	default:
		return 0;
	}
	const char *p = s + 2;
	char c = (char)tolower((unsigned char)*p);
	if (!strchr("slodiphv", c) || !c) {
		if (!(explain && c && strchr("crt", c)))
			return 0;
	}
	memset(m, 0, sizeof *m);
	m->letter = c;
	m->url_escape = isupper((unsigned char)*p);
	p++;
	if (isdigit((unsigned char)*p)) {
		int v = 0;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			if (v > 1000)
				return 0;
		}
		if (v == 0)
			return 0;
		m->digits = v;
	}
	if (*p == 'r' || *p == 'R') {
		m->reverse = true;
		p++;
	}
	size_t nd = 0;
	while (*p && strchr(".-+,/_=", *p)) {
		if (nd + 1 < sizeof m->delims && !strchr(m->delims, *p))
			m->delims[nd++] = *p;
		p++;
	}
	if (nd == 0)
		m->delims[0] = '.';
	if (*p != '}')
		return 0;
	return (size_t)(p + 1 - s);
}

/* toplabel (12): alphanumerics with at least one letter, or an
 * alphanumeric-led, alphanumeric-ended label with hyphens inside. */
static bool is_toplabel(const char *s, size_t n)
{
	if (n == 0)
		return false;
	bool alpha = false;
	for (size_t i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return false;
	return alpha || memchr(s, '-', n) != NULL;
}

int spf_macro_check(const char *s, bool domain, bool explain, bool *uses_p)
{
	if (!s || (domain && !*s))
		return -1;
	bool last_was_macro = false;
	for (const char *p = s; *p;) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '%') {
			const char *lit;
			struct macro m;
			size_t n = next_macro(p, explain, &lit, &m);
			if (n == 0)
				return -1;
			if (!lit && m.letter == 'p')
				*uses_p = true;
			last_was_macro = !lit;
			p += n;
			continue;
		}
		if (ch < 0x21 || ch > 0x7e) {
			if (!(explain && ch == ' '))
				return -1;
		}
		last_was_macro = false;
		p++;
	}
	if (!domain || last_was_macro)
		return 0;
	/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
	size_t len = strlen(s);
	if (len && s[len - 1] == '.')
		len--;
	const char *dot = NULL;
	for (size_t i = len; i-- > 0;)
		if (s[i] == '.') {
			dot = s + i;
			break;
		}
	if (!dot)
		return -1;
	if (dot + 1 > s + len || !is_toplabel(dot + 1, (size_t)(s + len - dot - 1)))
		return -1;
	/* The characters before the dot must not end inside a macro: fine, a
	 * macro ends with '}' which is not a toplabel character. */
	return 0;
}

struct out {
	char *buf;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n >= o->cap) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put_escaped(struct out *o, const char *s, size_t n, bool url_escape)
{
	if (!url_escape) {
		put(o, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			put(o, (const char *)&c, 1);
		} else {
			char hex[4];
			snprintf(hex, sizeof hex, "%%%02X", c);
			put(o, hex, 3);
		}
	}
}

/* The value of a letter, before transformers. */
static void letter_value(char letter, const struct spf_macro_env *env, char *v, size_t vlen)
{
	const char *at;
	switch (letter) {
	case 's':
		snprintf(v, vlen, "%s", env->sender);
		break;
	case 'l':
		at = strrchr(env->sender, '@');
		snprintf(v, vlen, "%.*s", at ? (int)(at - env->sender) : 0, env->sender);
		break;
	case 'o':
		at = strrchr(env->sender, '@');
		snprintf(v, vlen, "%s", at ? at + 1 : env->sender);
		break;
	case 'd':
		snprintf(v, vlen, "%s", env->domain);
		break;
	case 'h':
		snprintf(v, vlen, "%s", env->helo);
		break;
	case 'p':
		snprintf(v, vlen, "%s", env->validated ? env->validated : "unknown");
		break;
	case 'r':
		snprintf(v, vlen, "%s", env->receiver ? env->receiver : "unknown");
		break;
	case 't':
		snprintf(v, vlen, "%lld", env->timestamp);
		break;
	case 'v':
		snprintf(v, vlen, "%s", env->ip.family == AF_INET ? "in-addr" : "ip6");
		break;
	case 'c':
		if (!inet_ntop(env->ip.family, env->ip.addr, v, (socklen_t)vlen))
			v[0] = '\0';
		break;
	case 'i':
		if (env->ip.family == AF_INET) {
			snprintf(v, vlen, "%u.%u.%u.%u", env->ip.addr[0], env->ip.addr[1],
			         env->ip.addr[2], env->ip.addr[3]);
		} else {
			static const char hex[] = "0123456789abcdef";
			size_t o = 0;
			for (int i = 0; i < 16 && o + 4 < vlen; i++) {
				v[o++] = hex[env->ip.addr[i] >> 4];
				v[o++] = '.';
				v[o++] = hex[env->ip.addr[i] & 15];
				v[o++] = '.';
			}
			v[o ? o - 1 : 0] = '\0';
		}
		break;
	default:
		v[0] = '\0';
	}
}

static void expand_one(struct out *o, const struct macro *m, const struct spf_macro_env *env)
{
	char v[1024];
	letter_value(m->letter, env, v, sizeof v);
	/* Split into parts on the delimiters. */
	const char *parts[256];
	size_t plen[256], np = 0;
	const char *start = v;
	for (const char *p = v;; p++) {
		if (*p == '\0' || strchr(m->delims, *p)) {
			if (np < 256) {
				parts[np] = start;
				plen[np] = (size_t)(p - start);
				np++;
			}
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	if (m->reverse)
		for (size_t i = 0; i < np / 2; i++) {
			const char *tp = parts[i];
			size_t tl = plen[i];
			parts[i] = parts[np - 1 - i];
			plen[i] = plen[np - 1 - i];
			parts[np - 1 - i] = tp;
			plen[np - 1 - i] = tl;
		}
	size_t first = 0;
	if (m->digits && (size_t)m->digits < np)
		first = np - (size_t)m->digits;
	for (size_t i = first; i < np; i++) {
		if (i > first)
			put(o, ".", 1);
		put_escaped(o, parts[i], plen[i], m->url_escape);
	}
}

int spf_macro_expand(const char *s, const struct spf_macro_env *env, bool domain, bool explain,
                     char *out, size_t outlen)
{
	if (outlen == 0)
		return -1;
	struct out o = {.buf = out, .len = 0, .cap = outlen};
	out[0] = '\0';
	for (const char *p = s; *p;) {
		if (*p != '%') {
			const char *q = strchr(p, '%');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			put(&o, p, n);
			p += n;
			continue;
		}
		const char *lit;
		struct macro m;
		size_t n = next_macro(p, explain, &lit, &m);
		if (n == 0)
			return -1;
		if (lit)
			put(&o, lit, strlen(lit));
		else
			expand_one(&o, &m, env);
		p += n;
	}
	if (o.overflow)
		return -1;
	if (domain) {
		/* 7.3: drop labels from the left until at most 253 octets. */
		char *d = out;
		size_t len = o.len;
		if (len && d[len - 1] == '.')
			len--;
		while (len > 253) {
			char *dot = memchr(d, '.', len);
			if (!dot)
				return -1;
			len -= (size_t)(dot + 1 - d);
			d = dot + 1;
		}
		memmove(out, d, strlen(d) + 1);
	}
	return 0;
}
