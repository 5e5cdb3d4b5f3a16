/* fuzz_dsn: delivery status notifications (relay/dsn.c) built from
 * arbitrary values: what a remote server answered (the diagnostic), the
 * client's ENVID and ORCPT, the recipient, and the original message all
 * come from outside.
 *
 * Input: byte 0 picks the action, RET=FULL and the number of recipients
 * (1-3); the rest is NUL-separated fields in this order: envid, original
 * message, then per recipient: address, orcpt, status, remote MTA,
 * diagnostic, reason. Missing fields are NULL.
 *
 * Beyond crashes: the result is a message a mail system will carry as
 * it is (RFC 5322 §2.1.1, §2.3): CRLF line endings only, no line longer
 * than 998 bytes; it starts as dsn_is_ours() expects; and nothing from
 * outside starts a field of its own in the message/delivery-status part
 * (every line there is a field, a fold or the blank line between
 * recipients: the fields a receiving MTA parses are only ours). */
#include "relay/dsn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The names a delivery-status part may hold (RFC 3464 §2.2, §2.3). */
static bool dsn_field(const char *l, size_t n)
{
	static const char *const names[] = {"Reporting-MTA: ",   "Original-Envelope-Id: ",
	                                    "Arrival-Date: ",    "Original-Recipient: ",
	                                    "Final-Recipient: ", "Action: ",
	                                    "Status: ",          "Remote-MTA: ",
	                                    "Diagnostic-Code: ", "Last-Attempt-Date: ",
	                                    "Will-Retry-Until: "};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t k = strlen(names[i]);
		if (n >= k && memcmp(l, names[i], k) == 0)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *p = copy + 1, *end = copy + size;
	struct dsn_rcpt r[3];
	size_t nr = (size_t)(data[0] >> 4) % 3 + 1;
	struct dsn_info in = {.reporting_mta = "mx.example.net",
	                      .postmaster = "postmaster@example.net",
	                      .to = "sender@example.org",
	                      .ret_full = data[0] & 4,
	                      .arrival = 1700000000,
	                      .retry_until = 1700400000};
	in.envid = fuzz_next_field(&p, end);
	in.original = fuzz_next_field(&p, end);
	if (!in.original)
		in.original = "";
	in.original_len = strlen(in.original);
	for (size_t i = 0; i < nr; i++) {
		const char *rcpt = fuzz_next_field(&p, end);
		r[i] = (struct dsn_rcpt){.rcpt = rcpt ? rcpt : "rcpt@example.com",
		                         .orcpt = fuzz_next_field(&p, end),
		                         .action = (enum dsn_action)(data[0] & 3),
		                         .status = fuzz_next_field(&p, end),
		                         .remote_mta = fuzz_next_field(&p, end),
		                         .diagnostic = fuzz_next_field(&p, end),
		                         .reason = fuzz_next_field(&p, end)};
		/* the relay passes dsn_status_from_reply()'s: an enhanced code
		 * that relay/smtp_reply.c checked, or its own */
		if (r[i].status && (strlen(r[i].status) > 15 ||
		                    strspn(r[i].status, "0123456789.") != strlen(r[i].status)))
			r[i].status = NULL;
	}
	in.rcpts = r;
	in.nrcpts = nr;
	size_t len = 0;
	char *out = dsn_build(&in, &len);
	if (!out) {
		free(copy);
		return 0;
	}
	if (!dsn_is_ours(out, len))
		__builtin_trap();
	bool in_status = false, status_seen = false; /* part 2 comes before the original */
	size_t line = 0;
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\r' && (i + 1 >= len || out[i + 1] != '\n'))
			__builtin_trap(); /* a bare CR */
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			__builtin_trap(); /* a bare LF */
		if (out[i] != '\n')
			continue;
		const char *l = out + line;
		size_t n = i - 1 - line; /* without the CRLF */
		if (n > 998)
			__builtin_trap();
		if (!status_seen && n == 37 &&
		    memcmp(l, "Content-Type: message/delivery-status", 37) == 0)
			in_status = status_seen = true;
		else if (in_status && n >= 2 && memcmp(l, "--", 2) == 0)
			in_status = false;
		else if (in_status && n && l[0] != ' ' && l[0] != '\t' && !dsn_field(l, n) &&
		         (n < 21 || memcmp(l, "Content-Description: ", 21) != 0))
			__builtin_trap(); /* a field that is not ours */
		line = i + 1;
	}
	if (line != len)
		__builtin_trap(); /* the last line ends with CRLF */
	free(out);
	free(copy);
	return 0;
}
