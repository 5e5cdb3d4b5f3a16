/* framing: LINE / BLOCK / DOT input framing, socket-free.
 *
 * Why it looks like this:
 *
 * - LINE mode never copies. A line is delivered only when its LF is within
 *   the first max_line bytes of the caller's buffer; until then nothing is
 *   consumed. So a partial line always lives in the caller's buffer, never
 *   half in ours, and a mode switch or pause between events needs no
 *   "push back". An over-long line is detected as soon as max_line + 1
 *   bytes without an LF are present: it is reported once (its first
 *   max_line - 1 bytes), then bytes are discarded up to and including the
 *   next LF. The report does not wait for the LF, so a client streaming an
 *   endless line gets its error at once and costs us nothing.
 *
 * - DOT mode is the SMTP smuggling defence. Lines in an SMTP body end with
 *   CRLF and nothing else: a bare LF or bare CR is data (flagged), never a
 *   line end. The body ends only at CRLF "." CRLF, where the first CRLF
 *   belongs to the body. So "\n.\n", "\r\n.\n", "\n.\r\n" and "\r.\r" are all
 *   data. A '.' that starts a line (after CRLF, or the first byte of the
 *   body) is deleted unless it is the terminator; RFC 5321 4.5.2 deletes it
 *   when "there are other characters on the line", and with CRLF-only line
 *   ends ".\n" has other characters on its line. The state machine holds a
 *   pending CR or a pending leading dot in its state, never as buffered
 *   input, so every byte is consumed as soon as it is seen.
 *
 *        BOL --'.'--> DOT --CR--> DOTCR --LF--> end of body
 *         |            |            | other: dot dropped, CR is bare
 *         |            | other: dot dropped, byte as in MID
 *         v            v
 *        MID <-------- CR <--CR-- MID        CR --LF--> BOL (emit CRLF)
 *
 * - DOT output goes through a staging buffer flushed when full and at the
 *   end, so events do not depend on how the input was chunked, and the
 *   consumer gets few large pieces instead of one per line.
 */
#include "net/framing.h"

#include <stdlib.h>
#include <string.h>

enum { D_BOL = 0, D_MID, D_CR, D_DOT, D_DOTCR };

/* Staging holds FRAMER_DOT_PIECE plus slack for the two bytes one input
 * byte can produce (a held CR and the byte itself). */
#define DOT_BUF_SIZE (FRAMER_DOT_PIECE + 8)

int framer_init(struct framer *f, size_t max_line, const struct framer_ops *ops, void *ud)
{
	memset(f, 0, sizeof *f);
	f->ops = ops;
	f->ud = ud;
	framer_set_max_line(f, max_line);
	return 0;
}

void framer_free(struct framer *f)
{
	free(f->dot_buf);
	f->dot_buf = NULL;
}

void framer_stop(struct framer *f)
{
	f->stop = true;
}

void framer_set_line(struct framer *f)
{
	f->mode = FRAMER_LINE;
	f->discarding = false;
}

void framer_set_block(struct framer *f, uint64_t n)
{
	f->mode = FRAMER_BLOCK;
	f->block_left = n;
	f->discarding = false;
}

void framer_set_dot(struct framer *f)
{
	f->mode = FRAMER_DOT;
	f->dot_state = D_BOL;
	f->dot_flags = 0;
	f->dot_len = 0;
	f->discarding = false;
}

void framer_set_raw(struct framer *f)
{
	f->mode = FRAMER_RAW;
	f->discarding = false;
}

void framer_set_max_line(struct framer *f, size_t max_line)
{
	f->max_line = max_line < FRAMER_MIN_LINE ? FRAMER_MIN_LINE : max_line;
}

void framer_reset(struct framer *f)
{
	framer_set_line(f);
	f->block_left = 0;
	f->dot_len = 0;
	f->dot_flags = 0;
	f->dot_state = D_BOL;
}

bool framer_has_pending(const struct framer *f)
{
	return f->mode == FRAMER_BLOCK && f->block_left == 0;
}

/* One LINE-mode step at data[0..avail), avail > 0. Returns bytes consumed;
 * 0 means "need more input". */
static size_t line_step(struct framer *f, char *p, size_t avail)
{
	if (f->discarding) {
		char *lf = memchr(p, '\n', avail);
		if (!lf)
			return avail;
		f->discarding = false;
		return (size_t)(lf - p) + 1;
	}
	size_t scan = avail < f->max_line ? avail : f->max_line;
	char *lf = memchr(p, '\n', scan);
	if (lf) {
		size_t n = (size_t)(lf - p);
		size_t clen = n;
		if (clen > 0 && p[clen - 1] == '\r')
			clen--;
		p[clen] = '\0'; /* the CR or LF: consumed, so ours to overwrite */
		f->ops->line(f->ud, p, clen, false);
		return n + 1;
	}
	if (avail <= f->max_line)
		return 0;
	/* max_line bytes and no LF, and at least one more byte: too long. */
	size_t keep = f->max_line - 1;
	p[keep] = '\0';
	f->discarding = true;
	f->ops->line(f->ud, p, keep, true);
	return f->max_line;
}

static void dot_put(struct framer *f, char ch)
{
	f->dot_buf[f->dot_len++] = ch;
}

/* Ordinary in-line byte: anything but CR. */
static void dot_mid(struct framer *f, char ch)
{
	if (ch == '\r') {
		f->dot_state = D_CR;
		return;
	}
	if (ch == '\n')
		f->dot_flags |= CONN_DOT_BARE_LF;
	dot_put(f, ch);
	f->dot_state = D_MID;
}

/* Returns true when the byte completed the body. */
static bool dot_byte(struct framer *f, char ch)
{
	if (ch == '\0')
		f->dot_flags |= CONN_DOT_NUL;
	switch (f->dot_state) {
	case D_BOL:
		if (ch == '.')
			f->dot_state = D_DOT;
		else
			dot_mid(f, ch);
		return false;
	case D_MID:
		dot_mid(f, ch);
		return false;
	case D_CR:
		if (ch == '\n') {
			dot_put(f, '\r');
			dot_put(f, '\n');
			f->dot_state = D_BOL;
			return false;
		}
		f->dot_flags |= CONN_DOT_BARE_CR;
		dot_put(f, '\r');
		dot_mid(f, ch);
		return false;
	case D_DOT:
		/* A leading dot that is not the terminator is stuffing. */
		if (ch == '\r')
			f->dot_state = D_DOTCR;
		else
			dot_mid(f, ch);
		return false;
	case D_DOTCR:
		if (ch == '\n')
			return true;
		f->dot_flags |= CONN_DOT_BARE_CR;
		dot_put(f, '\r');
		dot_mid(f, ch);
		return false;
	}
	return false;
}

/* DOT mode over p[0..avail). Returns bytes consumed (stops after an event
 * when asked to), or (size_t)-1 on allocation failure. */
static size_t dot_run(struct framer *f, const char *p, size_t avail)
{
	if (!f->dot_buf) {
		f->dot_buf = malloc(DOT_BUF_SIZE);
		if (!f->dot_buf)
			return (size_t)-1;
	}
	size_t i = 0;
	while (i < avail) {
		/* Fast path: a run of ordinary bytes in the middle of a line. */
		if (f->dot_state == D_MID) {
			size_t room = FRAMER_DOT_PIECE - f->dot_len;
			size_t j = i;
			while (j < avail && j - i < room) {
				char ch = p[j];
				if (ch == '\r' || ch == '\n' || ch == '\0')
					break;
				j++;
			}
			memcpy(f->dot_buf + f->dot_len, p + i, j - i);
			f->dot_len += j - i;
			i = j;
			if (i < avail && f->dot_len < FRAMER_DOT_PIECE) {
				if (dot_byte(f, p[i++]))
					goto end;
			}
		} else if (dot_byte(f, p[i++])) {
			goto end;
		}
		if (f->dot_len >= FRAMER_DOT_PIECE) {
			/* Emit exactly one piece; the byte of overshoot (a held CR
			 * released with its successor) starts the next one. */
			char extra[8];
			size_t nextra = f->dot_len - FRAMER_DOT_PIECE;
			memcpy(extra, f->dot_buf + FRAMER_DOT_PIECE, nextra);
			f->dot_len = 0;
			f->ops->dot(f->ud, f->dot_buf, FRAMER_DOT_PIECE, false, f->dot_flags);
			if (f->mode != FRAMER_DOT)
				return i; /* the consumer abandoned the body */
			memcpy(f->dot_buf + f->dot_len, extra, nextra);
			f->dot_len += nextra;
			if (f->stop)
				return i;
		}
	}
	return i;
end : {
	size_t n = f->dot_len;
	unsigned flags = f->dot_flags;
	f->dot_len = 0;
	f->dot_flags = 0;
	f->dot_state = D_BOL;
	f->mode = FRAMER_LINE;
	f->ops->dot(f->ud, f->dot_buf, n, true, flags);
	return i;
}
}

size_t framer_feed(struct framer *f, char *data, size_t len)
{
	size_t pos = 0;
	f->stop = false;
	while (!f->stop) {
		if (f->mode == FRAMER_BLOCK && f->block_left == 0) {
			f->mode = FRAMER_LINE;
			f->ops->block(f->ud, data + pos, 0, true);
			continue;
		}
		if (pos >= len)
			break;
		char *p = data + pos;
		size_t avail = len - pos;
		size_t n;
		switch (f->mode) {
		case FRAMER_LINE:
			n = line_step(f, p, avail);
			if (n == 0)
				return pos;
			break;
		case FRAMER_BLOCK: {
			n = avail < f->block_left ? avail : (size_t)f->block_left;
			f->block_left -= n;
			bool last = f->block_left == 0;
			if (last)
				f->mode = FRAMER_LINE;
			f->ops->block(f->ud, p, n, last);
			break;
		}
		case FRAMER_DOT:
			n = dot_run(f, p, avail);
			if (n == (size_t)-1)
				return (size_t)-1;
			break;
		case FRAMER_RAW:
			n = f->ops->raw(f->ud, p, avail);
			if (n > avail)
				n = avail;
			if (n < avail)
				return pos + n;
			break;
		default:
			return pos;
		}
		pos += n;
	}
	return pos;
}
