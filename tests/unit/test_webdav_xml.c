/* test_webdav_xml: proto/http/webdav_xml.c and webdav_xml_write.c.
 * Names are namespace + local name whatever the prefix (RFC 4918 §17's
 * example: "D:" and a default namespace are the same DAV:); text and
 * attributes; every bound (depth, elements, text, attributes, size)
 * refused at its edge and not below; a DTD refused, the billion laughs
 * first of all, and quickly; malformed bodies refused with a line; and
 * the writer: escaping, hrefs and segments percent-encoded. */
#include "proto/http/webdav_xml.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int parse(const char *text, struct wdx_doc *doc, char *err, size_t errlen)
{
	return wdx_parse(text, strlen(text), doc, err, errlen);
}

static void test_names(void)
{
	struct wdx_doc d;
	char err[160];
	int rc = parse(
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<D:propfind xmlns:D=\"DAV:\"><D:prop xmlns:R=\"http://ns.example.com/boxschema/\">"
	    "<R:bigbox/><author xmlns=\"DAV:\"/><none xmlns=\"\"/></D:prop></D:propfind>",
	    &d, err, sizeof err);
	CHECK(rc == 0, "propfind: %d %s", rc, err);
	if (rc)
		return;
	CHECK_THAT(wdx_is(d.root, WDX_NS_DAV, "propfind"));
	struct wdx_node *prop = wdx_child(d.root, WDX_NS_DAV, "prop");
	CHECK_THAT(prop != NULL);
	CHECK_THAT(prop && wdx_is(prop->first, "http://ns.example.com/boxschema/", "bigbox"));
	CHECK_THAT(prop && wdx_child(prop, WDX_NS_DAV, "author") != NULL);
	CHECK_THAT(prop && wdx_child(prop, "", "none") != NULL);
	CHECK_THAT(prop && wdx_child(prop, WDX_NS_DAV, "bigbox") == NULL);
	CHECK_THAT(prop && prop->parent == d.root && prop->first->parent == prop);
	wdx_free(&d);
}

static void test_text_attrs(void)
{
	struct wdx_doc d;
	char err[160];
	int rc = parse("<C:text-match xmlns:C=\"urn:ietf:params:xml:ns:carddav\" "
	               "match-type=\"starts-with\" negate-condition='no' x:o=\"1\" "
	               "xmlns:x=\"urn:x\">Ad&amp;a &#xe9;<![CDATA[<b>]]></C:text-match>",
	               &d, err, sizeof err);
	CHECK(rc == 0, "text-match: %d %s", rc, err);
	if (rc)
		return;
	CHECK(strcmp(d.root->text, "Ad&a \xc3\xa9<b>") == 0, "text: %s", d.root->text);
	CHECK_THAT(d.root->text_len == strlen(d.root->text));
	CHECK_THAT(strcmp(wdx_attr(d.root, "match-type"), "starts-with") == 0);
	CHECK_THAT(strcmp(wdx_attr(d.root, "negate-condition"), "no") == 0);
	CHECK_THAT(wdx_attr(d.root, "o") == NULL); /* in a namespace: dropped */
	CHECK_THAT(d.root->nattrs == 2);
	wdx_free(&d);
}

static char *repeat(const char *open, const char *close, size_t n)
{
	size_t lo = strlen(open), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + 1);
	char *p = s;
	for (size_t i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	for (size_t i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static void test_bounds(void)
{
	struct wdx_doc d;
	char err[160];
	char *ok = repeat("<a>", "</a>", WDX_MAX_DEPTH);
	CHECK(parse(ok, &d, err, sizeof err) == 0, "depth %d: %s", WDX_MAX_DEPTH, err);
	wdx_free(&d);
	char *deep = repeat("<a>", "</a>", WDX_MAX_DEPTH + 1);
	CHECK_THAT(parse(deep, &d, err, sizeof err) == -E2BIG && d.root == NULL);
	wdx_free(&d);
	free(ok);
	free(deep);

	/* elements: the root and WDX_MAX_NODES - 1 children, then one more */
	for (int extra = 0; extra < 2; extra++) {
		size_t n = WDX_MAX_NODES - 1 + (size_t)extra;
		char *s = malloc(n * 4 + 16), *p = s;
		p += sprintf(p, "<r>");
		for (size_t i = 0; i < n; i++)
			p += sprintf(p, "<a/>");
		sprintf(p, "</r>");
		int rc = parse(s, &d, err, sizeof err);
		CHECK(rc == (extra ? -E2BIG : 0), "%zu elements: %d", n + 1, rc);
		wdx_free(&d);
		free(s);
	}

	/* text: WDX_MAX_TEXT bytes in pieces (entities split it), then one more */
	for (int extra = 0; extra < 2; extra++) {
		size_t n = WDX_MAX_TEXT + (size_t)extra;
		char *s = malloc(n * 5 + 16), *p = s;
		p += sprintf(p, "<t>");
		for (size_t i = 0; i < n; i++)
			p += sprintf(p, i % 2 ? "&lt;" : "x");
		sprintf(p, "</t>");
		int rc = parse(s, &d, err, sizeof err);
		CHECK(rc == (extra ? -E2BIG : 0), "%zu bytes of text: %d", n, rc);
		CHECK_THAT(extra || (d.root && d.root->text_len == n));
		wdx_free(&d);
		free(s);
	}

	char attrs[2000], *p = attrs;
	p += sprintf(p, "<a");
	for (int i = 0; i <= WDX_MAX_ATTRS; i++)
		p += sprintf(p, " a%d=\"v\"", i);
	sprintf(p, "/>");
	CHECK_THAT(parse(attrs, &d, err, sizeof err) == -E2BIG);
	wdx_free(&d);

	size_t big = WDX_MAX_INPUT + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	memcpy(huge, "<a>", 3);
	CHECK_THAT(wdx_parse(huge, big, &d, err, sizeof err) == -E2BIG);
	wdx_free(&d);
	free(huge);
}

static void test_refused(void)
{
	struct wdx_doc d;
	char err[160];
	/* the billion laughs: ten levels of ten, a gigabyte if expanded */
	char lol[4096], *p = lol;
	p += sprintf(p, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 \"lol\">\n");
	for (int i = 1; i <= 9; i++) {
		p += sprintf(p, "<!ENTITY lol%d \"", i);
		for (int k = 0; k < 10; k++)
			p += sprintf(p, "&lol%d;", i - 1);
		p += sprintf(p, "\">\n");
	}
	sprintf(p, "]>\n<lolz>&lol9;</lolz>");
	clock_t t0 = clock();
	int rc = parse(lol, &d, err, sizeof err);
	double ms = (double)(clock() - t0) * 1000.0 / CLOCKS_PER_SEC;
	CHECK(rc == -EINVAL && strstr(err, "document type"), "billion laughs: %d %s", rc, err);
	CHECK(ms < 50, "billion laughs refused in %.1f ms", ms);
	wdx_free(&d);

	CHECK_THAT(parse("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a>&x;</a>", &d, err,
	                 sizeof err) == -EINVAL);
	wdx_free(&d);

	static const char *const bad[] = {
	    "",
	    "<a>",
	    "<a></b>",
	    "<a/><b/>",
	    "text",
	    "<a x=\"1\" x=\"2\"/>",
	    "<p:a/>",
	    "<a>&undefined;</a>",
	    "<a>&#0;</a>",
	    "<a>\xff</a>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rc = parse(bad[i], &d, err, sizeof err);
		CHECK(rc == -EINVAL && d.root == NULL && err[0], "bad %zu (%s): %d", i, bad[i], rc);
		wdx_free(&d);
	}
	rc = parse("<a>\n\n<b></c></a>", &d, err, sizeof err);
	CHECK(rc == -EINVAL && strncmp(err, "line 3:", 7) == 0, "line: %s", err);
	wdx_free(&d);
}

static void test_writer(void)
{
	struct buf b = {0};
	CHECK_THAT(wdx_escape(&b, "a<b>&\"c'\x01\td\n", 12) == 0);
	CHECK(b.len == strlen("a&lt;b&gt;&amp;&quot;c&apos;\td\n") &&
	          memcmp(b.data, "a&lt;b&gt;&amp;&quot;c&apos;\td\n", b.len) == 0,
	      "escaped: %.*s", (int)b.len, b.data);
	buf_reset(&b);
	CHECK_THAT(wdx_href(&b, "/dav/addressbooks/ada@example.org/My Book/a&b?.vcf") == 0);
	CHECK(b.len == strlen("/dav/addressbooks/ada@example.org/My%20Book/a%26b%3F.vcf") &&
	          memcmp(b.data, "/dav/addressbooks/ada@example.org/My%20Book/a%26b%3F.vcf",
	                 b.len) == 0,
	      "href: %.*s", (int)b.len, b.data);
	buf_reset(&b);
	CHECK_THAT(wdx_segment(&b, "a/b\xc3\xa9") == 0);
	CHECK(b.len == 11 && memcmp(b.data, "a%2Fb%C3%A9", 11) == 0, "segment: %.*s", (int)b.len,
	      b.data);
	buf_free(&b);
}

int main(void)
{
	test_names();
	test_text_attrs();
	test_bounds();
	test_refused();
	test_writer();
	return check_report("test_webdav_xml");
}
