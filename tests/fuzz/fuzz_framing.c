/* fuzz_framing: the framer on arbitrary input, in three chunkings.
 *
 * Input layout: byte 0 picks max_line, byte 1 seeds the random chunking,
 * byte 2 picks the start mode; the rest is the stream. Lines steer the
 * framer like protocols do ("B<n>" switches to BLOCK, "D" to DOT, "P"
 * pauses, "S" pauses and switches to BLOCK outside the callback), so mode
 * switches inside and outside callbacks are exercised. The framer must not
 * crash, must keep its invariants (line length, NUL terminator, piece
 * size), and all-at-once, one-byte and random chunkings must produce the
 * same event log.
 */
#include "net/framing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct log {
	unsigned char *p;
	size_t len, cap;
};

static void log_add(struct log *l, const void *d, size_t n)
{
	if (n == 0)
		return;
	if (l->len + n > l->cap) {
		l->cap = (l->len + n) * 2 + 64;
		l->p = realloc(l->p, l->cap);
		if (!l->p)
			abort();
	}
	memcpy(l->p + l->len, d, n);
	l->len += n;
}

struct drv {
	struct framer f;
	struct log log;
	struct log block;
	bool paused;
	int later;
};

static void tag(struct drv *d, char t, size_t n)
{
	log_add(&d->log, &t, 1);
	log_add(&d->log, &n, sizeof n);
}

static void on_line(void *ud, char *line, size_t len, bool too_long)
{
	struct drv *d = ud;
	if (len >= d->f.max_line || line[len] != '\0')
		abort();
	tag(d, too_long ? 'T' : 'L', len);
	log_add(&d->log, line, len);
	if (too_long || len == 0)
		return;
	switch (line[0]) {
	case 'B':
		framer_set_block(&d->f, len > 1 ? (uint64_t)(unsigned char)line[1] % 40 : 0);
		break;
	case 'D':
		framer_set_dot(&d->f);
		break;
	case 'P':
		framer_stop(&d->f);
		d->paused = true;
		break;
	case 'S':
		framer_stop(&d->f);
		d->later = len > 1 ? (unsigned char)line[1] % 17 : 0;
		break;
	case 'M':
		framer_set_max_line(&d->f, len > 1 ? (unsigned char)line[1] : 0);
		break;
	}
}

static void on_block(void *ud, const char *data, size_t len, bool last)
{
	struct drv *d = ud;
	log_add(&d->block, data, len);
	if (last) {
		tag(d, 'B', d->block.len);
		log_add(&d->log, d->block.p, d->block.len);
		d->block.len = 0;
	}
}

static void on_dot(void *ud, const char *data, size_t len, bool end, unsigned flags)
{
	struct drv *d = ud;
	if (len > FRAMER_DOT_PIECE || (!end && len != FRAMER_DOT_PIECE))
		abort();
	tag(d, end ? 'E' : 'D', len);
	log_add(&d->log, &flags, sizeof flags);
	log_add(&d->log, data, len);
}

static const struct framer_ops ops = {on_line, on_block, on_dot, NULL};

static struct log run(const uint8_t *in, size_t inlen, size_t max_line, int mode, int chunking,
                      unsigned seed)
{
	struct drv d;
	memset(&d, 0, sizeof d);
	d.later = -1;
	framer_init(&d.f, max_line, &ops, &d);
	if (mode == 1)
		framer_set_dot(&d.f);
	else if (mode == 2)
		framer_set_block(&d.f, seed % 50);
	char *buf = malloc(inlen + 1);
	size_t r = 0, w = 0, off = 0;
	while (off < inlen || off == 0) {
		size_t n = chunking == 0   ? inlen
		           : chunking == 1 ? 1
		                           : 1 + (seed = seed * 1103515245u + 12345u) % 97;
		if (n > inlen - off)
			n = inlen - off;
		memmove(buf, buf + r, w - r);
		w -= r;
		r = 0;
		memcpy(buf + w, in + off, n);
		w += n;
		off += n;
		for (;;) {
			d.paused = false;
			size_t c = framer_feed(&d.f, buf + r, w - r);
			if (c == (size_t)-1 || c > w - r)
				abort();
			r += c;
			if (d.paused) {
				tag(&d, 'P', 0);
				continue;
			}
			if (d.later >= 0) {
				framer_set_block(&d.f, (uint64_t)d.later);
				d.later = -1;
				tag(&d, 'S', 0);
				continue;
			}
			break;
		}
		if (off >= inlen)
			break;
	}
	/* An unconsumed tail can only be an incomplete line. */
	if (r < w &&
	    (d.f.mode != FRAMER_LINE || w - r > d.f.max_line || memchr(buf + r, '\n', w - r)))
		abort();
	framer_free(&d.f);
	free(buf);
	free(d.block.p);
	return d.log;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t max_line = 1 + data[0];
	unsigned seed = data[1];
	int mode = data[2] % 3;
	data += 3;
	size -= 3;
	struct log a = run(data, size, max_line, mode, 0, seed);
	struct log b = run(data, size, max_line, mode, 1, seed);
	struct log c = run(data, size, max_line, mode, 2, seed);
	if (a.len != b.len || a.len != c.len ||
	    (a.len && (memcmp(a.p, b.p, a.len) != 0 || memcmp(a.p, c.p, a.len) != 0)))
		abort();
	free(a.p);
	free(b.p);
	free(c.p);
	return 0;
}
