/* message: end-of-data checks and trace headers. See message.h.
 *
 * The spool scans every byte as it arrives (mime/spool.c says why); the
 * verdict here turns what it saw into SMTP's answer: over the size limit
 * 552, over the spool budget 452, a bare LF or bare CR 554 5.5.2 unless
 * the "normalize" policy rewrote it, NUL bytes, a malformed header and an
 * empty message 554 5.6.0. An empty message (no byte between DATA and the
 * dot, or "BDAT 0 LAST" as the only chunk) has no header at all, not even
 * a From:: RFC 5321 4.1.1.4 says the "no mail data" case does not conform.
 *
 * 8-bit bytes are accepted and stored as sent even when MAIL did not say
 * BODY=8BITMIME. RFC 6152 asks the client to declare them, but msmtp never
 * does (nor everything that uses it as its sendmail: mutt, git, cron),
 * nor smtplib's send_message() for a plain UTF-8 message, nor swaks;
 * refusing them refused ordinary mail, and Postfix and Exim accept it.
 * Nothing downstream relies on the declaration: IMAP serves the bytes as
 * stored, and the relay looks at the content itself before it passes a
 * message on (BODY=8BITMIME to a next hop that offers 8BITMIME, a bounce
 * otherwise). */
#include "proto/smtp/message.h"
#include "deliver/trace.h"
#include "mime/header.h"

#include <stdio.h>
#include <string.h>

enum smtp_reply_id smtp_msg_check(const struct mime_spool *m, const char **why)
{
	*why = NULL;
	if (mime_spool_too_big(m))
		return SMTP_R_TOO_BIG;
	if (m->no_space)
		return SMTP_R_NO_SPACE;
	if (m->seen == 0) {
		*why = "Empty message";
		return SMTP_R_BAD_CONTENT;
	}
	if (m->flags & MIME_SPOOL_NUL) {
		*why = "Message contains NUL bytes";
		return SMTP_R_BAD_CONTENT;
	}
	if ((m->flags & (MIME_SPOOL_BARE_LF | MIME_SPOOL_BARE_CR)) && !m->normalize)
		return SMTP_R_BARE_NEWLINE;
	if (mime_header_check(m->buf, m->len) < 0) {
		*why = "Malformed message header";
		return SMTP_R_BAD_CONTENT;
	}
	return SMTP_R_OK;
}

/* Only bare LF is taken as a line end here, as Postfix's
 * smtpd_forbid_bare_newline = normalize does: clients that write LF lines
 * exist (smtplib.sendmail() of msg.as_bytes(), scripts), clients that
 * write CR lines do not, and a bare CR is stored as CRLF (mime/spool.c)
 * but not un-stuffed. A bare LF is a '\n' the framer passed on without a
 * '\r' before it: it emits a CRLF line end as "\r\n" and nothing else as
 * a '\r' followed by '\n'. */
int smtp_body_append(struct mime_spool *m, struct smtp_body_state *st, const char *d, size_t n)
{
	size_t start = 0, i = 0;
	int rc;

	if (!m->normalize || n == 0)
		return n ? mime_spool_append(m, d, n) : 0;
	if (st->bol_after_lf && d[0] == '.')
		start = i = 1;
	st->bol_after_lf = false;
	while (i < n) {
		const char *lf = memchr(d + i, '\n', n - i);
		if (!lf)
			break;
		size_t k = (size_t)(lf - d);
		char before = k > 0 ? d[k - 1] : st->prev;
		i = k + 1;
		if (before == '\r')
			continue;
		if (i == n) {
			st->bol_after_lf = true;
			break;
		}
		if (d[i] == '.') {
			if ((rc = mime_spool_append(m, d + start, i - start)) < 0)
				return rc;
			start = ++i;
		}
	}
	st->prev = d[n - 1];
	return start < n ? mime_spool_append(m, d + start, n - start) : 0;
}

const char *smtp_with_protocol(bool esmtp, bool tls, bool auth, bool utf8)
{
	if (!esmtp)
		return "SMTP";
	if (utf8)
		return tls && auth ? "UTF8SMTPSA"
		       : tls       ? "UTF8SMTPS"
		       : auth      ? "UTF8SMTPA"
		                   : "UTF8SMTP";
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
	char date[64], ip[340], tlsinfo[200] = "", forinfo[340] = "";
	bool v6 = strchr(t->peer_ip, ':') != NULL;

	deliver_date_format(date, sizeof date, t->now);
	/* RFC 5321 4.4 TCP-info: the verified name, then the literal. */
	const char *name = t->peer_name && helo_printable(t->peer_name) ? t->peer_name
	                   : t->peer_checked                            ? "unknown"
	                                                                : NULL;
	snprintf(ip, sizeof ip, "%s%s[%s%s]", name ? name : "", name ? " " : "", v6 ? "IPv6:" : "",
	         t->peer_ip);
	if (t->tls && t->tls_version)
		snprintf(tlsinfo, sizeof tlsinfo, "\r\n\t(using %s with cipher %s)", t->tls_version,
		         t->tls_cipher ? t->tls_cipher : "unknown");
	if (t->for_rcpt)
		snprintf(forinfo, sizeof forinfo, "\r\n\tfor <%s>", t->for_rcpt);
	int n = snprintf(out, cap,
	                 "Received: from %s (%s)\r\n"
	                 "\tby %s (tern) with %s id %s%s%s;\r\n"
	                 "\t%s\r\n",
	                 helo_printable(t->helo) ? t->helo : "unknown", ip,
	                 t->hostname && t->hostname[0] ? t->hostname : "localhost",
	                 smtp_with_protocol(t->esmtp, t->tls, t->auth, t->utf8), t->id, tlsinfo,
	                 forinfo, date);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
