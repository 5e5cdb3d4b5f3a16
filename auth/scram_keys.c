/* scram_keys: see scram_keys.h.
 *
 *   SaltedPassword = Hi(password, salt, i)
 *   StoredKey      = H(HMAC(SaltedPassword, "Client Key"))
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * password is SASLprep(password) (RFC 5802 §2.2, RFC 4013; lib/saslprep.h)
 * as a stored string: what a client that prepares its password derives
 * too. A password that cannot be prepared (a control character, an
 * unassigned code point, bad bidi, ...) gets no SCRAM keys: SCRAM cannot
 * log in with it, PLAIN/LOGIN still can. Printable ASCII is unchanged. */
#include "auth/scram_keys.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/log.h"
#include "lib/saslprep.h"
#include "store/accounts.h"
#include "store/store.h"

int scram_keys_derive(enum hmac_hash h, const char *password, const unsigned char *salt,
                      size_t salt_len, unsigned iterations, struct scram_keys *out)
{
	unsigned char salted[HMAC_MAX_LEN], client_key[HMAC_MAX_LEN];
	int rc = -1;

	if (salt_len > sizeof out->salt)
		return -1;
	memset(out, 0, sizeof *out);
	out->hash = h;
	out->iterations = iterations;
	out->salt_len = salt_len;
	memcpy(out->salt, salt, salt_len);
	if (hmac_pbkdf2(h, password, strlen(password), salt, salt_len, iterations, salted) == 0 &&
	    hmac_sign(h, salted, hmac_len(h), "Client Key", 10, client_key) == 0 &&
	    hmac_digest(h, client_key, hmac_len(h), out->stored_key) == 0 &&
	    hmac_sign(h, salted, hmac_len(h), "Server Key", 10, out->server_key) == 0)
		rc = 0;
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(client_key, sizeof client_key);
	return rc;
}

static int b64(const unsigned char *in, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	return mbedtls_base64_encode((unsigned char *)out, cap, &n, in, len) == 0 ? (int)n : -1;
}

int scram_keys_format(const struct scram_keys *k, char out[SCRAM_KEYS_TEXT_MAX])
{
	char salt[96], stored[48], server[48];
	size_t n = hmac_len(k->hash);
	if (b64(k->salt, k->salt_len, salt, sizeof salt) < 0 ||
	    b64(k->stored_key, n, stored, sizeof stored) < 0 ||
	    b64(k->server_key, n, server, sizeof server) < 0)
		return -1;
	int w =
	    snprintf(out, SCRAM_KEYS_TEXT_MAX, "%u,%s,%s,%s", k->iterations, salt, stored, server);
	return w > 0 && w < SCRAM_KEYS_TEXT_MAX ? 0 : -1;
}

int scram_keys_make(const char *password, char sha1[SCRAM_KEYS_TEXT_MAX],
                    char sha256[SCRAM_KEYS_TEXT_MAX])
{
	unsigned char salt[SCRAM_SALT_LEN];
	struct scram_keys k;
	int rc = -1;
	char *prepared = NULL;
	size_t prepared_len = 0;
	sha1[0] = sha256[0] = '\0';
	int prep = saslprep(password, strlen(password), SASLPREP_STORED, &prepared, &prepared_len);
	if (prep == SASLPREP_ENOMEM)
		return -1;
	if (prep != SASLPREP_OK) {
		log_info("event=scram_keys_skipped reason=saslprep_%s", saslprep_strerror(prep));
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		enum hmac_hash h = i ? HMAC_SHA256 : HMAC_SHA1;
		if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt ||
		    scram_keys_derive(h, prepared, salt, sizeof salt, SCRAM_ITERATIONS, &k) < 0 ||
		    scram_keys_format(&k, i ? sha256 : sha1) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		sha1[0] = sha256[0] = '\0';
	saslprep_free(prepared, prepared_len);
	explicit_bzero(&k, sizeof k);
	return rc;
}

/* One base64 field of exactly want bytes (want 0: 1..cap bytes). */
static int field(const char **p, unsigned char *out, size_t cap, size_t want, size_t *got)
{
	const char *end = strchr(*p, ',');
	size_t len = end ? (size_t)(end - *p) : strlen(*p);
	size_t n = 0;
	if (mbedtls_base64_decode(out, cap, &n, (const unsigned char *)*p, len) != 0 || n == 0 ||
	    (want && n != want))
		return -1;
	*got = n;
	*p += len + (end ? 1 : 0);
	return 0;
}

int scram_keys_parse(enum hmac_hash h, const char *text, struct scram_keys *out)
{
	char *end;
	size_t n;
	memset(out, 0, sizeof out[0]);
	out->hash = h;
	if (!text || !text[0])
		return -1;
	unsigned long it = strtoul(text, &end, 10);
	if (end == text || *end != ',' || it < 1 || it > SCRAM_ITERATIONS_MAX)
		return -1;
	out->iterations = (unsigned)it;
	const char *p = end + 1;
	if (field(&p, out->salt, sizeof out->salt, 0, &out->salt_len) < 0 ||
	    field(&p, out->stored_key, sizeof out->stored_key, hmac_len(h), &n) < 0 ||
	    field(&p, out->server_key, sizeof out->server_key, hmac_len(h), &n) < 0 || *p)
		return -1;
	return 0;
}

static unsigned char fake_secret[32];
static pthread_once_t fake_once = PTHREAD_ONCE_INIT;

static void fake_init(void)
{
	if (getrandom(fake_secret, sizeof fake_secret, 0) != (ssize_t)sizeof fake_secret)
		memset(fake_secret, 0x5c, sizeof fake_secret); /* still stable; only less opaque */
}

void scram_keys_fake(enum hmac_hash h, const char *user, struct scram_keys *out)
{
	unsigned char mac[HMAC_MAX_LEN];
	pthread_once(&fake_once, fake_init);
	memset(out, 0, sizeof *out);
	out->hash = h;
	out->iterations = SCRAM_ITERATIONS;
	out->salt_len = SCRAM_SALT_LEN;
	/* The salt of a real account is random per hash function: so is this. */
	/* Addresses compare without case (store/accounts.h): so must this,
	 * or "Ghost@x" and "ghost@x" would differ where a real account's
	 * salt does not. */
	char msg[400];
	int n = snprintf(msg, sizeof msg, "%d:%s", (int)h, user);
	for (int i = 0; i < n && i < (int)sizeof msg; i++)
		if (msg[i] >= 'A' && msg[i] <= 'Z')
			msg[i] = (char)(msg[i] - 'A' + 'a');
	hmac_sign(HMAC_SHA256, fake_secret, sizeof fake_secret, msg, n > 0 ? (size_t)n : 0, mac);
	memcpy(out->salt, mac, SCRAM_SALT_LEN);
	/* StoredKey all zero: no ClientKey hashes to it (a preimage of zero). */
}

/* ---- the first-login upgrade ---- */

struct upgrade {
	char address[STORE_ADDR_MAX];
	char hash[STORE_HASH_MAX];
	char sha1[SCRAM_KEYS_TEXT_MAX];
	char sha256[SCRAM_KEYS_TEXT_MAX];
};

static int upgrade_run(struct store_tx *tx, void *arg)
{
	struct upgrade *u = arg;
	int rc = store_account_set_scram(tx, u->address, u->hash, u->sha1, u->sha256);
	return rc == -ENOENT ? 0 : rc; /* the password changed meanwhile: nothing to do */
}

static void upgrade_done(void *arg, int status)
{
	if (status < 0)
		log_warn("event=scram_upgrade_failed err=%d", status);
	explicit_bzero(arg, sizeof(struct upgrade));
	free(arg);
}

void auth_scram_upgrade(struct store *store, const char *address, const char *checked_hash,
                        const char *password)
{
	struct upgrade *u = calloc(1, sizeof *u);
	if (!u)
		return;
	snprintf(u->address, sizeof u->address, "%s", address);
	snprintf(u->hash, sizeof u->hash, "%s", checked_hash);
	if (scram_keys_make(password, u->sha1, u->sha256) < 0 || !u->sha1[0] ||
	    store_submit_lazy(store, upgrade_run, upgrade_done, u) < 0) {
		explicit_bzero(u, sizeof *u);
		free(u);
	}
}
