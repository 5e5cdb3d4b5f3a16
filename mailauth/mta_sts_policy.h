/* mta_sts_policy: MTA-STS (RFC 8461) text parsing and MX matching, pure.
 *
 * Two inputs come from the network: the `_mta-sts.DOMAIN` TXT record
 * ("v=STSv1; id=20160831085700Z;") and the policy file served at
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt ("version: STSv1",
 * "mode: enforce", "mx: *.example.net", "max_age: 86400"). Both are
 * parsed here into plain structs; fetching, caching and enforcing are the
 * relay's. Everything is bounded: the policy's size, the number of mx
 * lines, the lengths of names; a malformed input is an error, never a
 * crash. */
#ifndef TERN_MTA_STS_POLICY_H
#define TERN_MTA_STS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MTA_STS_MAX_POLICY 65536  /* bytes of policy text we read */
#define MTA_STS_MAX_MX 32         /* mx patterns kept */
#define MTA_STS_MAX_AGE 31557600L /* RFC 8461 3.2: at most one year */
#define MTA_STS_ID_MAX 32         /* RFC 8461 3.1: 1*32(ALPHA / DIGIT) */

enum mta_sts_mode { MTA_STS_NONE = 0, MTA_STS_TESTING, MTA_STS_ENFORCE };

struct mta_sts_policy {
	enum mta_sts_mode mode;
	long max_age; /* seconds, clamped to MTA_STS_MAX_AGE */
	size_t nmx;
	char mx[MTA_STS_MAX_MX][256]; /* lower case, no trailing dot; "*.x.y" wildcards */
};

/* The TXT record: 0 and id filled (NUL-terminated) when it is a valid
 * STSv1 record, -1 otherwise. Of several records, the caller must treat
 * more than one valid as none (RFC 8461 3.1). */
int mta_sts_parse_txt(const char *txt, size_t len, char id[MTA_STS_ID_MAX + 1]);

/* The policy body: 0 and *out filled, or -1 with *why set. Unknown keys
 * are ignored; version, mode and max_age are required, and mx at least
 * once unless mode is none. */
int mta_sts_parse_policy(const char *text, size_t len, struct mta_sts_policy *out,
                         const char **why);

/* Does the MX host name match one of the policy's patterns? A leading
 * "*." matches exactly one leftmost label (RFC 8461 4.1); case-insensitive;
 * a trailing dot on host is ignored. */
bool mta_sts_mx_matches(const struct mta_sts_policy *p, const char *host);

const char *mta_sts_mode_name(enum mta_sts_mode m);

#endif
