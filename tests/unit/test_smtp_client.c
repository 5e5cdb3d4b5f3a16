/* test_smtp_client: the outbound client state machine driven by scripted
 * server replies; what it writes is captured and compared. */
#include "relay/smtp_body.h"
#include "relay/smtp_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

struct fake {
	char out[65536];
	size_t outlen;
	int starttls_calls;
	int ready;
	int tx_done;
	int failed;
	struct smtp_reply fail_reply;
	uint64_t timeout;
	struct smtp_client *cl;
};

static int f_write(void *ud, const void *d, size_t n)
{
	struct fake *f = ud;
	if (f->outlen + n < sizeof f->out) {
		memcpy(f->out + f->outlen, d, n);
		f->outlen += n;
		f->out[f->outlen] = '\0';
	}
	return 0;
}
static int f_starttls(void *ud)
{
	((struct fake *)ud)->starttls_calls++;
	return 0;
}
static void f_timeout(void *ud, uint64_t ms)
{
	((struct fake *)ud)->timeout = ms;
}
static void f_ready(void *ud)
{
	((struct fake *)ud)->ready++;
}
static void f_tx_done(void *ud, struct smtp_tx *tx)
{
	((struct fake *)ud)->tx_done++;
}
static void f_failed(void *ud, const struct smtp_reply *r)
{
	struct fake *f = ud;
	f->failed++;
	f->fail_reply = *r;
}

static const struct smtp_client_io io = {f_write,   f_starttls, f_timeout, f_ready,
                                         f_tx_done, f_failed,   NULL};

/* Feed "a\nb\n" as reply lines. */
static void srv(struct fake *f, const char *lines)
{
	const char *p = lines;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		smtp_client_line(f->cl, p, n);
		p += n + (nl ? 1 : 0);
	}
}

/* The output since the last call, then forget it. */
static bool sent(struct fake *f, const char *expect)
{
	bool ok = strcmp(f->out, expect) == 0;
	if (!ok)
		fprintf(stderr, "expected:\n%s\ngot:\n%s\n", expect, f->out);
	f->outlen = 0, f->out[0] = '\0';
	f->out[0] = '\0';
	return ok;
}

static struct fake *start(const struct smtp_client_opts *o)
{
	struct fake *f = calloc(1, sizeof *f);
	f->cl = smtp_client_new(o, &io, f);
	return f;
}

static void done(struct fake *f)
{
	smtp_client_free(&f->cl);
	free(f);
}

static const struct smtp_client_opts plain = {.helo = "a.test", .tls_available = true};

#define MSG "Subject: hi\r\n\r\nline\r\n.dot line\r\n"

static void test_pipelined_tls_three_rcpts(void)
{
	struct fake *f = start(&plain);
	CHECK(f->timeout == SMTP_TIMEOUT_GREETING);
	srv(f, "220 b.test ESMTP\n");
	CHECK(sent(f, "EHLO a.test\r\n"));
	srv(f, "250-b.test\n250-PIPELINING\n250-STARTTLS\n250 8BITMIME\n");
	CHECK(sent(f, "STARTTLS\r\n"));
	srv(f, "220 2.0.0 go\n");
	CHECK(f->starttls_calls == 1 && smtp_client_state(f->cl) == SC_TLS);
	smtp_client_tls_done(f->cl, true, NULL);
	CHECK(sent(f, "EHLO a.test\r\n"));
	srv(f, "250-b.test\n250-PIPELINING\n250-SIZE 1000000\n250-DSN\n250 8BITMIME\n");
	CHECK(f->ready == 1 && smtp_client_tls_active(f->cl));

	struct smtp_tx_rcpt r[3] = {
	    {.addr = "x@b.test", .notify = "FAILURE", .orcpt = "rfc822;x@b.test"},
	    {.addr = "y@b.test"},
	    {.addr = "z@b.test"}};
	struct smtp_tx tx = {.mail_from = "s@a.test",
	                     .ret = "HDRS",
	                     .envid = "E1",
	                     .data = MSG,
	                     .len = strlen(MSG),
	                     .rcpts = r,
	                     .nrcpts = 3};
	CHECK(smtp_client_send(f->cl, &tx) == 0);
	char expect[1024];
	snprintf(expect, sizeof expect,
	         "MAIL FROM:<s@a.test> SIZE=%zu RET=HDRS ENVID=E1\r\n"
	         "RCPT TO:<x@b.test> NOTIFY=FAILURE ORCPT=rfc822;x@b.test\r\n"
	         "RCPT TO:<y@b.test>\r\nRCPT TO:<z@b.test>\r\nDATA\r\n",
	         strlen(MSG));
	CHECK(sent(f, expect));
	srv(f, "250 2.1.0 ok\n250 2.1.5 ok\n550 5.1.1 no such user\n250 ok\n354 go\n");
	CHECK(sent(f, "Subject: hi\r\n\r\nline\r\n..dot line\r\n.\r\n"));
	CHECK(f->timeout == SMTP_TIMEOUT_DATA_TERM);
	srv(f, "250 2.0.0 queued\n");
	CHECK(f->tx_done == 1 && f->ready == 2);
	CHECK(r[0].status == SMTP_RCPT_OK && r[2].status == SMTP_RCPT_OK);
	CHECK(r[1].status == SMTP_RCPT_PERM && r[1].reply.code == 550);
	CHECK(strcmp(r[1].reply.enhanced, "5.1.1") == 0);
	smtp_client_quit(f->cl);
	CHECK(sent(f, "QUIT\r\n"));
	done(f);
}

static void test_helo_fallback_no_pipelining(void)
{
	struct fake *f = start(&plain);
	srv(f, "220-first\n220 second\n");
	CHECK(sent(f, "EHLO a.test\r\n"));
	srv(f, "502 what\n");
	CHECK(sent(f, "HELO a.test\r\n"));
	srv(f, "250 hello\n");
	CHECK(f->ready == 1);
	struct smtp_tx_rcpt r[2] = {{.addr = "x@b.test"}, {.addr = "y@b.test"}};
	struct smtp_tx tx = {.mail_from = "", .data = "a\nb", .len = 3, .rcpts = r, .nrcpts = 2};
	smtp_client_send(f->cl, &tx);
	CHECK(sent(f, "MAIL FROM:<>\r\n"));
	srv(f, "250 ok\n");
	CHECK(sent(f, "RCPT TO:<x@b.test>\r\n"));
	srv(f, "450 try later\n");
	CHECK(sent(f, "RCPT TO:<y@b.test>\r\n"));
	srv(f, "250 ok\n");
	CHECK(sent(f, "DATA\r\n"));
	CHECK(f->timeout == SMTP_TIMEOUT_DATA_INIT);
	srv(f, "354 go\n");
	CHECK(sent(f, "a\r\nb\r\n.\r\n")); /* bare LF fixed, last line terminated */
	srv(f, "250 ok\n");
	CHECK(r[0].status == SMTP_RCPT_TEMP && r[1].status == SMTP_RCPT_OK);
	done(f);
}

static void test_all_rejected_rset(void)
{
	struct fake *f = start(&plain);
	srv(f, "220 x\n250-x\n250 PIPELINING\n");
	f->outlen = 0, f->out[0] = '\0';
	struct smtp_tx_rcpt r[1] = {{.addr = "x@b.test"}};
	struct smtp_tx tx = {
	    .mail_from = "s@a", .data = "x\r\n", .len = 3, .rcpts = r, .nrcpts = 1};
	smtp_client_send(f->cl, &tx);
	f->outlen = 0, f->out[0] = '\0';
	srv(f, "250 ok\n550 no\n554 no valid recipients\n");
	CHECK(sent(f, "RSET\r\n"));
	CHECK(f->tx_done == 0);
	srv(f, "250 reset\n");
	CHECK(f->tx_done == 1 && r[0].status == SMTP_RCPT_PERM && r[0].reply.code == 550);
	CHECK(smtp_client_state(f->cl) == SC_READY);
	done(f);
}

static void test_8bit_and_utf8(void)
{
	struct fake *f = start(&plain);
	srv(f, "220 x\n250-x\n250 PIPELINING\n");
	f->outlen = 0, f->out[0] = '\0';
	const char *m = "Subject: x\r\n\r\ncaf\xc3\xa9\r\n";
	struct smtp_tx_rcpt r[1] = {{.addr = "x@b.test"}};
	struct smtp_tx tx = {
	    .mail_from = "s@a", .data = m, .len = strlen(m), .rcpts = r, .nrcpts = 1};
	smtp_client_send(f->cl, &tx);
	CHECK(sent(f, "")); /* nothing sent: it cannot go */
	CHECK(r[0].status == SMTP_RCPT_PERM && strcmp(r[0].reply.enhanced, "5.6.3") == 0);
	CHECK(f->tx_done == 1 && smtp_client_state(f->cl) == SC_READY);

	struct smtp_tx_rcpt u[1] = {{.addr = "j\xc3\xb6rg@b.test"}};
	struct smtp_tx tx2 = {
	    .mail_from = "s@a", .data = "x\r\n", .len = 3, .rcpts = u, .nrcpts = 1};
	smtp_client_send(f->cl, &tx2);
	CHECK(u[0].status == SMTP_RCPT_PERM && strcmp(u[0].reply.enhanced, "5.6.7") == 0);
	done(f);

	f = start(&plain);
	srv(f, "220 x\n250-x\n250-8BITMIME\n250 SMTPUTF8\n");
	f->outlen = 0, f->out[0] = '\0';
	struct smtp_tx_rcpt v[1] = {{.addr = "j\xc3\xb6rg@b.test"}};
	struct smtp_tx tx3 = {
	    .mail_from = "s@a", .data = m, .len = strlen(m), .rcpts = v, .nrcpts = 1};
	smtp_client_send(f->cl, &tx3);
	CHECK(sent(f, "MAIL FROM:<s@a> BODY=8BITMIME SMTPUTF8\r\n"));
	done(f);
}

static void test_chunking(void)
{
	struct fake *f = start(&plain);
	srv(f, "220 x\n250-x\n250-PIPELINING\n250 CHUNKING\n");
	f->outlen = 0, f->out[0] = '\0';
	struct smtp_tx_rcpt r[2] = {{.addr = "a@b"}, {.addr = "c@b"}};
	struct smtp_tx tx = {
	    .mail_from = "s@a", .data = ".x\r\n", .len = 4, .rcpts = r, .nrcpts = 2};
	smtp_client_send(f->cl, &tx);
	CHECK(sent(f, "MAIL FROM:<s@a>\r\nRCPT TO:<a@b>\r\nRCPT TO:<c@b>\r\n"));
	srv(f, "250 ok\n250 ok\n");
	CHECK(sent(f, ""));
	srv(f, "250 ok\n");
	CHECK(sent(f, "BDAT 4 LAST\r\n.x\r\n")); /* no dot-stuffing with BDAT */
	srv(f, "250 2.0.0 got it\n");
	CHECK(r[0].status == SMTP_RCPT_OK && r[1].status == SMTP_RCPT_OK);
	done(f);
}

static void test_failures(void)
{
	/* 421 in the middle: every pending recipient is temporary. */
	struct fake *f = start(&plain);
	srv(f, "220 x\n250-x\n250 PIPELINING\n");
	struct smtp_tx_rcpt r[2] = {{.addr = "a@b"}, {.addr = "c@b"}};
	struct smtp_tx tx = {
	    .mail_from = "s@a", .data = "x\r\n", .len = 3, .rcpts = r, .nrcpts = 2};
	smtp_client_send(f->cl, &tx);
	srv(f, "250 ok\n550 no\n421 4.3.2 shutting down\n");
	CHECK(f->failed == 1 && f->tx_done == 1);
	CHECK(r[0].status == SMTP_RCPT_PERM && r[1].status == SMTP_RCPT_TEMP);
	CHECK(r[1].reply.code == 421);
	done(f);

	/* Greeting refused. */
	f = start(&plain);
	srv(f, "554 go away\n");
	CHECK(f->failed == 1 && f->fail_reply.code == 554);
	done(f);

	/* Timeout and connection loss during DATA. */
	f = start(&plain);
	srv(f, "220 x\n250 x\n");
	struct smtp_tx_rcpt q[1] = {{.addr = "a@b"}};
	struct smtp_tx tx2 = {
	    .mail_from = "s@a", .data = "x\r\n", .len = 3, .rcpts = q, .nrcpts = 1};
	smtp_client_send(f->cl, &tx2);
	srv(f, "250 ok\n250 ok\n354 go\n");
	smtp_client_timed_out(f->cl);
	CHECK(f->failed == 1 && q[0].status == SMTP_RCPT_TEMP && q[0].reply.code == 421);
	done(f);

	f = start(&plain);
	srv(f, "220 x\n");
	smtp_client_closed(f->cl);
	CHECK(f->failed == 1 && f->fail_reply.code == 421);
	done(f);

	/* Malformed reply. */
	f = start(&plain);
	srv(f, "hello there\n");
	CHECK(f->failed == 1);
	done(f);
}

static void test_require_tls(void)
{
	struct smtp_client_opts o = plain;
	o.require_tls = true;
	struct fake *f = start(&o);
	srv(f, "220 x\n250-x\n250 PIPELINING\n");
	CHECK(f->failed == 1 && f->fail_reply.code == 451);
	CHECK(strcmp(f->fail_reply.enhanced, "4.7.10") == 0);
	done(f);

	/* Offered but refused: without require_tls go on in plaintext. */
	f = start(&plain);
	srv(f, "220 x\n250-x\n250 STARTTLS\n");
	CHECK(sent(f, "EHLO a.test\r\nSTARTTLS\r\n"));
	srv(f, "454 not now\n");
	CHECK(f->ready == 1);
	done(f);

	/* Handshake failure. */
	f = start(&plain);
	srv(f, "220 x\n250-x\n250 STARTTLS\n220 go\n");
	smtp_client_tls_done(f->cl, false, "bad certificate");
	CHECK(f->failed == 1 && strstr(f->fail_reply.text, "bad certificate"));
	done(f);
}

static void test_auth(void)
{
	struct smtp_client_opts o = plain;
	o.auth_user = "u";
	o.auth_pass = "p";
	struct fake *f = start(&o);
	srv(f, "220 x\n250-x\n250-AUTH PLAIN LOGIN\n250 STARTTLS\n220 go\n");
	smtp_client_tls_done(f->cl, true, NULL);
	f->outlen = 0, f->out[0] = '\0';
	srv(f, "250-x\n250 AUTH PLAIN LOGIN\n");
	CHECK(sent(f, "AUTH PLAIN AHUAcA==\r\n"));
	srv(f, "235 ok\n");
	CHECK(f->ready == 1);
	done(f);

	f = start(&o);
	srv(f, "220 x\n250-x\n250 STARTTLS\n220 go\n");
	smtp_client_tls_done(f->cl, true, NULL);
	f->outlen = 0, f->out[0] = '\0';
	srv(f, "250-x\n250 AUTH=LOGIN\n");
	CHECK(sent(f, "AUTH LOGIN\r\n"));
	srv(f, "334 VXNlcm5hbWU6\n");
	CHECK(sent(f, "dQ==\r\n"));
	srv(f, "334 UGFzc3dvcmQ6\n");
	CHECK(sent(f, "cA==\r\n"));
	srv(f, "535 5.7.8 bad\n");
	CHECK(f->failed == 1 && f->fail_reply.code == 454); /* kept, retried */
	done(f);

	/* No TLS offered: the password is never sent. */
	f = start(&o);
	srv(f, "220 x\n250-x\n250 AUTH PLAIN\n");
	CHECK(f->failed == 1 && !strstr(f->out, "AUTH"));
	done(f);
}

static void test_size_limit(void)
{
	struct fake *f = start(&plain);
	srv(f, "220 x\n250-x\n250 SIZE 10\n");
	f->outlen = 0, f->out[0] = '\0';
	struct smtp_tx_rcpt r[1] = {{.addr = "a@b"}};
	const char *m = "Subject: long enough\r\n\r\nbody\r\n";
	struct smtp_tx tx = {
	    .mail_from = "s@a", .data = m, .len = strlen(m), .rcpts = r, .nrcpts = 1};
	smtp_client_send(f->cl, &tx);
	CHECK(r[0].status == SMTP_RCPT_PERM && strcmp(r[0].reply.enhanced, "5.3.4") == 0);
	CHECK(sent(f, ""));
	done(f);
}

static void test_body_helpers(void)
{
	struct smtp_body_info bi;
	const char *m =
	    "Received: a\r\nreceived: b\r\nSubject: x\r\n\r\nReceived: not a header\r\n";
	smtp_body_analyze(m, strlen(m), &bi);
	CHECK(bi.received == 2 && !bi.header_8bit && !bi.body_8bit);
	size_t n;
	char *s = smtp_body_stuff(".\r\n..\r\nx", 8, &n);
	CHECK(n == strlen("..\r\n...\r\nx\r\n.\r\n") &&
	      memcmp(s, "..\r\n...\r\nx\r\n.\r\n", n) == 0);
	free(s);
	struct smtp_reply r = {0};
	CHECK(smtp_reply_feed(&r, "250-a", 5) == 0);
	CHECK(smtp_reply_feed(&r, "251 b", 5) == -1); /* code changed mid-reply */
}

int main(void)
{
	test_pipelined_tls_three_rcpts();
	test_helo_fallback_no_pipelining();
	test_all_rejected_rset();
	test_8bit_and_utf8();
	test_chunking();
	test_failures();
	test_require_tls();
	test_auth();
	test_size_limit();
	test_body_helpers();
	if (failures) {
		fprintf(stderr, "test_smtp_client: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_smtp_client: ok\n");
	return 0;
}
