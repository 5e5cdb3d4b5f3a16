/* junk_score: the built-in spam score of one mx message when rspamd does
 * not decide: the DNSBL sum of the client (mailauth/dnsbl.h) plus a weight
 * for each mail-authentication result that speaks against the message
 * ([spam] *_weight). Pure: the session gives the inputs, this adds them up
 * and names what counted, for X-Spam-Score and the log line.
 *
 * What counts (a weight of 0 never counts, nor is it named):
 *   dnsbl           the DNSBL sum, when a zone lists the client
 *   spf_fail        SPF fail (MAIL FROM, or HELO for <>)
 *   spf_softfail    SPF softfail
 *   dkim_fail       a signature that does not verify, when none passes
 *                   (a list that breaks the author's signature and signs
 *                   with its own is not counted against)
 *   dmarc_fail      DMARC fail that no trusted forwarder or ARC sealer
 *                   excused (with p=none it is the only say DMARC has)
 *   fcrdns_missing  [spam] fcrdns on and the client has no verified name
 * The message is junk when something counted and the sum reaches
 * junk_score. */
#ifndef TERN_MAILAUTH_JUNK_SCORE_H
#define TERN_MAILAUTH_JUNK_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/dmarc.h"
#include "mailauth/spf.h"

/* [spam] weights of the authentication results. */
struct junk_weights {
	int64_t spf_fail, spf_softfail, dkim_fail, dmarc_fail, fcrdns_missing;
};

/* What the judge found for one transaction (all false/zero: not judged). */
struct junk_auth {
	bool spf_checked;
	enum spf_result spf;
	unsigned dkim_pass, dkim_fail; /* signatures that passed, that failed */
	bool dmarc_checked;
	enum dmarc_result dmarc;
	bool dmarc_excused; /* a trusted forwarder or ARC sealer vouched */
};

struct junk_input {
	bool dnsbl_listed; /* a zone lists the client */
	int64_t dnsbl_score;
	bool fcrdns_missing; /* checked, complete, and no verified name */
	struct junk_auth auth;
};

#define JUNK_MAX_REASONS 6

struct junk_reason {
	const char *name; /* static: "dnsbl", "spf_fail", ... */
	int64_t weight;
};

struct junk_score {
	int64_t total;
	size_t nreasons;
	struct junk_reason reasons[JUNK_MAX_REASONS];
};

void junk_score_sum(const struct junk_input *in, const struct junk_weights *w,
                    struct junk_score *out);
/* Something counted and the total is at least junk_score. */
bool junk_score_is_junk(const struct junk_score *s, int64_t junk_score);
/* "dnsbl:5,spf_fail:3" ("" when nothing counted) into out; its length. */
size_t junk_score_reasons(const struct junk_score *s, char *out, size_t cap);

#endif
