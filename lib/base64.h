/* base64: the value of one base64 character, shared by the three decoders
 * that differ only in their 63rd character: RFC 4648 ('/', SASL and MIME)
 * and IMAP's modified UTF-7 (',', RFC 3501 5.1.3). */
#ifndef TERN_PROTO_BASE64_H
#define TERN_PROTO_BASE64_H

/* 0..63, or -1 when c is not in the alphabet whose value 63 is c63. */
static inline int base64_value(unsigned char c, char c63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == (unsigned char)c63)
		return 63;
	return -1;
}

#endif
