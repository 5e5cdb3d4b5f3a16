/* sasl: PLAIN and LOGIN decoding, see sasl.h for the contract.
 *
 * PLAIN is one message "authzid NUL authcid NUL passwd" (RFC 4616 2). We do
 * not implement proxy authorization: an authzid must be empty or equal to
 * the authcid, anything else is SASL_EAUTHZID. A PLAIN exchange without an
 * initial response starts with an empty challenge.
 *
 * LOGIN asks "Username:" then "Password:" (base64 "VXNlcm5hbWU6",
 * "UGFzc3dvcmQ6"). Clients that send the user name as an initial response
 * (AUTH LOGIN dXNlcg==, which Outlook and others do) skip the first prompt.
 *
 * Decoding is strict: the base64 alphabet only, correct padding, and no NUL
 * inside a name or password (a NUL there would let "alice\0junk" compare
 * equal to "alice" further down, in C strings). */
#include "proto/sasl/sasl.h"
#include "lib/base64.h"

#include <string.h>
#include <strings.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c)
{
	return base64_value(c, '/');
}

long sasl_base64_decode(const char *in, size_t len, unsigned char *out, size_t outcap)
{
	size_t o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=') {
				/* padding only in the last quantum, at its end */
				if (i + 4 != len || k < 2)
					return -1;
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad)
				return -1;
			v[k] = b64val(c);
			if (v[k] < 0)
				return -1;
		}
		unsigned n = ((unsigned)v[0] << 18) | ((unsigned)v[1] << 12) |
		             ((unsigned)v[2] << 6) | (unsigned)v[3];
		int bytes = 3 - pad;
		/* Non-canonical encodings (stray bits under the padding). */
		if ((pad == 1 && (v[2] & 0x3)) || (pad == 2 && (v[1] & 0xf)))
			return -1;
		if (o + (size_t)bytes > outcap)
			return -1;
		out[o++] = (unsigned char)(n >> 16);
		if (bytes > 1)
			out[o++] = (unsigned char)(n >> 8);
		if (bytes > 2)
			out[o++] = (unsigned char)n;
	}
	return (long)o;
}

long sasl_base64_encode(const unsigned char *in, size_t len, char *out, size_t outcap)
{
	size_t need = (len + 2) / 3 * 4 + 1;
	size_t o = 0;

	if (outcap < need)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned n = (unsigned)in[i] << 16;
		if (i + 1 < len)
			n |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			n |= in[i + 2];
		out[o++] = b64chars[(n >> 18) & 63];
		out[o++] = b64chars[(n >> 12) & 63];
		out[o++] = i + 1 < len ? b64chars[(n >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64chars[n & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}

enum sasl_mech sasl_mech_parse(const char *name, size_t len)
{
	if (len == 5 && strncasecmp(name, "PLAIN", 5) == 0)
		return SASL_MECH_PLAIN;
	if (len == 5 && strncasecmp(name, "LOGIN", 5) == 0)
		return SASL_MECH_LOGIN;
	return SASL_MECH_NONE;
}

const char *sasl_mech_list(void)
{
	return "PLAIN LOGIN";
}

void sasl_clear(struct sasl *s)
{
	/* volatile-free wipe that the compiler may not drop: explicit_bzero
	 * is in glibc >= 2.25. */
	explicit_bzero(s, sizeof *s);
}

static void set_challenge(struct sasl *s, const char *b64)
{
	strcpy(s->challenge, b64);
}

/* Decode a response into buf. "=" is the empty response (RFC 4954 4). */
static enum sasl_status decode(const char *resp, size_t len, unsigned char *buf, size_t cap,
                               size_t *out)
{
	long n;

	if (len == 1 && resp[0] == '*')
		return SASL_CANCELLED;
	if (len == 1 && resp[0] == '=') {
		*out = 0;
		return SASL_DONE;
	}
	n = sasl_base64_decode(resp, len, buf, cap);
	if (n < 0)
		return (len / 4 * 3 > cap) ? SASL_EPROTO : SASL_EBASE64;
	*out = (size_t)n;
	return SASL_DONE;
}

static enum sasl_status plain_message(struct sasl *s, const unsigned char *m, size_t n)
{
	const unsigned char *z1 = memchr(m, '\0', n);
	if (!z1)
		return SASL_EPROTO;
	const unsigned char *authcid = z1 + 1;
	size_t rest = n - (size_t)(authcid - m);
	const unsigned char *z2 = memchr(authcid, '\0', rest);
	if (!z2)
		return SASL_EPROTO;
	size_t azlen = (size_t)(z1 - m);
	size_t ulen = (size_t)(z2 - authcid);
	const unsigned char *pw = z2 + 1;
	size_t plen = n - (size_t)(pw - m);

	if (ulen == 0 || ulen > SASL_USER_MAX || plen > SASL_PASS_MAX)
		return SASL_EPROTO;
	if (memchr(pw, '\0', plen))
		return SASL_EPROTO;
	if (azlen && (azlen != ulen || memcmp(m, authcid, ulen) != 0))
		return SASL_EAUTHZID;
	memcpy(s->user, authcid, ulen);
	s->user[ulen] = '\0';
	memcpy(s->pass, pw, plen);
	s->pass[plen] = '\0';
	return SASL_DONE;
}

/* Store one LOGIN field (user or password). */
static enum sasl_status login_field(char *dst, size_t max, const unsigned char *m, size_t n)
{
	if (n > max || memchr(m, '\0', n))
		return SASL_EPROTO;
	memcpy(dst, m, n);
	dst[n] = '\0';
	return SASL_DONE;
}

static enum sasl_status feed(struct sasl *s, const char *resp, size_t len)
{
	unsigned char buf[SASL_USER_MAX + SASL_PASS_MAX + SASL_USER_MAX + 8];
	size_t n = 0;
	enum sasl_status st = decode(resp, len, buf, sizeof buf, &n);

	if (st != SASL_DONE)
		goto out;
	switch (s->mech) {
	case SASL_MECH_PLAIN:
		st = plain_message(s, buf, n);
		break;
	case SASL_MECH_LOGIN:
		if (s->step == 0) {
			st = login_field(s->user, SASL_USER_MAX, buf, n);
			if (st == SASL_DONE && n == 0)
				st = SASL_EPROTO;
			if (st == SASL_DONE) {
				s->step = 1;
				set_challenge(s, "UGFzc3dvcmQ6"); /* "Password:" */
				st = SASL_CHALLENGE;
			}
		} else {
			st = login_field(s->pass, SASL_PASS_MAX, buf, n);
		}
		break;
	default:
		st = SASL_EPROTO;
	}
out:
	explicit_bzero(buf, sizeof buf);
	return st;
}

enum sasl_status sasl_start(struct sasl *s, enum sasl_mech mech, const char *initial, size_t len)
{
	memset(s, 0, sizeof *s);
	s->mech = mech;
	if (mech != SASL_MECH_PLAIN && mech != SASL_MECH_LOGIN)
		return SASL_EPROTO;
	if (initial)
		return feed(s, initial, len);
	if (mech == SASL_MECH_LOGIN)
		set_challenge(s, "VXNlcm5hbWU6"); /* "Username:" */
	else
		set_challenge(s, "");
	return SASL_CHALLENGE;
}

enum sasl_status sasl_step(struct sasl *s, const char *resp, size_t len)
{
	return feed(s, resp, len);
}
