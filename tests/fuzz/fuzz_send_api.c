/* fuzz_send_api: POST /api/v1/send's request bodies (arbitrary bytes)
 * through proto/http/send_request.c, the JSON-to-message parser a send
 * token's holder controls whole.
 *
 * Beyond crashes and leaks: a parse either succeeds, into an envelope of
 * 1..max_rcpts well-formed recipients and a sender, a message within
 * max_size with CRLF line ends only, no NUL, a header that ends and a
 * Message-ID in "<...>"; or is refused with an HTTP 4xx, a code and an
 * SMTP reply of three digits. */
#include "proto/http/send_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_address(const char *a)
{
	if (!a || !*a || !strchr(a, '@') || strlen(a) > 254)
		abort();
	for (; *a; a++)
		if ((unsigned char)*a <= ' ' || *a == '<' || *a == '>')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct send_limits lim = {.max_size = 1 << 16,
	                          .max_rcpts = 8,
	                          .now = 1700000000,
	                          .unique = "fz",
	                          .hostname = "h.test"};
	struct send_request req;
	struct send_error err;
	int r = send_request_parse((const char *)data, size, &lim, &req, &err);
	if (r == 0) {
		check_address(req.mail_from);
		if (req.nrcpts == 0 || req.nrcpts > lim.max_rcpts)
			abort();
		for (size_t i = 0; i < req.nrcpts; i++)
			check_address(req.rcpts[i]);
		const struct buf *m = &req.msg;
		if (m->len > lim.max_size + 1100) /* our Message-ID may go on top of a raw one */
			abort();
		if (!m->data || !memmem(m->data, m->len, "\r\n", 2))
			abort();
		for (size_t i = 0; i < m->len; i++) {
			char c = m->data[i];
			if (c == '\0' || (c == '\n' && (i == 0 || m->data[i - 1] != '\r')))
				abort();
		}
		size_t idlen = strlen(req.message_id);
		if (idlen == 0)
			abort();
	} else if (r == 1) {
		if (err.http < 400 || err.http > 499 || !err.code || !err.smtp ||
		    strlen(err.smtp) < 4 || err.smtp[0] < '4' || err.smtp[0] > '5' ||
		    !err.message[0])
			abort();
	} else if (r > 1) {
		abort();
	}
	send_request_free(&req);
	return 0;
}
