/* sieve_script: what the SieveScript methods (RFC 9661) share: the ids of
 * a script and of its content, the SieveScript state and the list of an
 * account's scripts.
 *
 * A script's JMAP id is "S" + the store's id of it in decimal
 * (store/sieve.h, schema 24): set when the script is created, kept when
 * it is renamed (SieveScript/set's update of "name", ManageSieve's
 * RENAMESCRIPT) or its text replaced, never given to another script.
 *
 * A script's content is a blob "Z" + its id + "." + its `updated`
 * (store/sieve.h): a new one each time the script changes (its text, its
 * name, whether it is active), so a blob id still names the same bytes,
 * as RFC 8620 §6 wants; a blob id of an older version is not found. It
 * cannot be mistaken for a message ("B...") or an upload ("U...") and is
 * looked up in the caller's account only (blob_read.c). */
#ifndef TERN_JMAP_SIEVE_SCRIPT_H
#define TERN_JMAP_SIEVE_SCRIPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/jmap/jmap_int.h"
#include "store/sieve.h"

struct buf;
struct store_rd;

#define JMAP_CAP_SIEVE "urn:ietf:params:jmap:sieve"
/* [managesieve]'s default max_scripts: the JMAP side has no config of its
 * own for it (jmap_account carries only the [jmap] limits). */
#define JMAP_SIEVE_MAX_SCRIPTS 32
/* RFC 9661 §2: maxNumberRedirects, sieve_limits' max_redirects. */
#define JMAP_SIEVE_MAX_REDIRECTS 4
#define JMAP_SIEVE_ID_MAX 200
#define JMAP_SIEVE_STATE_MAX 64

/* ---- ids (sieve_script_id.c) ---- */

/* The JMAP id of the script with store id `id` into out
 * (JMAP_SIEVE_ID_MAX). */
void jmap_sieve_id(int64_t id, char *out);
/* The store id a JMAP id stands for: false when id is not a script id
 * (the script itself may not exist). */
bool jmap_sieve_id_parse(const char *id, int64_t *out);
/* The blob id of script id's content at version `updated`. */
void jmap_sieve_blob_id(int64_t id, int64_t updated, char *out);
/* A script blob of the account into out (appended): 1, 0 (not a script
 * blob id, no such script, or another version), or a negative errno. */
int jmap_sieve_blob_read(struct store_rd *rd, int64_t account_id, const char *blob_id,
                         struct buf *out);

/* ---- the account's scripts (sieve_script.c) ---- */

struct jmap_sieve_list {
	struct store_sieve_script *v;
	size_t n, cap;
};
/* All the account's scripts, by name. 0 or a negative errno; free with
 * jmap_sieve_list_free, always. */
int jmap_sieve_list_read(struct store_rd *rd, int64_t account_id, struct jmap_sieve_list *out);
void jmap_sieve_list_free(struct jmap_sieve_list *l);
/* The SieveScript state of that list into out (JMAP_SIEVE_STATE_MAX):
 * "<newest updated>-<count>-<highest id>-<hash of the ids>", which is
 * enough for SieveScript/changes to tell what was created or updated
 * since (sieve_script.c). */
void jmap_sieve_state_of(const struct jmap_sieve_list *l, char *out);
/* A SieveScript object for s (only the properties `want` names; NULL:
 * all). */
json_t *jmap_sieve_object(const struct store_sieve_script *s, const json_t *want);
/* The text of the blob blob_id into text, compiled to check it: NULL, or
 * the SetError (blobNotFound, tooLarge, invalidSieve, serverFail; naming
 * property, which may be NULL) with text freed. */
json_t *jmap_sieve_content(struct jmap_call *c, const char *blob_id, const char *property,
                           struct buf *text);

#endif
