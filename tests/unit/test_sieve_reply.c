/* test_sieve_reply: the vacation reply (deliver/sieve_reply.c) and the
 * Received count (sieve_filter.c): the fields it writes, what it does with
 * hostile values (CR/LF in a subject, a :from that is not an address, a
 * :mime reason that brings its own To:, a 3000-byte line), and that the
 * relay knows it as one of ours (dsn_is_ours), so it is DKIM-signed. */
#include "check.h"
#include "deliver/sieve_filter.h"
#include "deliver/sieve_reply.h"
#include "mime/msgid.h"
#include "relay/dsn.h"

#include <stdlib.h>
#include <string.h>

static char *build(const char *from, const char *subject, const char *reason, int mime, size_t *len)
{
	static const char orig[] = "Message-ID: <orig@far.test>\r\n"
	                           "In-Reply-To: <parent@far.test>\r\n"
	                           "References: <root@far.test> <parent@far.test>\r\n\r\nbody\r\n";
	struct mime_thread_ids ids;
	mime_thread_ids_read(orig, sizeof orig - 1, &ids);
	struct sieve_reply_params p = {
	    .hostname = "mail.example.test",
	    .from = from,
	    .own = "user@example.test",
	    .to = "sender@far.test",
	    .subject = subject,
	    .reason = reason,
	    .mime = mime,
	    .orig = &ids,
	    .now = 1800000000,
	};
	char *m = sieve_reply_build(&p, len);
	CHECK(m != NULL, "built");
	return m ? m : calloc(1, 1);
}

/* The header section of m, NUL-terminated (a copy). */
static char *header_of(const char *m, size_t len)
{
	const char *end = memmem(m, len, "\r\n\r\n", 4);
	size_t n = end ? (size_t)(end - m) + 2 : len;
	char *h = malloc(n + 1);
	memcpy(h, m, n);
	h[n] = '\0';
	return h;
}

static void test_plain(void)
{
	size_t len;
	char *m = build(NULL, "Away", "I am away.\nBack Monday.", 0, &len);
	char *h = header_of(m, len);
	CHECK(strncmp(m, "Auto-Submitted: auto-replied (vacation)\r\n", 41) == 0, "first line");
	CHECK_THAT(dsn_is_ours(m, len));
	CHECK_THAT(strstr(h, "\r\nFrom: <user@example.test>\r\n") != NULL);
	CHECK_THAT(strstr(h, "\r\nTo: <sender@far.test>\r\n") != NULL);
	CHECK_THAT(strstr(h, "\r\nSubject: Away\r\n") != NULL);
	CHECK_THAT(strstr(h, "\r\nIn-Reply-To: <orig@far.test>\r\n") != NULL);
	/* References: oldest first, then the original */
	CHECK(strstr(h, "References:\r\n <root@far.test>\r\n <parent@far.test>\r\n "
	                "<orig@far.test>\r\n") != NULL,
	      "references in %s", h);
	CHECK_THAT(strstr(h, "\r\nMessage-ID: <") != NULL && strstr(h, "\r\nDate: ") != NULL);
	CHECK_THAT(strstr(h, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
	CHECK_THAT(strstr(m, "\r\n\r\nI am away.\r\nBack Monday.\r\n") != NULL);
	free(h);
	free(m);
}

static void test_hostile_values(void)
{
	size_t len;
	/* CR/LF in a subject and :from: no field of their own */
	char *m = build("x@y\r\nBcc: evil@far.test", "Hi\r\nBcc: evil@far.test", "r", 0, &len);
	char *h = header_of(m, len);
	CHECK(strstr(h, "\r\nBcc:") == NULL, "no Bcc field: %s", h);
	CHECK_THAT(strstr(h, "\r\nFrom: <user@example.test>\r\n") != NULL); /* :from refused */
	CHECK_THAT(strstr(h, "Subject: Hi  Bcc: evil@far.test\r\n") != NULL);
	free(h);
	free(m);
	/* a plain :from is taken */
	m = build("alias@example.test", "s", "r", 0, &len);
	CHECK_THAT(strstr(m, "\r\nFrom: <alias@example.test>\r\n") != NULL);
	free(m);
	/* a non-ASCII subject is RFC 2047-encoded */
	m = build(NULL, "Abwesend: \xc3\xa9t\xc3\xa9", "r", 0, &len);
	CHECK(strstr(m, "\r\nSubject: =?UTF-8?B?QWJ3ZXNlbmQ6IMOpdMOp?=\r\n") != NULL, "%s", m);
	free(m);
	/* a :mime reason with its own To: goes as text */
	m = build(NULL, "s", "To: evil@far.test\r\n\r\nbody", 1, &len);
	h = header_of(m, len);
	CHECK(strstr(h, "\r\nTo: evil") == NULL && strstr(h, "text/plain") != NULL, "%s", h);
	free(h);
	free(m);
	/* a good :mime entity is the body's header */
	m = build(NULL, "s", "Content-Type: text/html\r\n\r\n<p>away</p>", 1, &len);
	h = header_of(m, len);
	CHECK(strstr(h, "\r\nContent-Type: text/html\r\n") != NULL && !strstr(h, "text/plain"),
	      "%s", h);
	free(h);
	free(m);
	/* a 3000-byte line is broken before 998 */
	char *longr = malloc(3001);
	memset(longr, 'a', 3000);
	longr[3000] = '\0';
	m = build(NULL, "s", longr, 0, &len);
	size_t col = 0, max = 0;
	for (size_t i = 0; i < len; i++) {
		col = m[i] == '\n' ? 0 : col + 1;
		max = col > max ? col : max;
	}
	CHECK(max <= 999, "longest line %zu", max);
	free(longr);
	free(m);
}

static void test_received_count(void)
{
	static const char m[] = "Received: a\r\nreceived: b\r\n c\r\nX-Received: no\r\n"
	                        "Subject: s\r\n\r\nReceived: in the body\r\n";
	CHECK_THAT(sieve_count_received(m, sizeof m - 1) == 2);
	CHECK_THAT(sieve_count_received("", 0) == 0);
	CHECK_THAT(sieve_count_received("Received: x", 11) == 1);
}

int main(void)
{
	test_plain();
	test_hostile_values();
	test_received_count();
	return check_report("test_sieve_reply");
}
