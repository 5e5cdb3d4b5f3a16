/* dsn: building RFC 3464 reports (see dsn.h).
 *
 * The message is assembled in a growing buffer. Header fields of part 2 are
 * plain ASCII: a recipient address with UTF-8 is written as utf-8 address
 * type (RFC 6533) only in its ORCPT form as given; otherwise rfc822. The
 * original header/body goes in untouched: when it carries 8-bit data the
 * DSN does too, and the outer Content-Transfer-Encoding says 8bit.
 */
#include "relay/dsn.h"
#include "mime/msgid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Put text as CRLF lines, keeping every line shorter than 998 bytes. */
static void put_text_crlf(struct buf *b, const char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r')
			continue;
		if (s[i] == '\n') {
			put(b, "\r\n", 2);
			col = 0;
			continue;
		}
		if (col >= 990) {
			put(b, "\r\n", 2);
			col = 0;
		}
		put(b, s + i, 1);
		col++;
	}
}

static void rfc5322_date(time_t t, char *out, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* A field value that must stay on one line and ASCII-printable, and
 * short: at most two share a line (part 1's "<rcpt>: reason"), which
 * must stay within RFC 5322's 998 bytes whatever the remote server or
 * the client sent (fuzz_dsn checks it). */
#define DSN_VALUE_MAX 480

static void put_clean(struct buf *b, const char *s)
{
	for (size_t n = 0; s && *s; s++) {
		if (n++ == DSN_VALUE_MAX) {
			PUTS(b, "...");
			break;
		}
		unsigned char c = (unsigned char)*s;
		char ch = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
		put(b, &ch, 1);
	}
}

static const char *action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_FAILED:
		return "failed";
	case DSN_DELAYED:
		return "delayed";
	case DSN_DELIVERED:
		return "delivered";
	case DSN_RELAYED:
		return "relayed";
	}
	return "failed";
}

bool dsn_wanted(const char *mail_from, const char *notify, enum dsn_action action)
{
	if (!mail_from || !*mail_from)
		return false; /* never bounce a bounce */
	if (!notify || !*notify)
		return action == DSN_FAILED || action == DSN_DELAYED;
	if (strcasestr(notify, "NEVER"))
		return false;
	switch (action) {
	case DSN_FAILED:
		return strcasestr(notify, "FAILURE") != NULL;
	case DSN_DELAYED:
		return strcasestr(notify, "DELAY") != NULL;
	case DSN_DELIVERED:
	case DSN_RELAYED:
		return strcasestr(notify, "SUCCESS") != NULL;
	}
	return false;
}

void dsn_status_from_reply(int code, const char *enhanced, char *out)
{
	if (enhanced && *enhanced && strlen(enhanced) < 16) {
		strcpy(out, enhanced);
		return;
	}
	strcpy(out, code >= 500 ? "5.0.0" : code >= 400 ? "4.0.0" : "2.0.0");
}

/* End of the header block of a message (just after the blank line). */
static size_t header_end(const char *m, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (m[i] != '\n')
			continue;
		if (i + 1 < len && m[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && m[i + 1] == '\r' && m[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

static bool has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* The first line of every DSN (dsn_is_ours()). */
#define DSN_FROM_PREFIX "From: Mail Delivery System <"

/* The first line of a Sieve vacation reply (deliver/sieve_reply.c). */
#define VACATION_PREFIX "Auto-Submitted: auto-replied (vacation)\r\n"

bool dsn_is_ours(const char *data, size_t len)
{
	size_t n = sizeof DSN_FROM_PREFIX - 1, v = sizeof VACATION_PREFIX - 1;
	return data && ((len > n && memcmp(data, DSN_FROM_PREFIX, n) == 0) ||
	                (len > v && memcmp(data, VACATION_PREFIX, v) == 0));
}

char *dsn_build(const struct dsn_info *in, size_t *out_len)
{
	struct buf b = {0};
	unsigned char rnd[12];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		memset(rnd, 0x5a, sizeof rnd);
	char boundary[64], msgid_rnd[32];
	snprintf(boundary, sizeof boundary, "tern-dsn-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
	         rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(msgid_rnd, sizeof msgid_rnd, "%02x%02x%02x%02x%ld", rnd[8], rnd[9], rnd[10],
	         rnd[11], (long)time(NULL));
	time_t now = time(NULL);
	char date[64], arrival[64], until[64];
	rfc5322_date(now, date, sizeof date);
	rfc5322_date(in->arrival ? in->arrival : now, arrival, sizeof arrival);
	rfc5322_date(in->retry_until, until, sizeof until);

	bool delayed = in->nrcpts > 0 && in->rcpts[0].action == DSN_DELAYED;
	bool relayed = in->nrcpts > 0 &&
	               (in->rcpts[0].action == DSN_RELAYED || in->rcpts[0].action == DSN_DELIVERED);
	size_t hlen = header_end(in->original, in->original_len);
	size_t olen = in->ret_full ? in->original_len : hlen;
	bool eight = has_8bit(in->original, olen);

	putf(&b, DSN_FROM_PREFIX "%s>\r\n", in->postmaster);
	PUTS(&b, "To: <");
	put_clean(&b, in->to);
	PUTS(&b, ">\r\n");
	putf(&b, "Subject: %s\r\n",
	     delayed   ? "Delayed Mail (still being retried)"
	     : relayed ? "Successful Mail Delivery Report"
	               : "Undelivered Mail Returned to Sender");
	putf(&b, "Date: %s\r\n", date);
	putf(&b, "Message-ID: <dsn.%s@%s>\r\n", msgid_rnd, in->reporting_mta);
	/* the report threads with the message it reports on (RFC 5322 3.6.4;
	 * store/threads.h) */
	struct mime_thread_ids *orig = malloc(sizeof *orig);
	if (orig) {
		mime_thread_ids_read(in->original, hlen, orig);
		if (orig->message_id)
			putf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", orig->message_id,
			     orig->message_id);
		free(orig);
	}
	PUTS(&b, "Auto-Submitted: auto-replied\r\n");
	PUTS(&b, "MIME-Version: 1.0\r\n");
	putf(&b,
	     "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	     "\tboundary=\"%s\"\r\n",
	     boundary);
	if (eight)
		PUTS(&b, "Content-Transfer-Encoding: 8bit\r\n");
	PUTS(&b, "\r\n");
	PUTS(&b, "This is a MIME-encapsulated message.\r\n\r\n");

	/* Part 1: for humans. */
	putf(&b, "--%s\r\n", boundary);
	PUTS(&b, "Content-Type: text/plain; charset=utf-8\r\n");
	PUTS(&b, "Content-Description: Notification\r\n\r\n");
	putf(&b, "This is the mail system at host %s.\r\n\r\n", in->reporting_mta);
	if (relayed && in->rcpts[0].action == DSN_DELIVERED)
		PUTS(&b, "Your message was delivered to the mailbox of the recipients below,\r\n"
		         "as you asked (NOTIFY=SUCCESS).\r\n\r\n");
	else if (relayed)
		PUTS(&b, "Your message was delivered to the next server. That server does not\r\n"
		         "send delivery notifications, so this is the last report you will "
		         "get.\r\n\r\n");
	else if (delayed)
		putf(&b,
		     "Your message could not be delivered yet. It will be retried until\r\n"
		     "%s; you do not need to resend it.\r\n\r\n",
		     until);
	else
		put_text_crlf(&b,
		              "I'm sorry to have to inform you that your message could not be\n"
		              "delivered to one or more recipients.\n\n",
		              (size_t)strlen(
		                  "I'm sorry to have to inform you that your message could not be\n"
		                  "delivered to one or more recipients.\n\n"));
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct dsn_rcpt *r = &in->rcpts[i];
		PUTS(&b, "<");
		put_clean(&b, r->rcpt);
		PUTS(&b, ">: ");
		put_clean(&b, r->reason ? r->reason : r->diagnostic ? r->diagnostic : "failed");
		PUTS(&b, "\r\n");
	}
	PUTS(&b, "\r\n");

	/* Part 2: machine-readable. */
	putf(&b, "--%s\r\n", boundary);
	PUTS(&b, "Content-Type: message/delivery-status\r\n");
	PUTS(&b, "Content-Description: Delivery report\r\n\r\n");
	putf(&b, "Reporting-MTA: dns; %s\r\n", in->reporting_mta);
	if (in->envid && *in->envid) {
		PUTS(&b, "Original-Envelope-Id: ");
		put_clean(&b, in->envid);
		PUTS(&b, "\r\n");
	}
	putf(&b, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct dsn_rcpt *r = &in->rcpts[i];
		PUTS(&b, "\r\n");
		if (r->orcpt && *r->orcpt) {
			PUTS(&b, "Original-Recipient: ");
			put_clean(&b, r->orcpt);
			PUTS(&b, "\r\n");
		}
		put(&b,
		    has_8bit(r->rcpt, strlen(r->rcpt)) ? "Final-Recipient: utf-8; "
		                                       : "Final-Recipient: rfc822; ",
		    has_8bit(r->rcpt, strlen(r->rcpt)) ? 24 : 25);
		put_clean(&b, r->rcpt);
		PUTS(&b, "\r\n");
		putf(&b, "Action: %s\r\n", action_name(r->action));
		putf(&b, "Status: %s\r\n", r->status ? r->status : "5.0.0");
		if (r->remote_mta && *r->remote_mta) {
			PUTS(&b, "Remote-MTA: dns; ");
			put_clean(&b, r->remote_mta);
			PUTS(&b, "\r\n");
		}
		if (r->diagnostic && *r->diagnostic) {
			PUTS(&b, "Diagnostic-Code: smtp; ");
			put_clean(&b, r->diagnostic);
			PUTS(&b, "\r\n");
		}
		putf(&b, "Last-Attempt-Date: %s\r\n", date);
		if (r->action == DSN_DELAYED)
			putf(&b, "Will-Retry-Until: %s\r\n", until);
	}
	PUTS(&b, "\r\n");

	/* Part 3: the original. */
	putf(&b, "--%s\r\n", boundary);
	if (in->ret_full) {
		PUTS(&b, "Content-Type: message/rfc822\r\n");
		PUTS(&b, "Content-Description: Undelivered Message\r\n\r\n");
	} else {
		PUTS(&b, "Content-Type: text/rfc822-headers\r\n");
		PUTS(&b, "Content-Description: Undelivered Message Headers\r\n\r\n");
	}
	put_text_crlf(&b, in->original, olen);
	if (b.len >= 2 && memcmp(b.p + b.len - 2, "\r\n", 2) != 0)
		PUTS(&b, "\r\n");
	putf(&b, "\r\n--%s--\r\n", boundary);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*out_len = b.len;
	return b.p;
}
