/* test_objectid: the pure parts of OBJECTID (RFC 8474) and PREVIEW
 * (RFC 8970): threading keys read from a header (mime/msgid.h), the
 * preview text (mime_preview), and object id syntax (proto/imap/objectid.h). */
#include "mime/mime.h"
#include "mime/msgid.h"
#include "proto/imap/objectid.h"
#include "lib/buf.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_msgid(void)
{
	struct mime_thread_ids *t = malloc(sizeof *t);
	const char *m1 = "Subject: x\r\n"
	                 "Message-ID: (comment <no@x>) <self@example.org>\r\n"
	                 "In-Reply-To: <parent@example.org> (and text)\r\n"
	                 "References: <root@example.org>\r\n"
	                 "  <mid@example.org> <parent@example.org>\r\n"
	                 "\r\n"
	                 "Message-ID: <in-body@x>\r\n";
	mime_thread_ids_read(m1, strlen(m1), t);
	CHECK(t->message_id && strcmp(t->message_id, "self@example.org") == 0, "mid %s",
	      t->message_id ? t->message_id : "(null)");
	CHECK(t->nparents == 3, "parents %zu", t->nparents);
	CHECK(t->nparents == 3 && strcmp(t->parents[0], "parent@example.org") == 0 &&
	          strcmp(t->parents[1], "mid@example.org") == 0 &&
	          strcmp(t->parents[2], "root@example.org") == 0,
	      "nearest first, no duplicate");

	/* none at all; bad ids dropped */
	const char *m2 = "Message-ID: <a b@x>\nReferences: <> <ok@x> <unterminated\n\nbody";
	mime_thread_ids_read(m2, strlen(m2), t);
	CHECK(t->message_id == NULL, "an id with a space is no id");
	CHECK(t->nparents == 1 && strcmp(t->parents[0], "ok@x") == 0, "only ok@x");

	/* a long References keeps the nearest MIME_MSGID_MAX_PARENTS */
	struct buf b = {0};
	buf_adds(&b, "References:");
	for (int i = 0; i < 100; i++) {
		char id[32];
		snprintf(id, sizeof id, " <r%d@x>\r\n", i);
		buf_adds(&b, id);
	}
	buf_adds(&b, "\r\n");
	mime_thread_ids_read(b.data, b.len, t);
	CHECK(t->nparents == MIME_MSGID_MAX_PARENTS && strcmp(t->parents[0], "r99@x") == 0 &&
	          strcmp(t->parents[MIME_MSGID_MAX_PARENTS - 1], "r68@x") == 0,
	      "nearest 32 of 100: %zu %s", t->nparents, t->nparents ? t->parents[0] : "");
	buf_free(&b);

	/* an id over the limit is dropped */
	buf_adds(&b, "Message-ID: <");
	for (int i = 0; i < MIME_MSGID_MAX + 1; i++)
		buf_addc(&b, 'a');
	buf_adds(&b, "@x>\r\n\r\n");
	mime_thread_ids_read(b.data, b.len, t);
	CHECK(t->message_id == NULL, "long id dropped");
	buf_free(&b);
	mime_thread_ids_read("", 0, t);
	CHECK(!t->message_id && !t->nparents, "empty message");
	free(t);
}

static char *preview_of(const char *msg)
{
	struct mime_message *m = NULL;
	struct buf out = {0};
	if (mime_parse(msg, strlen(msg), &m) < 0 || mime_preview(m, &out) < 0) {
		mime_free(&m);
		return strdup("<error>");
	}
	mime_free(&m);
	return buf_take(&out);
}

static void check_preview(const char *msg, const char *want, int line)
{
	char *got = preview_of(msg);
	CHECK(strcmp(got, want) == 0, "(line %d) preview [%s] want [%s]", line, got, want);
	free(got);
}

static void test_preview(void)
{
	check_preview("Subject: s\r\n\r\nHello there,\r\n\r\n  how   are\tyou?\r\n",
	              "Hello there, how are you?", __LINE__);
	check_preview("Subject: s\r\n\r\nThanks!\r\n\r\nOn Monday Bob wrote:\r\n> old text\r\n"
	              ">> older\r\nSee above.\r\n-- \r\nBob's signature\r\n",
	              "Thanks! On Monday Bob wrote: See above.", __LINE__);
	/* HTML only: tags dropped, entities decoded */
	check_preview("Content-Type: text/html\r\n\r\n<html><head><style>p{x:1}</style></head>"
	              "<body><p>Caf&#233; &amp; <b>tea</b></p></body></html>\r\n",
	              "Caf\xc3\xa9 & tea", __LINE__);
	/* multipart/alternative: the plain part; base64, charset */
	check_preview("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
	              "Content-Type: text/html\r\n\r\n<p>html</p>\r\n--b\r\n"
	              "Content-Type: text/plain; charset=iso-8859-1\r\n"
	              "Content-Transfer-Encoding: quoted-printable\r\n\r\nna=EFve\r\n--b--\r\n",
	              "na\xc3\xafve", __LINE__);
	/* an attachment is no preview; nor is an image */
	check_preview("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	              "Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nfile\r\n"
	              "--b\r\nContent-Type: image/png\r\n\r\nxx\r\n--b--\r\n",
	              "", __LINE__);
	check_preview("Subject: none\r\n\r\n", "", __LINE__);
	/* at most MIME_PREVIEW_CHARS characters, cut between characters */
	struct buf b = {0};
	buf_adds(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	for (int i = 0; i < 300; i++)
		buf_adds(&b, "\xc3\xa9");
	buf_adds(&b, "\r\n");
	char *p = preview_of(b.data);
	size_t chars = 0;
	for (const char *q = p; *q; q++)
		chars += ((unsigned char)*q & 0xc0) != 0x80;
	CHECK(chars == MIME_PREVIEW_CHARS && strlen(p) == 2 * MIME_PREVIEW_CHARS,
	      "%zu chars, %zu bytes", chars, strlen(p));
	free(p);
	buf_free(&b);
}

static void test_objectid_syntax(void)
{
	CHECK(imap_objectid_valid("M1", 2), "M1");
	CHECK(imap_objectid_valid("a_b-C9", 6), "a_b-C9");
	CHECK(!imap_objectid_valid("", 0), "empty");
	CHECK(!imap_objectid_valid("a.b", 3), "dot");
	char long_id[257];
	memset(long_id, 'a', sizeof long_id);
	CHECK(imap_objectid_valid(long_id, 255) && !imap_objectid_valid(long_id, 256), "255");
	CHECK(imap_objectid_number("M42", 3, 'M') == 42, "M42");
	CHECK(imap_objectid_number("m42", 3, 'M') == -1, "case sensitive");
	CHECK(imap_objectid_number("T42", 3, 'M') == -1, "other prefix");
	CHECK(imap_objectid_number("M042", 4, 'M') == -1, "leading zero");
	CHECK(imap_objectid_number("M", 1, 'M') == -1, "no digits");
	CHECK(imap_objectid_number("M4x", 3, 'M') == -1, "not a number");
	CHECK(imap_objectid_number("M999999999999999999", 19, 'M') == 999999999999999999LL, "18");
	CHECK(imap_objectid_number("M9999999999999999999", 20, 'M') == -1, "too long");
}

int main(void)
{
	test_msgid();
	test_preview();
	test_objectid_syntax();
	return check_report("test_objectid");
}
