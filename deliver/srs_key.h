/* srs_key: the server's SRS secret (mailauth/srs.h), for the redirects
 * Sieve sends out (sieve_apply.c) and the bounces that come back to them
 * (rcpt.c).
 *
 * Where it comes from: [srs] secret in the config when set, else the file
 * <data_dir>/srs.secret, made once with 32 random bytes (mode 0600) and
 * read on every start, so an address given out yesterday still decodes
 * after a restart. Kept in a file rather than the store so that no schema
 * change is needed; backups of the data dir carry it. Never logged. */
#ifndef TERN_DELIVER_SRS_KEY_H
#define TERN_DELIVER_SRS_KEY_H

#include <stddef.h>

#include "mailauth/srs.h"

/* Load (or make) the secret. configured: [srs] secret ("" or NULL: the
 * file). 0, or -1 with err filled; without a load, srs_key_get() is NULL
 * and redirects keep the account's address as their sender. Loop thread,
 * at start. */
int srs_key_load(const char *configured, const char *data_dir, char *err, size_t errlen);
/* Set it directly (unit tests); NULL forgets it. */
void srs_key_set(const unsigned char *secret, size_t len);
/* The key, or NULL when none was loaded. */
const struct srs_key *srs_key_get(void);

#endif
