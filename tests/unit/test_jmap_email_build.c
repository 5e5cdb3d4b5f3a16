/* test_jmap_email_build: proto/jmap/email_build.c, the Email/set create
 * object to message bytes. Each built message is parsed back with mime/
 * (the parser IMAP serves from) and its fields, decoded, compared with
 * what went in: addresses, non-ASCII subjects and names (RFC 2047), file
 * names (RFC 2231), the multipart shape, text and attachments byte-exact
 * after decoding. And the invalid objects get invalidProperties naming
 * the property, a missing blob blobNotFound. */
#include "proto/jmap/email_build.h"

#include "check.h"
#include "lib/buf.h"
#include "mime/mime.h"

#include <string.h>

static const char attachment_bytes[] = "\x00\x01\x02\xff binary \r\n\n\r tail";

static int fake_blob(void *ud, const char *blob_id, struct buf *out, char *type, size_t typelen,
                     char *name, size_t namelen)
{
	(void)ud;
	if (strcmp(blob_id, "B7.2") != 0)
		return 0;
	snprintf(type, typelen, "application/pdf");
	snprintf(name, namelen, "report.pdf");
	return buf_add(out, attachment_bytes, sizeof attachment_bytes - 1) < 0 ? -1 : 1;
}

static const struct email_build_env env = {.now = 1700000000,
                                           .unique = "u1",
                                           .hostname = "mail.example.test",
                                           .blob = fake_blob,
                                           .max_size = 1 << 20};

static int build(const char *json, struct buf *out, const char **prop)
{
	json_t *o = json_loads(json, 0, NULL);
	if (!o)
		return -100;
	const char *why;
	buf_reset(out);
	int r = email_build(o, &env, out, prop, &why);
	if (*prop && r > 0) { /* keep the name after o is gone */
		static char keep[128];
		snprintf(keep, sizeof keep, "%s", *prop);
		*prop = keep;
	}
	json_decref(o);
	return r;
}

/* The decoded header field name of the root, "" if none. */
static const char *header(const struct mime_message *m, const char *name)
{
	static struct buf b;
	const char *v;
	size_t n;
	buf_reset(&b);
	if (!mime_header_get(m, m->root, name, &v, &n))
		return "";
	mime_decode_header_value(v, n, &b);
	buf_addc(&b, '\0');
	return b.data;
}

static bool crlf_only(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if ((b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r')) ||
		    (b->data[i] == '\r' && (i + 1 == b->len || b->data[i + 1] != '\n')))
			return false;
	return true;
}

static void test_plain(void)
{
	struct buf out = {0};
	const char *prop = NULL;
	int r = build("{\"mailboxIds\":{\"F1\":true},\"keywords\":{\"$draft\":true},"
	              "\"from\":[{\"name\":\"Jöhn Dœ\",\"email\":\"john@example.test\"}],"
	              "\"to\":[{\"name\":\"A, B\",\"email\":\"a@example.test\"},"
	              "{\"email\":\"b@example.test\"}],"
	              "\"subject\":\"Grüße – ein sehr langer Betreff, der über mehrere encoded "
	              "words gehen muss, damit die Zeilen kurz bleiben\","
	              "\"sentAt\":\"2024-02-29T13:14:15+01:30\","
	              "\"inReplyTo\":[\"x@y\"],\"references\":[\"w@y\",\"x@y\"],"
	              "\"header:X-Mailer:asText\":\"tern test\","
	              "\"textBody\":[{\"partId\":\"t\",\"type\":\"text/plain\"}],"
	              "\"bodyValues\":{\"t\":{\"value\":\"Hallo\\nWelt ä\\n\"}}}",
	              &out, &prop);
	CHECK(r == 0, "build: %d %s", r, prop ? prop : "");
	CHECK_THAT(crlf_only(&out));
	struct mime_message *m = NULL;
	CHECK_THAT(mime_parse(out.data, out.len, &m) == 0);
	CHECK(!strcmp(header(m, "From"), "Jöhn Dœ <john@example.test>"), "%s", header(m, "From"));
	CHECK(!strcmp(header(m, "To"), "\"A, B\" <a@example.test>, b@example.test"), "%s",
	      header(m, "To"));
	CHECK(!strcmp(header(m, "Subject"),
	              "Grüße – ein sehr langer Betreff, der über mehrere encoded words gehen "
	              "muss, damit die Zeilen kurz bleiben"),
	      "%s", header(m, "Subject"));
	CHECK(!strcmp(header(m, "Date"), "Thu, 29 Feb 2024 13:14:15 +0130"), "%s",
	      header(m, "Date"));
	CHECK(!strcmp(header(m, "Message-ID"), "<u1@mail.example.test>"), "%s",
	      header(m, "Message-ID"));
	CHECK(!strcmp(header(m, "In-Reply-To"), "<x@y>"), "%s", header(m, "In-Reply-To"));
	CHECK(!strcmp(header(m, "X-Mailer"), "tern test"), "%s", header(m, "X-Mailer"));
	CHECK(!strcmp(header(m, "MIME-Version"), "1.0"), "%s", header(m, "MIME-Version"));
	CHECK_THAT(*header(m, "Keywords") == '\0');
	CHECK_THAT(mime_part_is(m->root, "text", "plain"));
	struct buf body = {0};
	CHECK_THAT(mime_decode_body(m, m->root, &body) == 0);
	CHECK(body.len == strlen("Hallo\r\nWelt ä\r\n") &&
	          !memcmp(body.data, "Hallo\r\nWelt ä\r\n", body.len),
	      "body %.*s", (int)body.len, body.data);
	/* every header line is short */
	const char *end = strstr(out.data, "\r\n\r\n"), *p = out.data;
	while (p < end) {
		const char *nl = strstr(p, "\r\n");
		CHECK(nl - p <= 78, "long line %.*s", (int)(nl - p), p);
		p = nl + 2;
	}
	buf_free(&body);
	mime_free(&m);
	buf_free(&out);
}

static void test_multipart(void)
{
	struct buf out = {0};
	const char *prop = NULL;
	int r =
	    build("{\"from\":[{\"email\":\"john@example.test\"}],"
	          "\"textBody\":[{\"partId\":\"t\"}],"
	          "\"htmlBody\":[{\"partId\":\"h\",\"type\":\"text/html\"}],"
	          "\"attachments\":[{\"blobId\":\"B7.2\",\"name\":\"Bericht äö.pdf\"},"
	          "{\"blobId\":\"B7.2\",\"type\":\"image/png\",\"cid\":\"img1@x\","
	          "\"disposition\":\"inline\"}],"
	          "\"bodyValues\":{\"t\":{\"value\":\"plain\"},"
	          "\"h\":{\"value\":\"<p>a very = long line "
	          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ünïcödé</p>\"}}}",
	          &out, &prop);
	CHECK(r == 0, "build: %d %s", r, prop ? prop : "");
	struct mime_message *m = NULL;
	CHECK_THAT(mime_parse(out.data, out.len, &m) == 0);
	struct mime_part *root = m->root;
	CHECK_THAT(mime_part_is(root, "multipart", "mixed"));
	struct mime_part *alt = root->children;
	CHECK_THAT(alt && mime_part_is(alt, "multipart", "alternative"));
	struct mime_part *text = alt ? alt->children : NULL;
	struct mime_part *rel = text ? text->next : NULL;
	CHECK_THAT(text && mime_part_is(text, "text", "plain"));
	CHECK_THAT(rel && mime_part_is(rel, "multipart", "related"));
	struct mime_part *html = rel ? rel->children : NULL;
	CHECK_THAT(html && mime_part_is(html, "text", "html"));
	struct buf b = {0};
	if (html) {
		CHECK_THAT(mime_part_encoding(html) == MIME_ENC_QP);
		CHECK_THAT(mime_decode_body(m, html, &b) == 0);
		CHECK_THAT(b.len > 100 && strstr(b.data, "ünïcödé</p>") != NULL);
	}
	struct mime_part *img = html ? html->next : NULL;
	CHECK_THAT(img && mime_part_is(img, "image", "png"));
	struct mime_part *pdf = alt ? alt->next : NULL;
	CHECK_THAT(pdf && mime_part_is(pdf, "application", "pdf"));
	if (pdf) {
		buf_reset(&b);
		CHECK_THAT(mime_decode_body(m, pdf, &b) == 0);
		CHECK_THAT(b.len == sizeof attachment_bytes - 1 &&
		           !memcmp(b.data, attachment_bytes, b.len));
	}
	CHECK_THAT(strstr(out.data, "filename*=utf-8''Bericht%20%C3%A4%C3%B6.pdf") != NULL);
	CHECK_THAT(strstr(out.data, "Content-ID: <img1@x>") != NULL);
	CHECK_THAT(crlf_only(&out));
	buf_free(&b);
	mime_free(&m);
	buf_free(&out);
}

static void test_body_structure(void)
{
	struct buf out = {0};
	const char *prop = NULL;
	int r = build("{\"bodyStructure\":{\"type\":\"multipart/mixed\",\"subParts\":["
	              "{\"partId\":\"a\",\"type\":\"text/plain\"},"
	              "{\"blobId\":\"B7.2\",\"type\":\"application/octet-stream\"}]},"
	              "\"bodyValues\":{\"a\":{\"value\":\"--=_tern_u1_0\\nnot a boundary\"}}}",
	              &out, &prop);
	CHECK(r == 0, "build: %d", r);
	struct mime_message *m = NULL;
	CHECK_THAT(mime_parse(out.data, out.len, &m) == 0);
	CHECK_THAT(m->root->children && m->root->children->next && !m->root->children->next->next);
	struct buf b = {0};
	CHECK_THAT(mime_decode_body(m, m->root->children, &b) == 0);
	CHECK_THAT(b.len == strlen("--=_tern_u1_0\r\nnot a boundary") &&
	           !memcmp(b.data, "--=_tern_u1_0\r\nnot a boundary", b.len));
	buf_free(&b);
	mime_free(&m);
	/* RFC 8621 §4.10's draft: a part's header:Content-Language is the
	 * field; "language" and "location" are written as theirs */
	CHECK_THAT(build("{\"bodyStructure\":{\"type\":\"text/plain\",\"partId\":\"bd48\","
	                 "\"header:Content-Language\":\"en\"},"
	                 "\"bodyValues\":{\"bd48\":{\"value\":\"plan\"}}}",
	                 &out, &prop) == 0);
	CHECK(strstr(out.data, "\r\nContent-Language: en\r\n") != NULL, "%s", out.data);
	CHECK_THAT(build("{\"bodyStructure\":{\"type\":\"text/plain\",\"partId\":\"p\","
	                 "\"language\":[\"en\",\"de-CH\"],\"location\":\"https://e.x/a\"},"
	                 "\"bodyValues\":{\"p\":{\"value\":\"x\"}}}",
	                 &out, &prop) == 0);
	CHECK(strstr(out.data, "\r\nContent-Language: en, de-CH\r\n") != NULL &&
	          strstr(out.data, "\r\nContent-Location: https://e.x/a\r\n") != NULL,
	      "%s", out.data);
	/* no body at all: an empty text/plain */
	CHECK_THAT(build("{\"subject\":\"x\"}", &out, &prop) == 0);
	CHECK_THAT(strstr(out.data, "Content-Type: text/plain") != NULL);
	buf_free(&out);
}

static void test_invalid(void)
{
	static const struct {
		const char *json, *prop;
		int result;
	} cases[] = {
	    {"{\"id\":\"M1\"}", "id", EMAIL_BUILD_INVALID},
	    {"{\"size\":1}", "size", EMAIL_BUILD_INVALID},
	    {"{\"bogus\":1}", "bogus", EMAIL_BUILD_INVALID},
	    {"{\"from\":[{\"email\":\"no-at\"}]}", "from", EMAIL_BUILD_INVALID},
	    {"{\"from\":[{\"email\":\"a@b\",\"x\":1}]}", "from", EMAIL_BUILD_INVALID},
	    {"{\"to\":[]}", "to", EMAIL_BUILD_INVALID},
	    {"{\"subject\":\"a\\r\\nBcc: x@y\"}", "subject", EMAIL_BUILD_INVALID},
	    {"{\"sentAt\":\"2024-13-01T00:00:00Z\"}", "sentAt", EMAIL_BUILD_INVALID},
	    {"{\"messageId\":[\"a@b\",\"c@d\"]}", "messageId", EMAIL_BUILD_INVALID},
	    {"{\"messageId\":[\"no brackets<>@x\"]}", "messageId", EMAIL_BUILD_INVALID},
	    {"{\"header:Content-Type\":\"text/html\"}", "header:Content-Type", EMAIL_BUILD_INVALID},
	    {"{\"header:X-A\":\"a\\nb\"}", "header:X-A", EMAIL_BUILD_INVALID},
	    {"{\"header:X-A:asBogus\":\"a\"}", "header:X-A:asBogus", EMAIL_BUILD_INVALID},
	    {"{\"subject\":\"a\",\"header:Subject\":\"b\"}", "header:Subject", EMAIL_BUILD_INVALID},
	    {"{\"header:MIME-Version\":\"2.0\"}", "header:MIME-Version", EMAIL_BUILD_INVALID},
	    {"{\"textBody\":[{\"partId\":\"t\"}]}", "bodyValues", EMAIL_BUILD_INVALID},
	    {"{\"textBody\":[{\"partId\":\"t\",\"type\":\"text/html\"}],\"bodyValues\":{\"t\":"
	     "{\"value\":\"x\"}}}",
	     "textBody", EMAIL_BUILD_INVALID},
	    {"{\"attachments\":[{\"blobId\":\"B9\"}]}", "B9", EMAIL_BUILD_NO_BLOB},
	    {"{\"attachments\":[{\"blobId\":\"B7.2\",\"type\":\"not a type\"}]}", "bodyStructure",
	     EMAIL_BUILD_INVALID},
	    {"{\"bodyStructure\":{\"partId\":\"a\"},\"textBody\":[{\"partId\":\"a\"}],"
	     "\"bodyValues\":{\"a\":{\"value\":\"x\"}}}",
	     "bodyStructure", EMAIL_BUILD_INVALID},
	    /* a part's Content-* field the builder writes itself, or given twice */
	    {"{\"bodyStructure\":{\"partId\":\"p\",\"header:Content-Type\":\"text/html\"},"
	     "\"bodyValues\":{\"p\":{\"value\":\"x\"}}}",
	     "bodyStructure", EMAIL_BUILD_INVALID},
	    {"{\"bodyStructure\":{\"partId\":\"p\",\"header:Content-Transfer-Encoding\":\"8bit\"},"
	     "\"bodyValues\":{\"p\":{\"value\":\"x\"}}}",
	     "bodyStructure", EMAIL_BUILD_INVALID},
	    {"{\"bodyStructure\":{\"partId\":\"p\",\"language\":[\"en\"],"
	     "\"header:Content-Language\":\"de\"},\"bodyValues\":{\"p\":{\"value\":\"x\"}}}",
	     "bodyStructure", EMAIL_BUILD_INVALID},
	    {"{\"bodyStructure\":{\"partId\":\"p\",\"language\":[\"en\\r\\nBcc: x\"]},"
	     "\"bodyValues\":{\"p\":{\"value\":\"x\"}}}",
	     "bodyStructure", EMAIL_BUILD_INVALID},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf out = {0};
		const char *prop = NULL;
		int r = build(cases[i].json, &out, &prop);
		CHECK(r == cases[i].result && prop && !strcmp(prop, cases[i].prop),
		      "case %zu: %d %s", i, r, prop ? prop : "(null)");
		buf_free(&out);
	}
	/* nested too deep */
	json_t *deep = json_pack("{s:s, s:[]}", "type", "multipart/mixed", "subParts");
	for (int i = 0; i < 20; i++)
		deep = json_pack("{s:s, s:[o]}", "type", "multipart/mixed", "subParts", deep);
	json_t *top = json_pack("{s:o}", "bodyStructure", deep);
	struct buf dout = {0};
	const char *dprop = NULL, *dwhy;
	CHECK_THAT(email_build(top, &env, &dout, &dprop, &dwhy) == EMAIL_BUILD_INVALID &&
	           !strcmp(dprop, "bodyStructure"));
	json_decref(top);
	buf_free(&dout);
	/* too large */
	struct buf out = {0};
	const char *prop = NULL;
	struct email_build_env small = env;
	small.max_size = 100;
	json_t *o = json_pack("{s:[{s:s}], s:{s:{s:s}}}", "textBody", "partId", "t", "bodyValues",
	                      "t", "value",
	                      "a text longer than a hundred bytes, a text longer than a hundred "
	                      "bytes, a text longer than a hundred bytes");
	const char *why;
	CHECK_THAT(email_build(o, &small, &out, &prop, &why) == EMAIL_BUILD_TOO_LARGE);
	json_decref(o);
	buf_free(&out);
}

int main(void)
{
	test_plain();
	test_multipart();
	test_body_structure();
	test_invalid();
	return check_report("test_jmap_email_build");
}
