/* message: spool, end-of-data checks, trace headers. See message.h.
 *
 * Why the checks are where they are: the framer (net/framing.c) already
 * ends DATA only at <CRLF>.<CRLF>, so "\n.\n" can never end a message; but a
 * message that *contains* such a sequence, relayed by a server that is less
 * strict, can be split in two there (SMTP smuggling, 2023). So a body with a
 * bare LF or bare CR is refused (554 5.5.2) or, by configuration, rewritten
 * to CRLF before it is stored; the scan runs here, on every byte, for DATA
 * and BDAT alike, so the two paths cannot disagree. */
#include "proto/smtp/message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes allocated by every spool of the process; spools live on the loop
 * thread only. */
static size_t spool_total;
static size_t spool_budget = SIZE_MAX;

void smtp_spool_set_budget(size_t bytes)
{
	spool_budget = bytes ? bytes : SIZE_MAX;
}

size_t smtp_spool_in_use(void)
{
	return spool_total;
}

void smtp_msg_init(struct smtp_msg *m, size_t max, bool normalize)
{
	memset(m, 0, sizeof *m);
	m->max = max;
	m->normalize = normalize;
}

void smtp_msg_free(struct smtp_msg *m)
{
	spool_total -= m->cap;
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
}

bool smtp_msg_too_big(const struct smtp_msg *m)
{
	return m->seen > m->max;
}

static int reserve(struct smtp_msg *m, size_t extra)
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
static int put(struct smtp_msg *m, const char *out, size_t n)
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

static int bare_cr(struct smtp_msg *m)
{
	m->flags |= SMTP_MSG_BARE_CR;
	return m->normalize ? put(m, "\r\n", 2) : put(m, "\r", 1);
}

int smtp_msg_append(struct smtp_msg *m, const char *data, size_t len)
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
				m->flags |= SMTP_MSG_8BIT;
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
			m->flags |= SMTP_MSG_BARE_LF;
			rc = m->normalize ? put(m, "\r\n", 2) : put(m, "\n", 1);
			if (rc < 0)
				return rc;
		} else {
			m->flags |= SMTP_MSG_NUL;
			if ((rc = put(m, "", 1)) < 0)
				return rc;
		}
	}
	return 0;
}

int smtp_msg_end(struct smtp_msg *m)
{
	if (m->prev_cr) {
		m->prev_cr = false;
		return bare_cr(m);
	}
	return 0;
}

enum smtp_reply_id smtp_msg_check(const struct smtp_msg *m, bool allow_8bit, const char **why)
{
	*why = NULL;
	if (smtp_msg_too_big(m))
		return SMTP_R_TOO_BIG;
	if (m->no_space)
		return SMTP_R_NO_SPACE;
	if (m->flags & SMTP_MSG_NUL) {
		*why = "Message contains NUL bytes";
		return SMTP_R_BAD_CONTENT;
	}
	if ((m->flags & (SMTP_MSG_BARE_LF | SMTP_MSG_BARE_CR)) && !m->normalize)
		return SMTP_R_BARE_NEWLINE;
	if ((m->flags & SMTP_MSG_8BIT) && !allow_8bit) {
		*why = "8-bit data requires BODY=8BITMIME";
		return SMTP_R_BAD_CONTENT;
	}
	if (smtp_header_check(m->buf, m->len) < 0) {
		*why = "Malformed message header";
		return SMTP_R_BAD_CONTENT;
	}
	return SMTP_R_OK;
}

/* End of the line starting at p: index of its LF (or len), and the length
 * of the line without CR LF. */
static size_t line_end(const char *d, size_t len, size_t p, size_t *content)
{
	const char *lf = memchr(d + p, '\n', len - p);
	size_t e = lf ? (size_t)(lf - d) : len;
	size_t c = e;
	if (c > p && d[c - 1] == '\r')
		c--;
	*content = c - p;
	return e;
}

int smtp_header_next(const char *d, size_t len, size_t *pos, struct smtp_header *h)
{
	size_t p = *pos, clen, e;

	if (p >= len)
		return 0;
	e = line_end(d, len, p, &clen);
	if (clen == 0) /* the empty line: end of the header section */
		return 0;
	if (d[p] == ' ' || d[p] == '\t')
		return -1; /* a continuation with nothing to continue */
	size_t k = p;
	while (k < p + clen && d[k] != ':' && (unsigned char)d[k] > 32 && (unsigned char)d[k] < 127)
		k++;
	size_t name_end = k;
	while (k < p + clen && (d[k] == ' ' || d[k] == '\t')) /* obs-optional */
		k++;
	if (name_end == p || k >= p + clen || d[k] != ':')
		return -1;
	h->name = d + p;
	h->name_len = name_end - p;
	h->value = d + k + 1;
	/* Folded continuation lines belong to this field. */
	size_t vend = p + clen;
	size_t next = e < len ? e + 1 : len;
	while (next < len && (d[next] == ' ' || d[next] == '\t')) {
		e = line_end(d, len, next, &clen);
		vend = next + clen;
		next = e < len ? e + 1 : len;
	}
	h->value_len = vend - (size_t)(h->value - d);
	*pos = next;
	return 1;
}

int smtp_header_check(const char *data, size_t len)
{
	size_t pos = 0;
	struct smtp_header h;
	int rc;
	while ((rc = smtp_header_next(data, len, &pos, &h)) == 1)
		;
	return rc;
}

int smtp_header_count(const char *data, size_t len, const char *name)
{
	size_t pos = 0, nlen = strlen(name);
	struct smtp_header h;
	int rc, n = 0;
	while ((rc = smtp_header_next(data, len, &pos, &h)) == 1)
		if (h.name_len == nlen && strncasecmp(h.name, name, nlen) == 0)
			n++;
	return rc < 0 ? -1 : n;
}

/* Address-list walker. Outside quotes and comments: '<' opens an angle
 * address (its content is the address, a route "@a,@b:" dropped), ','
 * and ';' end a mailbox, ':' ends a group's display name. Text outside
 * angle brackets is kept (minus whitespace) as a bare addr-spec candidate
 * and used when the mailbox had no angle address. */
int smtp_header_addresses(const char *v, size_t len,
                          int (*cb)(void *ud, const char *addr, size_t alen), void *ud)
{
	char bare[512], angle[512];
	size_t nbare = 0, nangle = 0;
	bool in_angle = false, have_angle = false, overflow = false;
	int found = 0, rc;

	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? v[i] : ',';
		if (c == '(' && !in_angle) {
			int depth = 1;
			for (i++; i < len && depth > 0; i++) {
				if (v[i] == '\\')
					i++;
				else if (v[i] == '(')
					depth++;
				else if (v[i] == ')')
					depth--;
			}
			if (depth)
				return -1;
			i--;
			continue;
		}
		if (c == '"') {
			/* quoted string: kept verbatim (part of a local part or
			 * a display name) */
			size_t s = i;
			for (i++; i < len && v[i] != '"'; i++)
				if (v[i] == '\\')
					i++;
			if (i >= len)
				return -1;
			size_t n = i - s + 1;
			char *dst = in_angle ? angle : bare;
			size_t *dn = in_angle ? &nangle : &nbare;
			if (*dn + n >= sizeof bare)
				overflow = true;
			else {
				memcpy(dst + *dn, v + s, n);
				*dn += n;
			}
			continue;
		}
		if (in_angle) {
			if (c == '>') {
				in_angle = false;
				have_angle = true;
			} else if (c == ':' && nangle && angle[0] == '@') {
				nangle = 0; /* obs-route */
			} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
				if (nangle + 1 >= sizeof angle)
					overflow = true;
				else
					angle[nangle++] = c;
			}
			continue;
		}
		if (c == '<') {
			if (have_angle)
				return -1;
			in_angle = true;
			nangle = 0;
			continue;
		}
		if (c == ':') { /* group display name */
			nbare = 0;
			continue;
		}
		if (c == ',' || c == ';') {
			if (overflow)
				return -1;
			const char *a = have_angle ? angle : bare;
			size_t an = have_angle ? nangle : nbare;
			if (an) {
				found++;
				if ((rc = cb(ud, a, an)) != 0)
					return rc;
			}
			nbare = nangle = 0;
			have_angle = false;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (have_angle)
			continue; /* junk after the angle address: ignored */
		if (nbare + 1 >= sizeof bare)
			overflow = true;
		else
			bare[nbare++] = c;
	}
	if (in_angle)
		return -1;
	return found;
}

size_t smtp_date_format(char *out, size_t cap, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&t, &tm);
	int n = snprintf(out, cap, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	                 tm.tm_min, tm.tm_sec);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

const char *smtp_with_protocol(bool esmtp, bool tls, bool auth)
{
	if (!esmtp)
		return "SMTP";
	if (tls && auth)
		return "ESMTPSA";
	if (tls)
		return "ESMTPS";
	if (auth)
		return "ESMTPA";
	return "ESMTP";
}

/* Only a syntactically valid domain or address literal goes into the
 * header; anything else a client called itself is not repeated. */
static bool helo_printable(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '[' || c == ']' || c == ':'))
			return false;
	}
	return true;
}

size_t smtp_received_format(char *out, size_t cap, const struct smtp_trace *t)
{
	char date[64], ip[80], tlsinfo[200] = "", forinfo[340] = "";
	bool v6 = strchr(t->peer_ip, ':') != NULL;

	smtp_date_format(date, sizeof date, t->now);
	snprintf(ip, sizeof ip, "[%s%s]", v6 ? "IPv6:" : "", t->peer_ip);
	if (t->tls && t->tls_version)
		snprintf(tlsinfo, sizeof tlsinfo, "\r\n\t(using %s with cipher %s)", t->tls_version,
		         t->tls_cipher ? t->tls_cipher : "unknown");
	if (t->for_rcpt)
		snprintf(forinfo, sizeof forinfo, "\r\n\tfor <%s>", t->for_rcpt);
	int n =
	    snprintf(out, cap,
	             "Received: from %s (%s)\r\n"
	             "\tby %s (tern) with %s id %s%s%s;\r\n"
	             "\t%s\r\n",
	             helo_printable(t->helo) ? t->helo : "unknown", ip,
	             t->hostname && t->hostname[0] ? t->hostname : "localhost",
	             smtp_with_protocol(t->esmtp, t->tls, t->auth), t->id, tlsinfo, forinfo, date);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
