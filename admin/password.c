/* password: what a new password must be, and hashing it off the loop.
 *
 * yescrypt takes tens of milliseconds of CPU on purpose. On the loop that
 * would stall every connection; in a store job it would stall every
 * commit (the writer is one thread). So the server hashes on auth's
 * hashing threads (auth/hashpool.h), where logins are verified, makes the
 * SCRAM keys there too, and submits the store job with the finished hash. The copy of the password
 * made for the pool is wiped as soon as it has been hashed, and neither it nor the hash is logged.
 */
#include "admin/admin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/hashpool.h"
#include "auth/scram_keys.h"
#include "store/accounts.h"

const char *admin_password_problem(const char *password, size_t len)
{
	if (len < ADMIN_PASSWORD_MIN)
		return "the password must have at least 8 characters";
	if (len > ADMIN_PASSWORD_MAX)
		return "the password must have at most 1023 characters";
	if (memchr(password, '\0', len) || memchr(password, '\r', len) ||
	    memchr(password, '\n', len))
		return "the password must not contain NUL, CR or LF";
	return NULL;
}

struct hash_work {
	struct hash_job work; /* first: the job is the struct */
	admin_hash_fn done;
	void *ud;
	int rc;
	char password[ADMIN_PASSWORD_MAX + 1];
	char hash[STORE_HASH_MAX];
	char scram_sha1[SCRAM_KEYS_TEXT_MAX];
	char scram_sha256[SCRAM_KEYS_TEXT_MAX];
	char err[128];
};

static void work_hash(struct hash_job *w)
{
	struct hash_work *h = (struct hash_work *)w;
	h->rc = auth_hash_password(h->password, h->hash, sizeof h->hash, h->err, sizeof h->err);
	if (h->rc == 0 && scram_keys_make(h->password, h->scram_sha1, h->scram_sha256) < 0) {
		h->rc = -1;
		snprintf(h->err, sizeof h->err, "making the SCRAM keys failed");
	}
	explicit_bzero(h->password, sizeof h->password);
}

static void after_hash(struct hash_job *w)
{
	struct hash_work *h = (struct hash_work *)w;
	bool ok = h->rc == 0;
	h->done(h->ud, h->rc, ok ? h->hash : NULL, ok ? h->scram_sha1 : NULL,
	        ok ? h->scram_sha256 : NULL, h->err);
	explicit_bzero(h, sizeof *h);
	free(h);
}

int admin_hash_password_async(struct auth_pool *auth, const char *password, admin_hash_fn done,
                              void *ud)
{
	size_t len = strlen(password);
	if (len > ADMIN_PASSWORD_MAX)
		return -EINVAL;
	struct hash_work *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	memcpy(h->password, password, len + 1);
	h->done = done;
	h->ud = ud;
	int rc = hash_pool_submit(auth_pool_hashers(auth), &h->work, work_hash, after_hash);
	if (rc < 0) {
		explicit_bzero(h, sizeof *h);
		free(h);
		return rc;
	}
	return 0;
}
