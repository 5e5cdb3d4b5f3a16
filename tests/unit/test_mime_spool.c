/* test_mime_spool: the spool of a message being received (mime/spool.h) and
 * the strict header-field helpers SMTP checks it with (mime/header.h).
 * Pieces are fed one byte at a time as well as whole, since a CR LF may
 * straddle two pieces. */
#include "mime/header.h"
#include "mime/spool.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <string.h>

static void spool_bytes(struct mime_spool *m, const char *s, size_t n, bool bytewise)
{
	if (!bytewise) {
		mime_spool_append(m, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		mime_spool_append(m, s + i, 1);
}

static void expect_spool(const char *in, size_t n, bool normalize, const char *want, size_t wl,
                         unsigned want_flags)
{
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct mime_spool m;
		mime_spool_init(&m, 1000, normalize);
		spool_bytes(&m, in, n, bytewise);
		mime_spool_end(&m);
		CHECK(m.len == wl && memcmp(m.buf, want, wl) == 0 && m.flags == want_flags &&
		          m.seen == wl && !mime_spool_too_big(&m) && !m.no_space,
		      "spool %s (normalize %d, bytewise %d): got %zu bytes, flags %x", in,
		      normalize, bytewise, m.len, m.flags);
		mime_spool_free(&m);
	}
}

static void test_spool(void)
{
	expect_spool("a\r\nb\r\n", 6, false, "a\r\nb\r\n", 6, 0);
	expect_spool("a\nb\rc\r", 6, true, "a\r\nb\r\nc\r\n", 9,
	             MIME_SPOOL_BARE_LF | MIME_SPOOL_BARE_CR);
	expect_spool("a\nb\rc\r", 6, false, "a\nb\rc\r", 6,
	             MIME_SPOOL_BARE_LF | MIME_SPOOL_BARE_CR);
	expect_spool("\r\r\n", 3, true, "\r\n\r\n", 4, MIME_SPOOL_BARE_CR);
	expect_spool("x\0y\xc3\xa9\r\n", 7, true, "x\0y\xc3\xa9\r\n", 7,
	             MIME_SPOOL_NUL | MIME_SPOOL_8BIT);

	/* the limit: counted, not kept */
	struct mime_spool m;
	mime_spool_init(&m, 10, false);
	spool_bytes(&m, "0123456789abcdefghij", 20, false);
	CHECK(mime_spool_too_big(&m) && m.seen == 20 && m.len <= 10, "limit: len %zu seen %llu",
	      m.len, (unsigned long long)m.seen);
	mime_spool_free(&m);
}

static void test_budget(void)
{
	char big[10000];
	memset(big, 'x', sizeof big);
	mime_spool_set_budget(20000);
	struct mime_spool a, b;
	mime_spool_init(&a, 1 << 20, false);
	mime_spool_init(&b, 1 << 20, false);
	mime_spool_append(&a, big, sizeof big);
	size_t used = mime_spool_in_use();
	CHECK(a.len == sizeof big && !a.no_space && used >= sizeof big && used <= 20000,
	      "budget: first spool %zu bytes, %zu in use", a.len, used);
	/* the second spool's first allocation would pass the budget */
	mime_spool_append(&b, big, sizeof big);
	CHECK(b.no_space && b.len == 0 && b.seen == sizeof big && mime_spool_in_use() == used,
	      "budget: second spool no_space %d len %zu", b.no_space, b.len);
	mime_spool_free(&a);
	mime_spool_free(&b);
	CHECK(mime_spool_in_use() == 0, "budget: %zu in use after free", mime_spool_in_use());
	mime_spool_init(&b, 1 << 20, false);
	mime_spool_append(&b, big, sizeof big);
	CHECK(!b.no_space && b.len == sizeof big, "budget: room again after free");
	mime_spool_free(&b);
	mime_spool_set_budget(0);
}

/* Memory held outside a spool (an IMAP literal) shares the budget. */
static void test_reserve(void)
{
	char big[10000];
	memset(big, 'x', sizeof big);
	mime_spool_set_budget(40000);
	CHECK(mime_spool_reserve(30000) == 0 && mime_spool_in_use() == 30000, "reserve: taken");
	CHECK(mime_spool_reserve(10001) == -ENOSPC && mime_spool_in_use() == 30000,
	      "reserve: over the budget refused, nothing taken");
	struct mime_spool a;
	mime_spool_init(&a, 1 << 20, false);
	mime_spool_append(&a, big, sizeof big);
	CHECK(a.no_space, "reserve: a spool cannot take what a reservation holds");
	mime_spool_free(&a);
	mime_spool_release(30000);
	CHECK(mime_spool_in_use() == 0, "reserve: released, %zu in use", mime_spool_in_use());
	mime_spool_init(&a, 1 << 20, false);
	mime_spool_append(&a, big, sizeof big);
	CHECK(!a.no_space && mime_spool_reserve(40000) == -ENOSPC && mime_spool_reserve(1000) == 0,
	      "reserve: a spool's memory counts against reservations");
	mime_spool_release(1000);
	mime_spool_free(&a);
	CHECK(mime_spool_in_use() == 0, "reserve: %zu in use at the end", mime_spool_in_use());
	mime_spool_set_budget(0);
}

static int collect(void *ud, const char *a, size_t n)
{
	char *out = ud;
	strncat(out, a, n);
	strcat(out, "|");
	return 0;
}

static void test_strict_header(void)
{
	const char *h =
	    "From: a@b\r\n (folded)\r\nTo: c@d\nX-Empty:\r\nfrom : e@f\r\n\r\nFrom: body";
	size_t pos = 0;
	struct mime_field f;
	CHECK(mime_field_next(h, strlen(h), &pos, &f) == 1 && f.name_len == 4 &&
	          memcmp(f.name, "From", 4) == 0 && f.value_len == 15 &&
	          memcmp(f.value, " a@b\r\n (folded)", 15) == 0,
	      "first field: %.*s", (int)f.value_len, f.value);
	CHECK(mime_field_next(h, strlen(h), &pos, &f) == 1 && f.value_len == 4, "LF-ended field");
	CHECK(mime_field_next(h, strlen(h), &pos, &f) == 1 && f.value_len == 0, "empty value");
	CHECK(mime_field_next(h, strlen(h), &pos, &f) == 1 && f.name_len == 4, "obs-optional WSP");
	CHECK(mime_field_next(h, strlen(h), &pos, &f) == 0, "blank line ends the header");
	CHECK(mime_header_check(h, strlen(h)) == 0, "well-formed");
	CHECK(mime_header_count(h, strlen(h), "FROM") == 2, "count: from twice");
	CHECK(mime_header_count(h, strlen(h), "Cc") == 0, "count: no cc");
	CHECK(mime_header_check(" x\r\n\r\n", 6) < 0, "leading continuation");
	CHECK(mime_header_check("no colon\r\n\r\n", 12) < 0, "a line that is not a field");
	CHECK(mime_header_count("A: 1\r\nbad\r\n", 11, "a") < 0, "count of a malformed header");

	char got[256] = "";
	const char *v = " \"A, B\" <a@b>, c@d (comment), grp: e@f, <@r:g@h>;, Name <i@j> junk";
	int n = mime_addr_specs(v, strlen(v), collect, got);
	CHECK(n == 5 && strcmp(got, "a@b|c@d|e@f|g@h|i@j|") == 0, "addr-specs %d: %s", n, got);
	CHECK(mime_addr_specs("<a@b", 4, collect, got) < 0, "unclosed angle address");
	CHECK(mime_addr_specs("\"a@b", 4, collect, got) < 0, "unclosed quote");
}

int main(void)
{
	test_spool();
	test_budget();
	test_reserve();
	test_strict_header();
	return check_report("mime_spool");
}
