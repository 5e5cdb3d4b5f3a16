/* test_jscontact: contacts/jscontact.c. RFC 9555's mappings property by
 * property (N, FN, EMAIL with TYPE and PREF, TEL's features, ADR, ORG,
 * TITLE/ROLE, NOTE, BDAY, URL, IMPP, REV, KIND, UID), unknown properties
 * and parameters kept (vCardProps, vCardParams), round trips both ways
 * (vCard -> Card -> vCard -> Card, and Card -> vCard -> Card equal to the
 * Card, JSPROP carrying what vCard cannot say), and the invalid Cards. */
#include "contacts/jscontact.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* In the spirit of RFC 9555's examples and RFC 6350 §8. */
static const char *const VCARD =
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "UID:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n"
    "KIND:individual\r\n"
    "FN:Simon Perreault\r\n"
    "N:Perreault;Simon;;;ing. jr,M.Sc.\r\n"
    "NICKNAME:Nomis\r\n"
    "BDAY:--0203\r\n"
    "ANNIVERSARY:20090808\r\n"
    "GENDER:M\r\n"
    "ORG;TYPE=work:Viagenie;Research\r\n"
    "TITLE:Engineer\r\n"
    "ROLE:Project Leader\r\n"
    "ADR;TYPE=work;CC=CA:;Suite D2-630;2875 Laurier;Quebec;QC;G1V 2M2;Canada\r\n"
    "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102\r\n"
    "TEL;VALUE=uri;TYPE=\"work,cell,voice,video,text\":tel:+1-418-262-6501\r\n"
    "EMAIL;TYPE=work:simon.perreault@viagenie.ca\r\n"
    "EMAIL;TYPE=home;PREF=2;X-SOURCE=phone:nomis@example.org\r\n"
    "item1.EMAIL:other@example.net\r\n"
    "NOTE:Likes tea\\, not coffee.\\nReally.\r\n"
    "URL;TYPE=home:http://nomis80.org\r\n"
    "IMPP;PREF=1:xmpp:simon@example.com\r\n"
    "REV:20230102T030405Z\r\n"
    "X-ABC;X-P=1,2:raw\\;value\r\n"
    "GEO;TYPE=work:geo:46.772673,-71.282945\r\n"
    "END:VCARD\r\n";

static json_t *card_of(const char *text)
{
	json_t *c = jscontact_from_text(text, strlen(text));
	CHECK(c != NULL, "parses");
	return c;
}

static const char *path_str(json_t *c, const char *a, const char *b, const char *k)
{
	json_t *o = json_object_get(c, a);
	if (b)
		o = json_object_get(o, b);
	return json_string_value(json_object_get(o, k));
}

static void test_mapping(void)
{
	json_t *c = card_of(VCARD);
	if (!c)
		return;
	CHECK_THAT(strcmp(json_string_value(json_object_get(c, "@type")), "Card") == 0);
	CHECK_THAT(strcmp(json_string_value(json_object_get(c, "uid")),
	                  "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6") == 0);
	CHECK_THAT(strcmp(json_string_value(json_object_get(c, "kind")), "individual") == 0);
	CHECK_THAT(strcmp(path_str(c, "name", NULL, "full"), "Simon Perreault") == 0);
	json_t *comps = json_object_get(json_object_get(c, "name"), "components");
	CHECK(json_array_size(comps) == 4, "N: surname, given, two credentials: %zu",
	      json_array_size(comps));
	json_t *want = json_loads("[{\"kind\":\"surname\",\"value\":\"Perreault\"},"
	                          "{\"kind\":\"given\",\"value\":\"Simon\"},"
	                          "{\"kind\":\"credential\",\"value\":\"ing. jr\"},"
	                          "{\"kind\":\"credential\",\"value\":\"M.Sc.\"}]",
	                          0, NULL);
	CHECK(json_equal(comps, want), "N components");
	json_decref(want);
	CHECK_THAT(strcmp(path_str(c, "nicknames", "k1", "name"), "Nomis") == 0);
	json_t *bday = json_object_get(json_object_get(c, "anniversaries"), "k1");
	want = json_loads("{\"kind\":\"birth\",\"date\":{\"@type\":\"PartialDate\",\"month\":2,"
	                  "\"day\":3}}",
	                  0, NULL);
	CHECK(json_equal(bday, want), "BDAY --0203");
	json_decref(want);
	CHECK_THAT(
	    json_integer_value(json_object_get(
	        json_object_get(json_object_get(json_object_get(c, "anniversaries"), "k2"), "date"),
	        "year")) == 2009);
	json_t *org = json_object_get(json_object_get(c, "organizations"), "o1");
	want = json_loads("{\"name\":\"Viagenie\",\"units\":[{\"name\":\"Research\"}],"
	                  "\"contexts\":{\"work\":true}}",
	                  0, NULL);
	CHECK(json_equal(org, want), "ORG with a unit and TYPE=work");
	json_decref(want);
	CHECK_THAT(strcmp(path_str(c, "titles", "t1", "kind"), "title") == 0);
	CHECK_THAT(strcmp(path_str(c, "titles", "t2", "kind"), "role") == 0);
	json_t *adr = json_object_get(json_object_get(c, "addresses"), "a1");
	want = json_loads("{\"components\":[{\"kind\":\"apartment\",\"value\":\"Suite D2-630\"},"
	                  "{\"kind\":\"name\",\"value\":\"2875 Laurier\"},"
	                  "{\"kind\":\"locality\",\"value\":\"Quebec\"},"
	                  "{\"kind\":\"region\",\"value\":\"QC\"},"
	                  "{\"kind\":\"postcode\",\"value\":\"G1V 2M2\"},"
	                  "{\"kind\":\"country\",\"value\":\"Canada\"}],"
	                  "\"countryCode\":\"CA\",\"contexts\":{\"work\":true}}",
	                  0, NULL);
	CHECK(json_equal(adr, want), "ADR");
	json_decref(want);
	json_t *p1 = json_object_get(json_object_get(c, "phones"), "p1");
	want =
	    json_loads("{\"number\":\"tel:+1-418-656-9254;ext=102\",\"contexts\":{\"work\":true},"
	               "\"features\":{\"voice\":true},\"pref\":1}",
	               0, NULL);
	CHECK(json_equal(p1, want), "TEL 1");
	json_decref(want);
	json_t *f2 =
	    json_object_get(json_object_get(json_object_get(c, "phones"), "p2"), "features");
	CHECK(json_object_size(f2) == 4 && json_is_true(json_object_get(f2, "mobile")),
	      "cell is the feature mobile");
	json_t *e1 = json_object_get(json_object_get(c, "emails"), "e1");
	CHECK_THAT(strcmp(json_string_value(json_object_get(e1, "address")),
	                  "simon.perreault@viagenie.ca") == 0);
	CHECK_THAT(json_is_true(json_object_get(json_object_get(e1, "contexts"), "work")));
	json_t *e2 = json_object_get(json_object_get(c, "emails"), "e2");
	CHECK_THAT(json_is_true(json_object_get(json_object_get(e2, "contexts"), "private")));
	CHECK_THAT(json_integer_value(json_object_get(e2, "pref")) == 2);
	CHECK_THAT(strcmp(path_str(e2, "vCardParams", NULL, "x-source"), "phone") == 0);
	json_t *e3 = json_object_get(json_object_get(c, "emails"), "e3");
	CHECK_THAT(strcmp(path_str(e3, "vCardParams", NULL, "group"), "item1") == 0);
	CHECK_THAT(strcmp(path_str(c, "notes", "n1", "note"), "Likes tea, not coffee.\nReally.") ==
	           0);
	CHECK_THAT(strcmp(path_str(c, "links", "l1", "uri"), "http://nomis80.org") == 0);
	CHECK_THAT(strcmp(path_str(c, "onlineServices", "s1", "uri"), "xmpp:simon@example.com") ==
	           0);
	CHECK_THAT(
	    strcmp(json_string_value(json_object_get(c, "updated")), "2023-01-02T03:04:05Z") == 0);
	json_t *vp = json_object_get(c, "vCardProps");
	CHECK(json_array_size(vp) == 3, "GENDER, X-ABC, GEO kept: %zu", json_array_size(vp));
	want = json_loads("[\"x-abc\",{\"x-p\":[\"1\",\"2\"]},\"unknown\",\"raw\\\\;value\"]", 0,
	                  NULL);
	CHECK(json_equal(json_array_get(vp, 1), want), "X-ABC as jCard");
	json_decref(want);
	json_decref(c);
}

/* vCard -> Card -> vCard -> Card: the same Card; unknown things back in
 * the vCard. */
static void test_vcard_round_trip(void)
{
	json_t *c = card_of(VCARD);
	if (!c)
		return;
	char *text = NULL;
	size_t len = 0;
	const char *bad = NULL;
	int rc = jscontact_to_vcard(c, &text, &len, &bad);
	CHECK(rc == 0, "written: %d %s", rc, bad ? bad : "");
	if (rc == 0) {
		CHECK(strstr(text, "X-ABC;X-P=1,2:raw\\;value\r\n") != NULL, "X-ABC back: %s",
		      text);
		CHECK(strstr(text, "GENDER:M\r\n") != NULL, "GENDER back");
		CHECK(strstr(text, "item1.EMAIL;PROP-ID=e3:other@example.net") != NULL,
		      "group back: %s", text);
		CHECK(strstr(text, "X-SOURCE=phone") != NULL, "parameter back");
		CHECK(strstr(text, "JSPROP") == NULL, "nothing needed a JSPROP: %s", text);
		json_t *again = jscontact_from_text(text, len);
		CHECK(json_equal(c, again), "the same Card after a round trip");
		json_decref(again);
		free(text);
	}
	json_decref(c);
}

/* Card -> vCard -> Card equal, with what vCard has no words for. */
static void test_card_round_trip(void)
{
	const char *js =
	    "{\"@type\":\"Card\",\"version\":\"1.0\",\"uid\":\"1234\","
	    "\"name\":{\"components\":[{\"kind\":\"given\",\"value\":\"Ann\"},"
	    "{\"kind\":\"surname\",\"value\":\"Lee, Jr; x\"},{\"kind\":\"separator\",\"value\":\" "
	    "\"}],\"isOrdered\":true,\"full\":\"Ann Lee\"},"
	    "\"emails\":{\"home\":{\"@type\":\"EmailAddress\",\"address\":\"ann@example.com\","
	    "\"contexts\":{\"private\":true},\"pref\":1,\"label\":\"personal\"},"
	    "\"w\":{\"address\":\"a.lee@work.example\",\"contexts\":{\"work\":true,\"other\":true}}"
	    "},"
	    "\"phones\":{\"p\":{\"number\":\"+1 555 0100\",\"features\":{\"mobile\":true}}},"
	    "\"addresses\":{\"x\":{\"components\":[{\"kind\":\"number\",\"value\":\"12\"},"
	    "{\"kind\":\"name\",\"value\":\"Main St\"}],\"full\":\"12 Main St\"}},"
	    "\"example.com:vendor\":{\"a\":[1,2,3]},\"keywords\":{\"friend\":true},"
	    "\"updated\":\"2024-05-06T07:08:09Z\",\"created\":\"2024-05-06T07:08:09.5Z\"}";
	json_t *card = json_loads(js, 0, NULL);
	CHECK(card != NULL, "test card parses");
	char *text = NULL;
	size_t len = 0;
	const char *bad = NULL;
	int rc = jscontact_to_vcard(card, &text, &len, &bad);
	CHECK(rc == 0, "written: %d %s", rc, bad ? bad : "");
	if (rc == 0) {
		CHECK(strstr(text, "EMAIL;PROP-ID=home;TYPE=home;PREF=1:ann@example.com") != NULL,
		      "EMAIL for vCard clients: %s", text);
		CHECK(strstr(text, "JSPTR=example.com:vendor") != NULL ||
		          strstr(text, "JSPTR=\"example.com:vendor\"") != NULL,
		      "the vendor property in a JSPROP");
		CHECK(strstr(text, "REV:20240506T070809Z") != NULL, "REV");
		json_t *back = jscontact_from_text(text, len);
		CHECK(json_equal(card, back), "Card -> vCard -> Card loses nothing");
		if (!json_equal(card, back)) {
			char *d = json_dumps(back, JSON_SORT_KEYS);
			printf("%s\n%s\n", text, d);
			free(d);
		}
		json_decref(back);
		free(text);
	}
	json_decref(card);
}

static void expect_bad(const char *js, const char *prop)
{
	json_t *card = json_loads(js, 0, NULL);
	char *text = NULL;
	size_t len;
	const char *bad = NULL;
	int rc = jscontact_to_vcard(card, &text, &len, &bad);
	CHECK(rc == -EINVAL && bad && strcmp(bad, prop) == 0, "%s: %d %s", js, rc, bad ? bad : "-");
	free(text);
	json_decref(card);
}

static void test_invalid(void)
{
	expect_bad("{\"@type\":\"Group\"}", "@type");
	expect_bad("{\"uid\":5}", "uid");
	expect_bad("{\"name\":\"Ann\"}", "name");
	expect_bad("{\"name\":{\"components\":[{\"kind\":\"given\"}]}}", "name");
	expect_bad("{\"emails\":[]}", "emails");
	expect_bad("{\"emails\":{\"e\":{\"contexts\":{\"work\":true}}}}", "emails");
	expect_bad("{\"emails\":{\"e\":{\"address\":\"a@b\",\"pref\":0}}}", "emails");
	expect_bad("{\"phones\":{\"p\":{\"number\":\"1\",\"features\":{\"voice\":1}}}}", "phones");
	expect_bad("{\"anniversaries\":{\"k\":{\"kind\":\"birth\",\"date\":{\"month\":13}}}}",
	           "anniversaries");
	expect_bad("{\"vCardProps\":[[\"begin\",{},\"unknown\",\"x\"]]}", "vCardProps");
	expect_bad("{\"vCardProps\":[[\"x-a\",{},\"unknown\",\"x\\ny\"]]}", "vCardProps");
	expect_bad("{\"emails\":{\"e\":{\"address\":\"a@b\",\"vCardParams\":{\"a b\":\"1\"}}}}",
	           "emails");
	/* an empty Card is a vCard with an empty FN */
	json_t *empty = json_object();
	char *text = NULL;
	size_t len;
	const char *bad;
	CHECK_THAT(jscontact_to_vcard(empty, &text, &len, &bad) == 0 && strstr(text, "FN:\r\n"));
	json_t *back = text ? jscontact_from_text(text, len) : NULL;
	CHECK(json_object_size(back) == 2, "only @type and version");
	json_decref(back);
	free(text);
	json_decref(empty);
}

/* A JSPROP that points somewhere impossible stays a vCard property. */
static void test_bad_jsprop(void)
{
	json_t *c = card_of("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\n"
	                    "JSPROP;JSPTR=\"name/full/x\":\"y\"\r\n"
	                    "JSPROP;JSPTR=\"@type\":\"Group\"\r\n"
	                    "JSPROP;JSPTR=\"a~2\":1\r\n"
	                    "JSPROP;JSPTR=\"ok\":{\"b\":2}\r\n"
	                    "JSPROP;JSPTR=\"bad\":{not json\r\n"
	                    "END:VCARD\r\n");
	if (!c)
		return;
	CHECK(json_array_size(json_object_get(c, "vCardProps")) == 4, "four kept as they are");
	CHECK_THAT(strcmp(json_string_value(json_object_get(c, "@type")), "Card") == 0);
	CHECK_THAT(json_integer_value(json_object_get(json_object_get(c, "ok"), "b")) == 2);
	json_decref(c);
}

int main(void)
{
	test_mapping();
	test_vcard_round_trip();
	test_card_round_trip();
	test_invalid();
	test_bad_jsprop();
	return check_report("test_jscontact");
}
