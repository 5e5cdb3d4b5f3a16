/* dot: byte-stuffing, CRLF normalisation and TOP line limits.
 *
 * Why a span loop and not a byte loop: RETR is the hot path of POP3 (a
 * client downloading a mailbox), and almost every byte sits in the middle
 * of a line where nothing happens. memchr() finds the next LF, the span up
 * to it is copied whole, and only line starts and line ends get per-byte
 * attention. State that crosses a piece boundary (at a line start? was the
 * last byte CR? header or body?) lives in struct pop3_dot, so a message can
 * be fed in pieces of any size, down to one byte, with the same output.
 */
#include "proto/pop3/dot.h"

#include <string.h>

void pop3_dot_init(struct pop3_dot *d, int64_t top_lines)
{
	memset(d, 0, sizeof *d);
	d->top_lines = top_lines;
	d->bol = true;
	d->line_blank = true;
}

/* A line just ended: advance the header/body bookkeeping for TOP. */
static void end_of_line(struct pop3_dot *d)
{
	if (!d->in_body) {
		if (d->line_blank) {
			d->in_body = true;
			if (d->top_lines == 0)
				d->done = true;
		}
	} else if (d->top_lines > 0) {
		if (--d->top_lines == 0)
			d->done = true;
	}
	d->bol = true;
	d->line_blank = true;
	d->prev_cr = false;
}

size_t pop3_dot_feed(struct pop3_dot *d, const char *in, size_t len, char *out)
{
	char *o = out;
	size_t i = 0;

	while (i < len && !d->done) {
		if (d->bol) {
			if (in[i] == '.')
				*o++ = '.'; /* the stuffed dot; the original follows */
			d->bol = false;
		}
		const char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - in) : len;
		size_t span = end - i;
		if (span > 0) {
			memcpy(o, in + i, span);
			o += span;
			d->octets += span;
			if (span > 1 || in[i] != '\r')
				d->line_blank = false;
			d->prev_cr = in[end - 1] == '\r';
		}
		if (!nl)
			break;
		if (!d->prev_cr) {
			*o++ = '\r';
			d->octets++;
		}
		*o++ = '\n';
		d->octets++;
		end_of_line(d);
		i = end + 1;
	}
	return (size_t)(o - out);
}

size_t pop3_dot_finish(struct pop3_dot *d, char *out)
{
	char *o = out;
	if (!d->bol) {
		if (!d->prev_cr)
			*o++ = '\r';
		*o++ = '\n';
		d->bol = true;
	}
	memcpy(o, ".\r\n", 3);
	o += 3;
	return (size_t)(o - out);
}

uint64_t pop3_dot_octets(const char *msg, size_t len)
{
	uint64_t n = len;
	for (size_t i = 0; i < len; i++)
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			n++;
	return n;
}
