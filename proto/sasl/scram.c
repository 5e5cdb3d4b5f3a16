/* scram: the server side of SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256
 * (RFC 7677), and their -PLUS variants, as a sasl.h exchange.
 *
 *   client-first  "n,,n=user,r=cnonce"      -> lookup (auth/scram_login.c)
 *   server-first  "r=cnonce+snonce,s=salt,i=4096"
 *   client-final  "c=biws,r=cnonce+snonce,p=proof"
 *                 proof right: server-final "v=signature" as a challenge,
 *                 the client answers empty, DONE (the check says OK)
 *                 proof wrong: DONE at once (the check says FAIL, delayed)
 *
 * The server keeps StoredKey and ServerKey (auth/scram_keys.h), never the
 * password: ClientKey = proof XOR HMAC(StoredKey, AuthMessage) must hash
 * to StoredKey. An unknown user, or an account without keys yet, gets a
 * fake salt that is stable per user name, so server-first looks the same
 * for everyone; only the proof fails.
 *
 * Channel binding (RFC 5802 §6, RFC 5056): the connection says which
 * binding it can offer (tls_session_channel_binding, tls/tls.c: tls-unique
 * on TLS 1.2 with the extended master secret, with mbedTLS 2.28 only;
 * tls-exporter on TLS 1.3, mbedTLS 3.x; docs/design.md "SASL" says why),
 * and only then are the -PLUS mechanisms advertised. A -PLUS exchange must send "p=<that type>"
 * and its c= must carry the binding data. A client that sends "y" (it
 * could bind, but thinks the server cannot) while the server offers -PLUS
 * sees a downgrade, and fails; "p=" with a plain mechanism fails too.
 *
 * SASLprep (RFC 4013, lib/saslprep.h): the user name of n= (and a=), after
 * the =2C/=3D decoding, is prepared as a query before the lookup (RFC 5802
 * §5.1); one that cannot be prepared, or prepares to nothing, ends the
 * exchange. The password is the client's business: the keys were derived
 * from its SASLprep'd form (auth/scram_keys.c), and a client that prepares
 * it the same way sends a proof that matches.
 *
 * Not implemented: proxy authorization (an authzid must be the user), and
 * the m= extension (refused, as RFC 5802 §5.1 says). */
#include "proto/sasl/scram.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth/scram_login.h"
#include "lib/saslprep.h"
#include "tls/hmac.h"

const char *sasl_scram_test_nonce;
int (*sasl_scram_test_keys)(const char *user, enum hmac_hash h, struct scram_keys *out);

#define SERVER_FIRST_MAX 512
#define GS2_MAX (SASL_USER_MAX * 3 + 40)
#define CB_MAX 64

enum { WANT_FIRST, WANT_FINAL, WANT_ACK, FINISHED };

struct scram {
	enum hmac_hash hash;
	bool plus; /* a -PLUS mechanism */
	int state;
	bool proof_ok;
	/* what the connection offers */
	char cb_type[16];
	unsigned char cb[CB_MAX];
	size_t cb_len;
	/* the messages, for AuthMessage */
	char gs2[GS2_MAX];
	size_t gs2_len;
	char first_bare[SCRAM_MSG_MAX];
	size_t first_bare_len;
	char server_first[SERVER_FIRST_MAX];
	size_t server_first_len;
	size_t nonce_len; /* cnonce + snonce, at server_first + 2 */
	char challenge[(SERVER_FIRST_MAX + 2) / 3 * 4 + 1];
	struct scram_keys keys;
	struct auth_scram_attempt att;
};

int scram_begin(struct sasl *s, const struct sasl_peer *peer)
{
	struct scram *sc = calloc(1, sizeof *sc);
	if (!sc)
		return -1;
	s->scram = sc;
	sc->hash = s->mech == SASL_MECH_SCRAM_SHA1 || s->mech == SASL_MECH_SCRAM_SHA1_PLUS
	               ? HMAC_SHA1
	               : HMAC_SHA256;
	sc->plus = s->mech == SASL_MECH_SCRAM_SHA1_PLUS || s->mech == SASL_MECH_SCRAM_SHA256_PLUS;
	if (peer && peer->cb_type && peer->cb_len && peer->cb_len <= CB_MAX &&
	    strlen(peer->cb_type) < sizeof sc->cb_type) {
		strcpy(sc->cb_type, peer->cb_type);
		memcpy(sc->cb, peer->cb, peer->cb_len);
		sc->cb_len = peer->cb_len;
	}
	return 0;
}

void scram_free(struct scram *sc)
{
	if (!sc)
		return;
	explicit_bzero(sc, sizeof *sc);
	free(sc);
}

static void challenge(struct sasl *s, const void *msg, size_t len)
{
	sasl_base64_encode(msg, len, s->scram->challenge, sizeof s->scram->challenge);
	s->challenge = s->scram->challenge;
}

/* saslname (RFC 5802 §5.1): "=2C" is ',', "=3D" is '=', no other '=';
 * then SASLprep'd as a query. */
static bool saslname(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	char decoded[SASL_USER_MAX + 1];
	if (len == 0 || cap > sizeof decoded)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '=') {
			if (i + 2 < len && in[i + 1] == '2' && in[i + 2] == 'C')
				c = ',';
			else if (i + 2 < len && in[i + 1] == '3' && in[i + 2] == 'D')
				c = '=';
			else
				return false;
			i += 2;
		}
		if (o + 1 >= cap)
			return false;
		decoded[o++] = c;
	}
	char *prepared;
	size_t prepared_len;
	if (saslprep(decoded, o, SASLPREP_QUERY, &prepared, &prepared_len) != SASLPREP_OK)
		return false;
	bool fits = prepared_len < cap;
	if (fits)
		memcpy(out, prepared, prepared_len + 1);
	saslprep_free(prepared, prepared_len);
	return fits;
}

/* The next attribute "k=value" up to ',' or the end; NULL at the end. */
static const char *attr(const char **p, const char *end, char key, size_t *vlen)
{
	const char *a = *p;
	if (a >= end || end - a < 2 || a[0] != key || a[1] != '=')
		return NULL;
	const char *v = a + 2;
	const char *comma = memchr(v, ',', (size_t)(end - v));
	const char *vend = comma ? comma : end;
	*vlen = (size_t)(vend - v);
	*p = comma ? comma + 1 : end;
	return v;
}

static bool printable_nonce(const char *n, size_t len)
{
	if (len == 0 || len > SCRAM_CNONCE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] < 0x21 || n[i] > 0x7e || n[i] == ',')
			return false;
	return true;
}

static void lookup(struct sasl *s)
{
	struct scram *sc = s->scram;
	if (s->pool) {
		auth_scram_begin(s->pool, s->ip, s->user, sc->hash, &sc->att, &sc->keys);
		return;
	}
	memset(&sc->att, 0, sizeof sc->att);
	sc->att.verdict = AUTH_OK;
	if (sasl_scram_test_keys && sasl_scram_test_keys(s->user, sc->hash, &sc->keys) == 0)
		sc->att.usable = true;
	else
		scram_keys_fake(sc->hash, s->user, &sc->keys);
}

static enum sasl_status client_first(struct sasl *s, const char *m, size_t n)
{
	struct scram *sc = s->scram;
	const char *p = m, *end = m + n;
	bool flag_p = false;
	char authzid[SASL_USER_MAX + 1] = "";
	size_t vlen;

	/* gs2-header: cbind flag, then the authzid */
	if (n >= 2 && (m[0] == 'n' || m[0] == 'y') && m[1] == ',') {
		if (m[0] == 'y' && sc->cb_len)
			return SASL_EPROTO; /* we do offer -PLUS: a downgrade */
		p = m + 2;
	} else {
		const char *cbname = attr(&p, end, 'p', &vlen);
		if (!cbname || p == end || vlen == 0)
			return SASL_EPROTO;
		if (!sc->cb_len || strlen(sc->cb_type) != vlen || memcmp(cbname, sc->cb_type, vlen))
			return SASL_EPROTO; /* a binding we do not offer here */
		flag_p = true;
	}
	if (flag_p != sc->plus)
		return SASL_EPROTO; /* -PLUS needs p=, the plain ones must not have it */
	if (p < end && *p == ',') {
		p++;
	} else {
		const char *az = attr(&p, end, 'a', &vlen);
		if (!az || p == end || !saslname(az, vlen, authzid, sizeof authzid))
			return SASL_EPROTO;
	}
	sc->gs2_len = (size_t)(p - m);
	if (sc->gs2_len >= sizeof sc->gs2)
		return SASL_EPROTO;
	memcpy(sc->gs2, m, sc->gs2_len);

	/* client-first-message-bare */
	const char *bare = p;
	const char *user = attr(&p, end, 'n', &vlen);
	if (!user || !saslname(user, vlen, s->user, sizeof s->user))
		return SASL_EPROTO;
	if (authzid[0] && strcmp(authzid, s->user) != 0)
		return SASL_EAUTHZID;
	const char *cnonce = attr(&p, end, 'r', &vlen);
	if (!cnonce || !printable_nonce(cnonce, vlen))
		return SASL_EPROTO;
	size_t cnonce_len = vlen;
	sc->first_bare_len = (size_t)(end - bare);
	memcpy(sc->first_bare, bare, sc->first_bare_len);

	lookup(s);

	/* server-first-message */
	unsigned char rnd[24];
	char snonce[40], salt[SCRAM_SALT_MAX * 2];
	if (sasl_scram_test_nonce) {
		snprintf(snonce, sizeof snonce, "%s", sasl_scram_test_nonce);
	} else {
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			return SASL_EPROTO;
		sasl_base64_encode(rnd, sizeof rnd, snonce, sizeof snonce);
	}
	sasl_base64_encode(sc->keys.salt, sc->keys.salt_len, salt, sizeof salt);
	int w = snprintf(sc->server_first, sizeof sc->server_first, "r=%.*s%s,s=%s,i=%u",
	                 (int)cnonce_len, cnonce, snonce, salt, sc->keys.iterations);
	if (w < 0 || (size_t)w >= sizeof sc->server_first)
		return SASL_EPROTO;
	sc->server_first_len = (size_t)w;
	sc->nonce_len = cnonce_len + strlen(snonce);
	sc->state = WANT_FINAL;
	challenge(s, sc->server_first, sc->server_first_len);
	return SASL_CHALLENGE;
}

static bool same(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static enum sasl_status client_final(struct sasl *s, const char *m, size_t n)
{
	struct scram *sc = s->scram;
	const char *p = m, *end = m + n;
	size_t vlen, hlen = hmac_len(sc->hash);

	/* c=: the gs2 header again, and the binding data after it for p= */
	const char *c = attr(&p, end, 'c', &vlen);
	unsigned char cbind[GS2_MAX + CB_MAX];
	long cl = c ? sasl_base64_decode(c, vlen, cbind, sizeof cbind) : -1;
	size_t want = sc->gs2_len + (sc->plus ? sc->cb_len : 0);
	if (cl < 0 || (size_t)cl != want || memcmp(cbind, sc->gs2, sc->gs2_len) != 0 ||
	    (sc->plus && !same(cbind + sc->gs2_len, sc->cb, sc->cb_len)))
		return SASL_EPROTO;
	const char *nonce = attr(&p, end, 'r', &vlen);
	if (!nonce || vlen != sc->nonce_len || memcmp(nonce, sc->server_first + 2, vlen) != 0)
		return SASL_EPROTO;
	/* extensions may follow; the proof is the last attribute */
	const char *proof = end;
	while (proof > m && proof[-1] != ',')
		proof--;
	if (proof < p || end - proof < 2 || proof[0] != 'p' || proof[1] != '=')
		return SASL_EPROTO;
	unsigned char client_proof[HMAC_MAX_LEN + 3];
	long pl = sasl_base64_decode(proof + 2, (size_t)(end - proof - 2), client_proof,
	                             sizeof client_proof);
	if (pl != (long)hlen)
		return SASL_EPROTO;

	/* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
	size_t without_proof = (size_t)(proof - 1 - m);
	char auth_msg[SCRAM_MSG_MAX + SERVER_FIRST_MAX + SCRAM_MSG_MAX + 2];
	size_t al = 0;
	memcpy(auth_msg, sc->first_bare, sc->first_bare_len);
	al += sc->first_bare_len;
	auth_msg[al++] = ',';
	memcpy(auth_msg + al, sc->server_first, sc->server_first_len);
	al += sc->server_first_len;
	auth_msg[al++] = ',';
	memcpy(auth_msg + al, m, without_proof);
	al += without_proof;

	unsigned char sig[HMAC_MAX_LEN], client_key[HMAC_MAX_LEN], stored[HMAC_MAX_LEN];
	hmac_sign(sc->hash, sc->keys.stored_key, hlen, auth_msg, al, sig);
	for (size_t i = 0; i < hlen; i++)
		client_key[i] = client_proof[i] ^ sig[i];
	hmac_digest(sc->hash, client_key, hlen, stored);
	sc->proof_ok = same(stored, sc->keys.stored_key, hlen);
	explicit_bzero(client_key, sizeof client_key);

	if (!sc->proof_ok || sc->att.verdict != AUTH_OK || !sc->att.usable) {
		sc->state = FINISHED;
		return SASL_DONE; /* the check answers FAIL (or THROTTLED), after its delay */
	}
	char final[80], v[64];
	hmac_sign(sc->hash, sc->keys.server_key, hlen, auth_msg, al, sig);
	sasl_base64_encode(sig, hlen, v, sizeof v);
	int w = snprintf(final, sizeof final, "v=%s", v);
	sc->state = WANT_ACK;
	challenge(s, final, (size_t)w);
	return SASL_CHALLENGE;
}

enum sasl_status scram_feed(struct sasl *s, const char *resp, size_t len)
{
	struct scram *sc = s->scram;
	unsigned char *buf;
	size_t n = 0;
	enum sasl_status st;

	if (!sc || sc->state == FINISHED)
		return SASL_EPROTO;
	if (!(buf = malloc(SCRAM_MSG_MAX + 1)))
		return SASL_EPROTO;
	st = sasl_decode(resp, len, buf, SCRAM_MSG_MAX, &n);
	if (st != SASL_DONE)
		goto out;
	if (memchr(buf, '\0', n)) {
		st = SASL_EPROTO;
		goto out;
	}
	switch (sc->state) {
	case WANT_FIRST:
		st = n ? client_first(s, (const char *)buf, n) : SASL_EPROTO;
		break;
	case WANT_FINAL:
		st = client_final(s, (const char *)buf, n);
		break;
	default: /* WANT_ACK: the client has read server-final */
		st = n == 0 ? SASL_DONE : SASL_EPROTO;
		sc->state = FINISHED;
	}
out:
	if (st < 0)
		sc->state = FINISHED;
	explicit_bzero(buf, SCRAM_MSG_MAX + 1);
	free(buf);
	return st;
}

struct auth_req *scram_check(struct sasl *s, auth_done_fn done, void *ud)
{
	struct scram *sc = s->scram;
	if (!s->pool || !sc)
		return NULL;
	/* proof_ok with an ack, or a wrong proof: the attempt's answer */
	return auth_scram_finish(s->pool, &sc->att, sc->proof_ok && sc->state == FINISHED, done,
	                         ud);
}
