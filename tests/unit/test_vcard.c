/* test_vcard: contacts/vcard.c. RFC 6350 §8's example read field by
 * field; read, write and read again gives the same cards; folding at 75
 * octets outside UTF-8 sequences; RFC 6868's caret escapes; text and
 * structured values; vCard 3.0 and 2.1-style bare types; and the errors,
 * each with its line. */
#include "contacts/vcard.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* RFC 6350 §8 (folded lines as the RFC prints them, CRLF). */
static const char *const RFC_EXAMPLE =
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Simon Perreault\r\n"
    "N:Perreault;Simon;;;ing. jr,M.Sc.\r\n"
    "BDAY:--0203\r\n"
    "ANNIVERSARY:20090808T1430-0500\r\n"
    "GENDER:M\r\n"
    "LANG;PREF=1:fr\r\n"
    "LANG;PREF=2:en\r\n"
    "ORG;TYPE=work:Viagenie\r\n"
    "ADR;TYPE=work:;Suite D2-630;2875 Laurier;\r\n"
    " Quebec;QC;G1V 2M2;Canada\r\n"
    "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102\r\n"
    "TEL;VALUE=uri;TYPE=\"work,cell,voice,video,text\":tel:+1-418-262-6501\r\n"
    "EMAIL;TYPE=work:simon.perreault@viagenie.ca\r\n"
    "GEO;TYPE=work:geo:46.772673,-71.282945\r\n"
    "KEY;TYPE=work;VALUE=uri:\r\n"
    " http://www.viagenie.ca/simon.perreault/simon.asc\r\n"
    "TZ:-0500\r\n"
    "URL;TYPE=home:http://nomis80.org\r\n"
    "END:VCARD\r\n";

/* Read, write, read: the same cards, and every written line within 75
 * octets with no fold inside a UTF-8 sequence. */
static void round_trip(const char *what, const char *text)
{
	struct vcard_list a, b;
	char err[200];
	int rc = vcard_parse(text, strlen(text), &a, err, sizeof err);
	CHECK(rc == 0, "%s: read: %d %s", what, rc, err);
	if (rc)
		return;
	size_t len = 0;
	char *out = vcard_write(a.cards, a.n, &len);
	CHECK(out && strlen(out) == len, "%s: written", what);
	if (!out) {
		vcard_list_free(&a);
		return;
	}
	bool short_lines = true, whole_chars = true, crlf = true;
	for (char *line = out; *line;) {
		char *e = strstr(line, "\r\n");
		if (!e) {
			crlf = false;
			break;
		}
		if (e - line > 75)
			short_lines = false;
		if (line[0] == ' ' && ((unsigned char)line[1] & 0xc0) == 0x80)
			whole_chars = false;
		line = e + 2;
	}
	CHECK(short_lines && whole_chars && crlf, "%s: folding (%d %d %d)", what, short_lines,
	      whole_chars, crlf);
	rc = vcard_parse(out, len, &b, err, sizeof err);
	CHECK(rc == 0 && vcard_list_equal(&a, &b), "%s: read again: %d %s\n%s", what, rc, err, out);
	if (rc == 0)
		vcard_list_free(&b);
	free(out);
	vcard_list_free(&a);
}

static void test_rfc_example(void)
{
	struct vcard_list l;
	char err[200];
	CHECK(vcard_parse(RFC_EXAMPLE, strlen(RFC_EXAMPLE), &l, err, sizeof err) == 0, "%s", err);
	CHECK(l.n == 1 && l.cards[0].version == 40 && l.cards[0].nprops == 16, "%zu cards", l.n);
	const struct vcard *c = &l.cards[0];
	CHECK(!strcmp(vcard_get(c, "fn")->value, "Simon Perreault"), "FN");
	char *s = vcard_component(vcard_get(c, "N")->value, 4);
	CHECK(s && !strcmp(s, "ing. jr,M.Sc."), "N's suffixes: %s", s);
	free(s);
	s = vcard_component(vcard_get(c, "ADR")->value, 3);
	CHECK(s && !strcmp(s, "Quebec"), "ADR's locality, across the fold: %s", s);
	free(s);
	s = vcard_component(vcard_get(c, "ADR")->value, 9);
	CHECK(s && !strcmp(s, ""), "a component past the last is empty");
	free(s);
	const struct vcard_prop *tel = vcard_get(c, "TEL");
	CHECK(!strcmp(vcard_param(tel, "type"), "work,voice") &&
	          !strcmp(vcard_param(tel, "PREF"), "1"),
	      "TEL's parameters");
	CHECK(!strcmp(tel->value, "tel:+1-418-656-9254;ext=102"), "TEL's value: %s", tel->value);
	CHECK(
	    !strcmp(vcard_get(c, "KEY")->value, "http://www.viagenie.ca/simon.perreault/simon.asc"),
	    "KEY unfolded");
	CHECK(vcard_get(c, "PHOTO") == NULL, "no PHOTO");
	vcard_list_free(&l);
	round_trip("RFC 6350 §8", RFC_EXAMPLE);
}

static void test_forms(void)
{
	struct vcard_list l;
	char err[200];
	/* LF lines, blank lines between cards, groups, 3.0 with bare types */
	const char *two = "BEGIN:VCARD\nVERSION:3.0\nFN:A\nTEL;HOME;voice:123\n"
	                  "item1.EMAIL;type=INTERNET:a@example.org\nitem1.X-ABLabel:work\n"
	                  "END:VCARD\n\n\nbegin:vcard\nversion:4.0\nfn:B\nend:vcard\n";
	CHECK(vcard_parse(two, strlen(two), &l, err, sizeof err) == 0 && l.n == 2, "%s", err);
	if (l.n == 2) {
		const struct vcard_prop *tel = vcard_get(&l.cards[0], "TEL");
		CHECK(l.cards[0].version == 30 && tel->nparams == 2 &&
		          !strcmp(tel->params[0].name, "TYPE") &&
		          !strcmp(tel->params[0].values[0], "HOME") &&
		          !strcmp(tel->params[1].values[0], "VOICE"),
		      "bare types are TYPE values");
		const struct vcard_prop *em = vcard_get(&l.cards[0], "email");
		CHECK(em && !strcmp(em->group, "item1") &&
		          !strcmp(vcard_param(em, "TYPE"), "INTERNET"),
		      "group and parameter");
		CHECK(l.cards[1].version == 40 && !strcmp(vcard_get(&l.cards[1], "FN")->value, "B"),
		      "lower-case names");
	}
	vcard_list_free(&l);
	round_trip("3.0 and groups", two);

	/* RFC 6868: ^n ^^ ^' in parameter values, multiple values */
	const char *caret = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:C\r\n"
	                    "ADR;LABEL=\"123 Main^nSpringfield ^'Home^' ^^x\";TYPE=home,pref:"
	                    ";;123 Main;Springfield;;;\r\nEND:VCARD\r\n";
	CHECK(vcard_parse(caret, strlen(caret), &l, err, sizeof err) == 0, "%s", err);
	if (l.n == 1) {
		const struct vcard_prop *adr = vcard_get(&l.cards[0], "ADR");
		CHECK(!strcmp(vcard_param(adr, "label"), "123 Main\nSpringfield \"Home\" ^x"),
		      "caret decoded: %s", vcard_param(adr, "label"));
		CHECK(adr->params[1].nvalues == 2 && !strcmp(adr->params[1].values[1], "pref"),
		      "two values");
	}
	vcard_list_free(&l);
	round_trip("carets", caret);

	/* long text with multi-byte characters: folded whole */
	char longv[2000] = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:D\r\nNOTE:";
	for (int i = 0; i < 150; i++)
		strcat(longv, i % 3 ? "é" : "ab\\, ");
	strcat(longv, "\r\nEND:VCARD\r\n");
	round_trip("long UTF-8 note", longv);
}

/* vcard_list_equal tells cards apart by any one part. */
static void test_equal(void)
{
	const char *base = "BEGIN:VCARD\r\nVERSION:4.0\r\ng.TEL;TYPE=work,voice:1\r\nEND:VCARD\r\n";
	const char *other[] = {
	    "BEGIN:VCARD\r\nVERSION:3.0\r\ng.TEL;TYPE=work,voice:1\r\nEND:VCARD\r\n",
	    "BEGIN:VCARD\r\nVERSION:4.0\r\nh.TEL;TYPE=work,voice:1\r\nEND:VCARD\r\n",
	    "BEGIN:VCARD\r\nVERSION:4.0\r\nTEL;TYPE=work,voice:1\r\nEND:VCARD\r\n",
	    "BEGIN:VCARD\r\nVERSION:4.0\r\ng.TEL;TYPE=work,cell:1\r\nEND:VCARD\r\n",
	    "BEGIN:VCARD\r\nVERSION:4.0\r\ng.TEL;TYPE=work:1\r\nEND:VCARD\r\n",
	    "BEGIN:VCARD\r\nVERSION:4.0\r\ng.TEL;KIND=work,voice:1\r\nEND:VCARD\r\n",
	    "BEGIN:VCARD\r\nVERSION:4.0\r\ng.TEL;TYPE=work,voice:2\r\nEND:VCARD\r\n",
	    "BEGIN:VCARD\r\nVERSION:4.0\r\ng.TEL;TYPE=work,voice:1\r\nFN:x\r\nEND:VCARD\r\n",
	    "",
	};
	struct vcard_list a, b;
	CHECK(vcard_parse(base, strlen(base), &a, NULL, 0) == 0, "base");
	CHECK(vcard_parse(base, strlen(base), &b, NULL, 0) == 0 && vcard_list_equal(&a, &b),
	      "a card equals itself");
	vcard_list_free(&b);
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		CHECK(vcard_parse(other[i], strlen(other[i]), &b, NULL, 0) == 0 &&
		          !vcard_list_equal(&a, &b),
		      "differs: %zu", i);
		vcard_list_free(&b);
	}
	vcard_list_free(&a);
}

static void test_text(void)
{
	char *t = vcard_text("a\\,b\\;c\\nd\\Ne\\\\f");
	CHECK(t && !strcmp(t, "a,b;c\nd\ne\\f"), "text: %s", t);
	char *e = vcard_escape_text(t);
	char *back = e ? vcard_text(e) : NULL;
	CHECK(e && !strcmp(e, "a\\,b\\;c\\nd\\ne\\\\f") && back && !strcmp(back, t), "escape: %s",
	      e);
	free(t);
	free(e);
	free(back);
	char *c = vcard_component("a\\;b;c", 0);
	CHECK(c && !strcmp(c, "a;b"), "an escaped ';' is not a separator: %s", c);
	free(c);
}

static void expect_error(const char *what, const char *text, int code, const char *err_prefix)
{
	struct vcard_list l;
	char err[200];
	int rc = vcard_parse(text, strlen(text), &l, err, sizeof err);
	CHECK(rc == code && !strncmp(err, err_prefix, strlen(err_prefix)) && l.n == 0 && !l.cards,
	      "%s: %d \"%s\"", what, rc, err);
}

static void test_errors(void)
{
	expect_error("no BEGIN", "FN:x\r\n", -EINVAL, "line 1: BEGIN:VCARD expected");
	expect_error("no END", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\n", -EINVAL,
	             "line 1: a vCard without END:VCARD");
	expect_error("no VERSION", "\r\nBEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n", -EINVAL,
	             "line 2: a vCard without VERSION");
	expect_error("2.1", "BEGIN:VCARD\r\nVERSION:2.1\r\nEND:VCARD\r\n", -EINVAL,
	             "line 2: VERSION 2.1 is not 4.0 or 3.0");
	expect_error("name", "BEGIN:VCARD\r\nVERSION:4.0\r\nF N:x\r\nEND:VCARD\r\n", -EINVAL,
	             "line 3: a property name is");
	expect_error("no colon", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN\r\nEND:VCARD\r\n", -EINVAL,
	             "line 3: a property name is");
	expect_error("quote", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN;X=\"ab:c\r\nEND:VCARD\r\n", -EINVAL,
	             "line 3: a quoted value without its end");
	expect_error("nested", "BEGIN:VCARD\r\nVERSION:4.0\r\nBEGIN:VCARD\r\nEND:VCARD\r\n",
	             -EINVAL, "line 3: BEGIN inside a vCard");
	expect_error("group", "BEGIN:VCARD\r\nVERSION:4.0\r\na.b.FN:x\r\nEND:VCARD\r\n", -EINVAL,
	             "line 3: a group is");
	expect_error("control", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:a\rb\r\nEND:VCARD\r\n", -EINVAL,
	             "line 3: a control character");
	char many[2000] = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN";
	for (int i = 0; i <= VCARD_MAX_PARAMS; i++)
		strcat(many, ";X=1");
	strcat(many, ":x\r\nEND:VCARD\r\n");
	expect_error("parameters", many, -EFBIG, "line 3: more than 32 parameters");
	size_t n = VCARD_MAX_LINE + 100;
	char *big = malloc(n + 64);
	strcpy(big, "BEGIN:VCARD\r\nVERSION:4.0\r\nNOTE:");
	size_t at = strlen(big);
	memset(big + at, 'x', n - at);
	strcpy(big + n, "\r\nEND:VCARD\r\n");
	expect_error("long line", big, -EFBIG, "line 3: a content line longer than");
	free(big);
	struct vcard_list l;
	CHECK(vcard_parse("", 0, &l, NULL, 0) == 0 && l.n == 0, "an empty file has no vCards");
	vcard_list_free(&l);
}

int main(void)
{
	test_rfc_example();
	test_forms();
	test_equal();
	test_text();
	test_errors();
	return check_report("test_vcard");
}
