/* test_store: the SQLite store, the writer thread and the notify registry.
 *
 * Each test opens a fresh database in its own temp directory. The group
 * commit tests run a real uv loop with the real writer thread, and check
 * from every completion, through a separate SQLite connection, that what the
 * completion reports is already committed: the property an SMTP 250 relies
 * on.
 */
#include "store/store.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/queue.h"
#include "store/notify.h"
#include "store/store_int.h"
#include "store/threads.h"
#include "store/uploads.h"
#include "lib/buf.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__, __LINE__,       \
			        __func__, #cond);                                                  \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long va_ = (long long)(a), vb_ = (long long)(b);                              \
		if (va_ == vb_) {                                                                  \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			fprintf(stderr, "%s:%d: %s: CHECK_EQ failed: %s == %s (%lld != %lld)\n",   \
			        __FILE__, __LINE__, __func__, #a, #b, va_, vb_);                   \
		}                                                                                  \
	} while (0)

/* ---- helpers ---- */

static char tmproot[256];

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void make_dir(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s/nested", tmproot, name);
}

static struct store *open_store(const char *name, uv_loop_t *loop)
{
	char dir[512], err[256];
	struct store *s = NULL;
	make_dir(dir, sizeof dir, name);
	int rc = store_open(&s, dir, loop, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "store_open %s: %d %s\n", dir, rc, err);
	CHECK(rc == 0 && s);
	return s;
}

/* The store's own test may look at its tables: the view's connection. */
static int64_t q_int(sqlite3 *db, const char *sql, int64_t a)
{
	sqlite3_stmt *st;
	int64_t v = -999;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "prepare %s: %s\n", sql, sqlite3_errmsg(db));
		return -998;
	}
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int setup_users(struct store_tx *tx, void *arg)
{
	int64_t *ids = arg;
	int rc;
	if ((rc = store_domain_add(tx, "Example.ORG")) < 0)
		return rc;
	if ((rc = store_domain_add(tx, "example.net")) < 0)
		return rc;
	if ((rc = store_account_add(tx, "alice@example.org", "$y$hash-a", &ids[0])) < 0)
		return rc;
	if ((rc = store_account_add(tx, "Bob@EXAMPLE.org", "$y$hash-b", &ids[1])) < 0)
		return rc;
	return store_account_add(tx, "carol@example.net", "$y$hash-c", &ids[2]);
}

static int64_t inbox_of(struct store_rd *rd, int64_t account_id)
{
	int64_t id = 0;
	CHECK_EQ(store_mailbox_find(rd, account_id, "inbox", &id), 1);
	return id;
}

/* ---- open and migrations ---- */

static void test_open_migrate(void)
{
	struct store *s = open_store("migrate", NULL);
	if (!s)
		return;
	struct store_rd *r = store_reader(s);
	CHECK_EQ(q_int(r->db, "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
	sqlite3_stmt *jm;
	CHECK_EQ(sqlite3_prepare_v2(r->db, "PRAGMA journal_mode", -1, &jm, NULL), SQLITE_OK);
	CHECK(sqlite3_step(jm) == SQLITE_ROW &&
	      strcmp((const char *)sqlite3_column_text(jm, 0), "wal") == 0);
	sqlite3_finalize(jm);
	CHECK_EQ(q_int(r->db,
	               "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
	               "('domains','accounts','aliases','mailboxes','messages',"
	               "'mailbox_entries','expunged','queue')",
	               0),
	         8);
	CHECK_EQ(store_submit(s, NULL, NULL, NULL), -ENOTSUP);
	int64_t ids[3];
	CHECK_EQ(store_exec(s, setup_users, ids), 0);
	/* The reader refuses writes. */
	CHECK(sqlite3_exec(r->db, "DELETE FROM domains", NULL, NULL, NULL) != SQLITE_OK);
	store_close(&s);
	CHECK(s == NULL);

	char dir[512];
	struct stat sb;
	make_dir(dir, sizeof dir, "migrate");
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);

	/* Second open: no migration runs again, data survives. */
	s = open_store("migrate", NULL);
	if (!s)
		return;
	r = store_reader(s);
	CHECK_EQ(q_int(r->db, "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
	CHECK_EQ(store_account_count(r), 3);
	CHECK_EQ(q_int(r->db, "PRAGMA foreign_keys", 0), 1);
	store_close(&s);

	/* A database from the future is refused. */
	char path[600], err[256];
	sqlite3 *db;
	snprintf(path, sizeof path, "%s/tern.db", dir);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
	sqlite3_close(db);
	s = NULL;
	CHECK(store_open(&s, dir, NULL, err, sizeof err) < 0 && s == NULL);
	CHECK(strstr(err, "newer") != NULL);
}

/* ---- accounts ---- */

struct mb_seen {
	int n;
	char names[8][32];
	char uses[8][32];
	uint32_t uidvalidity[8];
	int subscribed;
};

static int mb_cb(void *ud, const struct store_mailbox *mb)
{
	struct mb_seen *m = ud;
	if (m->n < 8) {
		snprintf(m->names[m->n], 32, "%s", mb->name);
		snprintf(m->uses[m->n], 32, "%s", mb->special_use);
		m->uidvalidity[m->n] = mb->uidvalidity;
	}
	m->subscribed += mb->subscribed;
	m->n++;
	return 0;
}

static int count_cb(void *ud, const char *a)
{
	(*(int *)ud)++;
	return 0;
}

static int count_alias_cb(void *ud, const char *source, const char *target)
{
	(*(int *)ud)++;
	return 0;
}

static int count_acct_cb(void *ud, const struct store_account *a)
{
	(*(int *)ud)++;
	return 0;
}

static int accounts_body(struct store_tx *tx, void *arg)
{
	int64_t ids[3], id;
	struct store_account a;
	CHECK_EQ(setup_users(tx, ids), 0);
	CHECK_EQ(store_domain_add(tx, "example.org"), -EEXIST);
	CHECK_EQ(store_domain_add(tx, "bad@domain"), -EINVAL);
	CHECK_EQ(store_domain_exists(store_tx_reader(tx), "EXAMPLE.org"), 1);
	CHECK_EQ(store_domain_exists(store_tx_reader(tx), "nope.test"), 0);
	int nd = 0;
	CHECK_EQ(store_domain_list(store_tx_reader(tx), count_cb, &nd), 0);
	CHECK_EQ(nd, 2);

	CHECK_EQ(store_account_add(tx, "dave@nope.test", "x", NULL), -ENOENT);
	CHECK_EQ(store_account_add(tx, "ALICE@example.org", "x", NULL), -EEXIST);
	CHECK_EQ(store_account_add(tx, "no-at-sign", "x", NULL), -EINVAL);
	CHECK_EQ(store_account_add(tx, "@example.org", "x", NULL), -EINVAL);

	CHECK_EQ(store_account_lookup(store_tx_reader(tx), "BOB@example.ORG", &a), 1);
	CHECK_EQ(a.id, ids[1]);
	CHECK(strcmp(a.address, "Bob@example.org") == 0); /* domain lower-cased */
	CHECK(strcmp(a.password_hash, "$y$hash-b") == 0);
	CHECK_EQ(a.disabled, 0);
	CHECK_EQ(store_account_lookup(store_tx_reader(tx), "nobody@example.org", &a), 0);
	CHECK_EQ(store_account_set_password(tx, "bob@example.org", "$y$new"), 0);
	CHECK_EQ(store_account_lookup(store_tx_reader(tx), "bob@example.org", &a), 1);
	CHECK(strcmp(a.password_hash, "$y$new") == 0);
	CHECK(a.scram_sha1[0] == 0 && a.scram_sha256[0] == 0);
	/* SCRAM keys: only while the hash is the one checked; a password
	 * change empties them */
	CHECK_EQ(store_account_set_scram(tx, "bob@example.org", "$y$old", "1,a", "2,b"), -ENOENT);
	CHECK_EQ(store_account_set_scram(tx, "bob@example.org", "$y$new", "1,a", "2,b"), 0);
	CHECK_EQ(store_account_lookup(store_tx_reader(tx), "bob@example.org", &a), 1);
	CHECK(strcmp(a.scram_sha1, "1,a") == 0 && strcmp(a.scram_sha256, "2,b") == 0);
	CHECK_EQ(store_account_set_scram(tx, "zed@example.org", NULL, "1,a", "2,b"), -ENOENT);
	CHECK_EQ(store_account_set_password(tx, "bob@example.org", "$y$new"), 0);
	CHECK_EQ(store_account_lookup(store_tx_reader(tx), "bob@example.org", &a), 1);
	CHECK(a.scram_sha1[0] == 0 && a.scram_sha256[0] == 0);
	CHECK_EQ(store_account_set_password(tx, "zed@example.org", "$y$new"), -ENOENT);
	CHECK_EQ(store_account_count(store_tx_reader(tx)), 3);
	int na = 0;
	CHECK_EQ(store_account_list(store_tx_reader(tx), count_acct_cb, &na), 0);
	CHECK_EQ(na, 3);

	struct mb_seen m = {0};
	CHECK_EQ(store_mailbox_list(store_tx_reader(tx), ids[0], mb_cb, &m), 0);
	CHECK_EQ(m.n, 6);
	CHECK_EQ(m.subscribed, 6);
	CHECK(strcmp(m.names[0], "INBOX") == 0 && strcmp(m.uses[0], "") == 0);
	static const char *const want[][2] = {{"Archive", "\\Archive"},
	                                      {"Drafts", "\\Drafts"},
	                                      {"Junk", "\\Junk"},
	                                      {"Sent", "\\Sent"},
	                                      {"Trash", "\\Trash"}};
	for (int i = 0; i < 5; i++) {
		CHECK(strcmp(m.names[i + 1], want[i][0]) == 0);
		CHECK(strcmp(m.uses[i + 1], want[i][1]) == 0);
	}
	for (int i = 0; i < 6; i++)
		for (int j = i + 1; j < 6; j++)
			CHECK(m.uidvalidity[i] != m.uidvalidity[j] && m.uidvalidity[i] != 0);

	/* Re-creating a name gets a UIDVALIDITY never seen before. */
	CHECK_EQ(store_mailbox_create(tx, ids[0], "Projects", "", &id), 0);
	CHECK_EQ(store_mailbox_create(tx, ids[0], "Projects", "", NULL), -EEXIST);
	CHECK_EQ(store_mailbox_create(tx, ids[0], "inbox", "", NULL), -EEXIST);
	CHECK_EQ(store_mailbox_create(tx, 999999, "X", "", NULL), -ENOENT);
	struct store_mailbox mb1, mb2;
	CHECK_EQ(store_mailbox_get(store_tx_reader(tx), id, &mb1), 1);
	CHECK_EQ(sqlite3_exec(tx->rd.db, "DELETE FROM mailboxes WHERE name='Projects'", NULL, NULL,
	                      NULL),
	         SQLITE_OK);
	CHECK_EQ(store_mailbox_create(tx, ids[0], "Projects", "", &id), 0);
	CHECK_EQ(store_mailbox_get(store_tx_reader(tx), id, &mb2), 1);
	CHECK(mb2.uidvalidity > mb1.uidvalidity);
	CHECK_EQ(mb2.uidnext, 1);

	CHECK_EQ(store_domain_del(tx, "example.net"), -ENOTEMPTY);
	CHECK_EQ(store_domain_del(tx, "nope.test"), -ENOENT);
	CHECK_EQ(store_account_del(tx, "carol@example.net"), 0);
	CHECK_EQ(store_account_del(tx, "carol@example.net"), -ENOENT);
	CHECK_EQ(store_domain_del(tx, "EXAMPLE.net"), 0);
	CHECK_EQ(store_account_count(store_tx_reader(tx)), 2);
	return 0;
}

static void test_accounts(void)
{
	struct store *s = open_store("accounts", NULL);
	if (!s)
		return;
	CHECK_EQ(store_exec(s, accounts_body, NULL), 0);
	store_close(&s);
}

/* ---- subscriptions ---- */

struct names {
	char buf[512];
};

static int name_cb(void *ud, const char *name)
{
	struct names *n = ud;
	size_t w = strlen(n->buf);
	snprintf(n->buf + w, sizeof n->buf - w, "%s%s", w ? " " : "", name);
	return 0;
}

static const char *subscriptions(struct store_tx *tx, int64_t account, struct names *n)
{
	n->buf[0] = '\0';
	CHECK_EQ(store_subscription_list(store_tx_reader(tx), account, name_cb, n), 0);
	return n->buf;
}

static int tree_job(struct store_tx *tx, int (*job)(struct store_tx *, void *), int64_t account,
                    const char *name, const char *newname, int subscribe)
{
	struct store_mailbox_req j = {
	    .account_id = account, .name = name, .newname = newname, .subscribe = subscribe};
	int rc = job(tx, &j);
	free(j.uids);
	return rc;
}

static int subscribed_mailboxes_cb(void *ud, const struct store_mailbox *mb)
{
	if (mb->subscribed)
		name_cb(ud, mb->name);
	return 0;
}

/* RFC 3501 §6.3.6: a subscription is a name, kept when its mailbox goes. */
static int subscriptions_body(struct store_tx *tx, void *arg)
{
	int64_t ids[3];
	struct names n;
	CHECK_EQ(setup_users(tx, ids), 0);
	int64_t alice = ids[0];
	CHECK(strcmp(subscriptions(tx, alice, &n), "INBOX Archive Drafts Junk Sent Trash") == 0);
	/* a new mailbox and its new parent are subscribed */
	CHECK_EQ(tree_job(tx, store_mailbox_create_job, alice, "Fruit/Peach", NULL, 0), 0);
	CHECK(strcmp(subscriptions(tx, alice, &n),
	             "INBOX Archive Drafts Fruit Fruit/Peach Junk Sent Trash") == 0);
	/* DELETE keeps the subscription; UNSUBSCRIBE drops it, then knows
	 * the name no more */
	CHECK_EQ(tree_job(tx, store_mailbox_delete_job, alice, "Fruit/Peach", NULL, 0), 0);
	CHECK(strstr(subscriptions(tx, alice, &n), "Fruit/Peach") != NULL);
	n.buf[0] = '\0';
	CHECK_EQ(store_mailbox_list(store_tx_reader(tx), alice, subscribed_mailboxes_cb, &n), 0);
	CHECK(strcmp(n.buf, "INBOX Archive Drafts Fruit Junk Sent Trash") == 0);
	CHECK_EQ(tree_job(tx, store_mailbox_subscribe_job, alice, "Fruit/Peach", NULL, 1), -ENOENT);
	CHECK_EQ(tree_job(tx, store_mailbox_subscribe_job, alice, "Fruit/Peach", NULL, 0), 0);
	CHECK(strstr(subscriptions(tx, alice, &n), "Fruit/Peach") == NULL);
	CHECK_EQ(tree_job(tx, store_mailbox_subscribe_job, alice, "Fruit/Peach", NULL, 0), -ENOENT);
	/* an existing mailbox: unsubscribing twice is fine */
	CHECK_EQ(tree_job(tx, store_mailbox_subscribe_job, alice, "Fruit", NULL, 0), 0);
	CHECK_EQ(tree_job(tx, store_mailbox_subscribe_job, alice, "Fruit", NULL, 0), 0);
	struct store_mailbox mb;
	int64_t id;
	CHECK_EQ(store_mailbox_find(store_tx_reader(tx), alice, "Fruit", &id), 1);
	CHECK_EQ(store_mailbox_get(store_tx_reader(tx), id, &mb), 1);
	CHECK_EQ(mb.subscribed, 0);
	CHECK_EQ(tree_job(tx, store_mailbox_subscribe_job, alice, "inbox", NULL, 1), 0);
	/* RENAME takes the subscriptions under the old name along, also of a
	 * name whose mailbox is gone */
	CHECK_EQ(tree_job(tx, store_mailbox_create_job, alice, "Veg/Corn", NULL, 0), 0);
	CHECK_EQ(tree_job(tx, store_mailbox_create_job, alice, "Veg/Kale", NULL, 0), 0);
	CHECK_EQ(tree_job(tx, store_mailbox_delete_job, alice, "Veg/Kale", NULL, 0), 0);
	CHECK_EQ(tree_job(tx, store_mailbox_subscribe_job, alice, "Veg", NULL, 0), 0);
	CHECK_EQ(tree_job(tx, store_mailbox_rename_job, alice, "Veg", "Greens", 0), 0);
	CHECK(strcmp(subscriptions(tx, alice, &n),
	             "INBOX Archive Drafts Greens/Corn Greens/Kale Junk Sent Trash") == 0);
	/* the other accounts' are their own, and go with the account */
	CHECK(strcmp(subscriptions(tx, ids[1], &n), "INBOX Archive Drafts Junk Sent Trash") == 0);
	CHECK_EQ(store_account_del(tx, "alice@example.org"), 0);
	CHECK_EQ(
	    q_int(tx->rd.db, "SELECT count(*) FROM subscriptions WHERE account_id = ?1", alice), 0);
	return 0;
}

static void test_subscriptions(void)
{
	struct store *s = open_store("subscriptions", NULL);
	if (!s)
		return;
	CHECK_EQ(store_exec(s, subscriptions_body, NULL), 0);
	store_close(&s);
}

/* ---- resolution ---- */

static int resolve_body(struct store_tx *tx, void *arg)
{
	int64_t ids[3], sent = 0;
	struct store_rcpt r;
	char a[64], b[64];
	CHECK_EQ(setup_users(tx, ids), 0);
	int64_t alice = ids[0], bob = ids[1];
	int64_t alice_inbox = inbox_of(store_tx_reader(tx), alice),
	        bob_inbox = inbox_of(store_tx_reader(tx), bob);
	CHECK_EQ(store_mailbox_find(store_tx_reader(tx), bob, "Sent", &sent), 1);

	/* Exact account, any case. */
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "ALICE@Example.Org", &r),
	         STORE_RCPT_LOCAL);
	CHECK_EQ(r.account_id, alice);
	CHECK_EQ(r.mailbox_id, alice_inbox);
	CHECK(strcmp(r.address, "alice@example.org") == 0);

	/* Unknown user in a local domain without catch-all; non-local domain. */
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "nobody@example.org", &r), 0);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "alice@elsewhere.test", &r), -ENOENT);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "garbage", &r), -EINVAL);

	/* Aliases. */
	CHECK_EQ(store_alias_add(tx, "Info@example.org", "alice@EXAMPLE.org"), 0);
	CHECK_EQ(store_alias_add(tx, "info@example.org", "bob@example.org"), -EEXIST);
	CHECK_EQ(store_alias_add(tx, "alice@example.org", "bob@example.org"), -EEXIST);
	CHECK_EQ(store_alias_add(tx, "x@nope.test", "bob@example.org"), -ENOENT);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "INFO@example.org", &r), STORE_RCPT_LOCAL);
	CHECK_EQ(r.account_id, alice);
	CHECK(strcmp(r.address, "alice@example.org") == 0);
	CHECK_EQ(store_account_add(tx, "info@example.org", "x", NULL), -EEXIST);

	/* A chain of 8 hops resolves; 9 is too long. */
	for (int i = 0; i < 8; i++) {
		snprintf(a, sizeof a, "c%d@example.org", i);
		snprintf(b, sizeof b, i == 7 ? "bob@example.org" : "c%d@example.org", i + 1);
		CHECK_EQ(store_alias_add(tx, a, b), 0);
	}
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "c0@example.org", &r), STORE_RCPT_LOCAL);
	CHECK_EQ(r.account_id, bob);
	CHECK_EQ(store_alias_add(tx, "cstart@example.org", "c0@example.org"), 0);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "cstart@example.org", &r), -ELOOP);
	/* A loop is bounded. */
	CHECK_EQ(store_alias_add(tx, "loop1@example.org", "loop2@example.org"), 0);
	CHECK_EQ(store_alias_add(tx, "loop2@example.org", "LOOP1@example.org"), 0);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "loop1@example.org", &r), -ELOOP);
	/* Alias to a missing local user: no such user (the catch-all is not
	 * applied to hops). */
	CHECK_EQ(store_alias_add(tx, "dangling@example.org", "ghost@example.org"), 0);

	/* +tag: an existing folder (any case), else INBOX. */
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "bob+sent@example.org", &r),
	         STORE_RCPT_LOCAL);
	CHECK_EQ(r.account_id, bob);
	CHECK_EQ(r.mailbox_id, sent);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "BOB+lists@example.org", &r),
	         STORE_RCPT_LOCAL);
	CHECK_EQ(r.mailbox_id, bob_inbox);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "info+x@example.org", &r),
	         STORE_RCPT_LOCAL);
	CHECK_EQ(r.account_id, alice);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "ghost+x@example.org", &r), 0);

	/* Forwarding to a remote address. */
	CHECK_EQ(store_alias_add(tx, "fwd@example.org", "Someone@Remote.test"), 0);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "fwd@example.org", &r), STORE_RCPT_REMOTE);
	CHECK_EQ(r.account_id, 0);
	CHECK(strcmp(r.address, "Someone@remote.test") == 0);

	/* Catch-all. */
	CHECK_EQ(store_alias_add(tx, "@EXAMPLE.org", "bob@example.org"), 0);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "random@example.org", &r),
	         STORE_RCPT_LOCAL);
	CHECK_EQ(r.account_id, bob);
	CHECK_EQ(r.mailbox_id, bob_inbox);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "dangling@example.org", &r), 0);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "alice@example.org", &r),
	         STORE_RCPT_LOCAL);
	CHECK_EQ(r.account_id, alice); /* exact beats catch-all */

	/* Ownership for submission. */
	CHECK_EQ(store_address_owned_by(store_tx_reader(tx), alice, "Alice@example.org"), 1);
	CHECK_EQ(store_address_owned_by(store_tx_reader(tx), alice, "info@example.org"), 1);
	CHECK_EQ(store_address_owned_by(store_tx_reader(tx), alice, "bob@example.org"), 0);
	CHECK_EQ(store_address_owned_by(store_tx_reader(tx), bob, "c0@example.org"), 1);
	CHECK_EQ(store_address_owned_by(store_tx_reader(tx), bob, "random@example.org"),
	         0); /* catch-all */
	CHECK_EQ(store_address_owned_by(store_tx_reader(tx), bob, "@example.org"), 0);
	CHECK_EQ(store_address_owned_by(store_tx_reader(tx), alice, "loop1@example.org"), 0);

	int n = 0;
	CHECK_EQ(store_alias_list(store_tx_reader(tx), count_alias_cb, &n), 0);
	CHECK_EQ(n, 15);
	CHECK_EQ(store_alias_del(tx, "@example.org"), 0);
	CHECK_EQ(store_alias_del(tx, "@example.org"), -ENOENT);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "random@example.org", &r), 0);
	/* Deleting an account removes the aliases that point at it. */
	CHECK_EQ(store_account_del(tx, "alice@example.org"), 0);
	CHECK_EQ(store_resolve_rcpt(store_tx_reader(tx), "info@example.org", &r), 0);
	return 0;
}

static void test_resolve(void)
{
	struct store *s = open_store("resolve", NULL);
	if (!s)
		return;
	CHECK_EQ(store_exec(s, resolve_body, NULL), 0);
	store_close(&s);
}

/* The loop's cache of resolutions (store/rcpt_cache.c): results are kept
 * until the directory counter moves, which another connection's change
 * (the CLI's) moves through the schema's triggers. */
static int rename_archive(struct store_tx *tx, void *arg)
{
	return store_run(tx->rd.db,
	                 "UPDATE mailboxes SET name = 'Archives' WHERE name = 'Archive'");
}

/* What every delivery does to the mailboxes row: not a directory change. */
static int bump_uidnext(struct store_tx *tx, void *arg)
{
	return store_run(tx->rd.db, "UPDATE mailboxes SET uidnext = uidnext + 1, "
	                            "highestmodseq = highestmodseq + 1");
}

static int add_info_alias(struct store_tx *tx, void *arg)
{
	return store_alias_add(tx, "info@example.org", arg);
}

static void test_rcpt_cache(void)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store *s = open_store("rcpt_cache", &loop);
	if (!s)
		return;
	int64_t ids[3];
	CHECK_EQ(store_exec(s, setup_users, ids), 0);
	struct store_rd *r = store_reader(s);
	int64_t serial = q_int(r->db, "SELECT value FROM meta WHERE key = 'directory'", 0);
	CHECK(serial > 0); /* the setup's inserts moved it */

	struct store_rcpt out;
	store_rcpt_cache_check(s);
	CHECK_EQ(store_resolve_rcpt_cached(s, "alice@example.org", &out), STORE_RCPT_LOCAL);
	CHECK_EQ(out.account_id, ids[0]);
	CHECK_EQ(store_resolve_rcpt_cached(s, "info@example.org", &out), 0);

	/* A change through another store on the same files, as the CLI makes. */
	char dir[512], err[256];
	struct store *cli = NULL;
	make_dir(dir, sizeof dir, "rcpt_cache");
	CHECK_EQ(store_open(&cli, dir, NULL, err, sizeof err), 0);
	CHECK_EQ(store_exec(cli, add_info_alias, "bob@example.org"), 0);
	CHECK(q_int(r->db, "SELECT value FROM meta WHERE key = 'directory'", 0) > serial);

	/* Cached until the counter is read again (at the next transaction, or
	 * a second later), then the alias resolves. */
	CHECK_EQ(store_resolve_rcpt_cached(s, "info@example.org", &out), 0);
	store_rcpt_cache_check(s);
	CHECK_EQ(store_resolve_rcpt_cached(s, "info@example.org", &out), STORE_RCPT_LOCAL);
	CHECK_EQ(out.account_id, ids[1]);
	CHECK_EQ(store_resolve_rcpt_cached(s, "alice@example.org", &out), STORE_RCPT_LOCAL);
	CHECK_EQ(store_resolve_rcpt_cached(s, "nobody@example.org", &out), 0);
	CHECK_EQ(store_resolve_rcpt_cached(s, "x@elsewhere.test", &out), -ENOENT);
	CHECK_EQ(store_resolve_rcpt_cached(s, "not an address", &out), -EINVAL);

	/* A mailbox rename moves it too (user+tag folders resolve by name). */
	serial = q_int(r->db, "SELECT value FROM meta WHERE key = 'directory'", 0);
	CHECK_EQ(store_exec(cli, rename_archive, &ids[0]), 0);
	CHECK(q_int(r->db, "SELECT value FROM meta WHERE key = 'directory'", 0) > serial);
	serial = q_int(r->db, "SELECT value FROM meta WHERE key = 'directory'", 0);
	CHECK_EQ(store_exec(cli, bump_uidnext, &ids[0]), 0);
	CHECK_EQ(q_int(r->db, "SELECT value FROM meta WHERE key = 'directory'", 0), serial);

	store_close(&cli);
	store_close(&s);
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
}

/* ---- delivery, expunge, flags ---- */

static const char msg1[] = "From: x@remote.test\r\nTo: alice@example.org\r\n"
                           "Subject: hello\r\n\r\nBody line\r\n";

static int deliver_body(struct store_tx *tx, void *arg)
{
	int64_t ids[3], archive = 0;
	CHECK_EQ(setup_users(tx, ids), 0);
	int64_t alice = ids[0], bob = ids[1], carol = ids[2];
	int64_t alice_inbox = inbox_of(store_tx_reader(tx), alice);
	CHECK_EQ(store_mailbox_find(store_tx_reader(tx), alice, "Archive", &archive), 1);

	/* Three recipients, one of them twice: one stored message, refcount 3. */
	struct store_local_rcpt local[4] = {{.account_id = alice, .mailbox_id = 0},
	                                    {.account_id = bob, .mailbox_id = 0},
	                                    {.account_id = carol, .mailbox_id = -1},
	                                    {.account_id = alice, .mailbox_id = alice_inbox}};
	uint32_t uids[4];
	int64_t modseqs[4];
	struct store_delivery d = {.data = msg1,
	                           .len = strlen(msg1),
	                           .mail_from = "x@remote.test",
	                           .internal_date = 1700000000,
	                           .local = local,
	                           .nlocal = 4,
	                           .uids = uids,
	                           .modseqs = modseqs};
	CHECK_EQ(store_deliver(tx, &d), 0);
	CHECK(d.message_id > 0);
	CHECK_EQ(q_int(tx->rd.db, "SELECT count(*) FROM messages", 0), 1);
	CHECK_EQ(q_int(tx->rd.db, "SELECT refcount FROM messages WHERE id=?1", d.message_id), 3);
	CHECK_EQ(q_int(tx->rd.db, "SELECT count(*) FROM mailbox_entries", 0), 3);
	CHECK_EQ(uids[0], 1);
	CHECK_EQ(uids[3], 1);
	CHECK_EQ(modseqs[0], 2);
	CHECK_EQ(uids[1], 1);
	CHECK_EQ(uids[2], 1);

	/* The same bytes again, to alice's INBOX and Archive plus one remote
	 * recipient: a second message (no deduplication across deliveries),
	 * refcount 3, UIDs increase. */
	struct store_local_rcpt local2[2] = {{.account_id = alice, .mailbox_id = alice_inbox},
	                                     {.account_id = alice, .mailbox_id = archive}};
	struct store_remote_rcpt remote[1] = {{"dst@remote.test", "FAILURE", NULL}};
	d.local = local2;
	d.nlocal = 2;
	d.remote = remote;
	d.nremote = 1;
	d.ret = "HDRS";
	int64_t first = d.message_id;
	CHECK_EQ(store_deliver(tx, &d), 0);
	int64_t second = d.message_id;
	CHECK(second > first);
	CHECK_EQ(uids[0], 2);
	CHECK_EQ(uids[1], 1);
	CHECK_EQ(modseqs[0], 3);
	CHECK_EQ(q_int(tx->rd.db, "SELECT refcount FROM messages WHERE id=?1", first), 3);
	CHECK_EQ(q_int(tx->rd.db, "SELECT refcount FROM messages WHERE id=?1", second), 3);
	CHECK_EQ(q_int(tx->rd.db,
	               "SELECT count(*) FROM queue WHERE rcpt='dst@remote.test' AND "
	               "notify='FAILURE' AND ret='HDRS' AND expires - next_attempt = ?1",
	               STORE_QUEUE_LIFETIME),
	         1);
	struct store_mailbox mb;
	CHECK_EQ(store_mailbox_get(store_tx_reader(tx), alice_inbox, &mb), 1);
	CHECK_EQ(mb.uidnext, 3);
	CHECK_EQ(mb.highestmodseq, 3);

	/* A mailbox that is not the account's is refused. */
	struct store_local_rcpt wrong = {.account_id = bob, .mailbox_id = alice_inbox};
	d.local = &wrong;
	d.nlocal = 1;
	d.nremote = 0;
	CHECK_EQ(store_deliver(tx, &d), -ENOENT);

	/* Streaming reads. */
	char buf[16];
	CHECK_EQ(store_message_read(store_tx_reader(tx), first, 0, buf, 4), 4);
	CHECK(memcmp(buf, "From", 4) == 0);
	size_t L = strlen(msg1);
	CHECK_EQ(store_message_read(store_tx_reader(tx), first, L - 3, buf, sizeof buf), 3);
	CHECK(memcmp(buf, "e\r\n", 3) == 0);
	CHECK_EQ(store_message_read(store_tx_reader(tx), first, L, buf, sizeof buf), 0);
	CHECK_EQ(store_message_read(store_tx_reader(tx), 424242, 0, buf, sizeof buf), -ENOENT);
	CHECK_EQ(store_message_size(store_tx_reader(tx), first), (int64_t)L);

	/* Flags. */
	uint32_t fl;
	int64_t ms;
	CHECK_EQ(store_entries_update_flags(tx, alice_inbox, 1,
	                                    STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, 0, &fl, &ms),
	         STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	CHECK_EQ(ms, 4);
	CHECK_EQ(store_entries_update_flags(tx, alice_inbox, 1, STORE_FLAG_SEEN, 0, &fl, &ms),
	         STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	CHECK_EQ(ms, 4); /* unchanged flags keep their MODSEQ */
	CHECK_EQ(store_entries_update_flags(tx, alice_inbox, 1, STORE_FLAG_DELETED,
	                                    STORE_FLAG_FLAGGED, NULL, NULL),
	         STORE_FLAG_SEEN | STORE_FLAG_DELETED);
	CHECK_EQ(store_entries_update_flags(tx, alice_inbox, 99, STORE_FLAG_SEEN, 0, NULL, NULL),
	         -ENOENT);

	/* Expunge: refcount drops, expunged records the new MODSEQ. */
	uint32_t ex[] = {1, 7};
	CHECK_EQ(store_entries_expunge(tx, alice_inbox, ex, 2), 1);
	CHECK_EQ(q_int(tx->rd.db, "SELECT refcount FROM messages WHERE id=?1", first), 2);
	CHECK_EQ(store_mailbox_get(store_tx_reader(tx), alice_inbox, &mb), 1);
	CHECK_EQ(q_int(tx->rd.db, "SELECT modseq FROM expunged WHERE uid=1 AND mailbox_id=?1",
	               alice_inbox),
	         mb.highestmodseq);
	CHECK_EQ(store_entries_expunge(tx, alice_inbox, ex, 2), 0);

	/* Dropping every holder deletes the message. */
	CHECK_EQ(store_account_del(tx, "alice@example.org"), 0); /* INBOX uid 2 + Archive */
	CHECK_EQ(q_int(tx->rd.db, "SELECT refcount FROM messages WHERE id=?1", second),
	         1); /* queue */
	CHECK_EQ(store_account_del(tx, "bob@example.org"), 0);
	CHECK_EQ(q_int(tx->rd.db, "SELECT refcount FROM messages WHERE id=?1", first), 1);
	CHECK_EQ(store_account_del(tx, "carol@example.net"), 0);
	CHECK_EQ(q_int(tx->rd.db, "SELECT count(*) FROM messages WHERE id=?1", first), 0);
	int64_t qid = q_int(tx->rd.db, "SELECT message_id FROM queue", 0);
	CHECK_EQ(qid, second);
	CHECK_EQ(sqlite3_exec(tx->rd.db, "DELETE FROM queue", NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ(store_message_ref(tx, second, -1), 0);
	CHECK_EQ(q_int(tx->rd.db, "SELECT count(*) FROM messages", 0), 0);
	return 0;
}

static void test_deliver(void)
{
	struct store *s = open_store("deliver", NULL);
	if (!s)
		return;
	CHECK_EQ(store_exec(s, deliver_body, NULL), 0);
	store_close(&s);
}

/* ---- threads and ids that never repeat (schema 9) ---- */

static int64_t deliver_keyed(struct store_tx *tx, int64_t account, const char *mid,
                             const char *const *parents, size_t np)
{
	struct store_local_rcpt local = {.account_id = account, .mailbox_id = 0};
	struct store_thread_keys keys = {mid, parents, np};
	struct store_delivery d = {.data = msg1,
	                           .len = strlen(msg1),
	                           .mail_from = "",
	                           .local = &local,
	                           .nlocal = 1,
	                           .thread = &keys};
	CHECK_EQ(store_deliver(tx, &d), 0);
	return d.message_id;
}

static int64_t thread_of(struct store_tx *tx, int64_t message_id)
{
	return q_int(tx->rd.db, "SELECT thread_id FROM mailbox_entries WHERE message_id = ?1",
	             message_id);
}

static int threads_body(struct store_tx *tx, void *arg)
{
	(void)arg;
	int64_t ids[3];
	CHECK_EQ(setup_users(tx, ids), 0);
	int64_t alice = ids[0], bob = ids[1];
	/* the reply first: it starts a thread and records its parent's id */
	const char *to_p[] = {"p@x"};
	int64_t child = deliver_keyed(tx, alice, "c@x", to_p, 1);
	CHECK_EQ(thread_of(tx, child), child);
	int64_t parent = deliver_keyed(tx, alice, "p@x", NULL, 0);
	CHECK_EQ(thread_of(tx, parent), child);
	/* a grandchild naming only the parent; an unrelated message */
	int64_t grand = deliver_keyed(tx, alice, "g@x", to_p, 1);
	CHECK_EQ(thread_of(tx, grand), child);
	int64_t other = deliver_keyed(tx, alice, "o@x", NULL, 0);
	CHECK_EQ(thread_of(tx, other), other);
	/* per account: bob's copy of a reply to p@x does not join alice's */
	int64_t bobs = deliver_keyed(tx, bob, "c2@x", to_p, 1);
	CHECK_EQ(thread_of(tx, bobs), bobs);
	/* no keys, empty and too long keys: a thread of its own */
	char longid[STORE_THREAD_MAX_ID + 2];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	const char *bad[] = {"", longid};
	int64_t lone = deliver_keyed(tx, alice, NULL, bad, 2);
	CHECK_EQ(thread_of(tx, lone), lone);
	CHECK_EQ(q_int(tx->rd.db, "SELECT count(*) FROM thread_refs WHERE length(msgid) > ?1",
	               STORE_THREAD_MAX_ID),
	         0);

	/* the newest message goes: the next one still gets a new id */
	int64_t inbox = inbox_of(store_tx_reader(tx), alice);
	uint32_t last = (uint32_t)q_int(tx->rd.db,
	                                "SELECT uid FROM mailbox_entries WHERE "
	                                "message_id = ?1",
	                                lone);
	CHECK_EQ(store_entries_expunge(tx, inbox, &last, 1), 1);
	CHECK_EQ(q_int(tx->rd.db, "SELECT count(*) FROM messages WHERE id = ?1", lone), 0);
	int64_t next = deliver_keyed(tx, alice, "n@x", NULL, 0);
	CHECK(next > lone);
	return 0;
}

static void test_threads(void)
{
	struct store *s = open_store("threads", NULL);
	if (!s)
		return;
	CHECK_EQ(store_exec(s, threads_body, NULL), 0);
	store_close(&s);
}

/* ---- group commit ---- */

struct gc_ctx {
	sqlite3 *check; /* a separate connection: sees only committed data */
	int64_t mailbox_id;
	int64_t account_id;
	int completed, ok, visible, failed_status, invisible;
};

struct gc_job {
	struct gc_ctx *ctx;
	struct store_delivery d;
	struct store_local_rcpt rcpt;
	uint32_t uid;
	int64_t modseq;
	char data[128];
	int status;
};

static void gc_init(struct gc_job *j, struct gc_ctx *ctx, const char *tag, int i)
{
	memset(j, 0, sizeof *j);
	j->ctx = ctx;
	snprintf(j->data, sizeof j->data, "Subject: %s %d\r\n\r\nbody %d\r\n", tag, i, i);
	j->rcpt.account_id = ctx->account_id;
	j->rcpt.mailbox_id = ctx->mailbox_id;
	j->d.data = j->data;
	j->d.len = strlen(j->data);
	j->d.mail_from = "sender@remote.test";
	j->d.local = &j->rcpt;
	j->d.nlocal = 1;
	j->d.uids = &j->uid;
	j->d.modseqs = &j->modseq;
}

static void gc_done(void *arg, int status)
{
	struct gc_job *j = arg;
	struct gc_ctx *ctx = j->ctx;
	j->status = status;
	ctx->completed++;
	sqlite3_stmt *st;
	sqlite3_prepare_v2(ctx->check,
	                   "SELECT count(*) FROM mailbox_entries e JOIN messages m "
	                   "ON m.id = e.message_id WHERE m.data = ?1",
	                   -1, &st, NULL);
	sqlite3_bind_blob(st, 1, j->data, (int)strlen(j->data), SQLITE_STATIC);
	int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (status == 0) {
		ctx->ok++;
		/* Committed before the completion ran: visible to another
		 * connection, under the UID the job reported. */
		sqlite3_prepare_v2(ctx->check,
		                   "SELECT count(*) FROM mailbox_entries WHERE mailbox_id = ?1 "
		                   "AND uid = ?2 AND message_id = ?3",
		                   -1, &st, NULL);
		sqlite3_bind_int64(st, 1, ctx->mailbox_id);
		sqlite3_bind_int64(st, 2, j->uid);
		sqlite3_bind_int64(st, 3, j->d.message_id);
		if (n == 1 && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1)
			ctx->visible++;
		sqlite3_finalize(st);
	} else {
		ctx->failed_status++;
		if (n == 0)
			ctx->invisible++;
	}
}

static void run_until(uv_loop_t *loop, struct gc_ctx *ctx, int total)
{
	while (ctx->completed < total)
		uv_run(loop, UV_RUN_ONCE);
}

struct submitter {
	struct store *s;
	struct gc_job *jobs;
	int n;
	int errors;
};

/* The job body; store_deliver_job() would do, but the completion wants
 * the whole gc_job. */
static int gc_run(struct store_tx *tx, void *arg)
{
	return store_deliver(tx, &((struct gc_job *)arg)->d);
}

static void submit_thread2(void *arg)
{
	struct submitter *t = arg;
	for (int i = 0; i < t->n; i++)
		if (store_submit(t->s, gc_run, gc_done, &t->jobs[i]) != 0)
			t->errors++;
}

static int setup_one(struct store_tx *tx, void *arg)
{
	int64_t *ids = arg;
	int rc = setup_users(tx, ids);
	if (rc == 0)
		rc = store_mailbox_find(store_tx_reader(tx), ids[0], "INBOX", &ids[3]) == 1 ? 0
		                                                                            : -EIO;
	return rc;
}

static sqlite3 *open_check(struct store *s)
{
	sqlite3 *db = NULL;
	CHECK_EQ(sqlite3_open_v2(store_path(s), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

static void test_group_commit(void)
{
	enum { N = 2000, NT = 4, PER = 250 };
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store *s = open_store("group", &loop);
	if (!s)
		return;
	int64_t ids[4];
	CHECK_EQ(store_exec(s, setup_one, ids), 0);

	struct gc_ctx ctx = {.account_id = ids[0], .mailbox_id = ids[3]};
	ctx.check = open_check(s);
	struct gc_job *jobs = calloc(N + NT * PER, sizeof *jobs);

	/* Phase 1: a burst from the loop thread. */
	for (int i = 0; i < N; i++) {
		gc_init(&jobs[i], &ctx, "loop", i);
		CHECK_EQ(store_submit(s, gc_run, gc_done, &jobs[i]) == 0, 1);
	}
	run_until(&loop, &ctx, N);
	struct store_stats st;
	store_get_stats(s, &st);
	CHECK_EQ(ctx.ok, N);
	CHECK_EQ(ctx.visible, N);
	CHECK_EQ(st.jobs, N);
	CHECK(st.commits < st.jobs);
	CHECK_EQ(st.failed, 0);
	printf("group commit: %d jobs in %llu commits (%.1f jobs/commit, max batch %llu)\n", N,
	       (unsigned long long)st.commits, (double)st.jobs / (double)st.commits,
	       (unsigned long long)st.max_batch);
	/* UIDs are 1..N, each once. */
	CHECK_EQ(q_int(ctx.check, "SELECT count(DISTINCT uid) FROM mailbox_entries", 0), N);
	CHECK_EQ(q_int(ctx.check, "SELECT max(uid) FROM mailbox_entries", 0), N);

	/* Phase 2: several threads submitting at once while the loop runs. */
	struct submitter subs[NT];
	uv_thread_t th[NT];
	for (int t = 0; t < NT; t++) {
		subs[t] = (struct submitter){s, jobs + N + t * PER, PER, 0};
		for (int i = 0; i < PER; i++)
			gc_init(&subs[t].jobs[i], &ctx, "thread", t * PER + i);
	}
	for (int t = 0; t < NT; t++)
		uv_thread_create(&th[t], submit_thread2, &subs[t]);
	run_until(&loop, &ctx, N + NT * PER);
	for (int t = 0; t < NT; t++) {
		uv_thread_join(&th[t]);
		CHECK_EQ(subs[t].errors, 0);
	}
	struct store_stats st2;
	store_get_stats(s, &st2);
	CHECK_EQ(ctx.ok, N + NT * PER);
	CHECK_EQ(ctx.visible, N + NT * PER);
	CHECK(st2.commits - st.commits < (uint64_t)(NT * PER));
	printf("group commit: %d jobs from %d threads in %llu commits (max batch %llu)\n", NT * PER,
	       NT, (unsigned long long)(st2.commits - st.commits),
	       (unsigned long long)st2.max_batch);

	sqlite3_close(ctx.check);
	store_close(&s);
	uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_EQ(uv_loop_close(&loop), 0);
	free(jobs);
}

/* ---- checkpoints ---- */

static int scratch_table(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_run(tx->rd.db, "CREATE TABLE scratch(v BLOB)");
}

static int scratch_insert(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_run(tx->rd.db, "INSERT INTO scratch(v) VALUES(zeroblob(12000))");
}

/* A trickle of commits, each beginning while the last checkpoint may
 * still run: the checkpointer runs once per 250 WAL pages past the first
 * 1000 (not after every commit past them), and the WAL stays bounded. */
static void test_checkpoints(void)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store *s = open_store("checkpoints", &loop);
	if (!s)
		return;
	CHECK_EQ(store_exec(s, scratch_table, NULL), 0);
	struct store_stats st0, st;
	store_get_stats(s, &st0);
	int commits = 2000; /* 4 pages each: 8000 pages */
	for (int i = 0; i < commits; i++)
		CHECK_EQ(store_exec(s, scratch_insert, NULL), 0);
	store_get_stats(s, &st);
	uint64_t passes = st.checkpoints - st0.checkpoints;
	printf("checkpoints: %llu checkpointer passes for %d commits\n", (unsigned long long)passes,
	       commits);
	CHECK(passes >= 1);
	CHECK(passes <= 8000 / 250 + 2);
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", store_path(s));
	struct stat sb;
	CHECK_EQ(stat(wal, &sb), 0);
	CHECK(sb.st_size <= (off_t)(4000 + 100) * (4096 + 24) + 32);
	store_close(&s);
	uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_EQ(uv_loop_close(&loop), 0);
}

/* ---- lazy commits ---- */

/* A lazy job is committed and visible when its completion runs, before
 * any fsync; the syncer syncs the WAL within STORE_LAZY_SYNC_MS (200 ms).
 * A normal job completes only after a sync, which covers the earlier lazy
 * commits too. */
static void test_lazy_commits(void)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store *s = open_store("lazy", &loop);
	if (!s)
		return;
	int64_t ids[4];
	CHECK_EQ(store_exec(s, setup_one, ids), 0);
	struct gc_ctx ctx = {.account_id = ids[0], .mailbox_id = ids[3]};
	ctx.check = open_check(s);
	struct gc_job jobs[3];
	struct store_stats st0, st;
	store_get_stats(s, &st0);

	gc_init(&jobs[0], &ctx, "lazy", 0);
	CHECK_EQ(store_submit_lazy(s, gc_run, gc_done, &jobs[0]), 0);
	run_until(&loop, &ctx, 1);
	CHECK_EQ(ctx.visible, 1);
	store_get_stats(s, &st);
	CHECK(st.lazy_commits - st0.lazy_commits >= 1);
	/* the syncer syncs the WAL by itself (the idle indexer, a second
	 * later, may add lazy commits and syncs of its own) */
	for (int i = 0; i < 300 && st.wal_syncs == st0.wal_syncs; i++) {
		uv_sleep(10);
		store_get_stats(s, &st);
	}
	CHECK(st.wal_syncs > st0.wal_syncs);

	/* lazy then normal: the normal one's commit is synchronous */
	gc_init(&jobs[1], &ctx, "lazy", 1);
	gc_init(&jobs[2], &ctx, "full", 2);
	CHECK_EQ(store_submit_lazy(s, gc_run, gc_done, &jobs[1]), 0);
	CHECK_EQ(store_submit(s, gc_run, gc_done, &jobs[2]), 0);
	run_until(&loop, &ctx, 3);
	CHECK_EQ(ctx.visible, 3);
	store_get_stats(s, &st0);
	CHECK(st0.lazy_commits - st.lazy_commits <= 1); /* 0 when both were one batch */
	/* the normal job completed only after a sync of the WAL */
	CHECK(st0.wal_syncs > st.wal_syncs);

	sqlite3_close(ctx.check);
	store_close(&s);
	uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_EQ(uv_loop_close(&loop), 0);
}

/* ---- savepoints and commit failure ---- */

struct blocker {
	uv_sem_t started, release;
	int status, completed;
};

static int blocker_run(struct store_tx *tx, void *arg)
{
	struct blocker *b = arg;
	uv_sem_post(&b->started);
	uv_sem_wait(&b->release);
	return 0;
}

static void blocker_done(void *arg, int status)
{
	struct blocker *b = arg;
	b->status = status;
	b->completed = 1;
}

struct bad_job {
	struct gc_ctx *ctx;
	int status;
};

static int bad_run(struct store_tx *tx, void *arg)
{
	int rc = store_domain_add(tx, "rollback.test");
	CHECK_EQ(rc, 0);
	return -EINVAL;
}

static void bad_done(void *arg, int status)
{
	struct bad_job *b = arg;
	b->status = status;
	b->ctx->completed++;
}

static void blocker_start(struct store *s, struct blocker *b)
{
	uv_sem_init(&b->started, 0);
	uv_sem_init(&b->release, 0);
	b->completed = 0;
	CHECK_EQ(store_submit(s, blocker_run, blocker_done, b), 0);
	uv_sem_wait(&b->started); /* the writer is now inside batch 1 */
}

static void blocker_free(struct blocker *b)
{
	uv_sem_destroy(&b->started);
	uv_sem_destroy(&b->release);
}

static void test_batch_failures(void)
{
	enum { NF = 100 };
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store *s = open_store("failures", &loop);
	if (!s)
		return;
	int64_t ids[4];
	CHECK_EQ(store_exec(s, setup_one, ids), 0);
	struct gc_ctx ctx = {.account_id = ids[0], .mailbox_id = ids[3]};
	ctx.check = open_check(s);
	struct blocker b;

	/* One failing job in a batch: rolled back alone, the others commit. */
	struct gc_job ok[2];
	struct bad_job bad = {&ctx, 1};
	gc_init(&ok[0], &ctx, "sp", 0);
	gc_init(&ok[1], &ctx, "sp", 1);
	blocker_start(s, &b);
	CHECK_EQ(store_submit(s, gc_run, gc_done, &ok[0]), 0);
	CHECK_EQ(store_submit(s, bad_run, bad_done, &bad), 0);
	CHECK_EQ(store_submit(s, gc_run, gc_done, &ok[1]), 0);
	uv_sem_post(&b.release);
	run_until(&loop, &ctx, 3);
	while (!b.completed)
		uv_run(&loop, UV_RUN_ONCE);
	CHECK_EQ(b.status, 0);
	CHECK_EQ(ok[0].status, 0);
	CHECK_EQ(ok[1].status, 0);
	CHECK_EQ(bad.status, -EINVAL);
	CHECK_EQ(ctx.visible, 2);
	CHECK_EQ(q_int(ctx.check, "SELECT count(*) FROM domains WHERE name='rollback.test'", 0), 0);
	CHECK_EQ(ok[1].uid, ok[0].uid + 1);
	struct store_stats st;
	store_get_stats(s, &st);
	CHECK(st.max_batch >= 3);
	CHECK_EQ(st.failed, 1);
	blocker_free(&b);

	/* COMMIT fails: every job of the batch fails, nothing is visible. */
	int64_t msgs = q_int(ctx.check, "SELECT count(*) FROM messages", 0);
	int64_t uidnext =
	    q_int(ctx.check, "SELECT uidnext FROM mailboxes WHERE id=?1", ctx.mailbox_id);
	struct gc_job *jobs = calloc(NF, sizeof *jobs);
	ctx.completed = ctx.ok = ctx.visible = ctx.failed_status = ctx.invisible = 0;
	blocker_start(s, &b);
	store_test_fail_next_commits(s, 2); /* the blocker's batch and the next */
	for (int i = 0; i < NF; i++) {
		gc_init(&jobs[i], &ctx, "fail", i);
		CHECK_EQ(store_submit(s, gc_run, gc_done, &jobs[i]), 0);
	}
	uv_sem_post(&b.release);
	run_until(&loop, &ctx, NF);
	while (!b.completed)
		uv_run(&loop, UV_RUN_ONCE);
	CHECK(b.status < 0);
	CHECK_EQ(ctx.failed_status, NF);
	CHECK_EQ(ctx.invisible, NF);
	for (int i = 0; i < NF; i++)
		CHECK_EQ(jobs[i].status, -EIO);
	CHECK_EQ(q_int(ctx.check, "SELECT count(*) FROM messages", 0), msgs);
	CHECK_EQ(q_int(ctx.check, "SELECT uidnext FROM mailboxes WHERE id=?1", ctx.mailbox_id),
	         uidnext);
	store_get_stats(s, &st);
	CHECK_EQ(st.failed, 1 + 1 + NF);
	blocker_free(&b);

	/* The hook is used up: the next job commits, with the next UID. */
	ctx.completed = ctx.ok = ctx.visible = 0;
	gc_init(&jobs[0], &ctx, "after", 0);
	CHECK_EQ(store_submit(s, gc_run, gc_done, &jobs[0]), 0);
	run_until(&loop, &ctx, 1);
	CHECK_EQ(ctx.visible, 1);
	CHECK_EQ(jobs[0].uid, uidnext);

	/* Jobs still queued at close run, and their completions too. */
	ctx.completed = ctx.ok = ctx.visible = 0;
	for (int i = 0; i < 10; i++) {
		gc_init(&jobs[i], &ctx, "closing", i);
		CHECK_EQ(store_submit(s, gc_run, gc_done, &jobs[i]), 0);
	}
	store_close(&s);
	CHECK_EQ(ctx.completed, 10);
	CHECK_EQ(ctx.visible, 10);

	sqlite3_close(ctx.check);
	uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_EQ(uv_loop_close(&loop), 0);
	free(jobs);
}

/* ---- notify ---- */

struct nsub {
	struct notify_sub *h;
	int calls;
	uint32_t last_uid;
	struct nsub *others; /* array for unsubscribe-all */
	int nothers;
	int mode; /* 0 plain, 1 unsubscribe everyone, 2 subscribe a new one, 3 republish */
	struct nsub *spawn;
};

static void ncb(void *ud, const struct notify_event *ev)
{
	struct nsub *n = ud;
	n->calls++;
	n->last_uid = ev->uid;
	if (n->mode == 1) {
		for (int i = 0; i < n->nothers; i++) {
			notify_unsubscribe(n->others[i].h);
			n->others[i].h = NULL;
		}
		n->mode = 0;
	} else if (n->mode == 2) {
		n->spawn->h = notify_subscribe(ev->mailbox_id, ncb, n->spawn);
		n->mode = 0;
	} else if (n->mode == 3) {
		n->mode = 0;
		struct notify_event again = *ev;
		again.uid = ev->uid + 100;
		notify_publish(&again);
	}
}

/* Account subscriptions: the account's list events, and the message
 * events whose publisher named the account; a mailbox's subscribers
 * never see list events. */
static void test_notify_account(void)
{
	struct nsub acct = {0}, other_acct = {0}, box = {0};
	acct.h = notify_subscribe_account(3, ncb, &acct);
	other_acct.h = notify_subscribe_account(4, ncb, &other_acct);
	box.h = notify_subscribe(70, ncb, &box);
	CHECK(acct.h && other_acct.h && box.h);
	CHECK(notify_subscribe_account(0, ncb, &acct) == NULL);

	struct notify_event created = {
	    .mailbox_id = 70, .account_id = 3, .kind = NOTIFY_MAILBOX_CREATED, .name = "Work"};
	CHECK_EQ(notify_publish(&created), 1);
	CHECK_EQ(acct.calls, 1);
	CHECK_EQ(box.calls, 0);
	CHECK_EQ(other_acct.calls, 0);

	struct notify_event exists = {.mailbox_id = 70, .kind = NOTIFY_EXISTS, .uid = 1};
	CHECK_EQ(notify_publish(&exists), 1); /* no account named: the mailbox only */
	exists.account_id = 3;
	CHECK_EQ(notify_publish(&exists), 2);
	CHECK_EQ(acct.calls, 2);
	CHECK_EQ(box.calls, 2);
	CHECK_EQ(notify_count(70), 1); /* account keys never count as a mailbox's */

	notify_unsubscribe(acct.h);
	notify_unsubscribe(other_acct.h);
	notify_unsubscribe(box.h);
	CHECK_EQ(notify_publish(&created), 0);
}

static void test_notify(void)
{
	struct nsub s[3] = {0}, other = {0}, spawned = {0};
	for (int i = 0; i < 3; i++)
		s[i].h = notify_subscribe(7, ncb, &s[i]);
	other.h = notify_subscribe(8, ncb, &other);
	CHECK_EQ(notify_count(7), 3);
	CHECK_EQ(notify_count(8), 1);

	struct notify_event ev = {.mailbox_id = 7, .kind = NOTIFY_EXISTS, .uid = 5, .modseq = 9};
	CHECK_EQ(notify_publish(&ev), 3);
	CHECK_EQ(other.calls, 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(s[i].calls, 1);

	/* A subscription made inside a callback misses the current event. */
	s[0].mode = 2;
	s[0].spawn = &spawned;
	CHECK_EQ(notify_publish(&ev), 3);
	CHECK_EQ(spawned.calls, 0);
	CHECK_EQ(notify_count(7), 4);
	CHECK_EQ(notify_publish(&ev), 4);
	CHECK_EQ(spawned.calls, 1);

	/* A nested publish from a callback. */
	s[1].mode = 3;
	size_t called = notify_publish(&ev);
	CHECK_EQ(called, 4);
	CHECK_EQ(spawned.calls, 3); /* outer + nested */

	/* Whoever runs first unsubscribes everybody, itself included. */
	struct nsub all[4];
	for (int i = 0; i < 3; i++)
		all[i] = s[i];
	all[3] = spawned;
	for (int i = 0; i < 3; i++) {
		s[i].mode = 1;
		s[i].others = all;
		s[i].nothers = 4;
	}
	spawned.mode = 1;
	spawned.others = all;
	spawned.nothers = 4;
	int before = s[0].calls + s[1].calls + s[2].calls + spawned.calls;
	CHECK_EQ(notify_publish(&ev), 1);
	CHECK_EQ(s[0].calls + s[1].calls + s[2].calls + spawned.calls, before + 1);
	CHECK_EQ(notify_count(7), 0);
	CHECK_EQ(notify_publish(&ev), 0);

	ev.mailbox_id = 8;
	ev.kind = NOTIFY_EXPUNGE;
	ev.uid = 3;
	CHECK_EQ(notify_publish(&ev), 1);
	CHECK_EQ(other.last_uid, 3);
	notify_unsubscribe(other.h);
	notify_unsubscribe(NULL);
	CHECK_EQ(notify_count(8), 0);
	(void)notify_subscribe(9, ncb, &other);
	notify_reset(); /* frees the leftover */
	CHECK_EQ(notify_count(9), 0);
}

/* ---- uploads (store/uploads.c) ---- */

static int upload_expire_all(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_uploads_expire(tx, store_now() + STORE_UPLOAD_TTL + 10);
}

static int age_upload(struct store_tx *tx, void *arg)
{
	int64_t *id = arg;
	char sql[120];
	snprintf(sql, sizeof sql, "UPDATE uploads SET created = created - %d WHERE id = %lld",
	         STORE_UPLOAD_TTL + 5, (long long)*id);
	return store_run(tx->rd.db, sql);
}

static void test_uploads(void)
{
	struct store *s = open_store("uploads", NULL);
	if (!s)
		return;
	struct store_rd *r = store_reader(s);
	int64_t ids[3];
	CHECK_EQ(store_exec(s, setup_users, ids), 0);
	unsigned char bin[300];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 7);
	bin[5] = 0;
	struct store_upload_req q = {.account_id = ids[0],
	                             .type = "image/png",
	                             .data = bin,
	                             .len = sizeof bin,
	                             .max_total = 1000};
	CHECK_EQ(store_exec(s, store_upload_job, &q), 0);
	CHECK(q.id > 0);
	struct store_upload m;
	struct buf out = {0};
	CHECK_EQ(store_upload_read(r, ids[0], q.id, &m, &out), 1);
	CHECK_EQ(m.size, sizeof bin);
	CHECK(strcmp(m.type, "image/png") == 0);
	CHECK(out.len == sizeof bin && memcmp(out.data, bin, sizeof bin) == 0);
	buf_free(&out);
	/* another account does not see it; an unknown id is none */
	CHECK_EQ(store_upload_read(r, ids[1], q.id, &m, NULL), 0);
	CHECK_EQ(store_upload_read(r, ids[0], q.id + 100, &m, NULL), 0);
	/* an empty upload is an upload */
	struct store_upload_req e = {.account_id = ids[0], .type = "text/plain", .data = NULL};
	CHECK_EQ(store_exec(s, store_upload_job, &e), 0);
	CHECK_EQ(store_upload_read(r, ids[0], e.id, &m, &out), 1);
	CHECK_EQ(m.size, 0);
	CHECK_EQ(out.len, 0);
	/* the per-account cap: 300 used, 800 more is over 1000 */
	struct store_upload_req big = {
	    .account_id = ids[0], .type = "a/b", .data = bin, .len = 250, .max_total = 600};
	CHECK_EQ(store_exec(s, store_upload_job, &big), 0);
	big.len = 260;
	CHECK_EQ(store_exec(s, store_upload_job, &big), -EDQUOT);
	/* the other account has its own total */
	big.account_id = ids[1];
	CHECK_EQ(store_exec(s, store_upload_job, &big), 0);
	/* bad requests */
	struct store_upload_req bad = {.account_id = ids[0], .type = NULL};
	CHECK_EQ(store_exec(s, store_upload_job, &bad), -EINVAL);
	bad.type = "x/y";
	bad.account_id = 999;
	CHECK(store_exec(s, store_upload_job, &bad) < 0);
	/* a day old: invisible at once, deleted by the next upload's job */
	CHECK_EQ(store_exec(s, age_upload, &q.id), 0);
	CHECK_EQ(store_upload_read(r, ids[0], q.id, &m, NULL), 0);
	CHECK_EQ(q_int(r->db, "SELECT count(*) FROM uploads WHERE id = ?1", q.id), 1);
	struct store_upload_req next = {.account_id = ids[0], .type = "a/b", .data = bin, .len = 1};
	CHECK_EQ(store_exec(s, store_upload_job, &next), 0);
	CHECK_EQ(q_int(r->db, "SELECT count(*) FROM uploads WHERE id = ?1", q.id), 0);
	CHECK_EQ(store_exec(s, upload_expire_all, NULL), 4);
	CHECK_EQ(q_int(r->db, "SELECT count(*) FROM uploads", 0), 0);
	buf_free(&out);
	store_close(&s);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(tmproot, sizeof tmproot, "%s/tern-store-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmproot)) {
		perror("mkdtemp");
		return 1;
	}
	test_open_migrate();
	test_accounts();
	test_subscriptions();
	test_resolve();
	test_rcpt_cache();
	test_deliver();
	test_threads();
	test_group_commit();
	test_lazy_commits();
	test_checkpoints();
	test_batch_failures();
	test_notify();
	test_notify_account();
	test_uploads();
	nftw(tmproot, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	printf("store: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
