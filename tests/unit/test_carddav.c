/* test_carddav: the pure parts of CardDAV. The URL space
 * (dav_parse_path): each level, trailing slashes, what names nothing, the
 * segment bounds. The addressbook-query filter (carddav_filter.c) over
 * parsed vCards: each match type, the collations, negate-condition,
 * anyof/allof at both levels, is-not-defined, any instance of a repeated
 * property, and what is refused (param-filter, an unknown collation or
 * match type, a bad test). */
#include "contacts/vcard.h"
#include "proto/http/carddav_int.h"
#include "tests/unit/check.h"

#include <string.h>

static void test_paths(void)
{
	struct dav_path p;
	CHECK_THAT(dav_parse_path("/dav", &p) == 0 && p.kind == DAV_ROOT);
	CHECK_THAT(dav_parse_path("/dav/", &p) == 0 && p.kind == DAV_ROOT);
	CHECK_THAT(dav_parse_path("/dav/principals/a@b.c/", &p) == 0 && p.kind == DAV_PRINCIPAL &&
	           strcmp(p.account, "a@b.c") == 0);
	CHECK_THAT(dav_parse_path("/dav/principals/a@b.c", &p) == 0 && p.kind == DAV_PRINCIPAL);
	CHECK_THAT(dav_parse_path("/dav/addressbooks/a@b.c/", &p) == 0 && p.kind == DAV_HOME);
	CHECK_THAT(dav_parse_path("/dav/addressbooks/a@b.c/12/", &p) == 0 && p.kind == DAV_BOOK &&
	           strcmp(p.book, "12") == 0);
	CHECK_THAT(dav_parse_path("/dav/addressbooks/a@b.c/My Book", &p) == 0 &&
	           p.kind == DAV_BOOK && strcmp(p.book, "My Book") == 0);
	CHECK_THAT(dav_parse_path("/dav/addressbooks/a@b.c/12/x y.vcf", &p) == 0 &&
	           p.kind == DAV_CARD && strcmp(p.card, "x y.vcf") == 0 &&
	           strcmp(p.book, "12") == 0 && strcmp(p.account, "a@b.c") == 0);
	static const char *const none[] = {
	    "/davx",
	    "/dav/other/",
	    "/dav/principals/",
	    "/dav/principals//",
	    "/dav/principals/a/b",
	    "/dav/addressbooks/",
	    "/dav/addressbooks/a//",
	    "/dav/addressbooks/a/b//c",
	    "/dav/addressbooks/a/b/c/",
	    "/dav/addressbooks/a/b/c/d",
	    "/x/dav/",
	};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		CHECK(dav_parse_path(none[i], &p) < 0, "%s names nothing", none[i]);
	char longp[2048];
	int n = snprintf(longp, sizeof longp, "/dav/addressbooks/a/b/");
	memset(longp + n, 'c', STORE_CARD_HREF_MAX);
	longp[n + STORE_CARD_HREF_MAX] = '\0';
	CHECK_THAT(dav_parse_path(longp, &p) == 0 && strlen(p.card) == STORE_CARD_HREF_MAX);
	strcat(longp, "c");
	CHECK_THAT(dav_parse_path(longp, &p) < 0);
}

static struct vcard_list cards;

static const char CARDS[] = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u-ada\r\nFN:Ada Lovelace\r\n"
                            "EMAIL:ada@example.org\r\nEMAIL:Countess@Analytical.example\r\n"
                            "END:VCARD\r\n"
                            "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:g-grace\r\nFN:Grace Hopper\r\n"
                            "NOTE:a\\, b\r\nEND:VCARD\r\n";

/* Whether filter (the inside of <C:filter ...>) matches card i. */
static int match(const char *filter_attrs, const char *inside, size_t i)
{
	char xml[2048];
	snprintf(xml, sizeof xml,
	         "<C:filter xmlns:C=\"urn:ietf:params:xml:ns:carddav\" %s>%s</C:filter>",
	         filter_attrs, inside);
	struct wdx_doc d;
	char err[160];
	if (wdx_parse(xml, strlen(xml), &d, err, sizeof err) != 0) {
		printf("parse: %s\n", err);
		return -2;
	}
	const char *cond = NULL;
	int r =
	    dav_filter_check(d.root, &cond) < 0 ? -1 : dav_filter_match(d.root, &cards.cards[i]);
	wdx_free(&d);
	return r;
}

#define PF(name, tm) "<C:prop-filter name=\"" name "\">" tm "</C:prop-filter>"
#define TM(attrs, text) "<C:text-match " attrs ">" text "</C:text-match>"

static void test_filter(void)
{
	char err[160];
	CHECK(vcard_parse(CARDS, sizeof CARDS - 1, &cards, err, sizeof err) == 0 && cards.n == 2,
	      "cards: %s", err);
	CHECK_THAT(match("", "", 0) == 1 && match("", "", 1) == 1);
	CHECK_THAT(match("", PF("FN", TM("", "love")), 0) == 1);
	CHECK_THAT(match("", PF("FN", TM("", "love")), 1) == 0);
	CHECK_THAT(match("", PF("FN", TM("collation=\"i;octet\"", "love")), 0) == 0);
	CHECK_THAT(match("", PF("FN", TM("collation=\"i;octet\"", "Love")), 0) == 1);
	CHECK_THAT(match("",
	                 PF("FN", TM("collation=\"i;ascii-casemap\" match-type=\"equals\"",
	                             "ada lovelace")),
	                 0) == 1);
	CHECK_THAT(match("", PF("FN", TM("match-type=\"equals\"", "Ada")), 0) == 0);
	CHECK_THAT(match("", PF("FN", TM("match-type=\"starts-with\"", "ADA")), 0) == 1);
	CHECK_THAT(match("", PF("FN", TM("match-type=\"ends-with\"", "lace")), 0) == 1);
	CHECK_THAT(match("", PF("FN", TM("match-type=\"ends-with\"", "Ada")), 0) == 0);
	CHECK_THAT(match("",
	                 PF("FN", TM("match-type=\"ends-with\"", "a longer text than the name")),
	                 0) == 0);
	/* any instance of EMAIL */
	CHECK_THAT(match("", PF("EMAIL", TM("match-type=\"starts-with\"", "countess@")), 0) == 1);
	CHECK_THAT(match("", PF("email", TM("", "ANALYTICAL")), 0) == 1);
	/* decoded text values: "a\, b" is "a, b" */
	CHECK_THAT(match("", PF("NOTE", TM("match-type=\"equals\"", "a, b")), 1) == 1);
	/* negate-condition; a card without the property does not match it */
	CHECK_THAT(match("", PF("FN", TM("negate-condition=\"yes\"", "Ada")), 0) == 0);
	CHECK_THAT(match("", PF("FN", TM("negate-condition=\"yes\"", "Ada")), 1) == 1);
	CHECK_THAT(match("", PF("EMAIL", TM("negate-condition=\"yes\"", "x")), 1) == 0);
	/* a prop-filter with nothing inside: the property exists */
	CHECK_THAT(match("", PF("EMAIL", ""), 0) == 1 && match("", PF("EMAIL", ""), 1) == 0);
	CHECK_THAT(match("", PF("EMAIL", "<C:is-not-defined/>"), 1) == 1);
	CHECK_THAT(match("", PF("EMAIL", "<C:is-not-defined/>"), 0) == 0);
	/* anyof / allof between prop-filters */
	const char *two = PF("FN", TM("", "Ada")) PF("UID", TM("", "grace"));
	CHECK_THAT(match("", two, 0) == 1 && match("", two, 1) == 1);
	CHECK_THAT(match("test=\"anyof\"", two, 0) == 1);
	CHECK_THAT(match("test=\"allof\"", two, 0) == 0 && match("test=\"allof\"", two, 1) == 0);
	const char *both = PF("FN", TM("", "Ada")) PF("UID", TM("", "ada"));
	CHECK_THAT(match("test=\"allof\"", both, 0) == 1);
	/* ... and between text-matches of one prop-filter */
	const char *in_one = "<C:prop-filter name=\"FN\" test=\"allof\">" TM("", "Ada")
	    TM("", "Hopper") "</C:prop-filter>";
	CHECK_THAT(match("", in_one, 0) == 0 && match("", in_one, 1) == 0);
	const char *any_one = "<C:prop-filter name=\"FN\" test=\"anyof\">" TM("", "Ada")
	    TM("", "Hopper") "</C:prop-filter>";
	CHECK_THAT(match("", any_one, 0) == 1 && match("", any_one, 1) == 1);
	/* refused */
	CHECK_THAT(match("", PF("EMAIL", "<C:param-filter name=\"TYPE\"/>"), 0) == -1);
	CHECK_THAT(match("", PF("FN", TM("collation=\"i;klingon\"", "a")), 0) == -1);
	CHECK_THAT(match("", PF("FN", TM("match-type=\"regex\"", "a")), 0) == -1);
	CHECK_THAT(match("", PF("FN", TM("negate-condition=\"maybe\"", "a")), 0) == -1);
	CHECK_THAT(match("test=\"oneof\"", PF("FN", ""), 0) == -1);
	CHECK_THAT(match("", "<C:prop-filter/>", 0) == -1);
	CHECK_THAT(match("", "<C:other/>", 0) == -1);
	vcard_list_free(&cards);
}

int main(void)
{
	test_paths();
	test_filter();
	return check_report("test_carddav");
}
