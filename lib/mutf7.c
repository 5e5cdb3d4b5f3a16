/* mutf7: modified UTF-7 <-> UTF-8. See mutf7.h. */
#include "lib/mutf7.h"
#include "lib/utf8.h"
#include "lib/base64.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(unsigned char c)
{
	return base64_value(c, ',');
}

struct out {
	char *p;
	size_t n, cap;
	bool overflow;
};

static void put(struct out *o, char c)
{
	if (o->n + 1 >= o->cap) {
		o->overflow = true;
		return;
	}
	o->p[o->n++] = c;
}

static ssize_t finish(struct out *o)
{
	if (o->overflow)
		return -ENAMETOOLONG;
	o->p[o->n] = '\0';
	return (ssize_t)o->n;
}

ssize_t mutf7_encode(const char *utf8, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)utf8;
	struct out o = {out, 0, cap, cap == 0};
	size_t i = 0;
	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			put(&o, (char)s[i]);
			if (s[i] == '&')
				put(&o, '-');
			i++;
			continue;
		}
		/* a run of non-printable / non-ASCII characters */
		uint32_t bits = 0;
		int nbits = 0;
		put(&o, '&');
		while (i < len && !(s[i] >= 0x20 && s[i] < 0x7f)) {
			int32_t cp = utf8_decode(s, len, &i);
			if (cp <= 0)
				return -EINVAL;
			uint16_t units[2];
			int nu = 1;
			if (cp >= 0x10000) {
				uint32_t v = (uint32_t)cp - 0x10000;
				units[0] = (uint16_t)(0xD800 | (v >> 10));
				units[1] = (uint16_t)(0xDC00 | (v & 0x3FF));
				nu = 2;
			} else {
				units[0] = (uint16_t)cp;
			}
			for (int u = 0; u < nu; u++) {
				bits = (bits << 16) | units[u];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					put(&o, b64[(bits >> nbits) & 0x3F]);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			put(&o, b64[(bits << (6 - nbits)) & 0x3F]);
		put(&o, '-');
	}
	return finish(&o);
}

static void put_utf8(struct out *o, uint32_t cp)
{
	char u[4];
	size_t n = utf8_encode(cp, u);
	for (size_t k = 0; k < n; k++)
		put(o, u[k]);
}

ssize_t mutf7_decode(const char *in, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	struct out o = {out, 0, cap, cap == 0};
	size_t i = 0;
	bool prev_shift = false; /* the previous token was a base64 shift */
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x20 || c >= 0x7f)
			return -EINVAL;
		if (c != '&') {
			put(&o, (char)c);
			i++;
			prev_shift = false;
			continue;
		}
		i++;
		if (i < len && s[i] == '-') {
			put(&o, '&');
			i++;
			prev_shift = false;
			continue;
		}
		/* "&...-&...-" must have been one shift */
		if (prev_shift)
			return -EINVAL;
		uint32_t bits = 0;
		int nbits = 0;
		uint16_t hi_sur = 0;
		size_t nchars = 0;
		while (i < len && s[i] != '-') {
			int v = b64val(s[i]);
			if (v < 0)
				return -EINVAL;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			nchars++;
			i++;
			if (nbits >= 16) {
				nbits -= 16;
				uint16_t u = (uint16_t)(bits >> nbits);
				bits &= (1u << nbits) - 1;
				if (hi_sur) {
					if (u < 0xDC00 || u > 0xDFFF)
						return -EINVAL;
					put_utf8(&o, 0x10000 + (((uint32_t)hi_sur - 0xD800) << 10) +
					                 (u - 0xDC00));
					hi_sur = 0;
				} else if (u >= 0xD800 && u <= 0xDBFF) {
					hi_sur = u;
				} else if (u >= 0xDC00 && u <= 0xDFFF) {
					return -EINVAL;
				} else if (u >= 0x20 && u < 0x7f) {
					return -EINVAL; /* printable ASCII must not be encoded */
				} else if (u == 0) {
					return -EINVAL;
				} else {
					put_utf8(&o, u);
				}
			}
		}
		if (i >= len || nchars == 0 || hi_sur || nbits >= 6 || bits != 0)
			return -EINVAL;
		i++; /* '-' */
		prev_shift = true;
	}
	return finish(&o);
}
