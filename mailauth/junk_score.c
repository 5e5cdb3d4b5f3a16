/* junk_score: adds up the built-in spam score (junk_score.h). Kept apart
 * from the session so the rule (what counts, when it is junk) is tested
 * without a server. */
#include "mailauth/junk_score.h"

#include <stdio.h>
#include <string.h>

/* Saturating: weights are bounded by the config, but the sum never wraps. */
static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static void count(struct junk_score *s, const char *name, int64_t weight)
{
	if (weight == 0 || s->nreasons >= JUNK_MAX_REASONS)
		return;
	s->reasons[s->nreasons++] = (struct junk_reason){.name = name, .weight = weight};
	s->total = add_sat(s->total, weight);
}

void junk_score_sum(const struct junk_input *in, const struct junk_weights *w,
                    struct junk_score *out)
{
	memset(out, 0, sizeof *out);
	const struct junk_auth *a = &in->auth;
	if (in->dnsbl_listed) {
		/* An allow list may bring the sum to 0: it is still the reason. */
		if (in->dnsbl_score == 0 && out->nreasons < JUNK_MAX_REASONS)
			out->reasons[out->nreasons++] = (struct junk_reason){.name = "dnsbl"};
		else
			count(out, "dnsbl", in->dnsbl_score);
	}
	if (a->spf_checked && a->spf == SPF_FAIL)
		count(out, "spf_fail", w->spf_fail);
	else if (a->spf_checked && a->spf == SPF_SOFTFAIL)
		count(out, "spf_softfail", w->spf_softfail);
	if (a->dkim_fail > 0 && a->dkim_pass == 0)
		count(out, "dkim_fail", w->dkim_fail);
	if (a->dmarc_checked && a->dmarc == DMARC_FAIL && !a->dmarc_excused)
		count(out, "dmarc_fail", w->dmarc_fail);
	if (in->fcrdns_missing)
		count(out, "fcrdns_missing", w->fcrdns_missing);
}

bool junk_score_is_junk(const struct junk_score *s, int64_t junk_score)
{
	return s->nreasons > 0 && s->total >= junk_score;
}

size_t junk_score_reasons(const struct junk_score *s, char *out, size_t cap)
{
	size_t o = 0;
	if (!cap)
		return 0;
	out[0] = '\0';
	for (size_t i = 0; i < s->nreasons; i++) {
		int n = snprintf(out + o, cap - o, "%s%s:%lld", i ? "," : "", s->reasons[i].name,
		                 (long long)s->reasons[i].weight);
		if (n < 0 || (size_t)n >= cap - o) {
			out[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	return o;
}
