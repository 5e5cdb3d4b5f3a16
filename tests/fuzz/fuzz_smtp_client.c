/* fuzz_smtp_client: the outbound client state machine against an arbitrary
 * server. The input is split into reply lines; byte 0 chooses options
 * (TLS available/required, AUTH) and when to start a transaction, and a
 * line "~T" / "~F" / "~X" / "~C" reports TLS ok / TLS failed / a timeout /
 * a closed connection. The client must never crash, must never send a
 * second transaction while one runs, and every recipient of a finished
 * transaction must have a final status. The reply parser and the EHLO
 * keyword parser are covered on the way. */
#include "relay/smtp_body.h"
#include "relay/smtp_client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct st {
	struct smtp_client *cl;
	struct smtp_tx tx;
	struct smtp_tx_rcpt r[3];
	bool running, failed;
	int ready;
};

static int w(void *ud, const void *d, size_t n)
{
	return 0;
}
static int tls(void *ud)
{
	return 0;
}
static void to(void *ud, uint64_t ms) {}
static void ready(void *ud)
{
	((struct st *)ud)->ready++;
}
static void done(void *ud, struct smtp_tx *tx)
{
	struct st *s = ud;
	if (!s->running)
		abort();
	s->running = false;
	for (size_t i = 0; i < tx->nrcpts; i++)
		if (tx->rcpts[i].status == SMTP_RCPT_PENDING)
			abort();
}
static void failed(void *ud, const struct smtp_reply *r)
{
	struct st *s = ud;
	if (s->failed || r->code < 400)
		abort();
	s->failed = true;
}

static const struct smtp_client_io io = {w, tls, to, ready, done, failed, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned opt = data[0];
	struct smtp_client_opts o = {
	    .helo = "fuzz.test",
	    .tls_available = opt & 1,
	    .require_tls = opt & 2,
	    .auth_user = (opt & 4) ? "u" : NULL,
	    .auth_pass = "p",
	};
	struct st s = {0};
	s.r[0].addr = "a@b";
	s.r[1].addr = "c@b";
	s.r[1].notify = "FAILURE";
	s.r[2].addr = (opt & 8) ? "\xc3\xa9@b" : "d@b";
	s.tx = (struct smtp_tx){.mail_from = "s@a",
	                        .data = (opt & 16) ? "x\r\n\xff\r\n" : ".x\r\n",
	                        .len = (opt & 16) ? 6 : 4,
	                        .rcpts = s.r,
	                        .nrcpts = 3};
	s.cl = smtp_client_new(&o, &io, &s);
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n == 2 && p[0] == '~') {
			if (p[1] == 'T')
				smtp_client_tls_done(s.cl, true, NULL);
			else if (p[1] == 'F')
				smtp_client_tls_done(s.cl, false, "x");
			else if (p[1] == 'X')
				smtp_client_timed_out(s.cl);
			else if (p[1] == 'C')
				smtp_client_closed(s.cl);
		} else {
			smtp_client_line(s.cl, p, n);
		}
		if (smtp_client_state(s.cl) == SC_READY && !s.running && s.ready < 3) {
			s.running = true; /* tx_done may run inside send (refused locally) */
			if (smtp_client_send(s.cl, &s.tx) != 0)
				s.running = false;
		}
		p += n + (nl ? 1 : 0);
	}
	smtp_client_closed(s.cl);
	smtp_client_free(&s.cl);
	return 0;
}
