/* fuzz_sieve: compile arbitrary bytes as a Sieve script (sieve/sieve.h);
 * when it compiles, run it twice over a fixed message.
 *
 * Each input is compiled twice, under the default limits and under tiny
 * ones (so that every bound is met often). Checks beyond "no crash": a refused script has an error
 * of the form "LINE:COL: message"; a run always ends with at least one action, a failed run with
 * exactly the implicit keep; and two runs of one script give the same actions (a compiled script is
 * immutable).
 *
 * Seeds: tests/fuzz/corpus/fuzz_sieve/ (the RFC examples); dictionary:
 * tests/fuzz/dict/fuzz_sieve.dict. For example:
 *   build-fuzz/fuzz_sieve -dict=tests/fuzz/dict/fuzz_sieve.dict build-fuzz/corpus/fuzz_sieve \
 *       tests/fuzz/corpus/fuzz_sieve -max_total_time=60 */
#include "sieve/sieve.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char header[] = "From: =?UTF-8?B?w4lsw6huZQ==?= <elene@example.net>\r\n"
                             "To: me@example.com, group: a@b.example, c@d.example;\r\n"
                             "Cc: \"x\" <x@example.org>\r\n"
                             "Subject: [list] =?ISO-8859-1?Q?caf=E9?= *?\\ here\r\n"
                             "List-Id: <list.example.org>\r\n"
                             "X-Folded: one\r\n two\r\n"
                             "\r\n";

static bool exists_cb(void *ud, const char *name)
{
	(void)ud;
	return strcmp(name, "INBOX") == 0 || strcmp(name, "Lists") == 0;
}

static bool same(const struct sieve_result *a, const struct sieve_result *b)
{
	if (a->failed != b->failed || a->n_actions != b->n_actions || strcmp(a->error, b->error))
		return false;
	for (size_t i = 0; i < a->n_actions; i++) {
		const struct sieve_action *x = &a->actions[i], *y = &b->actions[i];
		if (x->kind != y->kind || x->n_flags != y->n_flags || x->copy != y->copy)
			return false;
		if ((x->mailbox || y->mailbox) &&
		    (!x->mailbox || !y->mailbox || strcmp(x->mailbox, y->mailbox)))
			return false;
	}
	return true;
}

/* Compile under lim (NULL: the defaults) and run what compiles. */
static void one(const uint8_t *data, size_t size, const struct sieve_limits *lim)
{
	char err[256];
	struct sieve_script *s = NULL;
	if (sieve_compile((const char *)data, size, lim, &s, err, sizeof err) < 0) {
		const char *colon = strchr(err, ':');
		if (!isdigit((unsigned char)err[0]) || !colon ||
		    !isdigit((unsigned char)colon[1]) || !strstr(err, ": "))
			__builtin_trap();
		return;
	}
	static const char *const own[] = {"me@example.com"};
	struct sieve_message msg = {
	    .header = header,
	    .header_len = sizeof header - 1,
	    .size = 4321,
	    .envelope_from = "elene@example.net",
	    .envelope_to = "me@example.com",
	    .own_addresses = own,
	    .n_own_addresses = 1,
	    .mailbox_exists = exists_cb,
	};
	struct sieve_result a, b;
	if (sieve_run(s, &msg, &a) < 0)
		__builtin_trap();
	if (a.n_actions < 1 || (a.failed && (a.n_actions != 1 || !a.actions[0].implicit)))
		__builtin_trap();
	if (sieve_run(s, &msg, &b) < 0 || !same(&a, &b))
		__builtin_trap();
	sieve_result_free(&a);
	sieve_result_free(&b);
	sieve_script_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, NULL);
	/* Again under tiny limits, so that every bound is met often. */
	struct sieve_limits tiny;
	sieve_limits_default(&tiny);
	tiny.max_depth = 3;
	tiny.max_commands = 40;
	tiny.max_string_list = 4;
	tiny.max_variables = 3;
	tiny.max_variable_len = 8;
	tiny.max_steps = 300;
	tiny.max_actions = 2;
	tiny.max_redirects = 1;
	one(data, size, &tiny);
	return 0;
}
