/* accounts: domains, accounts, aliases, and recipient resolution.
 *
 * Case: every address column is COLLATE NOCASE, so lookups are
 * case-insensitive in both parts through the UNIQUE indexes, with no
 * lower-casing in C except for domains (stored lower-case so that
 * canonical addresses are stable).
 *
 * Resolution is a small loop over "hops" rather than recursion, so an alias
 * loop (a -> b -> a) or a long chain costs at most STORE_ALIAS_DEPTH
 * lookups and ends in -ELOOP. The catch-all applies to the address the
 * client gave, never to a hop: an alias to a nonexistent local user is a
 * configuration mistake that should bounce, not be swallowed by "@d" (and a
 * catch-all pointing at a missing user would otherwise loop on itself).
 */
#include "store/accounts.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/store_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define LOCAL_MAX 64
#define DOMAIN_MAX 253

static const struct {
	const char *name;
	const char *special_use;
} default_mailboxes[] = {
    {"INBOX", ""},        {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"},
    {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"},
};

static bool valid_domain(const char *d, size_t n)
{
	if (n == 0 || n > DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c <= 0x20 || c == 0x7f || c == '@' || c == '<' || c == '>' || c == ',' ||
		    c == '"' || c == '\\')
			return false;
	}
	return true;
}

static bool valid_local(const char *l, size_t n)
{
	if (n == 0 || n > LOCAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		if (c <= 0x20 || c == 0x7f || c == '@' || c == '<' || c == '>' || c == ',')
			return false;
	}
	return true;
}

/* Split "local@domain" at the last '@' into local and lower-cased domain.
 * An empty local part is allowed only with allow_empty_local (catch-all). */
static int split_addr(const char *addr, char *local, size_t llen, char *domain, size_t dlen,
                      bool allow_empty_local)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	if (!at)
		return -EINVAL;
	size_t ln = (size_t)(at - addr), dn = strlen(at + 1);
	if (!(ln == 0 && allow_empty_local) && !valid_local(addr, ln))
		return -EINVAL;
	if (!valid_domain(at + 1, dn) || ln >= llen || dn >= dlen)
		return -EINVAL;
	memcpy(local, addr, ln);
	local[ln] = '\0';
	for (size_t i = 0; i < dn; i++)
		domain[i] = (char)tolower((unsigned char)at[1 + i]);
	domain[dn] = '\0';
	return 0;
}

static void copy_str(char *dst, size_t n, const unsigned char *src)
{
	snprintf(dst, n, "%s", src ? (const char *)src : "");
}

/* Domain id: > 0 found, 0 not found, negative on error. */
static int64_t domain_id(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int rc = store_prep(db, &st, "SELECT id FROM domains WHERE name = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		id = store_errno(rc);
	sqlite3_finalize(st);
	return id;
}

/* Alias target for an exact source: 1 found (target copied), 0, negative. */
static int alias_target(sqlite3 *db, const char *source, char *target, size_t tlen)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT target FROM aliases WHERE source = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_str(target, tlen, sqlite3_column_text(st, 0));
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- domains ---- */

int store_domain_add(struct store_tx *tx, const char *name)
{
	sqlite3 *db = tx->rd.db;
	char d[DOMAIN_MAX + 1];
	size_t n = name ? strlen(name) : 0;
	if (!valid_domain(name ? name : "", n))
		return -EINVAL;
	for (size_t i = 0; i <= n; i++)
		d[i] = (char)tolower((unsigned char)name[i]);
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "INSERT INTO domains(name, created) VALUES(?1, ?2)");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, d, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, store_now());
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_domain_del(struct store_tx *tx, const char *name)
{
	sqlite3 *db = tx->rd.db;
	int64_t id = domain_id(db, name);
	if (id <= 0)
		return id == 0 ? -ENOENT : (int)id;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT count(*) FROM accounts WHERE domain_id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (n < 0)
		return store_errno(rc);
	if (n > 0)
		return -ENOTEMPTY;
	if ((rc = store_prep(db, &st, "DELETE FROM domains WHERE id = ?1")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_domain_exists(struct store_rd *rd, const char *name)
{
	sqlite3 *db = rd->db;
	int64_t id = domain_id(db, name);
	return id < 0 ? (int)id : id > 0;
}

int store_domain_list(struct store_rd *rd, int (*cb)(void *ud, const char *name), void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT name FROM domains ORDER BY name");
	if (rc < 0)
		return rc;
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = cb(ud, (const char *)sqlite3_column_text(st, 0))) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

/* ---- accounts ---- */

#define ACCOUNT_COLS                                                                               \
	"id, domain_id, address, password_hash, disabled, quota_bytes, created, scram_sha1, "      \
	"scram_sha256"

static void account_row(sqlite3_stmt *st, struct store_account *a)
{
	a->id = sqlite3_column_int64(st, 0);
	a->domain_id = sqlite3_column_int64(st, 1);
	copy_str(a->address, sizeof a->address, sqlite3_column_text(st, 2));
	copy_str(a->password_hash, sizeof a->password_hash, sqlite3_column_text(st, 3));
	a->disabled = sqlite3_column_int(st, 4);
	a->quota_bytes = sqlite3_column_int64(st, 5);
	a->created = sqlite3_column_int64(st, 6);
	copy_str(a->scram_sha1, sizeof a->scram_sha1, sqlite3_column_text(st, 7));
	copy_str(a->scram_sha256, sizeof a->scram_sha256, sqlite3_column_text(st, 8));
}

/* sql: a string literal (the statement cache keys on its address). */
static int account_query(sqlite3 *db, const char *sql, const char *address, int64_t id,
                         struct store_account *out)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, sql);
	if (rc < 0)
		return rc;
	if (address)
		sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (out)
			account_row(st, out);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}

int store_account_lookup(struct store_rd *rd, const char *address, struct store_account *out)
{
	sqlite3 *db = rd->db;
	return account_query(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE address = ?1",
	                     address ? address : "", 0, out);
}

int store_account_get(struct store_rd *rd, int64_t account_id, struct store_account *out)
{
	sqlite3 *db = rd->db;
	return account_query(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?1", NULL,
	                     account_id, out);
}

int store_account_add(struct store_tx *tx, const char *address, const char *password_hash,
                      int64_t *account_id)
{
	sqlite3 *db = tx->rd.db;
	char local[LOCAL_MAX + 1], domain[DOMAIN_MAX + 1], canon[STORE_ADDR_MAX];
	char tmp[STORE_ADDR_MAX];
	int rc = split_addr(address, local, sizeof local, domain, sizeof domain, false);
	if (rc < 0)
		return rc;
	if (!password_hash)
		password_hash = "";
	if (strlen(password_hash) >= STORE_HASH_MAX)
		return -ENAMETOOLONG;
	int64_t did = domain_id(db, domain);
	if (did <= 0)
		return did == 0 ? -ENOENT : (int)did;
	snprintf(canon, sizeof canon, "%s@%s", local, domain);
	if ((rc = alias_target(db, canon, tmp, sizeof tmp)) != 0)
		return rc > 0 ? -EEXIST : rc;

	sqlite3_stmt *st;
	if ((rc = store_prep(db, &st,
	                     "INSERT INTO accounts(domain_id, localpart, address, password_hash, "
	                     "created) VALUES(?1, ?2, ?3, ?4, ?5)")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, did);
	sqlite3_bind_text(st, 2, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, canon, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now());
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc; /* -EEXIST from the UNIQUE index */
	int64_t id = sqlite3_last_insert_rowid(db);
	for (size_t i = 0; i < sizeof default_mailboxes / sizeof default_mailboxes[0]; i++) {
		rc = store_mailbox_create(tx, id, default_mailboxes[i].name,
		                          default_mailboxes[i].special_use, NULL);
		if (rc < 0)
			return rc;
	}
	if (account_id)
		*account_id = id;
	return 0;
}

static int account_update(sqlite3 *db, const char *sql, const char *address, const char *text,
                          int64_t num)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, sql);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, address ? address : "", -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, num);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	return sqlite3_changes(db) > 0 ? 0 : -ENOENT;
}

int store_account_set_password(struct store_tx *tx, const char *address, const char *hash)
{
	sqlite3 *db = tx->rd.db;
	if (!hash || strlen(hash) >= STORE_HASH_MAX)
		return hash ? -ENAMETOOLONG : -EINVAL;
	/* The SCRAM keys were made from the old password: they go with it. */
	return account_update(db,
	                      "UPDATE accounts SET password_hash = ?2, scram_sha1 = '', "
	                      "scram_sha256 = '' WHERE address = ?1",
	                      address, hash, 0);
}

int store_account_set_scram(struct store_tx *tx, const char *address, const char *if_hash,
                            const char *sha1, const char *sha256)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	if (!sha1 || !sha256 || strlen(sha1) >= STORE_SCRAM_MAX ||
	    strlen(sha256) >= STORE_SCRAM_MAX)
		return -EINVAL;
	int rc = store_prep(db, &st,
	                    "UPDATE accounts SET scram_sha1 = ?2, scram_sha256 = ?3 "
	                    "WHERE address = ?1 AND (?4 IS NULL OR password_hash = ?4)");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha256, -1, SQLITE_STATIC);
	if (if_hash)
		sqlite3_bind_text(st, 4, if_hash, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	return sqlite3_changes(db) > 0 ? 0 : -ENOENT;
}

int store_account_set_quota(struct store_tx *tx, const char *address, int64_t quota_bytes)
{
	if (quota_bytes < 0)
		return -EINVAL;
	return account_update(tx->rd.db, "UPDATE accounts SET quota_bytes = ?2 WHERE address = ?1",
	                      address, NULL, quota_bytes);
}

int store_account_set_disabled(struct store_tx *tx, const char *address, int disabled)
{
	sqlite3 *db = tx->rd.db;
	return account_update(db, "UPDATE accounts SET disabled = ?2 WHERE address = ?1", address,
	                      NULL, disabled ? 1 : 0);
}

int store_account_del(struct store_tx *tx, const char *address)
{
	sqlite3 *db = tx->rd.db;
	struct store_account a;
	int rc = store_account_lookup(&tx->rd, address, &a);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	static const char *const steps[] = {
	    /* Each entry of the account held one reference. */
	    "UPDATE messages SET refcount = refcount - "
	    "(SELECT count(*) FROM mailbox_entries e JOIN mailboxes m ON m.id = e.mailbox_id "
	    " WHERE m.account_id = ?1 AND e.message_id = messages.id) "
	    "WHERE id IN (SELECT e.message_id FROM mailbox_entries e "
	    "JOIN mailboxes m ON m.id = e.mailbox_id WHERE m.account_id = ?1)",
	    ("DELETE FROM mailbox_entries WHERE mailbox_id IN "
	     "(SELECT id FROM mailboxes WHERE account_id = ?1)"),
	    "DELETE FROM mailboxes WHERE account_id = ?1", /* cascades to expunged */
	    "DELETE FROM messages WHERE refcount <= 0",
	    "DELETE FROM aliases WHERE target = ?2",
	    "DELETE FROM accounts WHERE id = ?1",
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		sqlite3_stmt *st;
		if ((rc = store_prep(db, &st, steps[i])) < 0)
			return rc;
		if (sqlite3_bind_parameter_count(st) >= 1)
			sqlite3_bind_int64(st, 1, a.id);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_text(st, 2, a.address, -1, SQLITE_STATIC);
		rc = store_step_done(st);
		sqlite3_finalize(st);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int store_account_list(struct store_rd *rd, int (*cb)(void *ud, const struct store_account *a),
                       void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY address");
	if (rc < 0)
		return rc;
	int ret = 0;
	struct store_account a;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		account_row(st, &a);
		if ((ret = cb(ud, &a)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int store_account_count(struct store_rd *rd)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT count(*) FROM accounts");
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	int n = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : store_errno(rc);
	sqlite3_finalize(st);
	return n;
}

/* ---- aliases ---- */

int store_alias_add(struct store_tx *tx, const char *source, const char *target)
{
	sqlite3 *db = tx->rd.db;
	char local[LOCAL_MAX + 1], domain[DOMAIN_MAX + 1], canon[STORE_ADDR_MAX];
	char tl[LOCAL_MAX + 1], td[DOMAIN_MAX + 1], ttarget[STORE_ADDR_MAX];
	int rc = split_addr(source, local, sizeof local, domain, sizeof domain, true);
	if (rc < 0)
		return rc;
	if ((rc = split_addr(target, tl, sizeof tl, td, sizeof td, false)) < 0)
		return rc;
	int64_t did = domain_id(db, domain);
	if (did <= 0)
		return did == 0 ? -ENOENT : (int)did;
	snprintf(canon, sizeof canon, "%s@%s", local, domain);
	snprintf(ttarget, sizeof ttarget, "%s@%s", tl, td);
	if (local[0] && (rc = store_account_lookup(&tx->rd, canon, NULL)) != 0)
		return rc > 0 ? -EEXIST : rc;

	sqlite3_stmt *st;
	if ((rc = store_prep(db, &st,
	                     "INSERT INTO aliases(source, domain_id, target, created) "
	                     "VALUES(?1, ?2, ?3, ?4)")) < 0)
		return rc;
	sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, did);
	sqlite3_bind_text(st, 3, ttarget, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, store_now());
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_alias_del(struct store_tx *tx, const char *source)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "DELETE FROM aliases WHERE source = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, source ? source : "", -1, SQLITE_STATIC);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	return sqlite3_changes(db) > 0 ? 0 : -ENOENT;
}

int store_alias_list(struct store_rd *rd,
                     int (*cb)(void *ud, const char *source, const char *target), void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT source, target FROM aliases ORDER BY source");
	if (rc < 0)
		return rc;
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = cb(ud, (const char *)sqlite3_column_text(st, 0),
		              (const char *)sqlite3_column_text(st, 1))) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

/* ---- resolution ---- */

/* Mailbox of account named tag (case-insensitive, an exact spelling wins),
 * else INBOX. */
static int tag_mailbox(struct store_rd *rd, int64_t account_id, const char *tag,
                       int64_t *mailbox_id)
{
	sqlite3 *db = rd->db;
	if (tag && *tag) {
		sqlite3_stmt *st;
		int rc = store_prep(db, &st,
		                    "SELECT id FROM mailboxes WHERE account_id = ?1 AND "
		                    "name = ?2 COLLATE NOCASE ORDER BY name = ?2 DESC, id LIMIT 1");
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, account_id);
		sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*mailbox_id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (rc == SQLITE_ROW)
			return 0;
		if (rc != SQLITE_DONE)
			return store_errno(rc);
	}
	int rc = store_mailbox_find(rd, account_id, "INBOX", mailbox_id);
	return rc < 0 ? rc : rc == 0 ? -EIO : 0; /* every account has an INBOX */
}

static int local_hit(struct store_rd *rd, const struct store_account *a, const char *tag,
                     struct store_rcpt *out)
{
	out->account_id = a->id;
	snprintf(out->address, sizeof out->address, "%s", a->address);
	int rc = tag_mailbox(rd, a->id, tag, &out->mailbox_id);
	return rc < 0 ? rc : STORE_RCPT_LOCAL;
}

/* One hop: STORE_RCPT_LOCAL (out filled), 3 = follow alias (next filled),
 * 0 = nothing, negative = error. */
#define HOP_FOLLOW 3
static int resolve_hop(struct store_rd *rd, const char *local, const char *domain, bool first,
                       struct store_rcpt *out, char *next, size_t nlen)
{
	char addr[STORE_ADDR_MAX * 2];
	struct store_account a;
	int rc;

	snprintf(addr, sizeof addr, "%s@%s", local, domain);
	if ((rc = store_account_lookup(rd, addr, &a)) != 0)
		return rc < 0 ? rc : local_hit(rd, &a, NULL, out);
	if ((rc = alias_target(rd->db, addr, next, nlen)) != 0)
		return rc < 0 ? rc : HOP_FOLLOW;

	const char *plus = strchr(local, '+');
	if (plus && plus != local) {
		snprintf(addr, sizeof addr, "%.*s@%s", (int)(plus - local), local, domain);
		if ((rc = store_account_lookup(rd, addr, &a)) != 0)
			return rc < 0 ? rc : local_hit(rd, &a, plus + 1, out);
		if ((rc = alias_target(rd->db, addr, next, nlen)) != 0)
			return rc < 0 ? rc : HOP_FOLLOW;
	}
	if (first) {
		snprintf(addr, sizeof addr, "@%s", domain);
		if ((rc = alias_target(rd->db, addr, next, nlen)) != 0)
			return rc < 0 ? rc : HOP_FOLLOW;
	}
	return 0;
}

int store_resolve_rcpt(struct store_rd *rd, const char *address, struct store_rcpt *out)
{
	char local[LOCAL_MAX + 1], domain[DOMAIN_MAX + 1], next[STORE_ADDR_MAX];
	int rc = split_addr(address, local, sizeof local, domain, sizeof domain, false);
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof *out);
	if ((rc = store_domain_exists(rd, domain)) <= 0)
		return rc == 0 ? -ENOENT : rc;
	for (int hop = 0;; hop++) {
		rc = resolve_hop(rd, local, domain, hop == 0, out, next, sizeof next);
		if (rc != HOP_FOLLOW)
			return rc;
		if (hop + 1 > STORE_ALIAS_DEPTH)
			return -ELOOP;
		if ((rc = split_addr(next, local, sizeof local, domain, sizeof domain, false)) < 0)
			return -EIO; /* validated when the alias was added */
		if ((rc = store_domain_exists(rd, domain)) < 0)
			return rc;
		if (rc == 0) {
			out->account_id = 0;
			out->mailbox_id = 0;
			snprintf(out->address, sizeof out->address, "%s", next);
			return STORE_RCPT_REMOTE;
		}
	}
}

int store_address_owned_by(struct store_rd *rd, int64_t account_id, const char *address)
{
	sqlite3 *db = rd->db;
	char cur[STORE_ADDR_MAX], next[STORE_ADDR_MAX];
	struct store_account a;
	if (!address || !*address || address[0] == '@')
		return 0;
	snprintf(cur, sizeof cur, "%s", address);
	for (int hop = 0; hop <= STORE_ALIAS_DEPTH; hop++) {
		int rc = store_account_lookup(rd, cur, &a);
		if (rc != 0)
			return rc < 0 ? rc : a.id == account_id;
		rc = alias_target(db, cur, next, sizeof next);
		if (rc <= 0)
			return rc;
		memcpy(cur, next, sizeof cur);
	}
	return 0;
}

int store_owner_id(sqlite3 *db, const char *account, const char *domain, int64_t *id)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    account ? "SELECT id FROM accounts WHERE address = ?1"
	                            : "SELECT id FROM domains WHERE name = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, account ? account : domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	return 0;
}
