/* fuzz_submit: arbitrary envelopes and messages through the submission
 * path's entry point (deliver/submit.h), which JMAP's EmailSubmission/set
 * feeds with what a client sent: the sender check, the header From: walk,
 * recipient resolution against a real store (an account, an alias, a
 * loop), the line-end scan and, when it all passes, the store job. The
 * input is "mail_from\nrcpt\nrcpt...\n\nmessage". Besides not crashing:
 * done() never runs before submit_start() returns and runs exactly once
 * after an accepted one; an accepted submission has every recipient
 * accepted; a refused recipient makes the whole submission refused. The
 * same bytes as a Received: "from" and id must not add a line. */
#include "deliver/submit.h"
#include "deliver/trace.h"
#include "store/accounts.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RCPTS 8

static struct store *st;
static uv_loop_t loop;
static int64_t account;
static int calls;

static int setup_job(struct store_tx *tx, void *arg)
{
	(void)arg;
	int rc;
	if ((rc = store_domain_add(tx, "example.test")) < 0 ||
	    (rc = store_account_add(tx, "a@example.test", "x", &account)) < 0 ||
	    (rc = store_account_add(tx, "b@example.test", "x", NULL)) < 0 ||
	    (rc = store_alias_add(tx, "info@example.test", "a@example.test")) < 0 ||
	    (rc = store_alias_add(tx, "l1@example.test", "l2@example.test")) < 0 ||
	    (rc = store_alias_add(tx, "l2@example.test", "l1@example.test")) < 0)
		return rc;
	return 0;
}

static void init(void)
{
	static char dir[] = "/tmp/tern-fuzz-submit-XXXXXX";
	char err[200];
	if (!mkdtemp(dir) || uv_loop_init(&loop) != 0 ||
	    store_open(&st, dir, &loop, err, sizeof err) != 0 ||
	    store_exec(st, setup_job, NULL) != 0)
		abort();
}

static void on_done(void *ud, int status)
{
	(void)ud;
	(void)status;
	calls++;
}

/* The next line of data (NUL-terminated copy in out), or false at the end. */
static bool next_line(const char **p, const char *end, char *out, size_t cap)
{
	if (*p >= end)
		return false;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl ? nl + 1 : end;
	return true;
}

static void check_received(const uint8_t *data, size_t size)
{
	char s[200], out[1024];
	size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	struct deliver_trace t = {.from = s, .peer_ip = s, .hostname = "h", .with = s, .id = s};
	size_t len = deliver_received_format(out, sizeof out, &t);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += out[i] == '\n';
	if (len && lines != 3)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st)
		init();
	check_received(data, size);

	const char *p = (const char *)data, *end = p + size;
	char from[300], lines[MAX_RCPTS][300];
	const char *rcpts[MAX_RCPTS];
	size_t n = 0;
	if (!next_line(&p, end, from, sizeof from))
		return 0;
	while (n < MAX_RCPTS && next_line(&p, end, lines[n], sizeof lines[n]) && lines[n][0]) {
		rcpts[n] = lines[n];
		n++;
	}
	struct submit_req q = {
	    .store = st,
	    .hostname = "mail.example.test",
	    .account_id = account,
	    .login = from,
	    .mail_from = from,
	    .rcpts = rcpts,
	    .nrcpts = n,
	    .msg = p,
	    .len = (size_t)(end - p),
	    .max_rcpts = MAX_RCPTS,
	    .max_size = 8192,
	};
	struct submit_result res;
	calls = 0;
	enum deliver_status s = submit_start(&q, &res, on_done, NULL);
	if (calls != 0 || res.status != s)
		__builtin_trap();
	for (size_t i = 0; i < res.nrcpts; i++)
		if (res.rcpts[i].status != DELIVER_OK && s == DELIVER_OK)
			__builtin_trap();
	if (s == DELIVER_OK) {
		if (res.nrcpts != n)
			__builtin_trap();
		while (calls == 0)
			uv_run(&loop, UV_RUN_ONCE);
		if (calls != 1)
			__builtin_trap();
	}
	submit_result_free(&res);
	return 0;
}
