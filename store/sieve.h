/* sieve: an account's Sieve scripts and vacation's memory (schema 19;
 * ids since schema 24).
 *
 * RFC 5804's model: an account has named scripts, at most one of them
 * active; the active one runs at every local delivery (deliver/sieve_*).
 * Each script also has an id of the store's, set when it is first put and
 * kept across renames and content changes, never reused (JMAP for Sieve,
 * RFC 9661 §2, names scripts by it; ManageSieve and the CLI by name).
 * The store keeps the text only: compiling (and refusing a script that does
 * not compile) is the caller's, before it stores. `updated` changes with
 * every put, rename and activation, strictly increasing per account, so a
 * caller may keep a compiled script keyed by (account, updated).
 *
 * Vacation (RFC 5230 §4.2): "respond once per sender per :days" is a
 * (handle, sender) pair and the time it was last answered.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_SIEVE_H
#define TERN_STORE_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_SIEVE_NAME_MAX 128           /* bytes of a script's name */
#define STORE_SIEVE_SCRIPT_MAX (64 * 1024) /* sieve_limits' max_script_bytes */

struct store_sieve_script {
	int64_t id; /* > 0, the store's: never changes, never reused */
	char name[STORE_SIEVE_NAME_MAX + 1];
	bool active;
	int64_t updated;
	size_t size;
};

/* Whether name is one a script may have: 1 to STORE_SIEVE_NAME_MAX bytes,
 * no control characters, no '/' (RFC 5804 §1.6 allows more; a name that
 * stays a name everywhere is kept simple). */
bool store_sieve_name_valid(const char *name);

/* Store (or replace) the script `name`; an active one stays active, a
 * replaced one keeps its id.
 * 0, or -EINVAL (bad name, empty or too big script), -ENOENT (no account). */
int store_sieve_put(struct store_tx *tx, int64_t account_id, const char *name, const char *script,
                    size_t len);
/* Make `name` the active script, the others inactive; name NULL: none is
 * active. 0, or -ENOENT (no such script). */
int store_sieve_activate(struct store_tx *tx, int64_t account_id, const char *name);
/* Delete a script: 0, -ENOENT, or -EBUSY when it is the active one (RFC
 * 5804 §2.10: deactivate it first). */
int store_sieve_delete(struct store_tx *tx, int64_t account_id, const char *name);
/* Rename a script; an active one stays active (RFC 5804 §2.11.1). 0, or
 * -EINVAL (a bad name), -ENOENT (no script `from`), -EEXIST (a script `to`
 * exists already, `from` itself included). */
int store_sieve_rename(struct store_tx *tx, int64_t account_id, const char *from, const char *to);

/* The same by id, for JMAP (an id of another account is -ENOENT):
 * replace the text of script `id` (0, -EINVAL, -ENOENT); rename it,
 * keeping its id, its text and whether it is active (0, -EINVAL,
 * -ENOENT, -EEXIST when another script of the account has the name;
 * its own name is 0 and changes nothing); make it the active one (0,
 * -ENOENT); delete it (0, -ENOENT, -EBUSY when active). Each change but
 * a rename to the same name gives the script a new `updated`. */
int store_sieve_replace_id(struct store_tx *tx, int64_t account_id, int64_t id, const char *script,
                           size_t len);
int store_sieve_rename_id(struct store_tx *tx, int64_t account_id, int64_t id, const char *to);
int store_sieve_activate_id(struct store_tx *tx, int64_t account_id, int64_t id);
int store_sieve_delete_id(struct store_tx *tx, int64_t account_id, int64_t id);
/* How many scripts the account has: >= 0, or negative. */
int64_t store_sieve_count(struct store_rd *rd, int64_t account_id);
/* The id of the account's script `name`: > 0, 0 (none), or negative. */
int64_t store_sieve_id_of(struct store_rd *rd, int64_t account_id, const char *name);
/* The account's scripts by name; cb returning < 0 stops with that value. */
int store_sieve_list(struct store_rd *rd, int64_t account_id,
                     int (*cb)(void *ud, const struct store_sieve_script *s), void *ud);
/* A script's text (malloc'd, NUL-terminated, *len its size; script NULL:
 * not read) and info:
 * 1, 0 (none), or negative. name NULL: the active script. */
int store_sieve_get(struct store_rd *rd, int64_t account_id, const char *name, char **script,
                    size_t *len, struct store_sieve_script *info);
/* Script `id` of the account, as store_sieve_get (script may be NULL:
 * the info only). 1, 0 (none, or another account's), or negative. */
int store_sieve_get_id(struct store_rd *rd, int64_t account_id, int64_t id, char **script,
                       size_t *len, struct store_sieve_script *info);
/* Only the active script's `updated` (cheap: no text): 1, 0 (none active),
 * or negative. For a cache that already holds the compiled script. */
int store_sieve_active_version(struct store_rd *rd, int64_t account_id, int64_t *updated);

/* Vacation: 1 when (handle, sender) was answered after `since`, 0 if not,
 * or negative. */
int store_sieve_vacation_seen(struct store_rd *rd, int64_t account_id, const char *handle,
                              const char *sender, int64_t since);
/* Remember that (handle, sender) was answered at `now`. 0 or negative. */
int store_sieve_vacation_note(struct store_tx *tx, int64_t account_id, const char *handle,
                              const char *sender, int64_t now);

#endif
