/* sasl: PLAIN and LOGIN decoding, see sasl.h for the contract.
 *
 * PLAIN is one message "authzid NUL authcid NUL passwd" (RFC 4616 2). We do
 * not implement proxy authorization: an authzid must be empty or equal to
 * the authcid, anything else is SASL_EAUTHZID. A PLAIN exchange without an
 * initial response starts with an empty challenge.
 *
 * LOGIN asks "Username:" then "Password:" (base64 "VXNlcm5hbWU6",
 * "UGFzc3dvcmQ6"). Clients that send the user name as an initial response
 * (AUTH LOGIN dXNlcg==, which Outlook and others do) skip the first prompt.
 *
 * Decoding is strict: the base64 alphabet only, correct padding, and no NUL
 * inside a name or password (a NUL there would let "alice\0junk" compare
 * equal to "alice" further down, in C strings). */
#include "proto/sasl/sasl.h"
#include "proto/sasl/scram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Strongest first: the order of the advertised lists. */
static const struct {
	enum sasl_mech mech;
	const char *name;
	bool plus;
} mechs[] = {
    {SASL_MECH_SCRAM_SHA256_PLUS, "SCRAM-SHA-256-PLUS", true},
    {SASL_MECH_SCRAM_SHA256, "SCRAM-SHA-256", false},
    {SASL_MECH_SCRAM_SHA1_PLUS, "SCRAM-SHA-1-PLUS", true},
    {SASL_MECH_SCRAM_SHA1, "SCRAM-SHA-1", false},
    {SASL_MECH_PLAIN, "PLAIN", false},
    {SASL_MECH_LOGIN, "LOGIN", false},
};

enum sasl_mech sasl_mech_parse(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (strlen(mechs[i].name) == len && strncasecmp(name, mechs[i].name, len) == 0)
			return mechs[i].mech;
	return SASL_MECH_NONE;
}

const char *sasl_mech_log_name(enum sasl_mech mech)
{
	static const char *const names[] = {
	    [SASL_MECH_PLAIN] = "plain",
	    [SASL_MECH_LOGIN] = "login",
	    [SASL_MECH_SCRAM_SHA1] = "scram-sha-1",
	    [SASL_MECH_SCRAM_SHA1_PLUS] = "scram-sha-1-plus",
	    [SASL_MECH_SCRAM_SHA256] = "scram-sha-256",
	    [SASL_MECH_SCRAM_SHA256_PLUS] = "scram-sha-256-plus",
	};
	return mech > 0 && mech <= SASL_MECH_SCRAM_SHA256_PLUS ? names[mech] : "none";
}

const char *sasl_mech_name(enum sasl_mech mech)
{
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (mechs[i].mech == mech)
			return mechs[i].name;
	return "NONE";
}

bool sasl_is_scram(enum sasl_mech mech)
{
	return mech >= SASL_MECH_SCRAM_SHA1 && mech <= SASL_MECH_SCRAM_SHA256_PLUS;
}

const char *sasl_mech_list_sep(bool plus, const char *sep, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
		if (mechs[i].plus && !plus)
			continue;
		int n = snprintf(buf + o, len - o, "%s%s", o ? sep : "", mechs[i].name);
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	return buf;
}

const char *sasl_mech_list(void)
{
	return "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN";
}

void sasl_clear(struct sasl *s)
{
	scram_free(s->scram);
	/* volatile-free wipe that the compiler may not drop: explicit_bzero
	 * is in glibc >= 2.25. */
	explicit_bzero(s, sizeof *s);
}

static void set_challenge(struct sasl *s, const char *b64)
{
	strcpy(s->challenge_buf, b64);
	s->challenge = s->challenge_buf;
}

static enum sasl_status plain_message(struct sasl *s, const unsigned char *m, size_t n)
{
	const unsigned char *z1 = memchr(m, '\0', n);
	if (!z1)
		return SASL_EPROTO;
	const unsigned char *authcid = z1 + 1;
	size_t rest = n - (size_t)(authcid - m);
	const unsigned char *z2 = memchr(authcid, '\0', rest);
	if (!z2)
		return SASL_EPROTO;
	size_t azlen = (size_t)(z1 - m);
	size_t ulen = (size_t)(z2 - authcid);
	const unsigned char *pw = z2 + 1;
	size_t plen = n - (size_t)(pw - m);

	if (ulen == 0 || ulen > SASL_USER_MAX || plen > SASL_PASS_MAX)
		return SASL_EPROTO;
	if (memchr(pw, '\0', plen))
		return SASL_EPROTO;
	if (azlen && (azlen != ulen || memcmp(m, authcid, ulen) != 0))
		return SASL_EAUTHZID;
	memcpy(s->user, authcid, ulen);
	s->user[ulen] = '\0';
	memcpy(s->pass, pw, plen);
	s->pass[plen] = '\0';
	return SASL_DONE;
}

/* Store one LOGIN field (user or password). */
static enum sasl_status login_field(char *dst, size_t max, const unsigned char *m, size_t n)
{
	if (n > max || memchr(m, '\0', n))
		return SASL_EPROTO;
	memcpy(dst, m, n);
	dst[n] = '\0';
	return SASL_DONE;
}

static enum sasl_status feed(struct sasl *s, const char *resp, size_t len)
{
	if (sasl_is_scram(s->mech))
		return scram_feed(s, resp, len);
	unsigned char buf[SASL_USER_MAX + SASL_PASS_MAX + SASL_USER_MAX + 8];
	size_t n = 0;
	enum sasl_status st = sasl_decode(resp, len, buf, sizeof buf, &n);

	if (st != SASL_DONE)
		goto out;
	switch (s->mech) {
	case SASL_MECH_PLAIN:
		st = plain_message(s, buf, n);
		break;
	case SASL_MECH_LOGIN:
		if (s->step == 0) {
			st = login_field(s->user, SASL_USER_MAX, buf, n);
			if (st == SASL_DONE && n == 0)
				st = SASL_EPROTO;
			if (st == SASL_DONE) {
				s->step = 1;
				set_challenge(s, "UGFzc3dvcmQ6"); /* "Password:" */
				st = SASL_CHALLENGE;
			}
		} else {
			st = login_field(s->pass, SASL_PASS_MAX, buf, n);
		}
		break;
	default:
		st = SASL_EPROTO;
	}
out:
	explicit_bzero(buf, sizeof buf);
	return st;
}

enum sasl_status sasl_start_peer(struct sasl *s, enum sasl_mech mech, const char *initial,
                                 size_t len, const struct sasl_peer *peer)
{
	memset(s, 0, sizeof *s);
	s->mech = mech;
	if (peer) {
		s->pool = peer->pool;
		snprintf(s->ip, sizeof s->ip, "%s", peer->ip ? peer->ip : "");
	}
	if (sasl_is_scram(mech)) {
		if (scram_begin(s, peer) < 0)
			return SASL_EPROTO;
		if (initial)
			return feed(s, initial, len);
		set_challenge(s, "");
		return SASL_CHALLENGE;
	}
	if (mech != SASL_MECH_PLAIN && mech != SASL_MECH_LOGIN)
		return SASL_EPROTO;
	if (initial)
		return feed(s, initial, len);
	if (mech == SASL_MECH_LOGIN)
		set_challenge(s, "VXNlcm5hbWU6"); /* "Username:" */
	else
		set_challenge(s, "");
	return SASL_CHALLENGE;
}

enum sasl_status sasl_start(struct sasl *s, enum sasl_mech mech, const char *initial, size_t len)
{
	return sasl_start_peer(s, mech, initial, len, NULL);
}

enum sasl_status sasl_step(struct sasl *s, const char *resp, size_t len)
{
	return feed(s, resp, len);
}

struct auth_req *sasl_auth_check(struct sasl *s, auth_done_fn done, void *ud)
{
	if (sasl_is_scram(s->mech))
		return scram_check(s, done, ud);
	return auth_check(s->pool, s->ip, s->user, s->pass, done, ud);
}
