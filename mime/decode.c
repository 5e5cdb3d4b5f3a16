/* decode.c: transfer encodings, charsets and RFC 2047 words -> UTF-8.
 *
 * Everything here is what SEARCH and BINARY need, and all of it has to cope
 * with whatever a sender wrote.  So nothing fails on bad input: base64
 * skips characters outside its alphabet, quoted-printable keeps a bad "="
 * as it is, an unknown or hostile charset name falls back to "UTF-8 if it
 * is valid UTF-8, Windows-1252 otherwise" (what mail clients do too), and
 * invalid bytes inside a known charset become U+FFFD.  Outputs are never
 * longer than a small multiple of the input, and every loop advances.
 *
 * Charset names reach iconv_open() only after a whitelist check (letters,
 * digits, "-_.:", at most 40 bytes): glibc loads gconv modules by name, and
 * a name is attacker-controlled text.
 */
#include "mime/mime_int.h"
#include "lib/utf8.h"
#include "lib/base64.h"
#include "lib/hex.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

enum mime_encoding mime_part_encoding(const struct mime_part *p)
{
	const char *e = p->encoding;
	if (!e || !*e || strcasecmp(e, "7bit") == 0 || strcasecmp(e, "8bit") == 0 ||
	    strcasecmp(e, "binary") == 0)
		return MIME_ENC_IDENTITY;
	if (strcasecmp(e, "base64") == 0)
		return MIME_ENC_BASE64;
	if (strcasecmp(e, "quoted-printable") == 0)
		return MIME_ENC_QP;
	return MIME_ENC_UNKNOWN;
}

static int b64val(unsigned char c)
{
	return base64_value(c, '/');
}

int mime_decode_base64_run(struct mime_b64_state *st, const char *in, size_t len, struct buf *out)
{
	unsigned acc = st->acc;
	int bits = st->bits, r = 0;
	char chunk[256];
	size_t cn = 0;
	for (size_t i = 0; i < len && r == 0; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=') {
			/* padding: drop the partial byte; a later group (sloppy
			 * concatenation of encoded blocks) starts afresh */
			bits = 0;
			acc = 0;
			continue;
		}
		int v = b64val(c);
		if (v < 0)
			continue;
		acc = ((acc << 6) | (unsigned)v) & 0x3fff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[cn++] = (char)((acc >> bits) & 0xff);
			if (cn == sizeof(chunk)) {
				r = buf_add(out, chunk, cn);
				cn = 0;
			}
		}
	}
	if (r == 0)
		r = buf_add(out, chunk, cn);
	st->acc = acc & ((1u << bits) - 1);
	st->bits = bits;
	return r;
}

int mime_decode_base64(const char *in, size_t len, struct buf *out)
{
	struct mime_b64_state st = {0, 0};
	return mime_decode_base64_run(&st, in, len, out);
}

int mime_decode_qp(const char *in, size_t len, struct buf *out)
{
	int r = buf_add(out, "", 0);
	size_t pos = 0;
	while (pos < len && r == 0) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t next = nl ? (size_t)(nl - in) + 1 : len;
		size_t ce = nl ? (size_t)(nl - in) : len;
		size_t te = ce;
		if (te > pos && in[te - 1] == '\r')
			te--;
		size_t eol_start = te;
		while (te > pos && mime_wsp(in[te - 1]))
			te--; /* trailing white space was added in transport */
		bool soft = te > pos && in[te - 1] == '=';
		if (soft)
			te--;
		size_t i = pos;
		while (i < te && r == 0) {
			const char *eq = memchr(in + i, '=', te - i);
			size_t run = eq ? (size_t)(eq - in) - i : te - i;
			r = buf_add(out, in + i, run);
			i += run;
			if (i >= te || r)
				break;
			if (i + 2 < te && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
				r = buf_addc(
				    out, (char)(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
				i += 3;
			} else {
				r = buf_addc(out, '=');
				i++;
			}
		}
		if (!soft && r == 0 && next > eol_start)
			r = buf_add(out, in + eol_start, next - eol_start);
		pos = next;
	}
	return r;
}

int mime_decode_body(const struct mime_message *m, const struct mime_part *p, struct buf *out)
{
	const char *b = m->raw + p->body_start;
	switch (mime_part_encoding(p)) {
	case MIME_ENC_IDENTITY:
		return buf_add(out, b, p->size);
	case MIME_ENC_BASE64:
		return mime_decode_base64(b, p->size, out);
	case MIME_ENC_QP:
		return mime_decode_qp(b, p->size, out);
	default:
		return -EINVAL;
	}
}

/* ---- charsets ----------------------------------------------------------- */

static const unsigned short cp1252[32] = {
    0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd, 0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

int mime_put_utf8(struct buf *out, unsigned cp)
{
	char u[4];
	return buf_add(out, u, utf8_encode(cp, u));
}

/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t i = 0;
	return utf8_decode(s, n, &i) < 0 ? 0 : i;
}

/* Valid UTF-8 kept, other bytes read as Windows-1252; NUL dropped. */
static int fallback_utf8(const char *in, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)in;
	int r = buf_add(out, "", 0);
	for (size_t i = 0; i < len && r == 0;) {
		size_t l = utf8_seq(u + i, len - i);
		if (l) {
			if (u[i])
				r = buf_add(out, in + i, l);
			i += l;
			continue;
		}
		unsigned c = u[i++];
		r = mime_put_utf8(out, c >= 0x80 && c < 0xa0 ? cp1252[c - 0x80] : c);
	}
	return r;
}

static bool charset_name_ok(const char *c, size_t n)
{
	if (n == 0 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)c[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == ':'))
			return false;
	}
	return true;
}

int mime_to_utf8(const char *charset, const char *in, size_t len, struct buf *out)
{
	char cs[48];
	size_t n = charset ? strcspn(charset, "*") : 0; /* RFC 2231 "*lang" */
	if (!charset_name_ok(charset ? charset : "", n))
		return fallback_utf8(in, len, out);
	for (size_t i = 0; i < n; i++)
		cs[i] = (char)mime_lc((unsigned char)charset[i]);
	cs[n] = '\0';
	if (strcmp(cs, "utf-8") == 0 || strcmp(cs, "utf8") == 0 || strcmp(cs, "us-ascii") == 0 ||
	    strcmp(cs, "ascii") == 0 || strcmp(cs, "iso-8859-1") == 0 ||
	    strcmp(cs, "latin1") == 0 || strcmp(cs, "windows-1252") == 0 ||
	    strcmp(cs, "cp1252") == 0 || strncmp(cs, "unknown", 7) == 0 ||
	    strncmp(cs, "x-unknown", 9) == 0)
		return fallback_utf8(in, len, out);
	if (strcmp(cs, "ks_c_5601-1987") == 0)
		strcpy(cs, "cp949");
	else if (strcmp(cs, "gb2312") == 0)
		strcpy(cs, "gbk"); /* a superset senders rely on */
	iconv_t cd = iconv_open("UTF-8", cs);
	if (cd == (iconv_t)-1)
		return fallback_utf8(in, len, out);
	int r = buf_add(out, "", 0);
	char tmp[1024];
	char *ip = (char *)in;
	size_t il = len;
	while (il > 0 && r == 0) {
		char *op = tmp;
		size_t ol = sizeof(tmp);
		size_t k = iconv(cd, &ip, &il, &op, &ol);
		r = buf_add(out, tmp, (size_t)(op - tmp));
		if (k == (size_t)-1 && r == 0) {
			if (errno == E2BIG)
				continue;
			/* EILSEQ / EINVAL: one bad byte, replace and go on */
			r = mime_put_utf8(out, 0xfffd);
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	if (r == 0) {
		char *op = tmp;
		size_t ol = sizeof(tmp);
		iconv(cd, NULL, NULL, &op, &ol);
		r = buf_add(out, tmp, (size_t)(op - tmp));
	}
	iconv_close(cd);
	/* some converters pass NUL through; the index does not want it */
	if (r == 0 && memchr(out->data, '\0', out->len)) {
		size_t w = 0;
		for (size_t i = 0; i < out->len; i++)
			if (out->data[i])
				out->data[w++] = out->data[i];
		out->len = w;
		out->data[w] = '\0';
	}
	return r;
}

/* ---- RFC 2047 ------------------------------------------------------------ */

/* Parse an encoded word at s[0..n): "=?cs?e?text?=".  Returns its length
 * or 0.  *close caches the offset (from s) of the next "?=" so that a
 * header full of "=?" that never close costs O(n), not O(n^2): the text
 * of a word ends at the first "?=" after its start, and starts only grow. */
static size_t ew_parse(const char *s, size_t n, const char **cs, size_t *csl, char *enc,
                       const char **txt, size_t *tl, const char **close)
{
	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	size_t i = 2;
	while (i < n && s[i] != '?' && !mime_wsp(s[i]) && i < 2 + 60)
		i++;
	if (i >= n || s[i] != '?' || i == 2)
		return 0;
	*cs = s + 2;
	*csl = i - 2;
	if (i + 2 >= n || s[i + 2] != '?')
		return 0;
	char e = (char)mime_lc((unsigned char)s[i + 1]);
	if (e != 'b' && e != 'q')
		return 0;
	*enc = e;
	const char *ts = s + i + 3, *end = s + n;
	if (*close && *close < ts) {
		*close = memmem(ts, (size_t)(end - ts), "?=", 2);
		if (!*close)
			*close = end; /* none left: every later word fails */
	}
	if (*close >= end || *close < ts)
		return 0;
	*txt = ts;
	*tl = (size_t)(*close - ts);
	return (size_t)(*close - s) + 2;
}

static int ew_decode(char enc, const char *t, size_t tl, struct buf *bytes)
{
	if (enc == 'b')
		return mime_decode_base64(t, tl, bytes);
	int r = 0;
	for (size_t i = 0; i < tl && r == 0; i++) {
		if (t[i] == '_') {
			r = buf_addc(bytes, ' ');
		} else if (t[i] == '=' && i + 2 < tl && hex_value(t[i + 1]) >= 0 &&
		           hex_value(t[i + 2]) >= 0) {
			r = buf_addc(bytes, (char)(hex_value(t[i + 1]) * 16 + hex_value(t[i + 2])));
			i += 2;
		} else {
			r = buf_addc(bytes, t[i]);
		}
	}
	return r;
}

int mime_decode_header_value(const char *v, size_t len, struct buf *out)
{
	struct buf un = {0}, bytes = {0};
	char pcs[64] = "";
	int r = 0;
	/* unfold: a white space run that contains a line break becomes one
	 * space, or nothing inside an encoded word (a word cannot contain
	 * white space; a sender that folded inside one meant no space);
	 * the ends are trimmed.  q counts the '?' of an open "=?cs?e?text?=". */
	int q = 0;
	for (size_t i = 0; i < len && r == 0;) {
		if (mime_wsp(v[i]) || v[i] == '\r' || v[i] == '\n') {
			size_t j = i;
			bool fold = false;
			while (j < len && (mime_wsp(v[j]) || v[j] == '\r' || v[j] == '\n')) {
				fold |= v[j] == '\r' || v[j] == '\n';
				j++;
			}
			if (un.len && j < len && !(fold && q >= 3))
				r = fold ? buf_addc(&un, ' ') : buf_add(&un, v + i, j - i);
			if (!fold || q < 3)
				q = 0;
			i = j;
		} else {
			if (v[i] == '=' && i + 1 < len && v[i + 1] == '?' && q == 0) {
				q = 1;
				r = buf_add(&un, v + i, 2);
				i += 2;
				continue;
			}
			if (q && v[i] == '?') {
				if (q >= 3 && i + 1 < len && v[i + 1] == '=') {
					q = 0;
					r = buf_add(&un, v + i, 2);
					i += 2;
					continue;
				}
				q++;
			}
			r = buf_addc(&un, v[i++]);
		}
	}
	if (r == 0)
		r = buf_add(&un, "", 0);
	if (r == 0)
		r = buf_add(out, "", 0);
	const char *s = un.data;
	size_t n = un.len, i = 0, plain = 0;
	const char *close = s; /* see ew_parse() */
	bool prev_ew = false;
	while (i < n && r == 0) {
		const char *cs, *txt;
		size_t csl, tl;
		char enc;
		size_t l = (s[i] == '=' && i + 1 < n && s[i + 1] == '?')
		               ? ew_parse(s + i, n - i, &cs, &csl, &enc, &txt, &tl, &close)
		               : 0;
		if (!l) {
			i++;
			continue;
		}
		/* text before this word */
		bool only_ws = true;
		for (size_t k = plain; k < i; k++)
			if (!mime_wsp(s[k]))
				only_ws = false;
		if (!(prev_ew && only_ws)) {
			if (bytes.len) {
				r = mime_to_utf8(pcs, bytes.data, bytes.len, out);
				buf_reset(&bytes);
			}
			if (r == 0)
				r = fallback_utf8(s + plain, i - plain, out);
		}
		char csn[64];
		size_t cl = csl < sizeof(csn) - 1 ? csl : sizeof(csn) - 1;
		memcpy(csn, cs, cl);
		csn[cl] = '\0';
		if (bytes.len && strcasecmp(csn, pcs) != 0) {
			r = mime_to_utf8(pcs, bytes.data, bytes.len, out);
			buf_reset(&bytes);
		}
		memcpy(pcs, csn, cl + 1);
		if (r == 0)
			r = ew_decode(enc, txt, tl, &bytes);
		i += l;
		plain = i;
		prev_ew = true;
	}
	if (r == 0 && bytes.len)
		r = mime_to_utf8(pcs, bytes.data, bytes.len, out);
	if (r == 0)
		r = fallback_utf8(s + plain, n - plain, out);
	buf_free(&un);
	buf_free(&bytes);
	return r;
}
