/* hex: the value of one hexadecimal digit, shared by every decoder that
 * reads them: TOML's \u escapes and 0x integers, MIME's quoted-printable,
 * RFC 2047 Q words, RFC 2231 %XX and HTML &#x; entities, and SMTP's xtext
 * (RFC 3461), which allows upper-case digits only. */
#ifndef TERN_LIB_HEX_H
#define TERN_LIB_HEX_H

/* 0..15 for '0'-'9', 'a'-'f' and 'A'-'F'; -1 for anything else (EOF and
 * negative chars included). */
static inline int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The same for the upper-case-only alphabet ("0"-"9", "A"-"F"). */
static inline int hex_value_upper(int c)
{
	return c >= 'a' && c <= 'f' ? -1 : hex_value(c);
}

#endif
