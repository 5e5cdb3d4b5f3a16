/* spool: a message being received, scanned as it arrives.  See spool.h.
 *
 * Why every byte is scanned here: the SMTP framer (net/framing.c) ends
 * DATA only at <CRLF>.<CRLF>, so "\n.\n" can never end a message; but a
 * message that *contains* such a sequence, relayed by a server that is less
 * strict, can be split in two there (SMTP smuggling, 2023).  So SMTP
 * refuses a body with a bare LF or bare CR or, by configuration, has it
 * rewritten to CRLF before it is stored.  The scan runs on every byte, for
 * DATA and BDAT alike, so the two paths cannot disagree; IMAP APPEND uses
 * the same rewriting for its literals. */
#include "mime/spool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Bytes allocated by every spool of the process; spools live on the loop
 * thread only. */
static size_t spool_total;
static size_t spool_budget = SIZE_MAX;

void mime_spool_set_budget(size_t bytes)
{
	spool_budget = bytes ? bytes : SIZE_MAX;
}

size_t mime_spool_in_use(void)
{
	return spool_total;
}

int mime_spool_reserve(size_t n)
{
	if (spool_total > spool_budget || n > spool_budget - spool_total)
		return -ENOSPC;
	spool_total += n;
	return 0;
}

void mime_spool_release(size_t n)
{
	spool_total -= n < spool_total ? n : spool_total;
}

void mime_spool_init(struct mime_spool *m, size_t max, bool normalize)
{
	memset(m, 0, sizeof *m);
	m->max = max;
	m->normalize = normalize;
}

void mime_spool_free(struct mime_spool *m)
{
	spool_total -= m->cap;
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
}

bool mime_spool_too_big(const struct mime_spool *m)
{
	return m->seen > m->max;
}

static int reserve(struct mime_spool *m, size_t extra)
{
	size_t want = m->len + extra;
	if (want <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 16384;
	while (cap < want)
		cap *= 2;
	/* Never more than the limit (plus the slack of one CRLF). */
	if (cap > m->max + 2)
		cap = m->max + 2 > want ? m->max + 2 : want;
	if (cap - m->cap > spool_budget - spool_total || spool_total > spool_budget)
		return -ENOSPC;
	char *nb = realloc(m->buf, cap);
	if (!nb)
		return -ENOMEM;
	spool_total += cap - m->cap;
	m->buf = nb;
	m->cap = cap;
	return 0;
}

/* Store the run out[0..n), counting it even past the limit. */
static int put(struct mime_spool *m, const char *out, size_t n)
{
	m->seen += n;
	if (m->seen > m->max || m->no_space)
		return 0;
	if (reserve(m, n) < 0) {
		/* Keep reading to the end of the data, then answer 4xx. */
		m->no_space = true;
		return 0;
	}
	memcpy(m->buf + m->len, out, n);
	m->len += n;
	return 0;
}

static int bare_cr(struct mime_spool *m)
{
	m->flags |= MIME_SPOOL_BARE_CR;
	return m->normalize ? put(m, "\r\n", 2) : put(m, "\r", 1);
}

int mime_spool_append(struct mime_spool *m, const char *data, size_t len)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		if (m->prev_cr) {
			m->prev_cr = false;
			if (data[i] == '\n') {
				if ((rc = put(m, "\r\n", 2)) < 0)
					return rc;
				i++;
				continue;
			}
			if ((rc = bare_cr(m)) < 0)
				return rc;
		}
		/* A run of ordinary bytes is copied at once. */
		size_t j = i;
		while (j < len) {
			unsigned char c = (unsigned char)data[j];
			if (c == '\r' || c == '\n' || c == '\0')
				break;
			if (c >= 0x80)
				m->flags |= MIME_SPOOL_8BIT;
			j++;
		}
		if (j > i && (rc = put(m, data + i, j - i)) < 0)
			return rc;
		i = j;
		if (i >= len)
			break;
		char c = data[i++];
		if (c == '\r') {
			m->prev_cr = true;
		} else if (c == '\n') {
			m->flags |= MIME_SPOOL_BARE_LF;
			rc = m->normalize ? put(m, "\r\n", 2) : put(m, "\n", 1);
			if (rc < 0)
				return rc;
		} else {
			m->flags |= MIME_SPOOL_NUL;
			if ((rc = put(m, "", 1)) < 0)
				return rc;
		}
	}
	return 0;
}

int mime_spool_end(struct mime_spool *m)
{
	if (m->prev_cr) {
		m->prev_cr = false;
		return bare_cr(m);
	}
	return 0;
}
