/* sasl_b64: the strict base64 of SASL exchanges (sasl.h), and the
 * decoding of one client response, shared by PLAIN/LOGIN (sasl.c) and SCRAM
 * (scram.c). */
#include "lib/base64.h"
#include "proto/sasl/sasl.h"
#include "proto/sasl/scram.h"

#include <string.h>

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

/* Decode a response into buf. "=" is the empty response (RFC 4954 4). */
enum sasl_status sasl_decode(const char *resp, size_t len, unsigned char *buf, size_t cap,
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
