/* libFuzzer target: everything SMTP uses to parse client bytes without a
 * connection: RFC 5321 paths, MAIL/RCPT parameters, the message spool
 * scanner and the strict header walkers (mime/spool.c, mime/header.c), the
 * end-of-data verdict and the Received: builder, and SASL.
 * The first byte picks the parser so one corpus exercises all of them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sasl/sasl.h"
#include "proto/sasl/scram.h"
#include "proto/smtp/address.h"
#include "proto/smtp/message.h"
#include "mime/header.h"
#include "mime/spool.h"

static int fuzz_scram_keys(const char *user, enum hmac_hash h, struct scram_keys *out)
{
	static const unsigned char salt[] = "fuzz-salt";
	if (strcmp(user, "user") != 0)
		return -1;
	return scram_keys_derive(h, "pencil", salt, sizeof salt - 1, 1, out);
}

static int count_cb(void *ud, const char *a, size_t n)
{
	(void)a;
	*(size_t *)ud += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	const char *s = (const char *)data + 1;
	size_t n = size - 1;

	switch (sel % 6) {
	case 0: {
		struct smtp_path p;
		size_t end;
		if (smtp_path_parse(s, n, sel >> 3, &p, &end) == 0) {
			if (end > n || strlen(p.addr) > SMTP_PATH_MAX)
				abort();
		}
		smtp_mailbox_check(s, n, sel >> 3);
		smtp_domain_valid(s, n, sel & 0x80);
		break;
	}
	case 1: {
		struct smtp_mail_params mp;
		struct smtp_rcpt_params rp;
		smtp_mail_params_parse(s, n, &mp, NULL);
		smtp_rcpt_params_parse(s, n, &rp, NULL);
		smtp_xtext_check(s, n);
		break;
	}
	case 2: {
		struct mime_spool m;
		const char *why;
		mime_spool_init(&m, 4096, sel & 0x80);
		/* feed in uneven pieces */
		size_t i = 0, step = (sel >> 3) + 1;
		while (i < n) {
			size_t k = n - i < step ? n - i : step;
			mime_spool_append(&m, s + i, k);
			i += k;
		}
		mime_spool_end(&m);
		if (m.len > m.max + 2)
			abort();
		smtp_msg_check(&m, &why);
		mime_spool_free(&m);
		break;
	}
	case 3: {
		size_t pos = 0, total = 0;
		struct mime_field h;
		while (mime_field_next(s, n, &pos, &h) == 1) {
			if (pos > n)
				abort();
			mime_addr_specs(h.value, h.value_len, count_cb, &total);
		}
		mime_header_count(s, n, "From");
		break;
	}
	case 4: {
		/* Any mechanism (SCRAM's with the test nonce "SNONCE" and the
		 * keys of user/pencil at one iteration, -PLUS with a fake
		 * tls-unique), then up to four response lines. */
		static const enum sasl_mech mechs[8] = {
		    SASL_MECH_PLAIN,           SASL_MECH_LOGIN,        SASL_MECH_SCRAM_SHA1,
		    SASL_MECH_SCRAM_SHA1_PLUS, SASL_MECH_SCRAM_SHA256, SASL_MECH_SCRAM_SHA256_PLUS,
		    SASL_MECH_SCRAM_SHA256,    SASL_MECH_PLAIN,
		};
		static const unsigned char cb[12] = "finished-msg";
		struct sasl_peer peer = {
		    .cb_type = (sel & 0x40) ? "tls-unique" : NULL, .cb = cb, .cb_len = sizeof cb};
		struct sasl sa;
		sasl_scram_test_nonce = "SNONCE";
		sasl_scram_test_keys = fuzz_scram_keys;
		const char *nl = memchr(s, '\n', n);
		size_t first = nl ? (size_t)(nl - s) : n;
		enum sasl_status st = sasl_start_peer(&sa, mechs[(sel >> 3) & 7],
		                                      (sel & 0x80) ? s : NULL, first, &peer);
		for (int i = 0; i < 4 && st == SASL_CHALLENGE && nl; i++) {
			const char *line = nl + 1;
			size_t left = n - (size_t)(line - s);
			nl = memchr(line, '\n', left);
			st = sasl_step(&sa, line, nl ? (size_t)(nl - line) : left);
		}
		sasl_clear(&sa);
		break;
	}
	case 5: {
		char helo[300], out[4096];
		size_t k = n < sizeof helo - 1 ? n : sizeof helo - 1;
		memcpy(helo, s, k);
		helo[k] = '\0';
		struct smtp_trace t = {
		    .helo = helo,
		    .peer_ip = "127.0.0.1",
		    .hostname = "mx.example",
		    .esmtp = true,
		    .tls = true,
		    .auth = true,
		    .utf8 = n & 1,
		    .tls_version = "TLSv1.3",
		    .tls_cipher = "TLS_AES_128_GCM_SHA256",
		    .id = "1.1",
		    .for_rcpt = helo,
		    .now = 0,
		};
		smtp_received_format(out, sizeof out, &t);
		break;
	}
	}
	return 0;
}
