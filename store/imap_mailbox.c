/* imap_mailbox: see imap_mailbox.h.
 *
 * Hierarchy is in the names ('/' separated), not in a parent column, so a
 * rename of "a" is one UPDATE of "a" and every name under "a/", done with
 * substr() so LIKE wildcards in user-chosen names never matter. */
#include "store/imap_mailbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/mail.h"
#include "store/store.h"
#include "store/store_int.h"

int imap_mbox_status(sqlite3 *db, int64_t mailbox_id, struct imap_mbox_status *out)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	int rc = store_prep(db, &st,
	                    "SELECT count(*), coalesce(sum((e.flags & 1) = 0), 0), "
	                    "coalesce(sum((e.flags & 8) != 0), 0), coalesce(sum(e.size), 0) "
	                    "FROM mailbox_entries e WHERE e.mailbox_id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->messages = (uint32_t)sqlite3_column_int64(st, 0);
		out->unseen = (uint32_t)sqlite3_column_int64(st, 1);
		out->deleted = (uint32_t)sqlite3_column_int64(st, 2);
		out->size = (uint64_t)sqlite3_column_int64(st, 3);
		rc = 0;
	} else {
		rc = store_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int64_t imap_mbox_recent_uid(sqlite3 *db, int64_t mailbox_id)
{
	return store_scalar(db, "SELECT recent_uid FROM mailboxes WHERE id = ?1", mailbox_id);
}

int64_t imap_mbox_count_above(sqlite3 *db, int64_t mailbox_id, uint32_t uid)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(
	    db, &st, "SELECT count(*) FROM mailbox_entries WHERE mailbox_id = ?1 AND uid > ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : store_errno(rc);
	store_release(st);
	return n;
}

int imap_mbox_recent_job(sqlite3 *db, void *job)
{
	struct imap_mbox_recent *q = job;
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "UPDATE mailboxes SET recent_uid = ?2 "
	                           "WHERE id = ?1 AND recent_uid < ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	sqlite3_bind_int64(st, 2, q->uid);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

int imap_mbox_entry(sqlite3 *db, int64_t mailbox_id, uint32_t uid, uint32_t *flags, int64_t *modseq,
                    char *kw, size_t kwcap)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT flags, modseq, keywords FROM mailbox_entries "
	                    "WHERE mailbox_id = ?1 AND uid = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*flags = (uint32_t)sqlite3_column_int64(st, 0);
		*modseq = sqlite3_column_int64(st, 1);
		const char *k = (const char *)sqlite3_column_text(st, 2);
		if (kwcap) {
			size_t n = k ? strlen(k) : 0;
			if (n >= kwcap)
				n = kwcap - 1;
			if (n)
				memcpy(kw, k, n);
			kw[n] = '\0';
		}
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int imap_mbox_expunged_since(sqlite3 *db, int64_t mailbox_id, int64_t modseq,
                             int (*cb)(void *ud, uint32_t uid), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 "
	                    "ORDER BY uid");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, modseq);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = cb(ud, (uint32_t)sqlite3_column_int64(st, 0))) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

/* 1 if name exists, 0, negative. */
static int exists(sqlite3 *db, int64_t account_id, const char *name, int64_t *id)
{
	int64_t x;
	return store_mailbox_find(db, account_id, name, id ? id : &x);
}

/* Create every missing parent of name ("a/b/c": "a", "a/b"). */
static int create_parents(sqlite3 *db, int64_t account_id, const char *name)
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
		rc = exists(db, account_id, buf, NULL);
		if (rc == 1)
			rc = 0;
		else if (rc == 0)
			rc = store_mailbox_create(db, account_id, buf, "", NULL);
	}
	free(buf);
	return rc;
}

int imap_mbox_create_job(sqlite3 *db, void *arg)
{
	struct imap_mbox_job *j = arg;
	int rc = exists(db, j->account_id, j->name, NULL);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return -EEXIST;
	if ((rc = create_parents(db, j->account_id, j->name)) < 0)
		return rc;
	return store_mailbox_create(db, j->account_id, j->name, "", &j->mailbox_id);
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

int imap_mbox_delete_job(sqlite3 *db, void *arg)
{
	struct imap_mbox_job *j = arg;
	if (strcmp(j->name, "INBOX") == 0)
		return -EPERM;
	int64_t id;
	int rc = exists(db, j->account_id, j->name, &id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((rc = has_children(db, j->account_id, j->name)) != 0)
		return rc < 0 ? rc : -ENOTEMPTY;
	j->mailbox_id = id;
	/* expunge first: that drops the message references properly */
	struct uidvec u = {0};
	rc = store_entries_list(db, id, collect_uid, &u);
	if (rc == 0 && u.n)
		rc = store_entries_expunge(db, id, u.v, u.n);
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

static int rename_inbox(sqlite3 *db, struct imap_mbox_job *j, int64_t inbox)
{
	int64_t nid;
	int rc = create_parents(db, j->account_id, j->newname);
	if (rc == 0)
		rc = store_mailbox_create(db, j->account_id, j->newname, "", &nid);
	if (rc < 0)
		return rc;
	j->mailbox_id = nid;
	struct uidvec u = {0};
	rc = store_entries_list(db, inbox, collect_uid, &u);
	if (rc < 0) {
		free(u.v);
		return rc;
	}
	struct store_mailbox mb;
	if ((rc = store_mailbox_get(db, inbox, &mb)) <= 0) {
		free(u.v);
		return rc < 0 ? rc : -ENOENT;
	}
	int64_t modseq = mb.highestmodseq + 1;
	sqlite3_stmt *st;
	const char *sql[] = {
	    /* the new mailbox continues INBOX's numbering: UIDs stay valid */
	    "UPDATE mailboxes SET uidnext = (SELECT uidnext FROM mailboxes WHERE id = ?1), "
	    "highestmodseq = ?3 WHERE id = ?2",
	    "UPDATE mailbox_entries SET mailbox_id = ?2 WHERE mailbox_id = ?1",
	    "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) "
	    "SELECT ?1, uid, ?3 FROM mailbox_entries WHERE mailbox_id = ?2",
	    "UPDATE mailboxes SET highestmodseq = ?3 WHERE id = ?1",
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

int imap_mbox_rename_job(sqlite3 *db, void *arg)
{
	struct imap_mbox_job *j = arg;
	int64_t id;
	int rc = exists(db, j->account_id, j->name, &id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((rc = exists(db, j->account_id, j->newname, NULL)) != 0)
		return rc < 0 ? rc : -EEXIST;
	size_t ol = strlen(j->name);
	if (strncmp(j->newname, j->name, ol) == 0 && j->newname[ol] == '/')
		return -EINVAL;
	if (strcmp(j->name, "INBOX") == 0)
		return rename_inbox(db, j, id);
	j->mailbox_id = id;
	if ((rc = create_parents(db, j->account_id, j->newname)) < 0)
		return rc;
	sqlite3_stmt *st;
	rc = store_prep(db, &st,
	                "UPDATE mailboxes SET name = ?3 || substr(name, ?4) WHERE account_id = ?1 "
	                "AND (name = ?2 OR substr(name, 1, ?4) = ?2 || '/')");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, j->account_id);
	sqlite3_bind_text(st, 2, j->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->newname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)ol + 1);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int imap_mbox_subscribe_job(sqlite3 *db, void *arg)
{
	struct imap_mbox_job *j = arg;
	int64_t id;
	int rc = exists(db, j->account_id, j->name, &id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	sqlite3_stmt *st;
	if ((rc = store_prep(db, &st, "UPDATE mailboxes SET subscribed = ?2 WHERE id = ?1")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, j->subscribe ? 1 : 0);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}
