/* fuzz_mailfmt: the parsers `tern import` feeds files to (mime/maildir.h,
 * mime/mbox.h): Maildir file names, Maildir++ folder names, dovecot-uidlist
 * and dovecot-keywords lines, the mbox reader (splitting, unquoting,
 * Status/X-Keywords, LF -> CRLF) and "From " line dates.
 *
 * The input's lines go to every parser. Checks beyond "no crash": what a
 * parser returns points inside its input; the mbox reader's output is
 * CRLF-only (no bare LF) and never more than twice its input; a folder name
 * that decodes encodes back to the same directory name; and the mbox writer
 * then reader give back the bytes of a CRLF message. */
#include "mime/maildir.h"
#include "mime/mbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	char *p;
	size_t n, cap;
	int messages;
	bool started;
};

static int put(struct out *o, const char *p, size_t n)
{
	if (o->n + n > o->cap)
		__builtin_trap();
	memcpy(o->p + o->n, p, n);
	o->n += n;
	return 0;
}

static int r_start(void *ud, int64_t t)
{
	struct out *o = ud;
	if (o->started || t < -1)
		__builtin_trap();
	o->started = true;
	return 0;
}
static int r_data(void *ud, const char *p, size_t n)
{
	struct out *o = ud;
	if (!o->started)
		__builtin_trap();
	return put(o, p, n);
}
static int r_end(void *ud, unsigned flags, const char *kw)
{
	struct out *o = ud;
	if (!o->started || flags > 31 || strlen(kw) >= MBOX_KEYWORDS_MAX)
		__builtin_trap();
	o->started = false;
	o->messages++;
	return 0;
}
static const struct mbox_reader_ops ops = {r_start, r_data, r_end};

static int w_sink(void *ud, const char *p, size_t n)
{
	return put(ud, p, n);
}

static void lines(const char *s, size_t size)
{
	unsigned version = 3;
	for (size_t i = 0; i < size;) {
		const char *e = memchr(s + i, '\n', size - i);
		size_t len = e ? (size_t)(e - (s + i)) : size - i;
		const char *line = s + i;
		struct maildir_name nm;
		if (maildir_name_parse(line, len, &nm) == 0 && nm.base_len > len)
			__builtin_trap();
		struct uidlist_header h;
		if (uidlist_header_parse(line, len, &h) == 0)
			version = h.version;
		struct uidlist_entry ue;
		if (uidlist_line_parse(version, line, len, &ue) == 0 &&
		    (ue.uid == 0 || ue.base < line || ue.base + ue.base_len > line + len))
			__builtin_trap();
		unsigned idx;
		const char *kw;
		size_t kl;
		if (dovecot_keywords_line_parse(line, len, &idx, &kw, &kl) == 0 &&
		    (idx >= MAILDIR_MAX_KEYWORDS || kw + kl > line + len))
			__builtin_trap();
		mail_keyword_valid(line, len);
		char dec[1100], enc[2300];
		int d = maildir_folder_decode(line, len, dec, sizeof dec);
		if (d >= 0) {
			int n = maildir_folder_encode(dec, enc, sizeof enc);
			if (n < 0 || (size_t)n != len || memcmp(enc, line, len) != 0)
				__builtin_trap();
		}
		mbox_from_line_time(line, len);
		i += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	lines(s, size);

	/* the mbox reader over the whole input */
	struct out o = {.cap = 2 * size + 16};
	o.p = malloc(o.cap);
	struct mbox_reader r;
	mbox_reader_init(&r, &ops, &o);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < size;) {
		const char *e = memchr(s + i, '\n', size - i);
		size_t len = e ? (size_t)(e - (s + i)) + 1 : size - i;
		rc = mbox_reader_line(&r, s + i, len);
		i += len;
	}
	if (rc == 0)
		mbox_reader_finish(&r);
	for (size_t i = 0; i < o.n; i++)
		if (o.p[i] == '\n' && (i == 0 || o.p[i - 1] != '\r') && i + 1 != o.n)
			__builtin_trap(); /* only the last line of a file may keep its LF alone */
	free(o.p);

	/* writer then reader: a message of CRLF lines without a bare CR or LF
	 * comes back byte for byte */
	bool crlf = size > 0 && size < 4096;
	for (size_t i = 0; crlf && i < size; i++)
		if ((s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ||
		    (s[i] == '\r' && (i + 1 >= size || s[i + 1] != '\n')))
			crlf = false;
	if (crlf && s[size - 1] == '\n') {
		/* the reader takes Status/X-Status/X-Keywords as its own and a
		 * header-less first line ... anything goes in a body: start the
		 * message with a plain header */
		struct out w = {.cap = 3 * size + 256};
		w.p = malloc(w.cap);
		char from[96];
		int fl = mbox_from_line_format(from, sizeof from, 86400);
		put(&w, from, (size_t)fl);
		put(&w, "H: x\n\n", 6);
		struct mail_lf_writer lw;
		mail_lf_writer_init(&lw, true, w_sink, &w);
		for (size_t i = 0; i < size; i += 7)
			mail_lf_writer_feed(&lw, s + i, size - i < 7 ? size - i : 7);
		mail_lf_writer_finish(&lw, true);
		put(&w, "\n", 1);
		struct out back = {.cap = 2 * w.n + 16};
		back.p = malloc(back.cap);
		mbox_reader_init(&r, &ops, &back);
		for (size_t i = 0; i < w.n;) {
			const char *e = memchr(w.p + i, '\n', w.n - i);
			size_t len = e ? (size_t)(e - (w.p + i)) + 1 : w.n - i;
			if (mbox_reader_line(&r, w.p + i, len) != 0)
				__builtin_trap();
			i += len;
		}
		mbox_reader_finish(&r);
		if (back.messages != 1 || back.n != size + 8 ||
		    memcmp(back.p, "H: x\r\n\r\n", 8) != 0 || memcmp(back.p + 8, s, size) != 0)
			__builtin_trap();
		free(back.p);
		free(w.p);
	}
	return 0;
}
