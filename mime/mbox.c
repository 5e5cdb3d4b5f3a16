/* mbox: mboxrd writing and reading, and CRLF <-> LF (mbox.h).
 *
 * Why the writer is a byte-level state machine: export reads a message in
 * slices from the store, and a line (a 5 MB base64 body has long ones)
 * may straddle any number of them; only a line's first bytes decide its
 * quoting, so those are all it keeps. The reader gets whole lines (the
 * importer holds the message it is building anyway). */
#include "mime/mbox.h"
#include "mime/maildir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- writing ---- */

void mail_lf_writer_init(struct mail_lf_writer *w, bool quote, mail_sink_fn sink, void *ud)
{
	memset(w, 0, sizeof *w);
	w->quote = quote;
	w->bol = quote;
	w->last = '\n';
	w->sink = sink;
	w->ud = ud;
}

static int flush(struct mail_lf_writer *w)
{
	if (w->n == 0)
		return 0;
	int r = w->sink(w->ud, w->buf, w->n);
	w->out += w->n;
	w->n = 0;
	return r;
}

static int emit(struct mail_lf_writer *w, char c)
{
	if (w->n == sizeof w->buf) {
		int r = flush(w);
		if (r < 0)
			return r;
	}
	w->buf[w->n++] = c;
	w->last = c;
	return 0;
}

/* The prefix kept so far, as it was: gt '>' and the "From " bytes matched. */
static int emit_prefix(struct mail_lf_writer *w, bool quoted)
{
	int r = 0;
	if (quoted)
		r = emit(w, '>');
	for (size_t i = 0; r == 0 && i < w->gt; i++)
		r = emit(w, '>');
	for (unsigned i = 0; r == 0 && i < w->from; i++)
		r = emit(w, "From "[i]);
	w->gt = 0;
	w->from = 0;
	w->bol = false;
	return r;
}

/* One byte after the CRLF change. */
static int put(struct mail_lf_writer *w, char c)
{
	int r;
	if (w->bol) {
		if (w->from == 0 && c == '>') {
			w->gt++;
			return 0;
		}
		if (c == "From "[w->from]) {
			if (++w->from == 5)
				return emit_prefix(w, true);
			return 0;
		}
		if ((r = emit_prefix(w, false)) < 0)
			return r;
	}
	if ((r = emit(w, c)) < 0)
		return r;
	if (c == '\n' && w->quote)
		w->bol = true;
	return 0;
}

int mail_lf_writer_feed(struct mail_lf_writer *w, const char *p, size_t n)
{
	int r;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (w->cr) {
			w->cr = false;
			if (c != '\n' && (r = put(w, '\r')) < 0)
				return r;
		}
		if (c == '\r') {
			w->cr = true;
			continue;
		}
		if ((r = put(w, c)) < 0)
			return r;
	}
	return 0;
}

int mail_lf_writer_finish(struct mail_lf_writer *w, bool newline)
{
	int r = 0;
	if (w->cr) {
		w->cr = false;
		r = put(w, '\r');
	}
	if (r == 0 && w->bol && (w->gt || w->from))
		r = emit_prefix(w, false);
	if (r == 0 && newline && w->last != '\n')
		r = emit(w, '\n');
	w->bol = w->quote;
	if (r == 0)
		r = flush(w);
	return r;
}

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int mbox_from_line_format(char *out, size_t cap, int64_t internal_date)
{
	time_t t = (time_t)(internal_date > 0 ? internal_date : 0);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return -1;
	int w = snprintf(out, cap, "From MAILER-DAEMON %s %s %2d %02d:%02d:%02d %d\n",
	                 wdays[tm.tm_wday % 7], months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
	                 tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	return w < 0 || (size_t)w >= cap ? -1 : w;
}

/* ---- the date of a "From " line ---- */

struct tok {
	const char *p;
	size_t n;
};

static int month_of(struct tok t)
{
	if (t.n != 3)
		return -1;
	for (int m = 0; m < 12; m++)
		if (strncasecmp(t.p, months[m], 3) == 0)
			return m;
	return -1;
}

static bool is_wday(struct tok t)
{
	if (t.n != 3)
		return false;
	for (int d = 0; d < 7; d++)
		if (strncasecmp(t.p, wdays[d], 3) == 0)
			return true;
	return false;
}

/* Digits only, at most 9 of them; -1 otherwise. */
static long number(const char *p, size_t n)
{
	if (n == 0 || n > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* "+hhmm" / "-hhmm": the offset in seconds into *off. */
static bool zone(struct tok t, long *off)
{
	if (t.n != 5 || (t.p[0] != '+' && t.p[0] != '-'))
		return false;
	long v = number(t.p + 1, 4);
	if (v < 0 || v % 100 > 59)
		return false;
	*off = (v / 100 * 3600 + v % 100 * 60) * (t.p[0] == '-' ? -1 : 1);
	return true;
}

int64_t mbox_from_line_time(const char *line, size_t len)
{
	struct tok t[24];
	size_t n = 0;
	for (size_t i = 0; i < len && n < 24;) {
		while (i < len &&
		       (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
			i++;
		size_t st = i;
		while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
		       line[i] != '\n')
			i++;
		if (i > st)
			t[n++] = (struct tok){line + st, i - st};
	}
	/* the last "Www Mmm" pair: a sender may look like anything */
	for (size_t k = n >= 2 ? n - 2 : 0; k-- > 0;) {
		int mon = month_of(t[k + 1]);
		if (!is_wday(t[k]) || mon < 0 || k + 4 >= n)
			continue;
		long day = number(t[k + 2].p, t[k + 2].n);
		const char *hp = t[k + 3].p;
		size_t hn = t[k + 3].n;
		long hh, mm, ss = 0;
		if (hn == 8 && hp[2] == ':' && hp[5] == ':') {
			hh = number(hp, 2), mm = number(hp + 3, 2), ss = number(hp + 6, 2);
		} else if (hn == 5 && hp[2] == ':') {
			hh = number(hp, 2), mm = number(hp + 3, 2);
		} else {
			continue;
		}
		long off = 0;
		size_t yk = k + 4;
		if (zone(t[yk], &off) ||
		    (t[yk].n >= 1 && t[yk].n <= 5 && number(t[yk].p, t[yk].n) < 0))
			yk++; /* "Sat Jan  3 01:05:34 +0100 1996", "... PST 1996" */
		if (yk >= n)
			continue;
		long year = number(t[yk].p, t[yk].n);
		if (yk + 1 < n)
			zone(t[yk + 1], &off);
		if (day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
		    ss > 60 || year < 1970 || year > 9999)
			continue;
		int64_t v = days_from_civil(year, (unsigned)mon + 1, (unsigned)day) * 86400 +
		            hh * 3600 + mm * 60 + ss - off;
		return v < 0 ? -1 : v;
	}
	return -1;
}

/* ---- reading ---- */

void mbox_reader_init(struct mbox_reader *r, const struct mbox_reader_ops *ops, void *ud)
{
	memset(r, 0, sizeof *r);
	r->ops = ops;
	r->ud = ud;
	r->prev_blank = true;
}

static bool blank(const char *line, size_t len)
{
	return (len == 1 && line[0] == '\n') || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

/* A data line, its end made CRLF. */
static int data_line(struct mbox_reader *r, const char *line, size_t len)
{
	if (len && line[len - 1] == '\n' && (len < 2 || line[len - 2] != '\r')) {
		int e = len > 1 ? r->ops->data(r->ud, line, len - 1) : 0;
		return e < 0 ? e : r->ops->data(r->ud, "\r\n", 2);
	}
	return len ? r->ops->data(r->ud, line, len) : 0;
}

static int end_message(struct mbox_reader *r)
{
	r->in_message = false;
	r->keywords[r->nkw] = '\0';
	return r->ops->end(r->ud, r->flags, r->keywords);
}

static void add_keywords(struct mbox_reader *r, const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		while (i < n &&
		       (p[i] == ' ' || p[i] == '\t' || p[i] == ',' || p[i] == '\r' || p[i] == '\n'))
			i++;
		size_t st = i;
		while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != ',' && p[i] != '\r' &&
		       p[i] != '\n')
			i++;
		size_t wl = i - st;
		if (wl == 0 || r->nkw + wl + 2 > sizeof r->keywords)
			continue;
		if (r->nkw)
			r->keywords[r->nkw++] = ' ';
		memcpy(r->keywords + r->nkw, p + st, wl);
		r->nkw += wl;
	}
}

static bool field(const char *line, size_t len, const char *name, size_t *vstart)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	*vstart = n + 1;
	return true;
}

/* A header line: Status, X-Status and X-Keywords (with their continuation
 * lines) become flags and keywords; true when the line was one of them. */
static bool status_field(struct mbox_reader *r, const char *line, size_t len)
{
	if (line[0] == ' ' || line[0] == '\t') {
		if (r->dropping && r->keyword_cont)
			add_keywords(r, line, len);
		return r->dropping;
	}
	r->dropping = r->keyword_cont = false;
	size_t v;
	if (field(line, len, "Status", &v)) {
		for (; v < len; v++)
			if (line[v] == 'R')
				r->flags |= MAIL_FLAG_SEEN;
	} else if (field(line, len, "X-Status", &v)) {
		for (; v < len; v++) {
			switch (line[v]) {
			case 'A':
				r->flags |= MAIL_FLAG_ANSWERED;
				break;
			case 'F':
				r->flags |= MAIL_FLAG_FLAGGED;
				break;
			case 'T':
				r->flags |= MAIL_FLAG_DRAFT;
				break;
			case 'D':
				r->flags |= MAIL_FLAG_DELETED;
				break;
			}
		}
	} else if (field(line, len, "X-Keywords", &v)) {
		add_keywords(r, line + v, len - v);
		r->keyword_cont = true;
	} else {
		return false;
	}
	r->dropping = true;
	return true;
}

int mbox_reader_line(struct mbox_reader *r, const char *line, size_t len)
{
	int e;
	r->lines++;
	bool from = len >= 5 && memcmp(line, "From ", 5) == 0;
	if (from && r->prev_blank) {
		r->blank_held = false; /* the separator before it */
		if (r->in_message && (e = end_message(r)) < 0)
			return e;
		r->in_message = r->in_header = true;
		r->prev_blank = r->dropping = r->keyword_cont = false;
		r->flags = 0;
		r->nkw = 0;
		return r->ops->start(r->ud, mbox_from_line_time(line, len));
	}
	if (!r->in_message)
		return -EINVAL; /* text before the first "From " line */
	if (r->blank_held) {
		r->blank_held = false;
		if ((e = r->ops->data(r->ud, "\r\n", 2)) < 0)
			return e;
	}
	r->prev_blank = blank(line, len);
	if (r->prev_blank) {
		r->in_header = false;
		r->dropping = false;
		r->blank_held = true;
		return 0;
	}
	if (len >= 6 && line[0] == '>') {
		size_t i = 0;
		while (i < len && line[i] == '>')
			i++;
		if (len - i >= 5 && memcmp(line + i, "From ", 5) == 0)
			line++, len--; /* mboxrd: one '>' less */
	}
	if (r->in_header && status_field(r, line, len))
		return 0;
	return data_line(r, line, len);
}

int mbox_reader_finish(struct mbox_reader *r)
{
	r->blank_held = false;
	return r->in_message ? end_message(r) : 0;
}
