/* fuzz_sieve_reply: the vacation reply (deliver/sieve_reply.c) built from
 * arbitrary values: :from, the user's address, the envelope sender, the
 * subject and the reason come from a script or a message, the original's
 * header from outside; and sieve_count_received() over the same header.
 *
 * Input: byte 0 bit 0 is :mime; the rest is NUL-separated fields: from,
 * own, to, subject, reason, then the original's header (missing: NULL).
 *
 * Beyond crashes: the reply's header section (up to its blank line) has
 * CRLF line endings only, and every line of it is one of the fields the
 * builder writes, a Content-* field (a :mime entity's), or a fold: nothing
 * from outside starts a field of its own (no Bcc:, no second To:); and
 * no line of the message is longer than 998 bytes. */
#include "deliver/sieve_filter.h"
#include "deliver/sieve_reply.h"
#include "mime/msgid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/fuzz/fuzz_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool known_field(const char *l, size_t n)
{
	static const char *const names[] = {
	    "Message-ID: ",     "Date: ",        "From: ",      "To: ",           "Subject: ",
	    "Auto-Submitted: ", "In-Reply-To: ", "References:", "MIME-Version: ", "Content-"};
	if (n && (l[0] == ' ' || l[0] == '\t'))
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t k = strlen(names[i]);
		if (n >= k && strncasecmp(l, names[i], k) == 0)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	char *buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	char *p = buf, *end = buf + size - 1;
	const char *from = fuzz_next_field(&p, end), *own = fuzz_next_field(&p, end);
	const char *to = fuzz_next_field(&p, end), *subject = fuzz_next_field(&p, end);
	const char *reason = fuzz_next_field(&p, end), *orig = fuzz_next_field(&p, end);
	struct mime_thread_ids *ids = malloc(sizeof *ids);
	if (!ids) {
		free(buf);
		return 0;
	}
	size_t olen = orig ? (size_t)(end - orig) : 0;
	mime_thread_ids_read(orig ? orig : "", olen, ids);
	(void)sieve_count_received(orig ? orig : "", olen);
	struct sieve_reply_params prm = {
	    .hostname = "mail.example.test",
	    .from = from,
	    .own = own ? own : "user@example.test",
	    .to = to ? to : "",
	    .subject = subject,
	    .reason = reason,
	    .mime = data[0] & 1,
	    .orig = ids,
	    .now = 1800000000,
	};
	size_t len = 0;
	char *msg = sieve_reply_build(&prm, &len);
	if (msg) {
		size_t i = 0;
		for (;;) {
			char *nl = memchr(msg + i, '\n', len - i);
			if (!nl)
				abort(); /* the header section always ends */
			size_t n = (size_t)(nl - (msg + i));
			if (n == 0 || msg[i + n - 1] != '\r')
				abort(); /* a bare LF */
			if (n == 1)
				break; /* the blank line */
			if (memchr(msg + i, '\r', n - 1) || !known_field(msg + i, n - 1))
				abort();
			i += n + 1;
		}
		/* no line of the whole message over 998 bytes (RFC 5322 2.1.1) */
		for (size_t k = 0, col = 0; k < len; k++) {
			col = msg[k] == '\n' ? 0 : col + 1;
			if (col > 999)
				abort();
		}
		free(msg);
	}
	free(ids);
	free(buf);
	return 0;
}
