/* mbox: messages in one file, mboxrd style, and the line-ending change
 * between the store (CRLF) and files on disk (LF), in both directions.
 *
 * Writing: each message is a "From " line ("From MAILER-DAEMON <asctime>",
 * the date the internal date in UTC), the flags as Status:/X-Status: and
 * the keywords as X-Keywords: header lines, the message with its lines
 * in LF and every line matching ">*From " given one more '>', and an empty
 * line. Reading reverses all of it: a "From " line at the start of the
 * file or after an empty line starts a message (the empty line belongs to
 * the separator), ">+From " lines lose one '>', the three header fields
 * become flags and keywords and are dropped, and bare LF becomes CRLF; so
 * a message whose lines all end in CRLF comes back byte for byte.
 *
 * Both directions stream: the writer takes slices of any size, the reader
 * one line at a time; neither keeps more than a few bytes. Pure code, fed
 * untrusted bytes by tests/fuzz/fuzz_mailfmt.c. */
#ifndef TERN_MIME_MBOX_H
#define TERN_MIME_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where filtered bytes go: 0, or negative to stop (returned by the feed). */
typedef int (*mail_sink_fn)(void *ud, const char *p, size_t n);

/* CRLF -> LF (a lone CR is kept), and with quote the mboxrd quoting of
 * ">*From " lines. */
struct mail_lf_writer {
	bool quote;
	bool cr;       /* a CR waits to see whether LF follows */
	bool bol;      /* inside a line's possible ">*From " prefix */
	size_t gt;     /* '>' seen in that prefix */
	unsigned from; /* bytes of "From " matched after them */
	char last;     /* the last byte given to the sink ('\n' at the start) */
	uint64_t out;  /* bytes given to the sink */
	mail_sink_fn sink;
	void *ud;
	char buf[8192];
	size_t n;
};
void mail_lf_writer_init(struct mail_lf_writer *w, bool quote, mail_sink_fn sink, void *ud);
int mail_lf_writer_feed(struct mail_lf_writer *w, const char *p, size_t n);
/* Flushes what waits; with newline, ends the output with '\n' if it does
 * not already. */
int mail_lf_writer_finish(struct mail_lf_writer *w, bool newline);

/* The "From " line of a message with that internal date, with its "\n";
 * its length (< cap), or -1. */
int mbox_from_line_format(char *out, size_t cap, int64_t internal_date);
/* The date of a "From " line (the asctime at its end, UTC; a numeric zone
 * after the time or the year is applied), or -1 when there is none. */
int64_t mbox_from_line_time(const char *line, size_t len);

struct mbox_reader_ops {
	/* a message starts; time: its "From " line's date, or -1 */
	int (*start)(void *ud, int64_t time);
	/* message bytes, CRLF line ends */
	int (*data)(void *ud, const char *p, size_t n);
	/* the message is complete: flags (maildir.h MAIL_FLAG_*) and the
	 * keywords of its X-Keywords fields, space-separated */
	int (*end)(void *ud, unsigned flags, const char *keywords);
};

#define MBOX_KEYWORDS_MAX 1024

struct mbox_reader {
	const struct mbox_reader_ops *ops;
	void *ud;
	uint64_t lines;    /* lines fed so far */
	bool in_message;   /* between start and end */
	bool in_header;    /* before the message's first empty line */
	bool blank_held;   /* an empty line waits: separator or data */
	bool prev_blank;   /* the line before was empty (or none yet) */
	bool dropping;     /* continuation lines of a dropped field */
	bool keyword_cont; /* ... of X-Keywords */
	unsigned flags;
	char keywords[MBOX_KEYWORDS_MAX];
	size_t nkw;
};
void mbox_reader_init(struct mbox_reader *r, const struct mbox_reader_ops *ops, void *ud);
/* One line with its "\n" (the last line of a file may lack it). 0, a
 * callback's negative return, or -EINVAL when the first line of the input
 * is not a "From " line (not an mbox file). */
int mbox_reader_line(struct mbox_reader *r, const char *line, size_t len);
/* End of input: ends the last message. */
int mbox_reader_finish(struct mbox_reader *r);

#endif
