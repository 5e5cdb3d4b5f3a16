/* session_mail: the messages the IMAP and POP3 session fuzzers put in the
 * account (header-only: static data, included by each target). CRLF line
 * ends throughout, as delivery stores them. */
#ifndef TERN_FUZZ_SESSION_MAIL_H
#define TERN_FUZZ_SESSION_MAIL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/msg_index.h"
#include "store/store.h"

/* multipart/mixed: a multipart/alternative (quoted-printable text, HTML),
 * a base64 attachment whose bytes include a NUL (BINARY[2] is a ~{n}
 * literal8), and a message/rfc822 with a multipart of its own. */
static const char fuzz_msg_mixed[] = "Return-Path: <alice@remote.test>\r\n"
                                     "From: Alice Example <alice@remote.test>\r\n"
                                     "To: user@example.test, \"Bob, B.\" <bob@remote.test>\r\n"
                                     "Cc: undisclosed:;\r\n"
                                     "Subject: mixed bag\r\n"
                                     "Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
                                     "Message-ID: <mixed@remote.test>\r\n"
                                     "In-Reply-To: <earlier@remote.test>\r\n"
                                     "MIME-Version: 1.0\r\n"
                                     "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
                                     "\r\n"
                                     "preamble\r\n"
                                     "--outer\r\n"
                                     "Content-Type: multipart/alternative; boundary=alt\r\n"
                                     "\r\n"
                                     "--alt\r\n"
                                     "Content-Type: text/plain; charset=utf-8\r\n"
                                     "Content-Transfer-Encoding: quoted-printable\r\n"
                                     "\r\n"
                                     "hello w=C3=B6rld, a soft=\r\n"
                                     " break and =3D sign\r\n"
                                     "--alt\r\n"
                                     "Content-Type: text/html; charset=us-ascii\r\n"
                                     "Content-Language: en\r\n"
                                     "\r\n"
                                     "<p>hello <b>world</b></p>\r\n"
                                     "--alt--\r\n"
                                     "--outer\r\n"
                                     "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
                                     "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
                                     "Content-Transfer-Encoding: base64\r\n"
                                     "Content-ID: <att@remote.test>\r\n"
                                     "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
                                     "\r\n"
                                     "AAECAwRoZWxsbwD/\r\n"
                                     "--outer\r\n"
                                     "Content-Type: message/rfc822\r\n"
                                     "\r\n"
                                     "From: Carol <carol@remote.test>\r\n"
                                     "Subject: inner\r\n"
                                     "Date: Sun, 31 Dec 2023 23:59:59 -0800\r\n"
                                     "Content-Type: multipart/mixed; boundary=in\r\n"
                                     "\r\n"
                                     "--in\r\n"
                                     "Content-Type: text/plain\r\n"
                                     "\r\n"
                                     "inner text\r\n"
                                     "--in\r\n"
                                     "Content-Type: image/png\r\n"
                                     "Content-Transfer-Encoding: base64\r\n"
                                     "\r\n"
                                     "iVBORw0KGgo=\r\n"
                                     "--in--\r\n"
                                     "--outer--\r\n"
                                     "epilogue\r\n";

/* Encoded words, odd and folded header lines. */
static const char fuzz_msg_headers[] =
    "From: =?UTF-8?B?SsO8cmdlbg==?= <j@remote.test>\r\n"
    "To: =?ISO-8859-1?Q?Andr=E9?= <user@example.test>,\r\n"
    "\tsecond@remote.test (comment (nested))\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?= and =?utf-8?b?8J+Ygg==?=\r\n"
    " folded =?bogus?x?zz?= tail\r\n"
    "Date: 29 Feb 2024 25:61:61 +9999\r\n"
    "X-Empty:\r\n"
    "X-Spaces   :   value\r\n"
    "Reply-To: <>\r\n"
    "Sender: group: a@b.test, c@d.test;\r\n"
    "Message-ID: not an id\r\n"
    "Content-Type: text/plain; charset=\"utf-8\"; format=flowed\r\n"
    "\r\n"
    "body with a line\r\n"
    ".leading dot\r\n"
    "..two dots\r\n"
    ".\r\n"
    "after a lone dot\r\n";

/* 8-bit body, no MIME headers at all. */
static const char fuzz_msg_8bit[] = "From: user@example.test\r\n"
                                    "Subject: 8bit\r\n"
                                    "Content-Type: text/plain; charset=iso-8859-1\r\n"
                                    "Content-Transfer-Encoding: 8bit\r\n"
                                    "\r\n"
                                    "caf\xe9 \xff\xfe r\xc3\xa9sum\xc3\xa9\r\n"
                                    "\xe2\x82\xac 100\r\n";

/* Headers only: an empty body. */
static const char fuzz_msg_empty[] = "From: nobody@remote.test\r\n"
                                     "Subject: empty\r\n"
                                     "\r\n";

static const char fuzz_msg_work1[] = "From: boss@remote.test\r\n"
                                     "To: user@example.test\r\n"
                                     "Subject: report\r\n"
                                     "Date: Tue, 2 Jan 2024 09:00:00 +0000\r\n"
                                     "\r\n"
                                     "please send the report\r\n";

static const char fuzz_msg_work2[] = "From: boss@remote.test\r\n"
                                     "Subject: Re: report\r\n"
                                     "Content-Type: text/plain\r\n"
                                     "\r\n"
                                     "thanks\r\n";

/* Deliver msg into the mailbox (<= 0: INBOX), index it for IMAP, and set
 * its flags. Returns 0 or negative. */
static inline int fuzz_deliver(struct store_tx *tx, int64_t account_id, int64_t mailbox_id,
                               const char *msg, size_t len, uint32_t flags)
{
	struct store_local_rcpt rcpt = {.account_id = account_id, .mailbox_id = mailbox_id};
	uint32_t uid = 0;
	struct store_delivery d;
	memset(&d, 0, sizeof d);
	d.data = msg;
	d.len = len;
	d.mail_from = "";
	d.internal_date = 1704067200; /* 2024-01-01 */
	d.local = &rcpt;
	d.nlocal = 1;
	d.uids = &uid;
	int rc = store_deliver(tx, &d);
	if (rc < 0)
		return rc;
	int64_t mb = mailbox_id;
	if (mb <= 0 && store_mailbox_find(store_tx_reader(tx), account_id, "INBOX", &mb) != 1)
		return -ENOENT;
	struct store_index_req index = {.mailbox_id = mb, .limit = 1024};
	rc = store_index_missing_job(tx, &index);
	if (rc < 0)
		return rc;
	if (flags)
		rc = store_entries_update_flags(tx, mb, uid, flags, 0, NULL, NULL);
	return rc < 0 ? rc : 0;
}

#endif
