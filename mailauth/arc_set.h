/* arc_set: the ARC header fields of a message grouped into sets, and the
 * ARC-Seal and ARC-Authentication-Results fields parsed (RFC 8617 §4).
 *
 * Why its own file: both the verifier and the sealer need the sets, and
 * the fields come from strangers, so the one parser is bounded (at most
 * ARC_MAX_INSTANCE sets, DKIM_TAGS_MAX tags a field) and fuzzed
 * (tests/fuzz/fuzz_arc.c). Nothing is copied: fields point into the
 * header section (dkim_msg.h). */
#ifndef TERN_MAILAUTH_ARC_SET_H
#define TERN_MAILAUTH_ARC_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/dkim_key.h"
#include "mailauth/dkim_msg.h"
#include "mailauth/dkim_sig.h"

#define ARC_MAX_INSTANCE DKIM_ARC_INSTANCE_MAX /* RFC 8617 §4.2.1 */

/* cv= of an ARC-Seal */
enum arc_cv { ARC_CV_NONE = 1, ARC_CV_PASS, ARC_CV_FAIL };

/* One ARC set: its three fields (NULL when absent). */
struct arc_set {
	const struct dkim_field *aar, *ams, *as;
};

struct arc_sets {
	unsigned n; /* highest instance; sets 1..n are in set[1..n] */
	struct arc_set set[ARC_MAX_INSTANCE + 1];
	bool any;          /* the message has at least one ARC field */
	const char *error; /* a structural error (RFC 8617 §5.2 step 2), or NULL */
};

/* Groups the ARC fields of m by instance. With *error set the chain is
 * structurally broken: an i= that does not parse or is out of 1..50, a
 * duplicate field for an instance, a set with a field missing, a gap in
 * the instances. */
void arc_sets_collect(const struct dkim_msg *m, struct arc_sets *out);

/* The instance of an ARC field by its kind; 0 when i= does not parse. */
unsigned arc_field_instance(const struct dkim_field *f);

/* An ARC-Seal, parsed (RFC 8617 §4.1.3): a=, b=, cv=, d=, i=, s=, t=;
 * h= is an error. */
struct arc_seal {
	enum dkim_alg alg;
	enum arc_cv cv;
	unsigned instance;
	char domain[DKIM_NAME_MAX];
	char selector[DKIM_NAME_MAX];
	int64_t t; /* -1: absent */
	unsigned char b[DKIM_SIG_MAX];
	size_t b_len;
	size_t b_off, b_end; /* b='s value span in the field text, emptied for hashing */
};

/* f: the whole ARC-Seal field. 0, or -1 with *why. */
int arc_seal_parse(const struct dkim_field *f, struct arc_seal *out, const char **why);

/* The ARC-Authentication-Results value after "i=N;": *payload points to
 * the authserv-id and the results (RFC 8617 §4.1.1). 0 or -1. */
int arc_aar_parse(const struct dkim_field *f, unsigned *instance, const char **payload,
                  size_t *payload_len);

/* d= is a plausible domain name: LDH labels (and '_'), none empty. */
bool arc_domain_ok(const char *d);

#endif
