/* test_junk_score: the built-in spam score (mailauth/junk_score.c): what
 * each result adds, that the defaults junk SPF fail + DKIM fail but not a
 * plain SPF fail, that a weight of 0 is not a reason, the DKIM and DMARC
 * exceptions, and the reasons text. */
#include "mailauth/junk_score.h"
#include "check.h"

#include <stdint.h>
#include <string.h>

/* config.c's defaults */
static const struct junk_weights defaults = {
    .spf_fail = 3, .spf_softfail = 1, .dkim_fail = 2, .dmarc_fail = 1, .fcrdns_missing = 0};

static struct junk_input judged(enum spf_result spf, unsigned pass, unsigned fail,
                                enum dmarc_result dmarc)
{
	struct junk_input in = {0};
	in.auth.spf_checked = true;
	in.auth.spf = spf;
	in.auth.dkim_pass = pass;
	in.auth.dkim_fail = fail;
	in.auth.dmarc_checked = true;
	in.auth.dmarc = dmarc;
	return in;
}

static void test_defaults(void)
{
	struct junk_score s;
	char text[200];

	struct junk_input none = {0};
	junk_score_sum(&none, &defaults, &s);
	CHECK(s.total == 0 && s.nreasons == 0 && !junk_score_is_junk(&s, 5), "nothing known");
	CHECK(!junk_score_is_junk(&s, 0), "nothing counted is never junk, even at 0");
	CHECK(junk_score_reasons(&s, text, sizeof text) == 0 && text[0] == '\0', "no reasons");

	struct junk_input in = judged(SPF_FAIL, 0, 0, DMARC_NONE);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 3 && !junk_score_is_junk(&s, 5), "plain SPF fail: %lld",
	      (long long)s.total);

	in = judged(SPF_FAIL, 0, 0, DMARC_FAIL); /* p=none, no DKIM */
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 4 && !junk_score_is_junk(&s, 5), "SPF fail + p=none fail: %lld",
	      (long long)s.total);

	in = judged(SPF_FAIL, 0, 1, DMARC_NONE);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 5 && junk_score_is_junk(&s, 5), "SPF fail + DKIM fail junks");

	in = judged(SPF_FAIL, 0, 2, DMARC_FAIL);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 6 && s.nreasons == 3, "all three: %lld", (long long)s.total);
	junk_score_reasons(&s, text, sizeof text);
	CHECK(!strcmp(text, "spf_fail:3,dkim_fail:2,dmarc_fail:1"), "reasons %s", text);

	in = judged(SPF_SOFTFAIL, 0, 0, DMARC_NONE);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 1 && !junk_score_is_junk(&s, 5), "softfail alone");
	junk_score_reasons(&s, text, sizeof text);
	CHECK(!strcmp(text, "spf_softfail:1"), "softfail reason %s", text);

	in = judged(SPF_PASS, 1, 0, DMARC_PASS);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 0 && s.nreasons == 0, "all pass");
	in = judged(SPF_NEUTRAL, 0, 0, DMARC_NONE);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 0, "neutral counts nothing");
	in = judged(SPF_TEMPERROR, 0, 0, DMARC_PERMERROR);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 0, "errors count nothing");
}

static void test_exceptions(void)
{
	struct junk_score s;
	/* a list re-signed what it broke: one pass, one fail */
	struct junk_input in = judged(SPF_PASS, 1, 1, DMARC_NONE);
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 0, "a passing signature outweighs a broken one");
	/* a trusted forwarder or ARC sealer vouched */
	in = judged(SPF_FAIL, 0, 0, DMARC_FAIL);
	in.auth.dmarc_excused = true;
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 3 && s.nreasons == 1, "excused DMARC fail not counted");
	/* not checked: no SPF weight */
	in = judged(SPF_FAIL, 0, 0, DMARC_NONE);
	in.auth.spf_checked = false;
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 0, "SPF not checked");
	in = judged(SPF_NONE, 0, 0, DMARC_FAIL);
	in.auth.dmarc_checked = false;
	junk_score_sum(&in, &defaults, &s);
	CHECK(s.total == 0, "DMARC not checked");
}

static void test_weights(void)
{
	struct junk_score s;
	char text[200];
	struct junk_weights w = defaults;

	w.dkim_fail = 0; /* the weight off changes the verdict */
	struct junk_input in = judged(SPF_FAIL, 0, 1, DMARC_NONE);
	junk_score_sum(&in, &w, &s);
	CHECK(s.total == 3 && s.nreasons == 1 && !junk_score_is_junk(&s, 5), "dkim weight 0");

	w = defaults;
	w.spf_softfail = -2; /* negative weights are allowed */
	in = judged(SPF_SOFTFAIL, 0, 0, DMARC_NONE);
	in.dnsbl_listed = true;
	in.dnsbl_score = 5;
	junk_score_sum(&in, &w, &s);
	CHECK(s.total == 3 && !junk_score_is_junk(&s, 5), "negative weight: %lld",
	      (long long)s.total);
	junk_score_reasons(&s, text, sizeof text);
	CHECK(!strcmp(text, "dnsbl:5,spf_softfail:-2"), "reasons %s", text);

	/* DNSBL alone, as before this score existed */
	struct junk_input dn = {.dnsbl_listed = true, .dnsbl_score = 5};
	junk_score_sum(&dn, &defaults, &s);
	CHECK(s.total == 5 && junk_score_is_junk(&s, 5), "DNSBL alone junks");
	dn.dnsbl_score = 0; /* an allow list cancelled it: still the reason */
	junk_score_sum(&dn, &defaults, &s);
	CHECK(s.nreasons == 1 && !junk_score_is_junk(&s, 5) && junk_score_is_junk(&s, 0),
	      "DNSBL 0");
	junk_score_reasons(&s, text, sizeof text);
	CHECK(!strcmp(text, "dnsbl:0"), "dnsbl:0 %s", text);
	dn.dnsbl_listed = false; /* not listed: no reason, whatever junk_score */
	junk_score_sum(&dn, &defaults, &s);
	CHECK(!junk_score_is_junk(&s, -5), "not listed");

	/* FCrDNS: 0 by default */
	struct junk_input fc = {.fcrdns_missing = true};
	junk_score_sum(&fc, &defaults, &s);
	CHECK(s.nreasons == 0, "fcrdns_missing weight 0");
	w = defaults;
	w.fcrdns_missing = 2;
	junk_score_sum(&fc, &w, &s);
	CHECK(s.total == 2, "fcrdns_missing 2");

	/* saturating, never wrapping */
	w.spf_fail = INT64_MAX;
	in = judged(SPF_FAIL, 0, 0, DMARC_NONE);
	in.dnsbl_listed = true;
	in.dnsbl_score = INT64_MAX;
	junk_score_sum(&in, &w, &s);
	CHECK(s.total == INT64_MAX, "saturates");

	/* a small buffer cuts at a reason's end */
	in = judged(SPF_FAIL, 0, 2, DMARC_FAIL);
	junk_score_sum(&in, &defaults, &s);
	size_t n = junk_score_reasons(&s, text, 15);
	CHECK(n == 10 && !strcmp(text, "spf_fail:3"), "cut: %zu %s", n, text);
	CHECK(junk_score_reasons(&s, text, 0) == 0, "cap 0");
}

int main(void)
{
	test_defaults();
	test_exceptions();
	test_weights();
	return check_report("test_junk_score");
}
