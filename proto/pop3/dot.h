/* dot: turn stored message bytes into a POP3 multi-line response body.
 *
 * A POP3 multi-line response is a series of CRLF-terminated lines ended by
 * "." CRLF; a line that begins with "." is sent with one more "." in front
 * (RFC 1939 section 3, "byte-stuffing"). RETR sends the whole message, TOP
 * sends the header, the blank line that ends it, and the first n body lines.
 *
 * This is a pure, resumable filter: feed it the message in pieces of any
 * size (one store read at a time) and it writes the stuffed bytes.
 * It also normalises line endings: messages are stored with CRLF, but a
 * bare LF (which the store contract forbids, yet an old or foreign row might
 * hold) goes out as CRLF, so the client always sees legal lines. `octets`
 * counts what the client gets back after un-stuffing, i.e. the message as
 * RFC 1939 defines its size; for a CRLF-clean message it equals the stored
 * size, which is what LIST and STAT report.
 */
#ifndef TERN_POP3_DOT_H
#define TERN_POP3_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pop3_dot {
	int64_t top_lines; /* body lines still to send; -1 = whole message (RETR) */
	bool bol;          /* the next input byte starts a line */
	bool line_blank;   /* the current line holds nothing but CR so far */
	bool prev_cr;      /* the last byte copied was CR */
	bool in_body;      /* the blank line after the header has been passed */
	bool done;         /* TOP: the limit was reached, further input is ignored */
	uint64_t octets;   /* message bytes emitted, before stuffing */
};

/* top_lines < 0: RETR (everything); >= 0: TOP with that many body lines. */
void pop3_dot_init(struct pop3_dot *d, int64_t top_lines);

/* Filter in[0..len) into out, which must hold at least 2 * len bytes.
 * Returns the number of bytes written. Input after the TOP limit is
 * consumed and dropped. */
size_t pop3_dot_feed(struct pop3_dot *d, const char *in, size_t len, char *out);

/* The end of the response: CRLF if the message's last line was not
 * terminated, then "." CRLF. out must hold POP3_DOT_FINISH_MAX bytes.
 * Returns the number of bytes written. */
#define POP3_DOT_FINISH_MAX 5
size_t pop3_dot_finish(struct pop3_dot *d, char *out);

static inline bool pop3_dot_done(const struct pop3_dot *d)
{
	return d->done;
}

/* The size RFC 1939 reports for a message: its bytes with every bare LF
 * counted as CRLF. (For a CRLF-clean message, len.) */
uint64_t pop3_dot_octets(const char *msg, size_t len);

#endif
