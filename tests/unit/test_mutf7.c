/* test_mutf7: modified UTF-7 both ways (RFC 3501 §5.1.3 examples) and the
 * strictness rules. */
#include "lib/mutf7.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static void both(const char *utf8, const char *m7)
{
	char out[256];
	ssize_t n = mutf7_encode(utf8, strlen(utf8), out, sizeof out);
	CHECK(n >= 0 && strcmp(out, m7) == 0, "encode %s -> %s (got %s)", utf8, m7,
	      n >= 0 ? out : "ERR");
	n = mutf7_decode(m7, strlen(m7), out, sizeof out);
	CHECK(n >= 0 && strcmp(out, utf8) == 0, "decode %s -> %s (got %s)", m7, utf8,
	      n >= 0 ? out : "ERR");
}

static void bad(const char *m7)
{
	char out[256];
	CHECK(mutf7_decode(m7, strlen(m7), out, sizeof out) == -EINVAL, "should reject %s", m7);
}

int main(void)
{
	both("INBOX", "INBOX");
	both("a&b", "a&-b");
	both("Entwürfe", "Entw&APw-rfe");
	both("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	both("Привет", "&BB8EQAQ4BDIENQRC-");
	both("😀", "&2D3eAA-");
	both("a😀b€", "a&2D3eAA-b&IKw-");
	both("", "");

	bad("&");                  /* unterminated */
	bad("&AGE-");              /* encodes printable ASCII 'a' */
	bad("&Jjo!");              /* bad base64 */
	bad("&U,BTFw-&ZeVnLIqe-"); /* two adjacent shifts must be one */
	bad("&2D0-");              /* lone high surrogate */
	bad("&3gA-");              /* lone low surrogate */
	bad("&AAA-");              /* NUL */
	bad("&APw");               /* missing '-' */
	bad("&APx-");              /* non-zero padding bits */
	bad("\xc3\xbc");           /* raw 8-bit */
	bad("a\tb");               /* control */

	char out[8];
	CHECK(mutf7_encode("Entwürfe", 9, out, sizeof out) == -ENAMETOOLONG, "overflow");
	CHECK(mutf7_encode("\xff", 1, out, sizeof out) == -EINVAL, "bad utf8");
	CHECK(mutf7_encode("\xc0\xaf", 2, out, sizeof out) == -EINVAL, "overlong");
	CHECK(utf8_valid("Entwürfe", 9) && !utf8_valid("\xed\xa0\x80", 3) &&
	          !utf8_valid("a\0b", 3) && !utf8_valid("\xf4\x90\x80\x80", 4),
	      "utf8_valid");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
