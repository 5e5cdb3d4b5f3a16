/* test_smtp_body: a DATA body from the wire to the spool, as the SMTP
 * session receives it: the framer's dot mode (net/framing.h), then
 * smtp_body_append() (proto/smtp/message.h) into a mime spool. With
 * normalize (bare_newline = "normalize", the default) a line ending in a
 * bare LF is a CRLF line, its successor's leading dot is stuffing, and
 * only <CRLF>.<CRLF> ends the body. Every case is fed whole, one byte at a
 * time and in every two-piece split, and across the framer's piece size. */
#include "net/framing.h"
#include "proto/smtp/message.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

struct rx {
	struct framer f;
	struct mime_spool m;
	struct smtp_body_state st;
	bool ended;
	int append_errors;
};

static void on_line(void *ud, char *line, size_t len, bool too_long) {}

static void on_block(void *ud, const char *data, size_t len, bool last) {}

static void on_dot(void *ud, const char *data, size_t len, bool end, unsigned flags)
{
	struct rx *r = ud;
	if (smtp_body_append(&r->m, &r->st, data, len) < 0)
		r->append_errors++;
	if (end) {
		r->ended = true;
		framer_stop(&r->f);
	}
}

static const struct framer_ops ops = {on_line, on_block, on_dot, NULL};

/* Feed in[0..n) in pieces of the given sizes (0-terminated list; the last
 * size repeats). Returns the bytes left after the end of the body. */
static size_t receive(struct rx *r, const char *in, size_t n, bool normalize, const size_t *steps)
{
	memset(r, 0, sizeof *r);
	framer_init(&r->f, 1000, &ops, r);
	mime_spool_init(&r->m, 1 << 20, normalize);
	framer_set_dot(&r->f);
	char *buf = malloc(n + 1);
	size_t have = 0, fed = 0, si = 0;
	while (!r->ended && fed < n) {
		size_t step = steps[si] ? steps[si] : n;
		if (steps[si] && steps[si + 1]) /* a 0 ends the list */
			si++;
		if (step > n - fed)
			step = n - fed;
		memcpy(buf + have, in + fed, step);
		have += step;
		fed += step;
		size_t used = framer_feed(&r->f, buf, have);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	mime_spool_end(&r->m);
	framer_free(&r->f);
	return have + (n - fed);
}

/* in must end the body (exactly) with tail after it; want is the stored
 * message. */
static void expect(const char *name, const char *in, bool normalize, const char *want,
                   const char *tail)
{
	size_t n = strlen(in), wl = strlen(want);
	size_t whole[] = {0}, single[] = {1, 0};
	const size_t *plans[] = {whole, single};
	size_t nplans = n <= 300 ? 2 + n : 2; /* every split of the short cases */
	for (size_t p = 0; p < nplans; p++) {
		size_t split[] = {p - 2, n, 0};
		const size_t *steps = p < 2 ? plans[p] : split;
		if (p >= 2 && p - 2 == 0)
			continue;
		struct rx r;
		size_t left = receive(&r, in, n, normalize, steps);
		CHECK(r.ended && left == strlen(tail) && r.m.len == wl &&
		          memcmp(r.m.buf, want, wl) == 0 && !r.append_errors,
		      "%s (normalize %d, plan %zu): ended %d, left %zu, stored %zu bytes \"%.*s\"",
		      name, normalize, p, r.ended, left, r.m.len, (int)r.m.len,
		      r.m.buf ? r.m.buf : "");
		mime_spool_free(&r.m);
	}
}

static void test_normalize(void)
{
	expect("crlf", "a\r\n..b\r\n.\r\n", true, "a\r\n.b\r\n", "");
	expect("lf lines", "Subject: x\n\nline\n..dot\n...\n\r\n.\r\n", true,
	       "Subject: x\r\n\r\nline\r\n.dot\r\n..\r\n\r\n", "");
	/* smtplib.sendmail() of msg.as_bytes(): LF lines, stuffed after each
	 * LF, then CRLF "." CRLF appended after a CRLF. */
	expect("smtplib", "From: a\nSubject: s\n\n..leading\nlast\n\r\n.\r\n", true,
	       "From: a\r\nSubject: s\r\n\r\n.leading\r\nlast\r\n\r\n", "");
	/* None of these ends the body: they are lines of data. */
	expect("lf dot lf", "a\n.\nMAIL FROM:<x>\r\n.\r\nQUIT\r\n", true,
	       "a\r\n\r\nMAIL FROM:<x>\r\n", "QUIT\r\n");
	expect("crlf dot lf", "a\r\n.\nMAIL\r\n.\r\n", true, "a\r\n\r\nMAIL\r\n", "");
	expect("lf dot crlf", "a\n.\r\nMAIL\r\n.\r\n", true, "a\r\n\r\nMAIL\r\n", "");
	expect("lf dot dot lf", "a\n..\nb\r\n.\r\n", true, "a\r\n.\r\nb\r\n", "");
	expect("leading lf dot", "\n.\r\n.\r\n", true, "\r\n\r\n", "");
	expect("dot after lf at body end", "x\n.\r\n.\r\n", true, "x\r\n\r\n", "");
	expect("dot mid line", "a.b\n.c.\n\r\n.\r\n", true, "a.b\r\nc.\r\n\r\n", "");
	/* bare CR: stored as CRLF, not un-stuffed */
	expect("cr dot", "a\r..b\r\n.\r\n", true, "a\r\n..b\r\n", "");
	/* without normalize the bytes are kept (and SMTP refuses them) */
	expect("reject keeps", "a\n..b\r\n.\r\n", false, "a\n..b\r\n", "");
}

static void test_long(void)
{
	/* LF lines across the framer's pieces, each one stuffed. */
	size_t lines = 3 * FRAMER_DOT_PIECE / 7 + 5;
	char *in = malloc(lines * 7 + 16), *want = malloc(lines * 8 + 16);
	size_t n = 0, w = 0;
	for (size_t i = 0; i < lines; i++) {
		memcpy(in + n, "..abcd\n", 7);
		n += 7;
		memcpy(want + w, ".abcd\r\n", 7);
		w += 7;
	}
	memcpy(in + n, "\r\n.\r\n", 6);
	memcpy(want + w, "\r\n", 3);
	expect("long lf", in, true, want, "");
	free(in);
	free(want);
}

int main(void)
{
	test_normalize();
	test_long();
	return check_report("test_smtp_body");
}
