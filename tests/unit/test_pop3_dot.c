/* test_pop3_dot: POP3 byte-stuffing, CRLF normalisation and TOP limits.
 *
 * Every case runs fed whole, one byte at a time and in a few odd chunk
 * sizes; the output must be the same each time (the filter is resumable at
 * any byte). The octet counter must equal the size of the output after the
 * client un-stuffs it and drops the terminator.
 */
#include "proto/pop3/dot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

/* Run msg through the filter in pieces of `chunk` bytes (0 = whole). */
static char *run(const char *msg, size_t len, int64_t top, size_t chunk, size_t *outlen,
                 uint64_t *octets)
{
	char *out = malloc(2 * len + POP3_DOT_FINISH_MAX + 1);
	size_t o = 0;
	struct pop3_dot d;
	pop3_dot_init(&d, top);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;
		o += pop3_dot_feed(&d, msg + i, n, out + o);
	}
	o += pop3_dot_finish(&d, out + o);
	out[o] = '\0';
	*outlen = o;
	*octets = d.octets;
	return out;
}

/* What a client does: strip ".\r\n", un-stuff leading dots. */
static size_t unstuffed_len(const char *out, size_t len)
{
	size_t n = len - 3, dots = 0;
	for (size_t i = 0; i < n; i++)
		if (out[i] == '.' && (i == 0 || out[i - 1] == '\n'))
			dots++;
	return n - dots;
}

static void check(const char *name, const char *msg, int64_t top, const char *want)
{
	static const size_t chunks[] = {0, 1, 2, 3, 7, 64};
	size_t mlen = strlen(msg);
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		size_t olen;
		uint64_t octets;
		char *out = run(msg, mlen, top, chunks[c], &olen, &octets);
		int ok = olen == strlen(want) && memcmp(out, want, olen) == 0;
		/* octets counts the message as sent; a missing final CRLF is
		 * added by the terminator and not counted. */
		size_t un = unstuffed_len(out, olen);
		int ok_oct = un >= octets && un - octets <= 2;
		if (ok && ok_oct) {
			passed++;
		} else {
			failed++;
			printf(
			    "FAIL %s (chunk %zu): got [%s] octets=%llu unstuffed=%zu want [%s]\n",
			    name, chunks[c], out, (unsigned long long)octets, un, want);
		}
		free(out);
	}
}

static void check_octets(const char *name, const char *msg, uint64_t want)
{
	uint64_t got = pop3_dot_octets(msg, strlen(msg));
	if (got == want) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s: octets %llu want %llu\n", name, (unsigned long long)got,
		       (unsigned long long)want);
	}
}

int main(void)
{
	const char *m = "Subject: x\r\nFrom: a@b\r\n\r\nline1\r\n.line2\r\n..\r\n.\r\nend\r\n";

	check("retr plain", "A: b\r\n\r\nhello\r\n", -1, "A: b\r\n\r\nhello\r\n.\r\n");
	check("retr empty", "", -1, ".\r\n");
	check("retr stuffing", m, -1,
	      "Subject: x\r\nFrom: a@b\r\n\r\nline1\r\n..line2\r\n...\r\n..\r\nend\r\n.\r\n");
	check("retr leading dot", ".first\r\n", -1, "..first\r\n.\r\n");
	check("retr no final crlf", "A: b\r\n\r\nbody", -1, "A: b\r\n\r\nbody\r\n.\r\n");
	check("retr trailing cr", "A: b\r\n\r\nbody\r", -1, "A: b\r\n\r\nbody\r\n.\r\n");
	check("retr bare lf", "A: b\n\nx\n.y\n", -1, "A: b\r\n\r\nx\r\n..y\r\n.\r\n");
	check("retr bare cr kept", "A: b\r\n\r\nx\ry\r\n", -1, "A: b\r\n\r\nx\ry\r\n.\r\n");

	check("top 0", m, 0, "Subject: x\r\nFrom: a@b\r\n\r\n.\r\n");
	check("top 1", m, 1, "Subject: x\r\nFrom: a@b\r\n\r\nline1\r\n.\r\n");
	check("top 2", m, 2, "Subject: x\r\nFrom: a@b\r\n\r\nline1\r\n..line2\r\n.\r\n");
	check("top beyond", m, 1000,
	      "Subject: x\r\nFrom: a@b\r\n\r\nline1\r\n..line2\r\n...\r\n..\r\nend\r\n.\r\n");
	check("top header only", "A: b\r\nC: d\r\n", 0, "A: b\r\nC: d\r\n.\r\n");
	check("top bare lf", "A: b\n\nx\ny\n", 1, "A: b\r\n\r\nx\r\n.\r\n");
	check("top unterminated body", "A: b\r\n\r\nx", 5, "A: b\r\n\r\nx\r\n.\r\n");
	check("top blank body lines", "A: b\r\n\r\n\r\n\r\nz\r\n", 2, "A: b\r\n\r\n\r\n\r\n.\r\n");

	check_octets("octets crlf", "a\r\nb\r\n", 6);
	check_octets("octets bare lf", "a\nb\n", 6);
	check_octets("octets leading lf", "\n", 2);

	/* A large message with dots at every line start, fed in every piece
	 * size from 1 to 40, must give identical output. */
	size_t big = 0;
	char *msg = malloc(100000);
	big += (size_t)sprintf(msg, "H: v\r\n\r\n");
	for (int i = 0; i < 2000; i++)
		big += (size_t)sprintf(msg + big, i % 3 ? ".%d\r\n" : "%d\n", i);
	size_t ref_len;
	uint64_t ref_oct;
	char *ref = run(msg, big, -1, 0, &ref_len, &ref_oct);
	int same = 1;
	for (size_t c = 1; c <= 40; c++) {
		size_t l;
		uint64_t o;
		char *out = run(msg, big, -1, c, &l, &o);
		if (l != ref_len || memcmp(out, ref, l) != 0 || o != ref_oct)
			same = 0;
		free(out);
	}
	if (same && ref_oct == pop3_dot_octets(msg, big) &&
	    ref_oct == unstuffed_len(ref, ref_len)) {
		passed++;
	} else {
		failed++;
		printf("FAIL big message chunking\n");
	}
	free(ref);
	free(msg);

	printf("test_pop3_dot: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
