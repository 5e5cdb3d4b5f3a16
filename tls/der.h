/* der: the one piece of DER encoding written by hand (the SAN extensions
 * of the self-signed certificate and of ACME's CSRs, which mbedTLS 2.28
 * cannot build from names): a definite length, short or long form. */
#ifndef TERN_TLS_DER_H
#define TERN_TLS_DER_H

#include <stddef.h>

/* Encode n (< 65536) at out; returns the bytes used (1 to 3). */
static inline size_t der_len(unsigned char *out, size_t n)
{
	if (n < 128) {
		out[0] = (unsigned char)n;
		return 1;
	}
	if (n < 256) {
		out[0] = 0x81;
		out[1] = (unsigned char)n;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (unsigned char)(n >> 8);
	out[2] = (unsigned char)n;
	return 3;
}

#endif
