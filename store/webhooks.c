/* webhooks: the webhooks and their pending events (see webhooks.h). Only
 * SQL here: what an event says is built by relay/webhook_event.c, and
 * when to try again is the runner's choice (relay/webhook_runner.c). */
#include "store/webhooks.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HOOK_COLS                                                                                  \
	"w.id, w.account_id, w.domain_id, coalesce(a.address, d.name, ''), w.url, w.secret, "      \
	"w.events, w.created"
#define HOOK_FROM                                                                                  \
	" FROM webhooks w LEFT JOIN accounts a ON a.id = w.account_id"                             \
	" LEFT JOIN domains d ON d.id = w.domain_id"

static void text_col(sqlite3_stmt *st, int col, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(out, len, "%s", t ? (const char *)t : "");
}

static void hook_row(sqlite3_stmt *st, struct store_webhook *w)
{
	memset(w, 0, sizeof *w);
	w->id = sqlite3_column_int64(st, 0);
	w->account_id = sqlite3_column_int64(st, 1);
	w->domain_id = sqlite3_column_int64(st, 2);
	text_col(st, 3, w->owner, sizeof w->owner);
	text_col(st, 4, w->url, sizeof w->url);
	text_col(st, 5, w->secret, sizeof w->secret);
	text_col(st, 6, w->events, sizeof w->events);
	w->created = sqlite3_column_int64(st, 7);
}

int store_webhook_add(struct store_tx *tx, const char *account, const char *domain, const char *url,
                      const char *secret, const char *events, int64_t *id)
{
	if ((account == NULL) == (domain == NULL) || !url || !secret || !events ||
	    strlen(url) >= STORE_WEBHOOK_URL_MAX || strlen(secret) >= STORE_WEBHOOK_SECRET_MAX ||
	    strlen(events) >= STORE_WEBHOOK_EVENTS_MAX)
		return -EINVAL;
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int64_t owner;
	int rc = store_owner_id(db, account, domain, &owner);
	if (rc < 0)
		return rc;
	rc = store_prep(db, &st,
	                account ? "INSERT INTO webhooks(account_id, url, secret, events, created) "
	                          "VALUES(?1, ?2, ?3, ?4, ?5)"
	                        : "INSERT INTO webhooks(domain_id, url, secret, events, created) "
	                          "VALUES(?1, ?2, ?3, ?4, ?5)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, owner);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, secret, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, events, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now());
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(db);
	if (tx->rd.s)
		tx->rd.s->incoming_hooks_known = false; /* any_incoming() asks again */
	return rc;
}

/* Run sql bound to (?1 = a, ?2 = b, ?3 = c, ?4 = text): 0 if it changed a
 * row, -ENOENT if none, or negative. */
static int change_one(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c,
                      const char *text)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, sql);
	if (rc < 0)
		return rc;
	int n = sqlite3_bind_parameter_count(st);
	sqlite3_bind_int64(st, 1, a);
	if (n >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (n >= 3)
		sqlite3_bind_int64(st, 3, c);
	if (n >= 4)
		sqlite3_bind_text(st, 4, text ? text : "", -1, SQLITE_STATIC);
	rc = store_step_done(st);
	store_release(st);
	if (rc == 0 && sqlite3_changes(db) == 0)
		rc = -ENOENT;
	return rc;
}

int store_webhook_del(struct store_tx *tx, int64_t id)
{
	return change_one(tx->rd.db, "DELETE FROM webhooks WHERE id = ?1", id, 0, 0, NULL);
}

/* Step st (prepared and bound) and hand each webhook to cb; releases st. */
static int hooks_rows(sqlite3_stmt *st, int (*cb)(void *ud, const struct store_webhook *w),
                      void *ud)
{
	int rc, ret = 0;
	struct store_webhook w;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hook_row(st, &w);
		if ((ret = cb(ud, &w)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret;
}

static int hooks_query(struct store_rd *rd, const char *sql, const char *a, const char *b,
                       int (*cb)(void *ud, const struct store_webhook *w), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st, sql);
	if (rc < 0)
		return rc;
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	return hooks_rows(st, cb, ud);
}

int store_webhook_list(struct store_rd *rd, int (*cb)(void *ud, const struct store_webhook *w),
                       void *ud)
{
	return hooks_query(rd, "SELECT " HOOK_COLS HOOK_FROM " ORDER BY w.id", NULL, NULL, cb, ud);
}

int store_webhooks_of_sender(struct store_rd *rd, const char *sender,
                             int (*cb)(void *ud, const struct store_webhook *w), void *ud)
{
	const char *at = sender ? strrchr(sender, '@') : NULL;
	if (!at || at == sender || !at[1])
		return 0; /* the null sender (a DSN) or no domain: nobody to tell */
	return hooks_query(rd,
	                   "SELECT " HOOK_COLS HOOK_FROM
	                   " WHERE w.account_id = (SELECT id FROM accounts WHERE address = ?1)"
	                   " OR w.domain_id = (SELECT id FROM domains WHERE name = ?2)"
	                   " ORDER BY w.id",
	                   sender, at + 1, cb, ud);
}

/* The event names of a webhook are a comma-separated list without
 * spaces (admin_webhook_events_valid), so this finds "incoming" as a whole
 * name. */
#define WANTS_INCOMING "instr(',' || w.events || ',', ',incoming,') > 0"

/* Does any webhook want "incoming"? Kept in the store (store_int.h) and
 * read again only when it may have changed: after an add by this process,
 * or when PRAGMA data_version says another connection committed (`tern
 * webhook add` is another process, and so is a row written by hand). 1, 0,
 * or negative. */
static int any_incoming(struct store_tx *tx)
{
	struct store *s = tx->rd.s;
	sqlite3 *db = tx->rd.db;
	int64_t dv = store_scalar(db, "PRAGMA data_version", 0);
	if (dv < 0)
		return (int)dv;
	if (s && s->incoming_hooks_known && s->incoming_hooks_dv == dv)
		return s->incoming_hooks_any;
	int64_t any =
	    store_scalar(db, "SELECT EXISTS(SELECT 1 FROM webhooks w WHERE " WANTS_INCOMING ")", 0);
	if (any < 0)
		return (int)any;
	if (s) {
		s->incoming_hooks_known = true;
		s->incoming_hooks_any = any != 0;
		s->incoming_hooks_dv = dv;
	}
	return any != 0;
}

int store_webhooks_incoming(struct store_tx *tx, int64_t account_id,
                            int (*cb)(void *ud, const struct store_webhook *w), void *ud)
{
	int rc = any_incoming(tx);
	if (rc <= 0)
		return rc;
	/* Both halves use an index (webhooks_account, webhooks_domain). */
	sqlite3_stmt *st;
	rc = store_prep_cached(tx->rd.db, &st,
	                       "SELECT " HOOK_COLS HOOK_FROM " WHERE (w.account_id = ?1"
	                       " OR w.domain_id = (SELECT domain_id FROM accounts WHERE id = ?1))"
	                       " AND " WANTS_INCOMING " ORDER BY w.id");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	return hooks_rows(st, cb, ud);
}

int store_webhook_mailbox_names(struct store_rd *rd, int64_t mailbox_id, char *address,
                                size_t address_len, char *mailbox, size_t mailbox_len)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT a.address, m.name FROM mailboxes m"
	                           " JOIN accounts a ON a.id = m.account_id WHERE m.id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		text_col(st, 0, address, address_len);
		text_col(st, 1, mailbox, mailbox_len);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}

int store_webhook_event_add(struct store_tx *tx, int64_t webhook_id, const char *json, int64_t now)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(tx->rd.db, &st,
	                           "INSERT INTO webhook_events(webhook_id, event, created, "
	                           "next_attempt) VALUES(?1, ?2, ?3, ?3)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, webhook_id);
	sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

#define EVENT_COLS                                                                                 \
	"e.id, e.webhook_id, e.event, w.url, w.secret, coalesce(e.last_error, ''), e.created, "    \
	"e.attempts, e.next_attempt, coalesce(e.delivered_at, 0), coalesce(e.failed_at, 0)"
#define EVENT_FROM " FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id"

static int events_query(struct store_rd *rd, const char *sql, int64_t now, int limit,
                        int (*cb)(void *ud, const struct store_webhook_event *e), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st, sql);
	if (rc < 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) >= 2) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, limit);
	}
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_webhook_event e = {
		    .id = sqlite3_column_int64(st, 0),
		    .webhook_id = sqlite3_column_int64(st, 1),
		    .json = (const char *)sqlite3_column_text(st, 2),
		    .url = (const char *)sqlite3_column_text(st, 3),
		    .secret = (const char *)sqlite3_column_text(st, 4),
		    .last_error = (const char *)sqlite3_column_text(st, 5),
		    .created = sqlite3_column_int64(st, 6),
		    .attempts = sqlite3_column_int64(st, 7),
		    .next_attempt = sqlite3_column_int64(st, 8),
		    .delivered_at = sqlite3_column_int64(st, 9),
		    .failed_at = sqlite3_column_int64(st, 10),
		};
		if (!e.json || !e.url || !e.secret || !e.last_error)
			continue; /* NOT NULL columns: only out of memory */
		if ((ret = cb(ud, &e)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret;
}

int store_webhook_due(struct store_rd *rd, int64_t now, int limit,
                      int (*cb)(void *ud, const struct store_webhook_event *e), void *ud)
{
	return events_query(rd,
	                    "SELECT " EVENT_COLS EVENT_FROM
	                    " WHERE e.delivered_at IS NULL AND e.failed_at IS NULL"
	                    " AND e.next_attempt <= ?1 ORDER BY e.next_attempt, e.id LIMIT ?2",
	                    now, limit, cb, ud);
}

int store_webhook_undelivered(struct store_rd *rd,
                              int (*cb)(void *ud, const struct store_webhook_event *e), void *ud)
{
	return events_query(
	    rd, "SELECT " EVENT_COLS EVENT_FROM " WHERE e.delivered_at IS NULL ORDER BY e.id", 0, 0,
	    cb, ud);
}

int store_webhook_event_delivered(struct store_tx *tx, int64_t id, int64_t now)
{
	int rc = change_one(tx->rd.db,
	                    "UPDATE webhook_events SET delivered_at = ?2, attempts = attempts + 1"
	                    " WHERE id = ?1 AND delivered_at IS NULL",
	                    id, now, 0, NULL);
	if (rc < 0)
		return rc;
	int r = change_one(tx->rd.db, "DELETE FROM webhook_events WHERE delivered_at < ?1 - ?2",
	                   now, 7 * 86400, 0, NULL);
	return r == -ENOENT ? 0 : r;
}

int store_webhook_event_retry(struct store_tx *tx, int64_t id, int64_t now, int64_t next,
                              const char *error)
{
	if (next > 0)
		return change_one(tx->rd.db,
		                  "UPDATE webhook_events SET attempts = attempts + 1,"
		                  " next_attempt = ?2, last_error = substr(?4, 1, 256)"
		                  " WHERE id = ?1 AND delivered_at IS NULL",
		                  id, next, 0, error);
	return change_one(tx->rd.db,
	                  "UPDATE webhook_events SET attempts = attempts + 1, failed_at = ?2,"
	                  " last_error = substr(?4, 1, 256)"
	                  " WHERE id = ?1 AND delivered_at IS NULL",
	                  id, now, 0, error);
}

int store_webhook_event_requeue(struct store_tx *tx, int64_t id, int64_t now)
{
	return change_one(tx->rd.db,
	                  "UPDATE webhook_events SET failed_at = NULL, next_attempt = ?2"
	                  " WHERE id = ?1 AND delivered_at IS NULL",
	                  id, now, 0, NULL);
}
