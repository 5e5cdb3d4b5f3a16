/* test_mailfmt: Maildir names, Maildir++ folders, dovecot-uidlist and
 * dovecot-keywords lines, mboxrd quoting both ways and "From " dates
 * (mime/maildir.h, mime/mbox.h). */
#include "mime/maildir.h"
#include "mime/mbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static char got[4096];
static size_t ngot;
static int sink(void *ud, const char *p, size_t n)
{
	memcpy(got + ngot, p, n);
	ngot += n;
	return 0;
}
static int r_start(void *ud, int64_t t)
{
	ngot += (size_t)sprintf(got + ngot, "[%lld]", (long long)t);
	return 0;
}
static int r_end(void *ud, unsigned flags, const char *kw)
{
	ngot += (size_t)sprintf(got + ngot, "[/%u %s]", flags, kw);
	return 0;
}
static const struct mbox_reader_ops ops = {r_start, sink, r_end};

static const char *read_mbox(const char *in, int *rc)
{
	struct mbox_reader r;
	mbox_reader_init(&r, &ops, NULL);
	ngot = 0;
	*rc = 0;
	for (const char *p = in; *p && *rc == 0;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
		*rc = mbox_reader_line(&r, p, len);
		p += len;
	}
	if (*rc == 0)
		*rc = mbox_reader_finish(&r);
	got[ngot] = '\0';
	return got;
}

static const char *write_lf(const char *in, bool quote, size_t step)
{
	struct mail_lf_writer w;
	mail_lf_writer_init(&w, quote, sink, NULL);
	ngot = 0;
	size_t n = strlen(in);
	for (size_t i = 0; i < n; i += step)
		mail_lf_writer_feed(&w, in + i, n - i < step ? n - i : step);
	mail_lf_writer_finish(&w, true);
	got[ngot] = '\0';
	return got;
}

int main(void)
{
	struct maildir_name nm;
	const char *n1 = "1700000000.M1P2.host,S=12,W=13:2,DFRSTac";
	CHECK(maildir_name_parse(n1, strlen(n1), &nm) == 0 && nm.time == 1700000000 &&
	          nm.flags == 31 && nm.keywords == 5 && nm.base_len == strlen(n1) - 10,
	      "full name");
	CHECK(maildir_name_parse("abc", 3, &nm) == 0 && nm.time == -1 && nm.flags == 0, "no info");
	CHECK(maildir_name_parse(".hidden", 7, &nm) < 0, "dot file");
	CHECK(maildir_name_parse("a/b", 3, &nm) < 0, "slash");
	char name[200];
	CHECK(maildir_name_format(name, sizeof name, 5, 7, 9, 10, 11, 31, 1u << 25) > 0 &&
	          strcmp(name, "5.M7P9.tern,S=10,W=11:2,DFRSTz") == 0,
	      "format %s", name);

	struct uidlist_header h;
	CHECK(uidlist_header_parse("3 V1234 N56 Gabcdef", 19, &h) == 0 && h.version == 3 &&
	          h.uidvalidity == 1234 && h.nextuid == 56,
	      "v3 header");
	CHECK(uidlist_header_parse("1 1234 56", 9, &h) == 0 && h.uidvalidity == 1234, "v1 header");
	CHECK(uidlist_header_parse("3 N56", 5, &h) < 0, "no V");
	CHECK(uidlist_header_parse("2 V1 N2", 7, &h) < 0, "version 2");
	CHECK(uidlist_header_parse("3 V0 N2", 7, &h) < 0, "uidvalidity 0");
	struct uidlist_entry e;
	const char *l1 = "17 G0123 W99 :1700.M1P2.host,S=12";
	CHECK(uidlist_line_parse(3, l1, strlen(l1), &e) == 0 && e.uid == 17 && e.base_len == 19 &&
	          memcmp(e.base, "1700.M1P2.host,S=12", 19) == 0,
	      "v3 line");
	CHECK(uidlist_line_parse(3, "17 1700.x", 9, &e) < 0, "v3 line without ':'");
	CHECK(uidlist_line_parse(1, "17 1700.x", 9, &e) == 0 && e.base_len == 6, "v1 line");
	CHECK(uidlist_line_parse(3, "0 :x", 4, &e) < 0, "uid 0");
	CHECK(uidlist_line_parse(3, "5 :a:2,S", 8, &e) < 0, "a base holding its info");
	unsigned idx;
	const char *kw;
	size_t kl;
	CHECK(dovecot_keywords_line_parse("3 $Label1", 9, &idx, &kw, &kl) == 0 && idx == 3 &&
	          kl == 7,
	      "keywords line");
	CHECK(dovecot_keywords_line_parse("26 x", 4, &idx, &kw, &kl) < 0, "index 26");
	CHECK(mail_keyword_valid("$Label1", 7) && !mail_keyword_valid("\\Seen", 5) &&
	          !mail_keyword_valid("a b", 3) && !mail_keyword_valid("a(", 2),
	      "keyword atoms");

	char enc[200], dec[200];
	CHECK(maildir_folder_encode("Projekte/Größe/v1.2", enc, sizeof enc) > 0 &&
	          strcmp(enc, ".Projekte.Gr&APYA3w-e.v1&AC4-2") == 0,
	      "encode %s", enc);
	CHECK(maildir_folder_decode(enc, strlen(enc), dec, sizeof dec) > 0 &&
	          strcmp(dec, "Projekte/Größe/v1.2") == 0,
	      "decode %s", dec);
	CHECK(maildir_folder_encode("a//b", enc, sizeof enc) < 0, "empty level");
	CHECK(maildir_folder_decode(".a..b", 5, dec, sizeof dec) < 0, "empty level");
	CHECK(maildir_folder_decode(".a&Jjo", 6, dec, sizeof dec) < 0, "bad UTF-7");
	CHECK(maildir_folder_decode("a", 1, dec, sizeof dec) < 0, "no dot");

	/* CRLF -> LF and mboxrd quoting, in slices of any size */
	const char *msg = "S: x\r\n\r\nFrom me\r\n>From you\r\n>>From\r\nFro\r\n>x\r\nlone\rcr";
	for (size_t step = 1; step < 9; step++) {
		CHECK(strcmp(write_lf(msg, true, step),
		             "S: x\n\n>From me\n>>From you\n>>From\nFro\n>x\nlone\rcr\n") == 0,
		      "quote step %zu: %s", step, got);
		CHECK(strcmp(write_lf(msg, false, step),
		             "S: x\n\nFrom me\n>From you\n>>From\nFro\n>x\nlone\rcr\n") == 0,
		      "lf step %zu: %s", step, got);
	}

	int rc;
	read_mbox("From a Sat Jan  3 01:05:34 1996\nSubject: one\nStatus: RO\nX-Status: AFTD\n"
	          "X-Keywords: k1,k2\n k3\n\n>From me\n>>From you\nFrom inside\n\n"
	          "From b Thu, 01 Jan 1970\nS: two\r\n\r\nx\n",
	          &rc);
	CHECK(rc == 0 &&
	          strcmp(got, "[820631134]Subject: one\r\n\r\nFrom me\r\n>From you\r\n"
	                      "From inside\r\n[/31 k1 k2 k3][-1]S: two\r\n\r\nx\r\n[/0 ]") == 0,
	      "reader: %s", got);
	read_mbox("hello\nFrom x\n", &rc);
	CHECK(rc == -EINVAL, "not an mbox");
	read_mbox("", &rc);
	CHECK(rc == 0 && ngot == 0, "empty mbox");

	char from[100];
	CHECK(mbox_from_line_format(from, sizeof from, 820631134) > 0 &&
	          strcmp(from, "From MAILER-DAEMON Wed Jan  3 01:05:34 1996\n") == 0,
	      "from line %s", from);
	const char *f2 = "From x@y Sun Feb  4 01:05:34 +0100 2001";
	CHECK(mbox_from_line_time(f2, strlen(f2)) == 981245134, "zone before the year");
	const char *f3 = "From x@y Sun Feb  4 01:05 2001 -0100";
	CHECK(mbox_from_line_time(f3, strlen(f3)) == 981252300, "no seconds, zone after");
	const char *f4 = "From Mon Jan 1 bogus";
	CHECK(mbox_from_line_time(f4, strlen(f4)) == -1, "no date");
	return check_report("test_mailfmt");
}
