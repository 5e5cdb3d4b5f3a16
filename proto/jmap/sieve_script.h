/* sieve_script: what the SieveScript methods (RFC 9661) share: the ids of
 * a script and of its content, the SieveScript state and the list of an
 * account's scripts.
 *
 * The store keys a script by (account, name) and has no other id
 * (store/sieve.h, schema 19, WITHOUT ROWID), so a script's JMAP id is its
 * name: "S" + the name in unpadded base64url (RFC 4648 §5), one id per
 * name. A consequence: a name cannot change under an id, so
 * SieveScript/set refuses an update of "name" (create the script anew
 * under the new name, then destroy the old one).
 *
 * A script's content is a blob "Z" + base64url(name) + "." + its
 * `updated` (store/sieve.h): a new one each time the text changes, so a
 * blob id still names the same bytes, as RFC 8620 §6 wants; a blob id of
 * an older version is not found. It cannot be mistaken for a message
 * ("B...") or an upload ("U...") and is looked up in the caller's account
 * only (blob_read.c). */
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

/* The id of the script `name` into out (JMAP_SIEVE_ID_MAX). */
void jmap_sieve_id(const char *name, char *out);
/* The name an id stands for: false when id is not a script id. */
bool jmap_sieve_id_name(const char *id, char name[STORE_SIEVE_NAME_MAX + 1]);
/* The blob id of a script's content at version `updated`. */
void jmap_sieve_blob_id(const char *name, int64_t updated, char *out);
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
 * "<newest updated>-<count>-<hash of the names>", which is enough for
 * SieveScript/changes to tell what was created or updated since. */
void jmap_sieve_state_of(const struct jmap_sieve_list *l, char *out);
/* A SieveScript object for s (only the properties `want` names; NULL:
 * all). */
json_t *jmap_sieve_object(const struct store_sieve_script *s, const json_t *want);

#endif
