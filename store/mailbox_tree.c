/* mailbox_tree: the operations on an account's hierarchy of mailboxes —
 * create with missing parents, delete, rename with children (and INBOX's
 * special case), subscribe. See mailboxes.h.
 *
 * Hierarchy is in the names ('/' separated), not in a parent column, so a
 * rename of "a" is one UPDATE of "a" and every name under "a/", done with
 * substr() so LIKE wildcards in user-chosen names never matter. */
#include "store/mailboxes.h"
#include "store/entries.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* 1 if name exists, 0, negative. */
static int exists(struct store_tx *tx, int64_t account_id, const char *name, int64_t *id)
{
	int64_t x;
	return store_mailbox_find(&tx->rd, account_id, name, id ? id : &x);
}

/* Create every missing parent of name ("a/b/c": "a", "a/b"). */
static int create_parents(struct store_tx *tx, int64_t account_id, const char *name)
{
	size_t len = strlen(name);
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 1; i < len && rc == 0; i++) {
		if (name[i] != '/')
			continue;
		memcpy(buf, name, i);
		buf[i] = '\0';
		rc = exists(tx, account_id, buf, NULL);
		if (rc == 1)
			rc = 0;
		else if (rc == 0)
			rc = store_mailbox_create(tx, account_id, buf, "", NULL);
	}
	free(buf);
	return rc;
}

/* 1 if a mailbox of the account has one of the space-separated special
 * uses in uses (each mailbox's own list is space-separated too), 0, or
 * negative. */
static int special_use_taken(sqlite3 *db, int64_t account_id, const char *uses)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT 1 FROM mailboxes WHERE account_id = ?1 AND "
	                    "instr(' ' || special_use || ' ', ' ' || ?2 || ' ') > 0 LIMIT 1");
	if (rc < 0)
		return rc;
	for (const char *p = uses; *p && rc == 0;) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, account_id);
			sqlite3_bind_text(st, 2, p, (int)n, SQLITE_STATIC);
			rc = sqlite3_step(st);
			rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
		}
		p += n + (e != NULL);
	}
	sqlite3_finalize(st);
	return rc;
}

int store_mailbox_create_job(struct store_tx *tx, void *arg)
{
	struct store_mailbox_req *j = arg;
	int rc = exists(tx, j->account_id, j->name, NULL);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return -EEXIST;
	const char *use = j->special_use ? j->special_use : "";
	if (*use && (rc = special_use_taken(tx->rd.db, j->account_id, use)) != 0)
		return rc < 0 ? rc : -EADDRINUSE;
	if ((rc = create_parents(tx, j->account_id, j->name)) < 0)
		return rc;
	return store_mailbox_create(tx, j->account_id, j->name, use, &j->mailbox_id);
}

static int has_children(sqlite3 *db, int64_t account_id, const char *name)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT 1 FROM mailboxes WHERE account_id = ?1 AND "
	                    "substr(name, 1, ?3) = ?2 LIMIT 1");
	if (rc < 0)
		return rc;
	size_t len = strlen(name);
	char *prefix = malloc(len + 2);
	if (!prefix) {
		sqlite3_finalize(st);
		return -ENOMEM;
	}
	memcpy(prefix, name, len);
	prefix[len] = '/';
	prefix[len + 1] = '\0';
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)len + 1);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
	sqlite3_finalize(st);
	free(prefix);
	return rc;
}

struct uidvec {
	uint32_t *v;
	size_t n, cap;
};

static int collect_uid(void *ud, const struct store_entry *e)
{
	struct uidvec *u = ud;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		uint32_t *v = realloc(u->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n++] = e->uid;
	return 0;
}

int store_mailbox_delete_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_mailbox_req *j = arg;
	if (strcmp(j->name, "INBOX") == 0)
		return -EPERM;
	int64_t id;
	int rc = exists(tx, j->account_id, j->name, &id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((rc = has_children(db, j->account_id, j->name)) != 0)
		return rc < 0 ? rc : -ENOTEMPTY;
	if (j->refuse_if_messages) {
		int64_t any = store_scalar(
		    db, "SELECT EXISTS(SELECT 1 FROM mailbox_entries WHERE mailbox_id = ?1)", id);
		if (any != 0)
			return any < 0 ? (int)any : -EBUSY;
	}
	j->mailbox_id = id;
	/* expunge first: that drops the message references properly */
	struct uidvec u = {0};
	rc = store_entries_list(&tx->rd, id, collect_uid, &u);
	if (rc == 0 && u.n)
		rc = store_entries_expunge(tx, id, u.v, u.n);
	free(u.v);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st;
	if ((rc = store_prep(db, &st, "DELETE FROM mailboxes WHERE id = ?1")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

static int rename_inbox(struct store_tx *tx, struct store_mailbox_req *j, int64_t inbox)
{
	sqlite3 *db = tx->rd.db;
	int64_t nid;
	int rc = create_parents(tx, j->account_id, j->newname);
	if (rc == 0)
		rc = store_mailbox_create(tx, j->account_id, j->newname, "", &nid);
	if (rc < 0)
		return rc;
	j->mailbox_id = nid;
	struct uidvec u = {0};
	rc = store_entries_list(&tx->rd, inbox, collect_uid, &u);
	if (rc < 0) {
		free(u.v);
		return rc;
	}
	struct store_mailbox mb;
	if ((rc = store_mailbox_get(&tx->rd, inbox, &mb)) <= 0) {
		free(u.v);
		return rc < 0 ? rc : -ENOENT;
	}
	int64_t modseq = mb.highestmodseq + 1;
	sqlite3_stmt *st;
	const char *sql[] = {
	    /* the new mailbox continues INBOX's numbering: UIDs stay valid */
	    "UPDATE mailboxes SET uidnext = (SELECT uidnext FROM mailboxes WHERE id = ?1), "
	    "highestmodseq = ?3 WHERE id = ?2",
	    /* moved into a new mailbox: saved there now (RFC 8514 §3) */
	    "UPDATE mailbox_entries SET mailbox_id = ?2, "
	    "save_date = CAST(strftime('%s', 'now') AS INTEGER) WHERE mailbox_id = ?1",
	    "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, message_id, thread_id) "
	    "SELECT ?1, uid, ?3, message_id, coalesce(thread_id, message_id) "
	    "FROM mailbox_entries WHERE mailbox_id = ?2",
	    "UPDATE mailboxes SET highestmodseq = ?3 WHERE id = ?1",
	    /* RFC 5464 §4.1: INBOX keeps its annotations, the new mailbox
	     * gets a copy */
	    "INSERT INTO metadata(account_id, mailbox_id, name, value) "
	    "SELECT account_id, ?2, name, value FROM metadata WHERE mailbox_id = ?1",
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		if ((rc = store_prep(db, &st, sql[i])) < 0)
			break;
		sqlite3_bind_int64(st, 1, inbox);
		sqlite3_bind_int64(st, 2, nid);
		sqlite3_bind_int64(st, 3, modseq);
		rc = store_step_done(st);
		sqlite3_finalize(st);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		free(u.v);
		return rc;
	}
	j->uids = u.v;
	j->nuids = u.n;
	j->modseq = modseq;
	return 0;
}

int store_mailbox_rename_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_mailbox_req *j = arg;
	int64_t id;
	int rc = exists(tx, j->account_id, j->name, &id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((rc = exists(tx, j->account_id, j->newname, NULL)) != 0)
		return rc < 0 ? rc : -EEXIST;
	size_t ol = strlen(j->name);
	if (strncmp(j->newname, j->name, ol) == 0 && j->newname[ol] == '/')
		return -EINVAL;
	if (strcmp(j->name, "INBOX") == 0)
		return rename_inbox(tx, j, id);
	j->mailbox_id = id;
	if ((rc = create_parents(tx, j->account_id, j->newname)) < 0)
		return rc;
	/* the mailboxes, and the subscriptions with them (a subscription of
	 * a name under the new one that no mailbox had gives way) */
	static const char *const sql[] = {
	    "UPDATE mailboxes SET name = ?3 || substr(name, ?4) WHERE account_id = ?1 "
	    "AND (name = ?2 OR substr(name, 1, ?4) = ?2 || '/')",
	    "UPDATE OR REPLACE subscriptions SET name = ?3 || substr(name, ?4) "
	    "WHERE account_id = ?1 AND (name = ?2 OR substr(name, 1, ?4) = ?2 || '/')",
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0] && rc == 0; i++) {
		sqlite3_stmt *st;
		if ((rc = store_prep(db, &st, sql[i])) < 0)
			return rc;
		sqlite3_bind_int64(st, 1, j->account_id);
		sqlite3_bind_text(st, 2, j->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, j->newname, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)ol + 1);
		rc = store_step_done(st);
		sqlite3_finalize(st);
	}
	return rc;
}

int store_mailbox_subscribe_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_mailbox_req *j = arg;
	/* SUBSCRIBE checks that the mailbox exists (RFC 9051 §6.3.7 allows
	 * it); UNSUBSCRIBE takes a name off the list whether or not a mailbox
	 * has it, and fails only for a name that is neither */
	int rc = exists(tx, j->account_id, j->name, NULL);
	if (rc < 0 || (rc == 0 && j->subscribe))
		return rc < 0 ? rc : -ENOENT;
	bool mailbox = rc == 1;
	rc = store_subscription_set(db, j->account_id, j->name, j->subscribe);
	if (rc < 0)
		return rc;
	return rc == 0 && !mailbox ? -ENOENT : 0;
}
