/* framing: the pure input framer under conn (no sockets, no libuv).
 *
 * The framer turns a byte stream into protocol events in one of three modes:
 *
 *   LINE   a line ends at LF (CRLF or bare LF); the terminator is stripped.
 *          A line longer than max_line (terminator included) is reported
 *          once with too_long = true and its first bytes, and everything up
 *          to the next LF is discarded.
 *   BLOCK  exactly n bytes, delivered in pieces; the last piece has
 *          last = true. n may be 0 (one empty, last piece).
 *   DOT    an SMTP DATA body that ends only at <CRLF>.<CRLF>, un-stuffed,
 *          streamed in pieces of at most FRAMER_DOT_PIECE bytes; the final
 *          piece has end = true and the CONN_DOT_* flags.
 *   RAW    every byte as it is, for a protocol that frames its own input
 *          (HTTP's parser): the callback is handed all that is buffered
 *          and returns how much it used. Using less than all of it stops
 *          the feed; the rest stays in the caller's buffer for the next
 *          one. RAW lasts until another mode is set.
 * After BLOCK or DOT completes, the mode returns to LINE.
 *
 * The caller owns the input buffer. framer_feed() is given everything that
 * is buffered and returns how many bytes it consumed; the caller drops
 * those and keeps the rest contiguous for the next call. A LINE-mode
 * framer consumes nothing of a line until the line is complete (or proven
 * too long), so the unconsumed tail of the buffer is always "input not yet
 * framed". That is what makes pausing and mode switches exact: a consumer
 * that pauses in a callback (framer_stop()) or switches mode later, even
 * outside any callback, finds every byte after the last event still in its
 * own buffer, and the next byte is interpreted in the new mode.
 *
 * Lines are delivered in place: `line` points into the caller's buffer,
 * which is why framer_feed() takes a mutable pointer: the byte after the
 * line (its CR or LF, already consumed) is overwritten with a NUL so that
 * line[len] == '\0'. DOT pieces come from an internal staging buffer that is
 * flushed only when full or at the end, so DOT events are the same however
 * the input was chunked. BLOCK pieces point into the caller's buffer and
 * their sizes follow the chunking (their concatenation does not).
 *
 * The callbacks may call any framer_set_*() function and framer_stop().
 * framer_stop() makes framer_feed() return right after the current event.
 */
#ifndef TERN_FRAMING_H
#define TERN_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/conn.h" /* CONN_DOT_* flags */

#define FRAMER_DOT_PIECE 8192
#define FRAMER_MIN_LINE 3 /* max_line is clamped to at least this */

enum framer_mode { FRAMER_LINE = 0, FRAMER_BLOCK, FRAMER_DOT, FRAMER_RAW };

struct framer_ops {
	void (*line)(void *ud, char *line, size_t len, bool too_long);
	void (*block)(void *ud, const char *data, size_t len, bool last);
	void (*dot)(void *ud, const char *data, size_t len, bool end, unsigned flags);
	size_t (*raw)(void *ud, const char *data, size_t len); /* RAW mode only */
};

struct framer {
	enum framer_mode mode;
	size_t max_line;
	bool discarding; /* LINE: skipping the rest of an over-long line */
	bool stop;       /* framer_stop() was called during this feed */
	uint64_t block_left;
	int dot_state;
	unsigned dot_flags;
	size_t dot_len;
	char *dot_buf; /* FRAMER_DOT_PIECE bytes, allocated on first DOT use */
	const struct framer_ops *ops;
	void *ud;
};

/* Returns 0; the framer allocates nothing until DOT mode is first used. */
int framer_init(struct framer *f, size_t max_line, const struct framer_ops *ops, void *ud);
void framer_free(struct framer *f);

/* Consume bytes from data[0..len) and emit events; returns the count
 * consumed. Stops early after an event if framer_stop() was called. May
 * consume 0 bytes (an incomplete line). In DOT mode returns (size_t)-1 if
 * the staging buffer cannot be allocated. */
size_t framer_feed(struct framer *f, char *data, size_t len);

/* True if framer_feed() has an event to emit even with no input (a
 * zero-length block). */
bool framer_has_pending(const struct framer *f);

void framer_stop(struct framer *f);
void framer_set_line(struct framer *f);
void framer_set_block(struct framer *f, uint64_t n);
void framer_set_dot(struct framer *f);
void framer_set_raw(struct framer *f);
void framer_set_max_line(struct framer *f, size_t max_line);
/* Forget any partial state (a STARTTLS boundary): LINE mode, no discard. */
void framer_reset(struct framer *f);

/* The longest run of unconsumed bytes a LINE-mode framer may need to see
 * at once: the caller's buffer must hold at least this many. */
static inline size_t framer_min_buffer(const struct framer *f)
{
	return f->max_line + 1;
}

#endif
