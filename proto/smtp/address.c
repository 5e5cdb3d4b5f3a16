/* address: RFC 5321 Path grammar and ESMTP MAIL/RCPT parameters.
 *
 * Why a hand-written parser and not a regex: the grammar has three parts
 * that must be exact because what passes here is later written verbatim
 * into trace headers and the queue (header injection), compared against
 * accounts (quoted local parts must not be a way around the ownership
 * check), and measured against the section 4.5.3.1 limits (a 10 kB
 * "address" must not reach the store). The parser is a plain cursor over
 * the bytes; every branch consumes at least one byte or fails, so it runs
 * in linear time on any input.
 *
 *   Path       = "<" [ A-d-l ":" ] Mailbox ">"      (A-d-l is dropped)
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *   Domain     = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 *
 * SMTPUTF8 (RFC 6531) widens atext, qtextSMTP and sub-domain with well-formed
 * UTF-8 sequences; without it any byte >= 0x80 is SMTP_ADDR_EUTF8 so the
 * session can answer 553 5.6.7 instead of a generic syntax error.
 *
 * Leniency, on purpose and only where widely-deployed clients need it: the
 * session may ask for a Mailbox without angle brackets (SMTP_PATH_LENIENT),
 * and a quoted local part whose content is a plain dot-string is unquoted
 * ("joe"@x and joe@x are the same mailbox, RFC 5321 4.1.2). */
#include "proto/smtp/address.h"
#include "lib/hex.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

struct cursor {
	const unsigned char *s;
	size_t len;
	size_t i;
	unsigned flags;
	bool utf8_seen;
	int err; /* first non-syntax error seen (EUTF8) */
};

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_atext(int c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

size_t smtp_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A non-ASCII sequence at the cursor: its length if allowed, else 0 (and the
 * error recorded). */
static size_t take_utf8(struct cursor *c)
{
	size_t n = smtp_utf8_seq(c->s + c->i, c->len - c->i);
	if (n < 2)
		return 0;
	if (!(c->flags & SMTP_PATH_UTF8)) {
		if (!c->err)
			c->err = SMTP_ADDR_EUTF8;
		return 0;
	}
	c->utf8_seen = true;
	return n;
}

static bool dot_string_valid(const unsigned char *s, size_t len, bool utf8)
{
	size_t i = 0;
	bool atom_start = true;

	if (len == 0)
		return false;
	while (i < len) {
		if (s[i] == '.') {
			if (atom_start)
				return false;
			atom_start = true;
			i++;
			continue;
		}
		if (s[i] >= 0x80) {
			size_t n = utf8 ? smtp_utf8_seq(s + i, len - i) : 0;
			if (n < 2)
				return false;
			i += n;
		} else if (is_atext(s[i])) {
			i++;
		} else {
			return false;
		}
		atom_start = false;
	}
	return !atom_start;
}

/* Dot-string: copies it to out. */
static int parse_dot_string(struct cursor *c, char *out, size_t outcap, size_t *outlen)
{
	size_t start = c->i;
	bool atom_start = true;

	while (c->i < c->len) {
		unsigned char ch = c->s[c->i];
		if (ch == '.') {
			if (atom_start)
				return SMTP_ADDR_ESYNTAX;
			atom_start = true;
			c->i++;
			continue;
		}
		if (ch >= 0x80) {
			size_t n = take_utf8(c);
			if (!n)
				return c->err ? c->err : SMTP_ADDR_ESYNTAX;
			c->i += n;
		} else if (is_atext(ch)) {
			c->i++;
		} else {
			break;
		}
		atom_start = false;
	}
	if (atom_start)
		return SMTP_ADDR_ESYNTAX; /* empty, or ends with a dot */
	size_t n = c->i - start;
	if (n > SMTP_LOCAL_MAX)
		return SMTP_ADDR_ELOCAL;
	if (n >= outcap)
		return SMTP_ADDR_EPATH;
	memcpy(out, c->s + start, n);
	*outlen = n;
	return SMTP_ADDR_OK;
}

/* Quoted-string; unquoted into out when the content is a dot-string. */
static int parse_quoted(struct cursor *c, char *out, size_t outcap, size_t *outlen, bool *quoted)
{
	size_t start = c->i;
	unsigned char unq[SMTP_LOCAL_MAX + 1];
	size_t nunq = 0;

	c->i++; /* DQUOTE */
	for (;;) {
		if (c->i >= c->len)
			return SMTP_ADDR_ESYNTAX;
		unsigned char ch = c->s[c->i];
		if (ch == '"')
			break;
		size_t n = 1;
		if (ch == '\\') {
			if (c->i + 1 >= c->len)
				return SMTP_ADDR_ESYNTAX;
			ch = c->s[c->i + 1];
			if (ch < 32 || ch > 126)
				return SMTP_ADDR_ESYNTAX;
			c->i += 2;
		} else if (ch >= 0x80) {
			n = take_utf8(c);
			if (!n)
				return c->err ? c->err : SMTP_ADDR_ESYNTAX;
			c->i += n;
		} else if (ch >= 32 && ch <= 126) {
			c->i++;
		} else {
			return SMTP_ADDR_ESYNTAX; /* control bytes, CR, LF, NUL, DEL */
		}
		if (c->i - start > SMTP_LOCAL_MAX + 1)
			return SMTP_ADDR_ELOCAL;
		if (nunq + n <= SMTP_LOCAL_MAX) {
			memcpy(unq + nunq, c->s + c->i - n, n);
			nunq += n;
		}
	}
	c->i++; /* closing DQUOTE */
	size_t raw = c->i - start;
	if (raw > SMTP_LOCAL_MAX)
		return SMTP_ADDR_ELOCAL;
	if (dot_string_valid(unq, nunq, (c->flags & SMTP_PATH_UTF8) != 0)) {
		memcpy(out, unq, nunq);
		*outlen = nunq;
		*quoted = false;
	} else {
		if (raw >= outcap)
			return SMTP_ADDR_EPATH;
		memcpy(out, c->s + start, raw);
		*outlen = raw;
		*quoted = true;
	}
	return SMTP_ADDR_OK;
}

bool smtp_address_literal_valid(const char *s, size_t len)
{
	/* s includes the brackets */
	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return false;
	s++;
	len -= 2;
	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		char buf[64];
		unsigned char addr[16];
		if (len - 5 >= sizeof buf)
			return false;
		memcpy(buf, s + 5, len - 5);
		buf[len - 5] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return false;
		/* RFC 5321 IPv6-comp: "::" stands for at least two groups, so
		 * at most 6 groups (4 with an IPv4 tail) besides it. */
		if (strstr(buf, "::")) {
			int groups = 0;
			bool v4 = strchr(buf, '.') != NULL;
			for (const char *q = buf; *q;) {
				if (*q == ':') {
					q++;
					continue;
				}
				groups++;
				while (*q && *q != ':')
					q++;
			}
			if (v4)
				groups--; /* the dotted quad counted as one */
			if (groups > (v4 ? 4 : 6))
				return false;
		}
		return true;
	}
	/* IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT (0-255) */
	int parts = 0;
	size_t i = 0;
	while (parts < 4) {
		size_t d = 0;
		unsigned v = 0;
		while (i < len && is_digit((unsigned char)s[i]) && d < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			d++;
		}
		if (d == 0 || d > 3 || v > 255)
			return false;
		parts++;
		if (parts < 4) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

/* Domain or address-literal at the cursor; copied to out. */
static int parse_domain(struct cursor *c, char *out, size_t outcap, size_t *outlen, bool *literal)
{
	size_t start = c->i;

	*literal = false;
	if (c->i < c->len && c->s[c->i] == '[') {
		while (c->i < c->len && c->s[c->i] != ']') {
			unsigned char ch = c->s[c->i];
			if (ch < 33 || ch > 126)
				return SMTP_ADDR_ESYNTAX;
			c->i++;
			if (c->i - start > 64)
				return SMTP_ADDR_ESYNTAX;
		}
		if (c->i >= c->len)
			return SMTP_ADDR_ESYNTAX;
		c->i++;
		if (!smtp_address_literal_valid((const char *)c->s + start, c->i - start))
			return SMTP_ADDR_ESYNTAX;
		*literal = true;
	} else {
		for (;;) {
			size_t lstart = c->i;
			bool last_hyphen = false;
			while (c->i < c->len) {
				unsigned char ch = c->s[c->i];
				if (is_alpha(ch) || is_digit(ch)) {
					c->i++;
					last_hyphen = false;
				} else if (ch == '-' && c->i > lstart) {
					c->i++;
					last_hyphen = true;
				} else if (ch >= 0x80) {
					size_t n = take_utf8(c);
					if (!n)
						return c->err ? c->err : SMTP_ADDR_ESYNTAX;
					c->i += n;
					last_hyphen = false;
				} else {
					break;
				}
			}
			if (c->i == lstart || last_hyphen)
				return SMTP_ADDR_ESYNTAX;
			if (c->i - lstart > 63)
				return SMTP_ADDR_EDOMAIN;
			if (c->i < c->len && c->s[c->i] == '.') {
				c->i++;
				continue;
			}
			break;
		}
		if (c->i - start > SMTP_DOMAIN_MAX)
			return SMTP_ADDR_EDOMAIN;
	}
	size_t n = c->i - start;
	if (n >= outcap)
		return SMTP_ADDR_EPATH;
	memcpy(out, c->s + start, n);
	*outlen = n;
	return SMTP_ADDR_OK;
}

bool smtp_domain_valid(const char *s, size_t len, bool utf8)
{
	struct cursor c = {(const unsigned char *)s, len, 0, utf8 ? SMTP_PATH_UTF8 : 0, false, 0};
	char buf[SMTP_DOMAIN_MAX + 2];
	size_t n;
	bool literal;

	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return false;
	if (parse_domain(&c, buf, sizeof buf, &n, &literal) != SMTP_ADDR_OK)
		return false;
	return c.i == len;
}

/* Mailbox at the cursor into out->addr. */
static int parse_mailbox(struct cursor *c, struct smtp_path *out)
{
	size_t n = 0, dn = 0;
	int rc;

	if (c->i >= c->len)
		return SMTP_ADDR_ESYNTAX;
	if (c->s[c->i] == '"')
		rc = parse_quoted(c, out->addr, sizeof out->addr, &n, &out->quoted);
	else
		rc = parse_dot_string(c, out->addr, sizeof out->addr, &n);
	if (rc != SMTP_ADDR_OK)
		return rc;
	out->local_len = n;
	if (c->i >= c->len || c->s[c->i] != '@')
		return c->err ? c->err : SMTP_ADDR_ESYNTAX;
	c->i++;
	if (n + 1 >= sizeof out->addr)
		return SMTP_ADDR_EPATH;
	out->addr[n++] = '@';
	rc = parse_domain(c, out->addr + n, sizeof out->addr - n, &dn, &out->literal);
	if (rc != SMTP_ADDR_OK)
		return rc;
	out->addr[n + dn] = '\0';
	return SMTP_ADDR_OK;
}

int smtp_path_parse(const char *s, size_t len, unsigned flags, struct smtp_path *out, size_t *end)
{
	struct cursor c = {(const unsigned char *)s, len, 0, flags, false, 0};
	int rc;

	memset(out, 0, sizeof *out);
	*end = 0;
	if (len == 0)
		return SMTP_ADDR_ESYNTAX;

	if (s[0] != '<') {
		if (!(flags & SMTP_PATH_LENIENT))
			return SMTP_ADDR_ESYNTAX;
		rc = parse_mailbox(&c, out);
		if (rc != SMTP_ADDR_OK)
			return rc;
		if (c.i < len && s[c.i] != ' ')
			return c.err ? c.err : SMTP_ADDR_ESYNTAX;
		if (c.i > SMTP_PATH_MAX - 2)
			return SMTP_ADDR_EPATH;
		out->utf8 = c.utf8_seen;
		*end = c.i;
		return SMTP_ADDR_OK;
	}

	c.i = 1;
	if (c.i < len && s[c.i] == '>') {
		if (!(flags & SMTP_PATH_NULL_OK))
			return SMTP_ADDR_ESYNTAX;
		out->null = true;
		*end = 2;
		return SMTP_ADDR_OK;
	}
	if ((flags & SMTP_PATH_POSTMASTER) && len >= 12 &&
	    strncasecmp(s + 1, "postmaster>", 11) == 0) {
		out->postmaster = true;
		strcpy(out->addr, "postmaster");
		out->local_len = 10;
		*end = 12;
		return SMTP_ADDR_OK;
	}
	/* A-d-l: a source route, obsolete; parsed and ignored (RFC 5321 4.1.2,
	 * C.2). */
	if (c.i < len && s[c.i] == '@') {
		for (;;) {
			char tmp[SMTP_DOMAIN_MAX + 2];
			size_t n;
			bool lit;
			c.i++; /* '@' */
			rc = parse_domain(&c, tmp, sizeof tmp, &n, &lit);
			if (rc != SMTP_ADDR_OK)
				return rc;
			if (c.i < len && s[c.i] == ',' && c.i + 1 < len && s[c.i + 1] == '@') {
				c.i++;
				continue;
			}
			break;
		}
		if (c.i >= len || s[c.i] != ':')
			return SMTP_ADDR_ESYNTAX;
		c.i++;
	}
	rc = parse_mailbox(&c, out);
	if (rc != SMTP_ADDR_OK) {
		/* A length problem reported as such, even when the path is also
		 * longer than 256. */
		return rc;
	}
	if (c.i >= len || s[c.i] != '>')
		return c.err ? c.err : SMTP_ADDR_ESYNTAX;
	c.i++;
	if (c.i > SMTP_PATH_MAX)
		return SMTP_ADDR_EPATH;
	out->utf8 = c.utf8_seen;
	*end = c.i;
	return SMTP_ADDR_OK;
}

int smtp_mailbox_check(const char *s, size_t len, unsigned flags)
{
	struct cursor c = {(const unsigned char *)s, len, 0, flags, false, 0};
	struct smtp_path p;
	int rc;

	memset(&p, 0, sizeof p);
	if (len > SMTP_PATH_MAX - 2)
		return SMTP_ADDR_EPATH;
	rc = parse_mailbox(&c, &p);
	if (rc != SMTP_ADDR_OK)
		return rc;
	if (c.i != len)
		return c.err ? c.err : SMTP_ADDR_ESYNTAX;
	return SMTP_ADDR_OK;
}

int smtp_xtext_check(const char *s, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '+') {
			if (i + 2 >= len || hex_value_upper((unsigned char)s[i + 1]) < 0 ||
			    hex_value_upper((unsigned char)s[i + 2]) < 0)
				return -1;
			i += 2;
		} else if (ch < 0x21 || ch > 0x7e || ch == '=') {
			return -1;
		}
		n++;
	}
	return n;
}

/* One esmtp-param: keyword [ "=" value ]. */
struct param {
	const char *key;
	size_t klen;
	const char *val; /* NULL if no "=" */
	size_t vlen;
};

/* Splits the next parameter off s[*i..len). 1 = got one, 0 = end, -1 = syntax. */
static int next_param(const char *s, size_t len, size_t *i, struct param *p)
{
	while (*i < len && s[*i] == ' ')
		(*i)++;
	if (*i >= len)
		return 0;
	size_t k = *i;
	if (!is_alpha((unsigned char)s[k]) && !is_digit((unsigned char)s[k]))
		return -1;
	while (k < len &&
	       (is_alpha((unsigned char)s[k]) || is_digit((unsigned char)s[k]) || s[k] == '-'))
		k++;
	p->key = s + *i;
	p->klen = k - *i;
	p->val = NULL;
	p->vlen = 0;
	if (k < len && s[k] == '=') {
		size_t v = ++k;
		while (k < len && s[k] != ' ') {
			unsigned char ch = (unsigned char)s[k];
			if (ch < 33 || ch > 126 || ch == '=')
				return -1;
			k++;
		}
		if (k == v)
			return -1;
		p->val = s + v;
		p->vlen = k - v;
	} else if (k < len && s[k] != ' ') {
		return -1;
	}
	*i = k;
	return 1;
}

static bool key_is(const struct param *p, const char *name)
{
	return p->klen == strlen(name) && strncasecmp(p->key, name, p->klen) == 0;
}

static bool val_is(const struct param *p, const char *v)
{
	return p->val && p->vlen == strlen(v) && strncasecmp(p->val, v, p->vlen) == 0;
}

int smtp_mail_params_parse(const char *s, size_t len, struct smtp_mail_params *out,
                           const char **bad)
{
	struct param p;
	size_t i = 0;
	int rc;
	bool seen_utf8 = false, seen_body = false, seen_ret = false;

	memset(out, 0, sizeof *out);
	if (bad)
		*bad = NULL;
	while ((rc = next_param(s, len, &i, &p)) == 1) {
		if (bad)
			*bad = p.key;
		if (key_is(&p, "SIZE")) {
			if (out->has_size || !p.val || p.vlen > 20)
				return SMTP_PARAM_ESYNTAX;
			uint64_t v = 0;
			for (size_t k = 0; k < p.vlen; k++) {
				if (!is_digit((unsigned char)p.val[k]))
					return SMTP_PARAM_ESYNTAX;
				uint64_t d = (uint64_t)(p.val[k] - '0');
				if (v > (UINT64_MAX - d) / 10)
					v = UINT64_MAX; /* saturate: "too big" anyway */
				else
					v = v * 10 + d;
			}
			out->has_size = true;
			out->size = v;
		} else if (key_is(&p, "BODY")) {
			if (seen_body)
				return SMTP_PARAM_ESYNTAX;
			seen_body = true;
			if (val_is(&p, "7BIT"))
				out->body = SMTP_BODY_7BIT;
			else if (val_is(&p, "8BITMIME"))
				out->body = SMTP_BODY_8BITMIME;
			else if (val_is(&p, "BINARYMIME"))
				return SMTP_PARAM_EUNKNOWN; /* not advertised */
			else
				return SMTP_PARAM_ESYNTAX;
		} else if (key_is(&p, "SMTPUTF8")) {
			if (seen_utf8 || p.val)
				return SMTP_PARAM_ESYNTAX;
			seen_utf8 = true;
			out->smtputf8 = true;
		} else if (key_is(&p, "RET")) {
			if (seen_ret)
				return SMTP_PARAM_ESYNTAX;
			seen_ret = true;
			if (val_is(&p, "FULL"))
				out->ret = SMTP_RET_FULL;
			else if (val_is(&p, "HDRS"))
				out->ret = SMTP_RET_HDRS;
			else
				return SMTP_PARAM_ESYNTAX;
		} else if (key_is(&p, "ENVID")) {
			int n;
			if (out->has_envid || !p.val || p.vlen >= sizeof out->envid)
				return SMTP_PARAM_ESYNTAX;
			n = smtp_xtext_check(p.val, p.vlen);
			if (n < 1 || n > SMTP_ENVID_MAX)
				return SMTP_PARAM_ESYNTAX;
			memcpy(out->envid, p.val, p.vlen);
			out->envid[p.vlen] = '\0';
			out->has_envid = true;
		} else if (key_is(&p, "AUTH")) {
			/* RFC 4954 5: AUTH=<> or AUTH=xtext-mailbox; we
			 * never trust it, only check its form. */
			if (out->has_auth || !p.val)
				return SMTP_PARAM_ESYNTAX;
			if (!(p.vlen == 2 && memcmp(p.val, "<>", 2) == 0) &&
			    smtp_xtext_check(p.val, p.vlen) < 1)
				return SMTP_PARAM_ESYNTAX;
			out->has_auth = true;
		} else {
			return SMTP_PARAM_EUNKNOWN;
		}
	}
	if (rc < 0)
		return SMTP_PARAM_ESYNTAX;
	if (bad)
		*bad = NULL;
	return SMTP_PARAM_OK;
}

static int parse_notify(const struct param *p, struct smtp_rcpt_params *out)
{
	size_t i = 0;
	unsigned bits = 0;

	if (!p->val)
		return SMTP_PARAM_ESYNTAX;
	while (i < p->vlen) {
		size_t k = i;
		while (k < p->vlen && p->val[k] != ',')
			k++;
		struct param w = {p->val + i, k - i, NULL, 0};
		unsigned b;
		if (key_is(&w, "NEVER"))
			b = SMTP_NOTIFY_NEVER;
		else if (key_is(&w, "SUCCESS"))
			b = SMTP_NOTIFY_SUCCESS;
		else if (key_is(&w, "FAILURE"))
			b = SMTP_NOTIFY_FAILURE;
		else if (key_is(&w, "DELAY"))
			b = SMTP_NOTIFY_DELAY;
		else
			return SMTP_PARAM_ESYNTAX;
		if (bits & b)
			return SMTP_PARAM_ESYNTAX;
		bits |= b;
		i = k;
		if (i < p->vlen) {
			i++; /* ',' */
			if (i == p->vlen)
				return SMTP_PARAM_ESYNTAX;
		}
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return SMTP_PARAM_ESYNTAX;
	out->notify = bits;
	out->notify_str[0] = '\0';
	if (bits == SMTP_NOTIFY_NEVER) {
		strcpy(out->notify_str, "NEVER");
	} else {
		static const struct {
			unsigned bit;
			const char *name;
		} names[] = {{SMTP_NOTIFY_SUCCESS, "SUCCESS"},
		             {SMTP_NOTIFY_FAILURE, "FAILURE"},
		             {SMTP_NOTIFY_DELAY, "DELAY"}};
		for (size_t k = 0; k < 3; k++) {
			if (!(bits & names[k].bit))
				continue;
			if (out->notify_str[0])
				strcat(out->notify_str, ",");
			strcat(out->notify_str, names[k].name);
		}
	}
	return SMTP_PARAM_OK;
}

int smtp_rcpt_params_parse(const char *s, size_t len, struct smtp_rcpt_params *out,
                           const char **bad)
{
	struct param p;
	size_t i = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (bad)
		*bad = NULL;
	while ((rc = next_param(s, len, &i, &p)) == 1) {
		if (bad)
			*bad = p.key;
		if (key_is(&p, "NOTIFY")) {
			if (out->notify)
				return SMTP_PARAM_ESYNTAX;
			rc = parse_notify(&p, out);
			if (rc != SMTP_PARAM_OK)
				return rc;
		} else if (key_is(&p, "ORCPT")) {
			/* addr-type ";" xtext, addr-type an atom */
			size_t semi = 0;
			if (out->has_orcpt || !p.val || p.vlen > SMTP_ORCPT_MAX)
				return SMTP_PARAM_ESYNTAX;
			while (semi < p.vlen && p.val[semi] != ';')
				semi++;
			if (semi == 0 || semi >= p.vlen - 1)
				return SMTP_PARAM_ESYNTAX;
			for (size_t k = 0; k < semi; k++)
				if (!is_atext((unsigned char)p.val[k]))
					return SMTP_PARAM_ESYNTAX;
			if (smtp_xtext_check(p.val + semi + 1, p.vlen - semi - 1) < 1)
				return SMTP_PARAM_ESYNTAX;
			memcpy(out->orcpt, p.val, p.vlen);
			out->orcpt[p.vlen] = '\0';
			out->has_orcpt = true;
		} else {
			return SMTP_PARAM_EUNKNOWN;
		}
	}
	if (rc < 0)
		return SMTP_PARAM_ESYNTAX;
	if (bad)
		*bad = NULL;
	return SMTP_PARAM_OK;
}
