/* test_framing: the framer against hand-written expectations, fed in every
 * chunking.
 *
 * Each case is an input, a max_line and the expected event log. The driver
 * behaves like conn: it keeps unconsumed bytes in its own buffer and calls
 * framer_feed() again as input arrives. Every case runs fed all at once, one
 * byte at a time and in several random chunkings; each run must produce
 * exactly the expected log. BLOCK pieces are merged in the log because their
 * sizes follow the chunking by design; LINE and DOT events are compared
 * exactly, piece for piece.
 *
 * Lines act as commands to exercise callbacks that steer the framer:
 *   "BLK n"      switch to BLOCK n from inside the line callback
 *   "DATA"       switch to DOT from inside the line callback
 *   "PAUSE"      framer_stop(); the driver checks that nothing after the
 *                line was consumed, logs "P" and resumes
 *   "LATER n"    framer_stop(); the driver switches to BLOCK n from outside
 *                any callback before feeding again (an async SMTP/IMAP step)
 *   "MAX n"      set max_line from inside the callback
 */
#include "net/framing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sb *s, const char *d, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		if (!s->p)
			abort();
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_str(struct sb *s, const char *str)
{
	sb_add(s, str, strlen(str));
}

static void sb_esc(struct sb *s, const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\r')
			sb_str(s, "\\r");
		else if (d[i] == '\n')
			sb_str(s, "\\n");
		else if (d[i] == '\0')
			sb_str(s, "\\0");
		else
			sb_add(s, d + i, 1);
	}
}

struct drv {
	struct framer f;
	struct sb log;
	struct sb block; /* pending merged block data */
	int later;       /* -1, or a block size to set after a stop */
	bool paused;
	bool bad_nul;
};

static void on_line(void *ud, char *line, size_t len, bool too_long)
{
	struct drv *d = ud;
	if (line[len] != '\0')
		d->bad_nul = true;
	sb_str(&d->log, too_long ? "T:" : "L:");
	sb_esc(&d->log, line, len);
	sb_str(&d->log, "\n");
	if (too_long)
		return;
	if (strncmp(line, "BLK ", 4) == 0)
		framer_set_block(&d->f, strtoull(line + 4, NULL, 10));
	else if (strcmp(line, "DATA") == 0)
		framer_set_dot(&d->f);
	else if (strcmp(line, "PAUSE") == 0) {
		framer_stop(&d->f);
		d->paused = true;
	} else if (strncmp(line, "LATER ", 6) == 0) {
		framer_stop(&d->f);
		d->later = atoi(line + 6);
	} else if (strncmp(line, "MAX ", 4) == 0)
		framer_set_max_line(&d->f, (size_t)atoi(line + 4));
}

static void on_block(void *ud, const char *data, size_t len, bool last)
{
	struct drv *d = ud;
	sb_add(&d->block, data, len);
	if (last) {
		sb_str(&d->log, "B:");
		sb_esc(&d->log, d->block.p ? d->block.p : "", d->block.len);
		sb_str(&d->log, "\n");
		d->block.len = 0;
	}
}

static void on_dot(void *ud, const char *data, size_t len, bool end, unsigned flags)
{
	struct drv *d = ud;
	char hdr[16];
	if (end)
		snprintf(hdr, sizeof hdr, "E%u:", flags);
	else
		snprintf(hdr, sizeof hdr, "D:");
	sb_str(&d->log, hdr);
	sb_esc(&d->log, data, len);
	sb_str(&d->log, "\n");
}

static const struct framer_ops ops = {on_line, on_block, on_dot, NULL};

/* RAW mode: the consumer takes bytes up to and including a '|' and stops
 * there (as HTTP's session stops between requests); without a '|' it takes
 * nothing yet. A piece starting with 'L' switches back to LINE. */
struct raw_drv {
	struct framer f;
	struct sb log;
};

static size_t on_raw(void *ud, const char *data, size_t len)
{
	struct raw_drv *d = ud;
	const char *bar = memchr(data, '|', len);
	if (!bar)
		return 0;
	size_t n = (size_t)(bar - data) + 1;
	sb_str(&d->log, "R:");
	sb_esc(&d->log, data, n);
	sb_str(&d->log, "\n");
	if (data[0] == 'L')
		framer_set_line(&d->f);
	return n;
}

static void on_raw_line(void *ud, char *line, size_t len, bool too_long)
{
	struct raw_drv *d = ud;
	(void)too_long;
	sb_str(&d->log, "L:");
	sb_esc(&d->log, line, len);
	sb_str(&d->log, "\n");
	if (strcmp(line, "RAW") == 0)
		framer_set_raw(&d->f);
}

static const struct framer_ops raw_ops = {on_raw_line, on_block, on_dot, on_raw};

/* Fed in two pieces split at every point, the events are the same, and a
 * short take leaves the rest in the buffer for the next feed. */
static void test_raw(void)
{
	const char *in = "a\r\nRAW\r\nab|cd|L|x\r\n";
	size_t n = strlen(in);
	const char *want_whole = "L:a\nL:RAW\nR:ab|\nR:cd|\nR:L|\nL:x\n";
	for (size_t split = 0; split <= n; split++) {
		struct raw_drv d;
		memset(&d, 0, sizeof d);
		framer_init(&d.f, 64, &raw_ops, &d);
		char buf[64];
		size_t have = 0;
		for (size_t fed = 0; fed < n;) {
			size_t step = fed < split ? split - fed : n - fed;
			memcpy(buf + have, in + fed, step);
			have += step;
			fed += step;
			for (;;) {
				size_t used = framer_feed(&d.f, buf, have);
				memmove(buf, buf + used, have - used);
				have -= used;
				if (used == 0 || have == 0)
					break;
			}
		}
		const char *joined = d.log.p ? d.log.p : "";
		bool ok = strcmp(joined, want_whole) == 0 && have == 0;
		if (!ok)
			fprintf(stderr, "FAIL raw split %zu: %s (left %zu)\n", split, joined, have);
		ok ? passed++ : failed++;
		framer_free(&d.f);
		free(d.log.p);
	}
}

static unsigned long long rng_state = 88172645463325252ull;
static unsigned rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)rng_state;
}

/* chunk: 0 = all at once, 1 = one byte at a time, 2+ = random sizes up to
 * chunk. Returns the log (caller frees). */
static char *run(const char *in, size_t inlen, size_t max_line, size_t chunk, enum framer_mode mode)
{
	struct drv d;
	memset(&d, 0, sizeof d);
	d.later = -1;
	framer_init(&d.f, max_line, &ops, &d);
	if (mode == FRAMER_DOT)
		framer_set_dot(&d.f);
	char *buf = malloc(inlen + 1);
	size_t r = 0, w = 0, off = 0;
	for (;;) {
		if (off < inlen) {
			size_t n = chunk == 0 ? inlen : chunk == 1 ? 1 : 1 + rnd() % chunk;
			if (n > inlen - off)
				n = inlen - off;
			/* Compact like conn does, so lines move around in the buffer. */
			memmove(buf, buf + r, w - r);
			w -= r;
			r = 0;
			memcpy(buf + w, in + off, n);
			w += n;
			off += n;
		}
		for (;;) {
			d.paused = false;
			size_t n = framer_feed(&d.f, buf + r, w - r);
			if (n == (size_t)-1)
				abort();
			r += n;
			if (d.paused) {
				sb_str(&d.log, "P\n");
				continue;
			}
			if (d.later >= 0) {
				framer_set_block(&d.f, (uint64_t)d.later);
				d.later = -1;
				sb_str(&d.log, "P\n");
				continue;
			}
			break;
		}
		if (off >= inlen)
			break;
	}
	if (d.bad_nul)
		sb_str(&d.log, "!NUL");
	/* Unconsumed tail: an incomplete line. */
	if (r < w) {
		sb_str(&d.log, "R:");
		sb_esc(&d.log, buf + r, w - r);
		sb_str(&d.log, "\n");
	}
	framer_free(&d.f);
	free(buf);
	free(d.block.p);
	return d.log.p ? d.log.p : strdup("");
}

static void check_mode(const char *name, const char *in, size_t inlen, size_t max_line,
                       enum framer_mode mode, const char *want)
{
	static const size_t chunkings[] = {0, 1, 2, 3, 7, 64, 5000};
	for (size_t i = 0; i < sizeof chunkings / sizeof chunkings[0]; i++) {
		char *got = run(in, inlen, max_line, chunkings[i], mode);
		if (strcmp(got, want) != 0) {
			failed++;
			fprintf(stderr, "FAIL %s (chunk %zu)\n--- want\n%s--- got\n%s---\n", name,
			        chunkings[i], want, got);
			free(got);
			return;
		}
		free(got);
	}
	passed++;
}

#define CHECK(name, in, max, want) check_mode(name, in, sizeof(in) - 1, max, FRAMER_LINE, want)
#define CHECK_DOT(name, in, want) check_mode(name, in, sizeof(in) - 1, 1000, FRAMER_DOT, want)

static void test_lines(void)
{
	CHECK("crlf", "a\r\nbb\r\n", 100, "L:a\nL:bb\n");
	CHECK("bare lf", "a\nbb\n", 100, "L:a\nL:bb\n");
	CHECK("empty lines", "\r\n\n\r\n", 100, "L:\nL:\nL:\n");
	CHECK("bare cr is data", "a\rb\r\n", 100, "L:a\\rb\n");
	CHECK("cr cr lf", "a\r\r\n", 100, "L:a\\r\n");
	CHECK("incomplete tail", "one\r\ntw", 100, "L:one\nR:tw\n");
	CHECK("nul in line", "a\0b\r\n", 100, "L:a\\0b\n");
	/* max_line 10 includes the terminator. */
	CHECK("exactly max crlf", "12345678\r\nx\n", 10, "L:12345678\nL:x\n");
	CHECK("exactly max lf", "123456789\nx\n", 10, "L:123456789\nL:x\n");
	CHECK("max+1 crlf", "123456789\r\nx\n", 10, "T:123456789\nL:x\n");
	CHECK("max+1 lf", "1234567890\nx\n", 10, "T:123456789\nL:x\n");
	CHECK("many times max", "123456789012345678901234567890123456789012345\r\nok\r\n", 10,
	      "T:123456789\nL:ok\n");
	CHECK("too long without lf yet", "123456789012345", 10, "T:123456789\n");
	CHECK("too long then more",
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nc\n", 10,
	      "T:aaaaaaaaa\nT:bbbbbbbbb\nL:c\n");
	CHECK("partial under max", "12345678", 10, "R:12345678\n");
	CHECK("tiny max clamps", "ab\nabc\n", 1, "L:ab\nT:ab\n");
	CHECK("max change in callback", "MAX 5\r\n1234567\r\nab\r\n", 100,
	      "L:MAX 5\nT:1234\nL:ab\n");
}

static void test_blocks(void)
{
	CHECK("block from line cb", "A {5}\r\nBLK 5\r\nhelloX\r\n", 100,
	      "L:A {5}\nL:BLK 5\nB:hello\nL:X\n");
	CHECK("block next byte is data", "BLK 3\r\n\r\n\r\n", 100, "L:BLK 3\nB:\\r\\n\\r\nL:\n");
	CHECK("zero block", "BLK 0\r\nnext\r\n", 100, "L:BLK 0\nB:\nL:next\n");
	CHECK("block with lf inside", "BLK 6\na\nb\nc\nrest\n", 100,
	      "L:BLK 6\nB:a\\nb\\nc\\n\nL:rest\n");
	CHECK("block bigger than max_line", "BLK 30\n012345678901234567890123456789\nz\n", 10,
	      "L:BLK 30\nB:012345678901234567890123456789\nL:\nL:z\n");
	CHECK("two blocks back to back", "BLK 2\nabBLK 1\nc\n", 100,
	      "L:BLK 2\nB:ab\nL:BLK 1\nB:c\nL:\n");
	CHECK("incomplete block", "BLK 10\nabc", 100, "L:BLK 10\n");
}

static void test_dot(void)
{
	CHECK_DOT("simple", "hello\r\n.\r\n", "E0:hello\\r\\n\n");
	CHECK_DOT("empty body", ".\r\n", "E0:\n");
	CHECK_DOT("empty body then line", ".\r\nQUIT\r\n", "E0:\nL:QUIT\n");
	CHECK_DOT("unstuff", "..hi\r\n...\r\n.x\r\n.\r\n", "E0:.hi\\r\\n..\\r\\nx\\r\\n\n");
	CHECK_DOT("dot mid line", "a.b\r\na.\r\n.\r\n", "E0:a.b\\r\\na.\\r\\n\n");
	/* Smuggling: none of these may end the body. */
	CHECK_DOT("smuggle lf dot lf", "a\n.\nMAIL FROM:<x>\r\n.\r\n",
	          "E1:a\\n.\\nMAIL FROM:<x>\\r\\n\n");
	CHECK_DOT("smuggle crlf dot lf", "a\r\n.\nMAIL\r\n.\r\n", "E1:a\\r\\n\\nMAIL\\r\\n\n");
	CHECK_DOT("smuggle lf dot crlf", "a\n.\r\nMAIL\r\n.\r\n", "E1:a\\n.\\r\\nMAIL\\r\\n\n");
	CHECK_DOT("smuggle cr dot cr", "a\r.\rMAIL\r\n.\r\n", "E2:a\\r.\\rMAIL\\r\\n\n");
	CHECK_DOT("smuggle crlf dot cr", "a\r\n.\rX\r\n.\r\n", "E2:a\\r\\n\\rX\\r\\n\n");
	CHECK_DOT("smuggle cr dot crlf", "a\r.\r\nb\r\n.\r\n", "E2:a\\r.\\r\\nb\\r\\n\n");
	CHECK_DOT("bare lf flag", "x\ny\r\n.\r\n", "E1:x\\ny\\r\\n\n");
	CHECK_DOT("bare cr flag", "x\ry\r\n.\r\n", "E2:x\\ry\\r\\n\n");
	CHECK_DOT("cr cr lf", "x\r\r\n.\r\n", "E2:x\\r\\r\\n\n");
	CHECK_DOT("nul flag", "x\0y\r\n.\r\n", "E4:x\\0y\\r\\n\n");
	CHECK_DOT("all flags", "\0\r \n\r\n.\r\n", "E7:\\0\\r \\n\\r\\n\n");
	CHECK_DOT("leading lf", "\n.\r\n.\r\n", "E1:\\n.\\r\\n\n");
	CHECK_DOT("not ended", "abc\r\n.", "");
	CHECK_DOT("dot dot crlf end", "..\r\n.\r\n", "E0:.\\r\\n\n");
	CHECK("line then data then line", "DATA\r\nbody\r\n.\r\nQUIT\r\n", 100,
	      "L:DATA\nE0:body\\r\\n\nL:QUIT\n");
	CHECK("data empty", "DATA\r\n.\r\nNOOP\n", 100, "L:DATA\nE0:\nL:NOOP\n");
	CHECK("data pipelined twice", "DATA\r\na\r\n.\r\nDATA\r\nb\r\n.\r\n", 100,
	      "L:DATA\nE0:a\\r\\n\nL:DATA\nE0:b\\r\\n\n");
}

static void test_pause(void)
{
	CHECK("pause keeps rest", "PAUSE\r\nnext\r\n", 100, "L:PAUSE\nP\nL:next\n");
	CHECK("pause twice", "PAUSE\nPAUSE\nz\n", 100, "L:PAUSE\nP\nL:PAUSE\nP\nL:z\n");
	CHECK("switch later outside cb", "LATER 4\r\nabcdrest\r\n", 100,
	      "L:LATER 4\nP\nB:abcd\nL:rest\n");
	CHECK("pause before data", "DATA\r\nPAUSE\r\n.\r\n", 100, "L:DATA\nE0:PAUSE\\r\\n\n");
}

/* Large generated cases: DOT pieces and long bodies. */
static void test_big(void)
{
	size_t n = 3 * FRAMER_DOT_PIECE + 123;
	struct sb in = {0}, want = {0}, body = {0};
	sb_str(&in, "DATA\r\n");
	sb_str(&want, "L:DATA\n");
	for (size_t i = 0; body.len < n; i++) {
		char line[64];
		int k = snprintf(line, sizeof line, "%sline %zu\r\n", i % 7 == 0 ? "." : "", i);
		sb_add(&in, i % 7 == 0 ? "." : "", i % 7 == 0 ? 1 : 0);
		sb_add(&in, line, (size_t)k);
		sb_add(&body, line, (size_t)k);
	}
	sb_str(&in, ".\r\nQUIT\r\n");
	size_t off = 0;
	while (body.len - off > FRAMER_DOT_PIECE) {
		/* The framer emits exactly FRAMER_DOT_PIECE (+ at most 1) bytes. */
		size_t piece = FRAMER_DOT_PIECE;
		sb_str(&want, "D:");
		sb_esc(&want, body.p + off, piece);
		sb_str(&want, "\n");
		off += piece;
	}
	sb_str(&want, "E0:");
	sb_esc(&want, body.p + off, body.len - off);
	sb_str(&want, "\nL:QUIT\n");
	check_mode("big dot body", in.p, in.len, 100, FRAMER_LINE, want.p);

	/* One line of 1 MB with max 1000. */
	struct sb l = {0};
	for (int i = 0; i < 100000; i++)
		sb_str(&l, "0123456789");
	sb_str(&l, "\r\nok\r\n");
	char *got = run(l.p, l.len, 1000, 4096, FRAMER_LINE);
	struct sb w2 = {0};
	sb_str(&w2, "T:");
	sb_add(&w2, l.p, 999);
	sb_str(&w2, "\nL:ok\n");
	if (strcmp(got, w2.p) == 0)
		passed++;
	else {
		failed++;
		fprintf(stderr, "FAIL huge line\n");
	}
	free(got);
	free(in.p);
	free(want.p);
	free(body.p);
	free(l.p);
	free(w2.p);
}

/* Random inputs: every chunking must give the same log as all-at-once. */
static void test_random_equivalence(void)
{
	static const char alphabet[] = "ab.\r\n\0";
	for (int iter = 0; iter < 300; iter++) {
		size_t len = rnd() % 400;
		char *in = malloc(len + 16);
		size_t k = 0;
		if (iter % 3 == 0) {
			memcpy(in, "DATA\r\n", 6);
			k = 6;
		} else if (iter % 3 == 1) {
			memcpy(in, "BLK 9\n", 6);
			k = 6;
		}
		for (; k < len + 6; k++)
			in[k] = alphabet[rnd() % 6];
		size_t max = 3 + rnd() % 20;
		char *ref = run(in, k, max, 0, FRAMER_LINE);
		bool ok = true;
		for (size_t c = 1; c < 12 && ok; c++) {
			char *got = run(in, k, max, c, FRAMER_LINE);
			if (strcmp(got, ref) != 0) {
				ok = false;
				fprintf(stderr, "FAIL random %d chunk %zu\n--- ref\n%s--- got\n%s",
				        iter, c, ref, got);
			}
			free(got);
		}
		free(ref);
		free(in);
		if (ok)
			passed++;
		else
			failed++;
	}
}

int main(void)
{
	test_lines();
	test_blocks();
	test_dot();
	test_pause();
	test_big();
	test_random_equivalence();
	test_raw();
	printf("framing: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
