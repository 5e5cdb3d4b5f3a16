/* email_build: an Email/set create object to message bytes (RFC 8621
 * §4.6). Why one pure file: the rules (which properties may be set, how
 * a header is encoded, which multipart shape the body parts make) are
 * the part of sending mail a hostile client can reach, so they are kept
 * away from the store and fuzzed alone.
 *
 * The header fields come from the convenience properties (from, to,
 * subject, sentAt, messageId ...) and the header:Name[:asForm][:all]
 * ones; a field given both ways is invalid. Non-ASCII text goes out as
 * RFC 2047 encoded words, non-ASCII file names as RFC 2231 parameters.
 * The body is either bodyStructure, or textBody/htmlBody/attachments,
 * which are first turned into a bodyStructure: text and html make a
 * multipart/alternative, inline attachments with a cid a
 * multipart/related around the html, other attachments a
 * multipart/mixed. Text from bodyValues goes out 7bit when it can, else
 * quoted-printable; blobs go out base64. */
#include "proto/jmap/email_build.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 10
#define MAX_PARTS 256

struct bctx {
	const struct email_build_env *env;
	json_t *create;
	json_t *body_values;
	struct buf *out;
	const char **prop, **why;
	unsigned nboundary;
	size_t nparts;
};

static int invalid(struct bctx *b, const char *prop, const char *why)
{
	*b->prop = prop;
	*b->why = why;
	return EMAIL_BUILD_INVALID;
}

static bool is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return true;
	return false;
}

/* Valid UTF-8 (jansson only hands out valid strings, but be sure). */
static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80         ? 0
		        : (*p >> 5) == 6  ? 1
		        : (*p >> 4) == 14 ? 2
		        : (*p >> 3) == 30 ? 3
		                          : -1;
		if (n < 0)
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_add(struct buf *o, const unsigned char *p, size_t n)
{
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		int r = buf_add(o, q, 4);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Text as RFC 2047 B encoded words, each at most 75 characters, cut at
 * character boundaries, folded onto lines of their own. */
static int encoded_words(struct buf *o, const char *s)
{
	size_t n = strlen(s), i = 0;
	bool first = true;
	while (i < n || first) {
		size_t k = i + 39 < n ? i + 39 : n; /* 52 base64 characters */
		while (k > i && k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		int r = buf_adds(o, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
		if (r == 0)
			r = b64_add(o, (const unsigned char *)s + i, k - i);
		if (r == 0)
			r = buf_adds(o, "?=");
		if (r < 0)
			return r;
		first = false;
		i = k;
	}
	return 0;
}

/* Unstructured text (Subject, header:X:asText): as is when short ASCII,
 * else encoded words. */
static int add_text(struct buf *o, const char *s)
{
	size_t n = strlen(s);
	if (is_ascii(s, n) && n < 900 && !strstr(s, "=?"))
		return buf_adds(o, s);
	return encoded_words(o, s);
}

/* A display name: an atom list, a quoted string or encoded words. */
static int add_phrase(struct buf *o, const char *s)
{
	size_t n = strlen(s);
	if (!is_ascii(s, n) || n > 200 || strstr(s, "=?"))
		return encoded_words(o, s);
	bool plain = true;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(" !#$%&'*+-/=?^_`{|}~", s[i])))
			plain = false;
	if (plain)
		return buf_adds(o, s);
	int r = buf_addc(o, '"');
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			r = buf_addc(o, '\\');
		if (r == 0)
			r = buf_addc(o, s[i]);
	}
	return r < 0 ? r : buf_addc(o, '"');
}

static bool email_ok(const char *e)
{
	const char *at = strrchr(e, '@');
	if (!at || at == e || !at[1] || strlen(e) > 254)
		return false;
	for (const char *p = e; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>()[],;:\\\"", *p))
			return false;
	return utf8_ok(e);
}

/* An EmailAddress[] as a header field value; <0 errno, 1 invalid. */
static int add_addresses(struct buf *o, json_t *list)
{
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 1000)
		return 1;
	size_t i, line = 0;
	json_t *a;
	json_array_foreach(list, i, a)
	{
		json_t *name = json_object_get(a, "name"), *email = json_object_get(a, "email");
		const char *k;
		json_t *v;
		if (!json_is_object(a) || !json_is_string(email) ||
		    (name && !json_is_null(name) && !json_is_string(name)))
			return 1;
		json_object_foreach(a, k, v) if (strcmp(k, "name") && strcmp(k, "email")) return 1;
		const char *e = json_string_value(email), *nm = json_string_value(name);
		if (!email_ok(e) || (nm && (has_ctl(nm) || !utf8_ok(nm))))
			return 1;
		size_t start = o->len;
		int r = 0;
		if (i)
			r = buf_adds(o, line > 60 ? ",\r\n " : ", ");
		if (i && line > 60)
			line = 0;
		if (r == 0 && nm && *nm) {
			r = add_phrase(o, nm);
			if (r == 0)
				r = buf_printf(o, " <%s>", e);
		} else if (r == 0) {
			r = buf_adds(o, e);
		}
		if (r < 0)
			return r;
		line += o->len - start;
	}
	return 0;
}

/* A msg-id without its <>: id-left "@" id-right, no space or brackets. */
static bool msgid_ok(const char *s)
{
	return s && strchr(s, '@') && strlen(s) < 250 && email_ok(s) && is_ascii(s, strlen(s));
}

static int add_msgids(struct buf *o, json_t *list)
{
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 1000)
		return 1;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (!msgid_ok(json_string_value(v)))
			return 1;
		int r = buf_printf(o, "%s<%s>", i ? "\r\n " : "", json_string_value(v));
		if (r < 0)
			return r;
	}
	return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static const char *const wday[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A JMAP Date ("2024-01-02T03:04:05+01:00", RFC 3339) as an RFC 5322
 * date-time in its own zone; 1 when it is not one. */
static int add_date(struct buf *o, const char *s)
{
	unsigned y, mo, d, h, mi, se, zh = 0, zm = 0;
	int used = 0;
	if (!s || sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
	    used != 19)
		return 1;
	const char *p = s + used;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	char sign = '+';
	if (*p == 'Z' && !p[1]) {
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
	           sscanf(p + 1, "%2u:%2u", &zh, &zm) == 2) {
		sign = *p;
	} else {
		return 1;
	}
	if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 ||
	    zh > 23 || zm > 59)
		return 1;
	int64_t days = days_from_civil(y, mo, d);
	return buf_printf(o, "%s, %02u %s %04u %02u:%02u:%02u %c%02u%02u",
	                  wday[((days % 7) + 7) % 7], d, mon[mo - 1], y, h, mi, se, sign, zh, zm);
}

static int add_now(struct buf *o, int64_t now)
{
	time_t t = (time_t)now;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	return buf_printf(o, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	                  wday[((now / 86400) % 7 + 7) % 7], tm.tm_mday, mon[tm.tm_mon],
	                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A raw header value: bytes as given, folding allowed (CRLF + WSP). */
static bool raw_ok(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\r') {
			if (p[1] != '\n' || (p[2] != ' ' && p[2] != '\t'))
				return false;
			p++;
		} else if (*p == '\n' || (unsigned char)*p == 0x7f) {
			return false;
		}
	}
	return utf8_ok(s) && strlen(s) < 10000;
}

static bool field_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 76)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':')
			return false;
	return true;
}

/* The convenience properties and the header field each one sets. */
static const struct {
	const char *prop, *field;
	enum { F_ADDR, F_TEXT, F_IDS, F_DATE } form;
} conv[] = {
    {"from", "From", F_ADDR},
    {"sender", "Sender", F_ADDR},
    {"to", "To", F_ADDR},
    {"cc", "Cc", F_ADDR},
    {"bcc", "Bcc", F_ADDR},
    {"replyTo", "Reply-To", F_ADDR},
    {"subject", "Subject", F_TEXT},
    {"sentAt", "Date", F_DATE},
    {"messageId", "Message-ID", F_IDS},
    {"inReplyTo", "In-Reply-To", F_IDS},
    {"references", "References", F_IDS},
};

/* One field "Name: value\r\n" of form (F_* or -1 raw) from v; 1 invalid. */
static int add_field(struct buf *o, const char *name, size_t nlen, int form, json_t *v)
{
	int r = buf_printf(o, "%.*s: ", (int)nlen, name);
	if (r < 0)
		return r;
	switch (form) {
	case F_ADDR:
		r = add_addresses(o, v);
		break;
	case F_TEXT:
		if (!json_is_string(v) || has_ctl(json_string_value(v)) ||
		    !utf8_ok(json_string_value(v)))
			return 1;
		r = add_text(o, json_string_value(v));
		break;
	case F_IDS:
		r = add_msgids(o, v);
		break;
	case F_DATE:
		r = add_date(o, json_string_value(v));
		break;
	default:
		if (!json_is_string(v) || !raw_ok(json_string_value(v)))
			return 1;
		{
			const char *s = json_string_value(v);
			r = buf_adds(o, *s == ' ' ? s + 1 : s);
		}
	}
	if (r)
		return r;
	return buf_adds(o, "\r\n");
}

/* "header:Name[:asForm][:all]": name, its length, the form, all. */
static bool header_prop(const char *key, const char **name, size_t *nlen, int *form, bool *all)
{
	if (strncmp(key, "header:", 7) != 0)
		return false;
	*name = key + 7;
	const char *c = strchr(*name, ':');
	*nlen = c ? (size_t)(c - *name) : strlen(*name);
	*form = -1;
	*all = false;
	while (c) {
		const char *s = c + 1;
		c = strchr(s, ':');
		size_t n = c ? (size_t)(c - s) : strlen(s);
#define IS(w) (n == sizeof w - 1 && !strncmp(s, w, n))
		if (IS("all") && !c)
			*all = true;
		else if (IS("asRaw") && *form == -1)
			*form = -1;
		else if (IS("asText") && *form == -1)
			*form = F_TEXT;
		else if (IS("asAddresses") && *form == -1)
			*form = F_ADDR;
		else if (IS("asMessageIds") && *form == -1)
			*form = F_IDS;
		else if (IS("asDate") && *form == -1)
			*form = F_DATE;
		else
			return false;
#undef IS
	}
	return field_name_ok(*name, *nlen);
}

static bool same_field(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* The top-level header fields; Content-* fields belong to body parts. */
static int add_headers(struct bctx *b)
{
	const char *key;
	json_t *v;
	bool have_date = false, have_id = false;
	json_object_foreach(b->create, key, v)
	{
		if (json_is_null(v))
			continue;
		const char *name;
		size_t nlen;
		int form = -2, r;
		bool all;
		for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++)
			if (!strcmp(key, conv[i].prop)) {
				name = conv[i].field;
				nlen = strlen(name);
				form = (int)conv[i].form;
			}
		if (form == -2) {
			if (!header_prop(key, &name, &nlen, &form, &all))
				continue; /* not a header: checked elsewhere */
			if (nlen >= 8 && !strncasecmp(name, "content-", 8))
				return invalid(b, key, "Content-* fields go on body parts");
			for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++)
				if (same_field(name, nlen, conv[i].field) &&
				    json_object_get(b->create, conv[i].prop) &&
				    !json_is_null(json_object_get(b->create, conv[i].prop)))
					return invalid(b, key,
					               "the field is also set by its property");
			if (same_field(name, nlen, "MIME-Version"))
				return invalid(b, key, "the server sets MIME-Version");
			if (all) {
				size_t i;
				json_t *one;
				if (!json_is_array(v))
					return invalid(b, key, ":all takes an array");
				json_array_foreach(v, i, one)
				{
					if ((r = add_field(b->out, name, nlen, form, one)))
						return r < 0 ? r
						             : invalid(b, key, "not a valid value");
				}
				continue;
			}
		}
		if (same_field(name, nlen, "Date"))
			have_date = true;
		if (same_field(name, nlen, "Message-ID"))
			have_id = true;
		if ((r = add_field(b->out, name, nlen, form, v)))
			return r < 0 ? r : invalid(b, key, "not a valid value");
		if (form == F_IDS && same_field(name, nlen, "Message-ID") &&
		    json_array_size(v) != 1)
			return invalid(b, key, "an Email has one Message-ID");
	}
	int r = 0;
	if (!have_date) {
		r = buf_adds(b->out, "Date: ");
		if (r == 0)
			r = add_now(b->out, b->env->now);
		if (r == 0)
			r = buf_adds(b->out, "\r\n");
	}
	if (r == 0 && !have_id)
		r = buf_printf(b->out, "Message-ID: <%s@%s>\r\n", b->env->unique,
		               b->env->hostname && *b->env->hostname ? b->env->hostname
		                                                     : "localhost");
	if (r == 0)
		r = buf_adds(b->out, "MIME-Version: 1.0\r\n");
	return r;
}

/* ---- body parts ---- */

/* A media type token "type/subtype", lowercase letters, digits, +-. */
static bool type_ok(const char *t)
{
	const char *slash = t ? strchr(t, '/') : NULL;
	if (!slash || slash == t || !slash[1] || strlen(t) > 100)
		return false;
	for (const char *p = t; *p; p++)
		if (p != slash && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		                    (*p >= '0' && *p <= '9') || strchr("+-.!#$&^_", *p)))
			return false;
	return true;
}

/* A parameter value: a token or a quoted string when ASCII, else RFC
 * 2231 (name*=utf-8''%xx). */
static int add_param(struct buf *o, const char *param, const char *v)
{
	size_t n = strlen(v);
	if (is_ascii(v, n) && n < 200) {
		int r = buf_printf(o, ";\r\n %s=\"", param);
		for (size_t i = 0; r == 0 && i < n; i++) {
			if (v[i] == '"' || v[i] == '\\')
				r = buf_addc(o, '\\');
			if (r == 0)
				r = buf_addc(o, v[i]);
		}
		return r < 0 ? r : buf_addc(o, '"');
	}
	int r = buf_printf(o, ";\r\n %s*=utf-8''", param);
	for (size_t i = 0; r == 0 && i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("!#$&+-.^_`|~", ch))
			r = buf_addc(o, (char)ch);
		else
			r = buf_printf(o, "%%%02X", ch);
	}
	return r;
}

/* Text with any line end made CRLF, into t. */
static int crlf_text(struct buf *t, const char *s)
{
	int r = 0;
	for (; *s && r == 0; s++) {
		if (*s == '\r') {
			r = buf_adds(t, "\r\n");
			if (s[1] == '\n')
				s++;
		} else if (*s == '\n') {
			r = buf_adds(t, "\r\n");
		} else {
			r = buf_addc(t, *s);
		}
	}
	return r;
}

/* 7bit is safe: ASCII, short lines, nothing a boundary could match. */
static bool sevenbit_ok(const char *s, size_t n)
{
	size_t line = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x80 || ch == 0)
			return false;
		line = ch == '\n' ? 0 : line + 1;
		if (line > 900)
			return false;
	}
	return !strstr(s, "=_tern_") && (n == 0 || (s[n - 1] != ' ' && s[n - 1] != '\t'));
}

/* Quoted-printable (RFC 2045 §6.7), lines of at most 76, CRLF kept as
 * hard line breaks. */
static int add_qp(struct buf *o, const char *s, size_t n)
{
	size_t line = 0;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\r' && i + 1 < n && s[i + 1] == '\n') {
			r = buf_adds(o, "\r\n");
			i++;
			line = 0;
			continue;
		}
		bool at_end = i + 1 == n || s[i + 1] == '\r';
		bool lit =
		    (ch >= 33 && ch <= 126 && ch != '=') || ((ch == ' ' || ch == '\t') && !at_end);
		size_t w = lit ? 1 : 3;
		if (line + w > 75) {
			r = buf_adds(o, "=\r\n");
			line = 0;
		}
		if (r == 0)
			r = lit ? buf_addc(o, (char)ch) : buf_printf(o, "=%02X", ch);
		line += w;
	}
	return r;
}

static int add_base64_lines(struct buf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 57) {
		int r = b64_add(o, (const unsigned char *)s + i, n - i < 57 ? n - i : 57);
		if (r == 0)
			r = buf_adds(o, "\r\n");
		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_string_or_null(json_t *v)
{
	return !v || json_is_null(v) || json_is_string(v);
}

static int write_part(struct bctx *b, json_t *part, int depth);

/* RFC 8621 §4.6: a part's header:Content-* property may not stand for a
 * field this builder writes from the part's own properties (Content-Type,
 * -Transfer-Encoding, -Disposition, -ID always; -Language and -Location
 * when "language" or "location" is given), nor say one field twice. */
static bool part_field_taken(json_t *part, const char *name, size_t nlen)
{
	static const char *const always[] = {"content-type", "content-transfer-encoding",
	                                     "content-disposition", "content-id"};
	for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
		if (nlen == strlen(always[i]) && !strncasecmp(name, always[i], nlen))
			return true;
	if (nlen == 16 && !strncasecmp(name, "content-language", nlen))
		return json_object_get(part, "language") != NULL;
	if (nlen == 16 && !strncasecmp(name, "content-location", nlen))
		return json_object_get(part, "location") != NULL;
	return false;
}

static int write_leaf(struct bctx *b, json_t *part)
{
	const char *key;
	json_t *v;
	json_object_foreach(part, key, v)
	{
		if (strcmp(key, "partId") && strcmp(key, "blobId") && strcmp(key, "type") &&
		    strcmp(key, "name") && strcmp(key, "disposition") && strcmp(key, "cid") &&
		    strcmp(key, "charset") && strcmp(key, "language") && strcmp(key, "location") &&
		    strcmp(key, "size") && strncmp(key, "header:", 7))
			return invalid(b, "bodyStructure", "an unknown EmailBodyPart property");
		if (!strncmp(key, "header:", 7)) {
			const char *name;
			size_t nlen;
			int form;
			bool all;
			if (!header_prop(key, &name, &nlen, &form, &all) || all ||
			    part_field_taken(part, name, nlen))
				return invalid(b, "bodyStructure", "a part's header:* property");
		}
	}
	json_t *part_id = json_object_get(part, "partId"),
	       *blob_id = json_object_get(part, "blobId");
	json_t *type = json_object_get(part, "type"), *name = json_object_get(part, "name");
	json_t *disp = json_object_get(part, "disposition"), *cid = json_object_get(part, "cid");
	json_t *charset = json_object_get(part, "charset");
	json_t *lang = json_object_get(part, "language"), *loc = json_object_get(part, "location");
	if (!is_string_or_null(part_id) || !is_string_or_null(blob_id) ||
	    !is_string_or_null(type) || !is_string_or_null(name) || !is_string_or_null(disp) ||
	    !is_string_or_null(cid) || !is_string_or_null(loc) ||
	    (lang && !json_is_null(lang) && !json_is_array(lang)))
		return invalid(b, "bodyStructure", "a part's property has the wrong type");
	/* language: Content-Language tags (RFC 3282), location: a URI; both
	 * go into a header line, so no controls, no non-ASCII, no commas or
	 * spaces inside a tag. */
	size_t li;
	json_t *tag;
	json_array_foreach(lang, li, tag)
	{
		const char *tv = json_string_value(tag);
		if (!tv || !*tv || strlen(tv) > 64 || has_ctl(tv) || !is_ascii(tv, strlen(tv)) ||
		    strpbrk(tv, " ,;\"()<>"))
			return invalid(b, "bodyStructure", "a part's language");
	}
	if (json_is_string(loc) &&
	    (has_ctl(json_string_value(loc)) ||
	     !is_ascii(json_string_value(loc), strlen(json_string_value(loc))) ||
	     strlen(json_string_value(loc)) > 900))
		return invalid(b, "bodyStructure", "a part's location");
	bool by_part = json_is_string(part_id), by_blob = json_is_string(blob_id);
	if (by_part == by_blob)
		return invalid(b, "bodyStructure", "a part has either partId or blobId");
	if (by_part && charset && !json_is_null(charset))
		return invalid(b, "bodyStructure", "charset is not set on a partId part");
	struct buf body = {0};
	char btype[128] = "", bname[256] = "";
	const char *ctype = json_string_value(type);
	int r = 0;
	if (by_part) {
		json_t *bv = json_object_get(b->body_values, json_string_value(part_id));
		json_t *val = json_object_get(bv, "value");
		if (!json_is_string(val))
			return invalid(b, "bodyValues", "no bodyValue for the partId");
		json_t *trunc = json_object_get(bv, "isTruncated"),
		       *enc = json_object_get(bv, "isEncodingProblem");
		if (json_is_true(trunc) || json_is_true(enc))
			return invalid(b, "bodyValues",
			               "a bodyValue is truncated or has an encoding problem");
		if (!ctype)
			ctype = "text/plain";
		if (strncasecmp(ctype, "text/", 5) != 0)
			return invalid(b, "bodyStructure", "a partId part is text/*");
		r = crlf_text(&body, json_string_value(val));
	} else {
		r = b->env->blob ? b->env->blob(b->env->blob_ud, json_string_value(blob_id), &body,
		                                btype, sizeof btype, bname, sizeof bname)
		                 : 0;
		if (r == 0) {
			buf_free(&body);
			*b->prop = json_string_value(blob_id);
			*b->why = "no such blob";
			return EMAIL_BUILD_NO_BLOB;
		}
		if (r > 0)
			r = 0;
		if (!ctype)
			ctype = *btype ? btype : "application/octet-stream";
		if (!name || json_is_null(name))
			name = NULL;
	}
	if (r < 0)
		goto out;
	if (!type_ok(ctype)) {
		r = invalid(b, "bodyStructure", "not a media type");
		goto out;
	}
	if (!strncasecmp(ctype, "multipart/", 10) || !strcasecmp(ctype, "message/rfc822")) {
		if (!strncasecmp(ctype, "multipart/", 10)) {
			r = invalid(b, "bodyStructure", "a multipart part has subParts");
			goto out;
		}
	}
	const char *nm = name ? json_string_value(name) : (*bname ? bname : NULL);
	if ((nm && (has_ctl(nm) || !utf8_ok(nm))) ||
	    (cid &&
	     (has_ctl(json_string_value(cid)) ||
	      !is_ascii(json_string_value(cid), strlen(json_string_value(cid))) ||
	      strpbrk(json_string_value(cid), "<> ") || strlen(json_string_value(cid)) > 200))) {
		r = invalid(b, "bodyStructure", "a part's name or cid");
		goto out;
	}
	const char *d = json_string_value(disp);
	if (d && strcasecmp(d, "inline") && strcasecmp(d, "attachment")) {
		r = invalid(b, "bodyStructure", "disposition is inline or attachment");
		goto out;
	}
	if (b->env->max_size && body.len > b->env->max_size) {
		*b->prop = "bodyStructure";
		*b->why = "the message is too large";
		r = EMAIL_BUILD_TOO_LARGE;
		goto out;
	}
	bool text = by_part;
	r = buf_printf(b->out, "Content-Type: %s", ctype);
	if (r == 0 && text)
		r = buf_adds(b->out, "; charset=utf-8");
	if (r == 0 && nm && !text)
		r = add_param(b->out, "name", nm);
	const char *cte = "base64";
	if (text)
		cte =
		    sevenbit_ok(body.data ? body.data : "", body.len) ? "7bit" : "quoted-printable";
	if (r == 0)
		r = buf_printf(b->out, "\r\nContent-Transfer-Encoding: %s\r\n", cte);
	if (r == 0 && (d || nm)) {
		r = buf_printf(b->out, "Content-Disposition: %s", d ? d : "attachment");
		if (r == 0 && nm)
			r = add_param(b->out, "filename", nm);
		if (r == 0)
			r = buf_adds(b->out, "\r\n");
	}
	if (r == 0 && cid)
		r = buf_printf(b->out, "Content-ID: <%s>\r\n", json_string_value(cid));
	if (r == 0 && json_array_size(lang) > 0) {
		r = buf_adds(b->out, "Content-Language: ");
		json_array_foreach(lang, li, tag)
		{
			if (r == 0 && li > 0)
				r = buf_adds(b->out, ", ");
			if (r == 0)
				r = buf_adds(b->out, json_string_value(tag));
		}
		if (r == 0)
			r = buf_adds(b->out, "\r\n");
	}
	if (r == 0 && json_is_string(loc))
		r = buf_printf(b->out, "Content-Location: %s\r\n", json_string_value(loc));
	const char *key2;
	json_object_foreach(part, key2, v)
	{
		const char *hn;
		size_t hl;
		int form;
		bool all;
		if (r == 0 && !strncmp(key2, "header:", 7) &&
		    header_prop(key2, &hn, &hl, &form, &all) &&
		    (r = add_field(b->out, hn, hl, form, v)) > 0)
			r = invalid(b, "bodyStructure", "a part's header value");
	}
	if (r == 0)
		r = buf_adds(b->out, "\r\n");
	if (r == 0 && !strcmp(cte, "7bit"))
		r = buf_add(b->out, body.data ? body.data : "", body.len);
	else if (r == 0 && !strcmp(cte, "quoted-printable"))
		r = add_qp(b->out, body.data ? body.data : "", body.len);
	else if (r == 0)
		r = add_base64_lines(b->out, body.data ? body.data : "", body.len);
	if (r == 0 && text && body.len && body.data[body.len - 1] != '\n')
		r = buf_adds(b->out, "\r\n");
out:
	buf_free(&body);
	return r;
}

static int write_part(struct bctx *b, json_t *part, int depth)
{
	if (!json_is_object(part) || depth > MAX_DEPTH || ++b->nparts > MAX_PARTS)
		return invalid(b, "bodyStructure", "not an EmailBodyPart, or too deep");
	if (b->env->max_size && b->out->len > b->env->max_size) {
		*b->prop = "bodyStructure";
		*b->why = "the message is too large";
		return EMAIL_BUILD_TOO_LARGE;
	}
	json_t *sub = json_object_get(part, "subParts");
	if (!sub || json_is_null(sub))
		return write_leaf(b, part);
	const char *type = json_string_value(json_object_get(part, "type"));
	if (!json_is_array(sub) || !type || strncasecmp(type, "multipart/", 10) || !type_ok(type))
		return invalid(b, "bodyStructure", "subParts need a multipart/* type");
	const char *key;
	json_t *v;
	json_object_foreach(
	    part, key,
	    v) if (strcmp(key, "type") &&
	           strcmp(
	               key,
	               "subParts")) return invalid(b, "bodyStructure",
	                                           "a multipart part has only type and subParts");
	char boundary[96];
	snprintf(boundary, sizeof boundary, "=_tern_%.40s_%u", b->env->unique, b->nboundary++);
	int r = buf_printf(b->out, "Content-Type: %s;\r\n boundary=\"%s\"\r\n\r\n", type, boundary);
	size_t i;
	json_t *p;
	json_array_foreach(sub, i, p)
	{
		if (r == 0)
			r = buf_printf(b->out, "--%s\r\n", boundary);
		if (r == 0)
			r = write_part(b, p, depth + 1);
		if (r)
			return r;
	}
	return r ? r : buf_printf(b->out, "--%s--\r\n", boundary);
}

/* textBody/htmlBody/attachments as a bodyStructure (a new value). */
static json_t *structure_of(json_t *text, json_t *html, json_t *atts)
{
	json_t *t = json_array_get(text, 0), *h = json_array_get(html, 0);
	json_t *body = NULL;
	json_t *related = json_array(), *mixed = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(atts, i, a)
	{
		const char *d = json_string_value(json_object_get(a, "disposition"));
		bool inl =
		    h && json_is_string(json_object_get(a, "cid")) && d && !strcasecmp(d, "inline");
		json_array_append(inl ? related : mixed, a);
	}
	if (h && json_array_size(related)) {
		json_array_insert(related, 0, h);
		h = json_pack("{s:s, s:O}", "type", "multipart/related", "subParts", related);
	} else if (h) {
		json_incref(h);
	}
	json_decref(related);
	if (t && h)
		body =
		    json_pack("{s:s, s:[O, o]}", "type", "multipart/alternative", "subParts", t, h);
	else if (h)
		body = h;
	else if (t)
		body = json_incref(t);
	if (!json_array_size(mixed)) {
		json_decref(mixed);
		return body;
	}
	if (body)
		json_array_insert_new(mixed, 0, body);
	return json_pack("{s:s, s:o}", "type", "multipart/mixed", "subParts", mixed);
}

static const char *const caller_props[] = {"mailboxIds", "keywords", "receivedAt"};
static const char *const server_props[] = {"id",   "blobId",  "threadId",
                                           "size", "preview", "hasAttachment"};

int email_build(json_t *create, const struct email_build_env *env, struct buf *out,
                const char **prop, const char **why)
{
	static const char *dummy;
	if (!prop)
		prop = &dummy;
	if (!why)
		why = &dummy;
	*prop = NULL;
	*why = NULL;
	struct bctx b = {.env = env, .create = create, .out = out, .prop = prop, .why = why};
	if (!json_is_object(create))
		return invalid(&b, "", "an Email is an object");
	const char *key;
	json_t *v;
	json_object_foreach(create, key, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof server_props / sizeof server_props[0]; i++)
			if (!strcmp(key, server_props[i]))
				return invalid(&b, key, "the server sets it");
		for (size_t i = 0; i < sizeof caller_props / sizeof caller_props[0]; i++)
			known |= !strcmp(key, caller_props[i]);
		for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++)
			known |= !strcmp(key, conv[i].prop);
		if (!strcmp(key, "bodyStructure") || !strcmp(key, "textBody") ||
		    !strcmp(key, "htmlBody") || !strcmp(key, "attachments") ||
		    !strcmp(key, "bodyValues"))
			known = true;
		if (!known && !strncmp(key, "header:", 7)) {
			const char *n;
			size_t nl;
			int f;
			bool all;
			known = header_prop(key, &n, &nl, &f, &all);
		}
		if (!known)
			return invalid(&b, key, "not a property an Email can be created with");
	}
	json_t *bs = json_object_get(create, "bodyStructure");
	json_t *tb = json_object_get(create, "textBody"), *hb = json_object_get(create, "htmlBody");
	json_t *at = json_object_get(create, "attachments");
	b.body_values = json_object_get(create, "bodyValues");
	if (b.body_values && !json_is_null(b.body_values) && !json_is_object(b.body_values))
		return invalid(&b, "bodyValues", "an object");
	if (bs && !json_is_null(bs) &&
	    ((tb && !json_is_null(tb)) || (hb && !json_is_null(hb)) || (at && !json_is_null(at))))
		return invalid(&b, "bodyStructure",
		               "bodyStructure or textBody/htmlBody/attachments");
	if (tb && !json_is_null(tb) && (!json_is_array(tb) || json_array_size(tb) != 1))
		return invalid(&b, "textBody", "one text/plain part");
	if (hb && !json_is_null(hb) && (!json_is_array(hb) || json_array_size(hb) != 1))
		return invalid(&b, "htmlBody", "one text/html part");
	if (at && !json_is_null(at) && (!json_is_array(at) || json_array_size(at) > MAX_PARTS))
		return invalid(&b, "attachments", "an array of parts");
	const char *t0 = json_string_value(json_object_get(json_array_get(tb, 0), "type"));
	const char *h0 = json_string_value(json_object_get(json_array_get(hb, 0), "type"));
	if (t0 && strcasecmp(t0, "text/plain"))
		return invalid(&b, "textBody", "textBody is text/plain");
	if (h0 && strcasecmp(h0, "text/html"))
		return invalid(&b, "htmlBody", "htmlBody is text/html");
	if (json_is_object(json_array_get(hb, 0)) && !h0)
		json_object_set_new(json_array_get(hb, 0), "type", json_string("text/html"));
	int r = add_headers(&b);
	if (r)
		return r;
	bool any_body = (bs && !json_is_null(bs)) || json_array_size(tb) || json_array_size(hb) ||
	                json_array_size(at);
	if (!any_body) /* no body at all: an empty text/plain */
		return buf_adds(out, "Content-Type: text/plain; charset=utf-8\r\n"
		                     "Content-Transfer-Encoding: 7bit\r\n\r\n");
	json_t *s = bs && !json_is_null(bs) ? json_incref(bs) : structure_of(tb, hb, at);
	if (!s)
		return -ENOMEM;
	r = write_part(&b, s, 0);
	json_decref(s);
	if (r == 0 && env->max_size && out->len > env->max_size) {
		*prop = "bodyStructure";
		*why = "the message is too large";
		r = EMAIL_BUILD_TOO_LARGE;
	}
	return r;
}
