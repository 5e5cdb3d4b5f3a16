/* accounts: domains, accounts, aliases and recipient resolution.
 *
 * Readers take a view (the loop's, or a transaction's through
 * store_tx_reader()); writers a transaction: a job's or store_exec()'s
 * (the CLI).
 *
 * Addresses are compared case-insensitively in both parts (ASCII), like
 * Dovecot's and Postfix's defaults: "Bob@Example.ORG" and "bob@example.org"
 * are the same mailbox. Domains are stored lower-cased; the local part of an
 * account keeps the spelling it was created with (the canonical address).
 *
 * List callbacks return 0 to continue; any other value stops the walk and is
 * returned by the list function.
 */
#ifndef TERN_STORE_ACCOUNTS_H
#define TERN_STORE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_ADDR_MAX 320 /* 64 local + '@' + 255 domain, NUL included with room */
#define STORE_HASH_MAX 256
#define STORE_SCRAM_MAX 160 /* auth/scram_keys.h's SCRAM_KEYS_TEXT_MAX */

/* Domains. Names are validated (non-empty, <= 253 bytes, no '@' or spaces)
 * and lower-cased. */
int store_domain_add(struct store_tx *tx, const char *name); /* 0, -EEXIST, -EINVAL */
int store_domain_del(struct store_tx *tx, const char *name); /* 0, -ENOENT, -ENOTEMPTY (accounts);
                                                              * the domain's aliases go with it */
int store_domain_exists(struct store_rd *rd, const char *name); /* 1, 0, or negative */
int store_domain_list(struct store_rd *rd, int (*cb)(void *ud, const char *name), void *ud);

struct store_account {
	int64_t id;
	int64_t domain_id;
	char address[STORE_ADDR_MAX];
	char password_hash[STORE_HASH_MAX];
	int disabled;
	int64_t quota_bytes; /* 0 = unlimited */
	int64_t created;     /* unix seconds */
	/* SCRAM keys, "iterations,salt,StoredKey,ServerKey" (auth/scram_keys.h),
	 * or "" until made. */
	char scram_sha1[STORE_SCRAM_MAX];
	char scram_sha256[STORE_SCRAM_MAX];
};

/* Creates the account and its six mailboxes (INBOX, Sent, Drafts, Trash,
 * Junk, Archive with their special-use, all subscribed). The domain must
 * exist (-ENOENT). -EEXIST if an account or an alias with that address
 * exists; -EINVAL for a malformed address; -ENAMETOOLONG for a hash that does
 * not fit struct store_account. account_id may be NULL. */
int store_account_add(struct store_tx *tx, const char *address, const char *password_hash,
                      int64_t *account_id);
/* Also empties the SCRAM keys: set them again with the new password's. */
int store_account_set_password(struct store_tx *tx, const char *address,
                               const char *hash); /* -ENOENT */
/* Set the SCRAM keys (texts < STORE_SCRAM_MAX, else -EINVAL). if_hash:
 * only while the password hash is still this one (NULL: whatever it is).
 * -ENOENT when no row matched. */
int store_account_set_scram(struct store_tx *tx, const char *address, const char *if_hash,
                            const char *sha1, const char *sha256);
/* 0 = unlimited; -EINVAL below 0, -ENOENT for no such account. */
int store_account_set_quota(struct store_tx *tx, const char *address, int64_t quota_bytes);
int store_account_set_disabled(struct store_tx *tx, const char *address,
                               int disabled); /* -ENOENT */
/* Removes the account, its mailboxes and entries, drops the message
 * reference counts (deleting messages nobody references any more) and
 * removes the aliases whose target is this address. -ENOENT if none. */
int store_account_del(struct store_tx *tx, const char *address);
int store_account_list(struct store_rd *rd, int (*cb)(void *ud, const struct store_account *a),
                       void *ud);
int store_account_count(struct store_rd *rd); /* count or negative */
/* 1 found (out filled), 0 not found, negative on error. */
int store_account_lookup(struct store_rd *rd, const char *address, struct store_account *out);
/* Same, by id. */
int store_account_get(struct store_rd *rd, int64_t account_id, struct store_account *out);

/* Aliases. source is "x@d" or "@d" (catch-all for domain d, which must be
 * local: -ENOENT otherwise). target is any address, local or remote (a remote
 * target forwards). -EEXIST if the source exists as alias or account. */
int store_alias_add(struct store_tx *tx, const char *source, const char *target);
int store_alias_del(struct store_tx *tx, const char *source); /* 0, -ENOENT */
int store_alias_list(struct store_rd *rd,
                     int (*cb)(void *ud, const char *source, const char *target), void *ud);

/* Maximum number of alias hops store_resolve_rcpt() follows. */
#define STORE_ALIAS_DEPTH 8

struct store_rcpt {
	int64_t account_id;           /* 0 when the result is a remote forward */
	int64_t mailbox_id;           /* INBOX, or the +tag folder */
	char address[STORE_ADDR_MAX]; /* canonical account address, or forward target */
};

#define STORE_RCPT_LOCAL 1  /* delivered to account_id/mailbox_id */
#define STORE_RCPT_REMOTE 2 /* an alias forwards to a non-local address */

/* Resolve an envelope recipient. Order at each hop: exact account; exact
 * alias (followed, up to STORE_ALIAS_DEPTH hops); "user+tag@d" -> account
 * "user@d" with mailbox "tag" if the account has one (case-insensitive),
 * else INBOX (or alias "user@d"); finally, for the original address only,
 * the catch-all "@d".
 * Returns STORE_RCPT_LOCAL (1), STORE_RCPT_REMOTE (2; out->address is the
 * forward target), 0 when the domain is local but there is no such user,
 * -ENOENT when the domain is not local (relay decision), -ELOOP when an
 * alias chain is longer than STORE_ALIAS_DEPTH, -EINVAL for a malformed
 * address, other negatives on error. A disabled account still resolves
 * (out has no disabled flag; check with store_account_get if needed). */
int store_resolve_rcpt(struct store_rd *rd, const char *address, struct store_rcpt *out);

/* store_resolve_rcpt() on the store's reader connection, through the loop's
 * cache of results (store/rcpt_cache.c): a change to the directory shows
 * within a second, and at once after store_rcpt_cache_check(). Loop thread
 * only. */
struct store;
int store_resolve_rcpt_cached(struct store *s, const char *address, struct store_rcpt *out);
/* A transaction starts: look for directory changes now. Loop thread only. */
void store_rcpt_cache_check(struct store *s);

/* 1 if address is account_id's own address, or an alias (not a catch-all)
 * whose chain resolves to that account; 0 otherwise; negative on error.
 * Used by submission: the envelope/From sender must belong to the user. */
int store_address_owned_by(struct store_rd *rd, int64_t account_id, const char *address);

#endif
