/* test_mime_body_lists: RFC 8621 §4.1.4's body lists and the
 * has-attachment rule (mime/body_lists.h), and that the three readers of
 * the rule agree on every message: mime_has_attachment(), the bit the
 * indexer keeps in the sort record (what Email/query's hasAttachment
 * reads, STORE_SORT_HAS_ATTACHMENT) and Email/get's hasAttachment (the
 * renderer). Checked on hand-made messages and on every .eml/.txt
 * message of the MIME corpora in $TERN_SHARED/testdata/mime (without
 * them: one SKIPPED line, the rest runs). */
#include "mime/body_lists.h"
#include "mime/mime.h"
#include "proto/imap/index.h"
#include "proto/imap/sort_keys.h"
#include "proto/jmap/email_render.h"
#include "store/msg_index.h"
#include "check.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>

/* The part numbers (1-based, depth first over multipart children, the
 * root "0") of a list, joined with spaces: "1 2". */
static int ordinal(const struct mime_part *root, const struct mime_part *want, int *n)
{
	if (root == want)
		return *n;
	for (const struct mime_part *c = root->children; c; c = c->next) {
		++*n;
		int r = ordinal(c, want, n);
		if (r >= 0)
			return r;
	}
	return -1;
}

static const char *list_str(const struct mime_message *m, const struct mime_part **v, size_t n)
{
	static char out[3][256];
	static int which;
	char *o = out[which++ % 3];
	o[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k = 0;
		snprintf(o + strlen(o), 256 - strlen(o), "%s%d", i ? " " : "",
		         ordinal(m->root, v[i], &k));
	}
	return o;
}

/* Email/get's hasAttachment for msg: 1, 0, or -1 when it is missing. */
static int rendered_has_attachment(const char *msg, size_t len)
{
	json_t *props = json_pack("[s]", "hasAttachment");
	struct jmap_email_opts o = {.properties = props};
	json_t *obj = json_object();
	int r = -1;
	if (jmap_email_render(obj, msg, len, 1, &o) == 0) {
		json_t *v = json_object_get(obj, "hasAttachment");
		r = json_is_boolean(v) ? json_is_true(v) : -1;
	}
	json_decref(obj);
	json_decref(props);
	return r;
}

/* The indexer's bit, as Email/query reads it from the stored record. */
static int indexed_has_attachment(const char *msg, size_t len)
{
	struct store_index_data d;
	if (imap_index_compute(msg, len, false, &d) != 0)
		return -1;
	int r = d.sort_keys && d.sort_keys_len > 0
	            ? (((unsigned char)d.sort_keys[0] & STORE_SORT_HAS_ATTACHMENT) != 0)
	            : -1;
	store_index_data_free(&d);
	return r;
}

/* The three answers for msg are want; on a corpus message (want < 0)
 * only that they agree. */
static void agree(const char *what, const char *msg, size_t len, int want)
{
	struct mime_message *m = NULL;
	CHECK(mime_parse(msg, len, &m) == 0, "%s: parse", what);
	if (!m)
		return;
	int rule = mime_has_attachment(m);
	int idx = indexed_has_attachment(msg, len);
	int got = rendered_has_attachment(msg, len);
	if (want >= 0)
		CHECK(rule == want, "%s: rule says %d, want %d", what, rule, want);
	CHECK(rule >= 0 && idx == rule && got == rule, "%s: rule %d, index bit %d, Email/get %d",
	      what, rule, idx, got);
	/* a record made from the header alone never claims an attachment */
	struct buf rec = {0};
	CHECK(imap_sort_record(m, false, &rec) == 0 && rec.len > 0 &&
	          !((unsigned char)rec.data[0] & IMAP_SORT_HAS_ATTACHMENT),
	      "%s: header-only record", what);
	buf_free(&rec);
	mime_free(&m);
}

struct expect {
	const char *what;
	const char *msg;
	int has;
	const char *text, *html, *att;
};

static const struct expect cases[] = {
    {"plain text", "Subject: hi\r\n\r\nhello\r\n", 0, "0", "0", ""},
    {"mixed with a PDF",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
     "Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
     "Content-Type: application/pdf; name=a.pdf\r\n"
     "Content-Disposition: attachment; filename=a.pdf\r\n"
     "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n",
     1, "1", "1", "2"},
    {"PDF without a disposition",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n--b\r\n"
     "Content-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n",
     1, "1", "1", "2"},
    {"inline cid image of the HTML",
     "Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n"
     "Content-Type: text/html\r\n\r\n<img src=\"cid:logo@x\">\r\n--r\r\n"
     "Content-Type: image/png\r\nContent-ID: <logo@x>\r\n"
     "Content-Disposition: inline\r\n\r\nPNG\r\n--r--\r\n",
     0, "1", "1", "2"},
    {"cid image without any disposition",
     "Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n"
     "Content-Type: text/html\r\n\r\n<img src=\"cid:logo@x\">\r\n--r\r\n"
     "Content-Type: image/png\r\nContent-ID: <logo@x>\r\n\r\nPNG\r\n--r--\r\n",
     0, "1", "1", "2"},
    {"cid image sent as an attachment",
     "Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n"
     "Content-Type: text/html\r\n\r\n<img src=\"cid:logo@x\">\r\n--r\r\n"
     "Content-Type: image/png\r\nContent-ID: <logo@x>\r\n"
     "Content-Disposition: attachment; filename=logo.png\r\n\r\nPNG\r\n--r--\r\n",
     1, "1", "1", "2"},
    {"image without a Content-ID in related",
     "Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n"
     "Content-Type: text/html\r\n\r\n<p>hi</p>\r\n--r\r\n"
     "Content-Type: image/png; name=photo.png\r\n\r\nPNG\r\n--r--\r\n",
     1, "1", "1", "2"},
    {"attached message",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfwd\r\n--b\r\n"
     "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
     "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\nx\r\n--i\r\n"
     "Content-Type: application/zip\r\n\r\nPK\r\n--i--\r\n--b--\r\n",
     1, "1", "1", "2"},
    {"text/plain with an attachment disposition",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\n"
     "Content-Type: text/plain\r\n"
     "Content-Disposition: attachment; filename=notes.txt\r\n\r\nnotes\r\n--b--\r\n",
     1, "1", "1", "2"},
    {"a whole message that is an attachment",
     "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n"
     "x\r\n",
     1, "", "", "0"},
    {"named second text part",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\n"
     "Content-Type: text/plain; name=log.txt\r\n\r\nlog\r\n--b--\r\n",
     1, "1", "1", "2"},
    {"two inline text parts",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n"
     "Content-Type: text/plain\r\n\r\ntwo\r\n--b--\r\n",
     0, "1 2", "1 2", ""},
    {"alternative",
     "Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\n"
     "Content-Type: text/plain\r\n\r\nplain\r\n--a\r\n"
     "Content-Type: text/html\r\n\r\n<p>html</p>\r\n--a--\r\n",
     0, "1", "2", ""},
    {"alternative with HTML only",
     "Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\n"
     "Content-Type: text/html\r\n\r\n<p>html</p>\r\n--a--\r\n",
     0, "1", "1", ""},
    {"inline image in mixed, no Content-ID",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nlook\r\n--b\r\n"
     "Content-Type: image/jpeg\r\n\r\nJPEG\r\n--b--\r\n",
     0, "1 2", "1 2", ""},
    {"alternative: image beside the texts",
     "Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\n"
     "Content-Type: text/plain\r\n\r\nplain\r\n--a\r\n"
     "Content-Type: image/gif\r\n\r\nGIF\r\n--a--\r\n",
     1, "1", "1", "2"},
    {"multipart without a boundary: a leaf of no inline type",
     "Content-Type: multipart/mixed\r\n\r\n--b\r\nContent-Type: application/pdf\r\n\r\nx\r\n", 1,
     "", "", "0"},
    {"no closing boundary",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n--b\r\n"
     "Content-Type: application/octet-stream\r\n\r\n\x01\x02",
     1, "1", "1", "2"},
    {"empty message", "", 0, "0", "0", ""},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct expect *e = &cases[i];
		struct mime_message *m = NULL;
		struct mime_body_lists l;
		CHECK(mime_parse(e->msg, strlen(e->msg), &m) == 0, "%s: parse", e->what);
		CHECK(mime_body_lists(m, &l) == 0, "%s: lists", e->what);
		const char *t = list_str(m, l.text, l.ntext), *h = list_str(m, l.html, l.nhtml),
		           *a = list_str(m, l.att, l.natt);
		CHECK(!strcmp(t, e->text) && !strcmp(h, e->html) && !strcmp(a, e->att),
		      "%s: text [%s] html [%s] att [%s], want [%s] [%s] [%s]", e->what, t, h, a,
		      e->text, e->html, e->att);
		CHECK(mime_body_lists_have_attachment(&l) == (e->has == 1), "%s: lists' rule",
		      e->what);
		mime_body_lists_free(&l);
		CHECK(l.text == NULL && l.natt == 0, "%s: freed", e->what);
		mime_free(&m);
		agree(e->what, e->msg, strlen(e->msg), e->has);
	}
}

/* File names: Content-Disposition's filename first, then Content-Type's
 * name; empty ones are none. */
static void test_filename(void)
{
	static const struct {
		const char *msg, *want;
	} t[] = {
	    {"Content-Type: text/plain; name=b.txt\r\n"
	     "Content-Disposition: attachment; filename=a.txt\r\n\r\n",
	     "a.txt"},
	    {"Content-Type: text/plain; name=b.txt\r\n\r\n", "b.txt"},
	    {"Content-Type: text/plain; name=\"\"\r\n"
	     "Content-Disposition: attachment; filename=\"\"\r\n\r\n",
	     NULL},
	    {"Content-Disposition: attachment; filename*=utf-8''%C3%A9t%C3%A9.txt\r\n\r\n",
	     "\xc3\xa9t\xc3\xa9.txt"},
	    {"\r\nno header\r\n", NULL},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mime_message *m = NULL;
		CHECK(mime_parse(t[i].msg, strlen(t[i].msg), &m) == 0, "parse %zu", i);
		const char *n = mime_part_filename(m->root);
		CHECK(t[i].want ? n && !strcmp(n, t[i].want) : n == NULL, "filename %zu: %s", i,
		      n ? n : "(none)");
		mime_free(&m);
	}
}

/* Deep nesting: as deep as mime_parse() allows, and the rule still
 * answers (the recursion is bounded by MIME_MAX_DEPTH). */
static void test_deep(void)
{
	struct buf b = {0};
	int depth = MIME_MAX_DEPTH + 10;
	for (int i = 0; i < depth; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i,
		           i);
	buf_printf(&b, "Content-Type: application/zip\r\n\r\nPK\r\n");
	agree("deep nesting", b.data, b.len, -1);
	buf_free(&b);
}

static int corpus_files;
static int corpus_with;

static int corpus_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	size_t l = strlen(path);
	if (type != FTW_F || l < 4 ||
	    (strcmp(path + l - 4, ".eml") && strcmp(path + l - 4, ".txt")))
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	struct buf b = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	struct mime_message *m = NULL;
	if (mime_parse(b.data ? b.data : "", b.len, &m) == 0)
		corpus_with += mime_has_attachment(m) == 1;
	mime_free(&m);
	agree(path, b.data ? b.data : "", b.len, -1);
	corpus_files++;
	buf_free(&b);
	return 0;
}

static void test_corpora(void)
{
	const char *env = getenv("TERN_SHARED");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/testdata/mime", env ? env : "../shared");
	if (nftw(dir, corpus_one, 16, FTW_PHYS) != 0 || corpus_files == 0) {
		printf("SKIPPED: test_mime_body_lists: corpora (not in %s; set TERN_SHARED)\n",
		       dir);
		return;
	}
	printf("corpora: %d messages, %d with an attachment; rule, index bit and Email/get "
	       "compared\n",
	       corpus_files, corpus_with);
	CHECK(corpus_with > 0 && corpus_with < corpus_files, "the corpora have both kinds");
}

int main(void)
{
	test_cases();
	test_filename();
	test_deep();
	test_corpora();
	return check_report("test_mime_body_lists");
}
