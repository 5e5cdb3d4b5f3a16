/* test_store_sieve: an account's Sieve scripts (one active, the active one
 * not deletable, `updated` strictly growing; ids kept across replace and
 * rename, never reused, not usable from another account) and vacation's
 * memory, on a
 * fresh store in a temporary directory, through store_exec() as the CLI
 * writes. */
#include "check.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/sieve.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t alice, bob;

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int rc = store_domain_add(tx, "example.test");
	if (rc == 0)
		rc = store_account_add(tx, "alice@example.test", "x", &alice);
	if (rc == 0)
		rc = store_account_add(tx, "bob@example.test", "x", &bob);
	return rc;
}

struct op {
	int kind; /* 'p' put, 'a' activate, 'd' delete, 'v' vacation note */
	int64_t account;
	const char *name;
	const char *text;
	size_t len;
	int64_t now;
};

static int run_op(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	switch (o->kind) {
	case 'p':
		return store_sieve_put(tx, o->account, o->name, o->text, o->len);
	case 'a':
		return store_sieve_activate(tx, o->account, o->name);
	case 'd':
		return store_sieve_delete(tx, o->account, o->name);
	case 'r':
		return store_sieve_rename(tx, o->account, o->name, o->text);
	case 'R': /* by id: name holds it in decimal */
		return store_sieve_rename_id(tx, o->account, atoll(o->name), o->text);
	case 'P':
		return store_sieve_replace_id(tx, o->account, atoll(o->name), o->text, o->len);
	case 'A':
		return store_sieve_activate_id(tx, o->account, atoll(o->name));
	case 'D':
		return store_sieve_delete_id(tx, o->account, atoll(o->name));
	default:
		return store_sieve_vacation_note(tx, o->account, o->name, o->text, o->now);
	}
}

static int put(struct store *s, int64_t acct, const char *name, const char *text)
{
	struct op o = {'p', acct, name, text, text ? strlen(text) : 0, 0};
	return store_exec(s, run_op, &o);
}
static int activate(struct store *s, int64_t acct, const char *name)
{
	struct op o = {'a', acct, name, NULL, 0, 0};
	return store_exec(s, run_op, &o);
}
static int delete (struct store *s, int64_t acct, const char *name)
{
	struct op o = {'d', acct, name, NULL, 0, 0};
	return store_exec(s, run_op, &o);
}

static int rename_script(struct store *s, int64_t acct, const char *from, const char *to)
{
	struct op o = {'r', acct, from, to, 0, 0};
	return store_exec(s, run_op, &o);
}

struct listing {
	char names[8][STORE_SIEVE_NAME_MAX + 1];
	bool active[8];
	int n;
};

static int list_cb(void *ud, const struct store_sieve_script *sc)
{
	struct listing *l = ud;
	if (l->n < 8) {
		snprintf(l->names[l->n], sizeof l->names[0], "%s", sc->name);
		l->active[l->n] = sc->active;
	}
	l->n++;
	return 0;
}

static int stop_cb(void *ud, const struct store_sieve_script *sc)
{
	(void)ud;
	(void)sc;
	return -ECANCELED;
}

static void test_scripts(struct store *s)
{
	struct store_rd *rd = store_reader(s);
	CHECK_THAT(put(s, alice, "work", "keep;") == 0);
	CHECK_THAT(put(s, alice, "home", "discard;") == 0);
	CHECK_THAT(put(s, bob, "work", "stop;") == 0);
	/* bad input refused, nothing stored */
	CHECK_THAT(put(s, alice, "", "keep;") == -EINVAL);
	CHECK_THAT(put(s, alice, "a/b", "keep;") == -EINVAL);
	CHECK_THAT(put(s, alice, "tab\there", "keep;") == -EINVAL);
	CHECK_THAT(put(s, alice, "empty", "") == -EINVAL);
	CHECK_THAT(put(s, 999999, "x", "keep;") == -ENOENT);
	char *big = malloc(STORE_SIEVE_SCRIPT_MAX + 2);
	memset(big, '#', STORE_SIEVE_SCRIPT_MAX + 1);
	big[STORE_SIEVE_SCRIPT_MAX + 1] = '\0';
	CHECK_THAT(put(s, alice, "big", big) == -EINVAL);
	free(big);

	struct listing l = {0};
	CHECK_THAT(store_sieve_list(rd, alice, list_cb, &l) == 0);
	CHECK(l.n == 2 && strcmp(l.names[0], "home") == 0 && strcmp(l.names[1], "work") == 0,
	      "list: %d", l.n);
	CHECK_THAT(!l.active[0] && !l.active[1]);
	CHECK_THAT(store_sieve_list(rd, alice, stop_cb, NULL) == -ECANCELED);

	/* no active script yet */
	char *text = NULL;
	size_t len = 0;
	int64_t v0 = 0, v1 = 0, v2 = 0;
	CHECK_THAT(store_sieve_get(rd, alice, NULL, &text, &len, NULL) == 0);
	CHECK_THAT(store_sieve_active_version(rd, alice, &v0) == 0);

	CHECK_THAT(activate(s, alice, "missing") == -ENOENT);
	CHECK_THAT(activate(s, alice, "work") == 0);
	struct store_sieve_script info;
	CHECK_THAT(store_sieve_get(rd, alice, NULL, &text, &len, &info) == 1);
	CHECK(text && strcmp(text, "keep;") == 0 && len == 5 && info.active &&
	          strcmp(info.name, "work") == 0,
	      "active: %s", text ? text : "(null)");
	free(text);
	CHECK_THAT(store_sieve_active_version(rd, alice, &v1) == 1 && v1 == info.updated);
	/* bob's script is his own */
	CHECK_THAT(store_sieve_get(rd, bob, NULL, &text, &len, NULL) == 0);

	/* one active at a time */
	CHECK_THAT(activate(s, alice, "home") == 0);
	memset(&l, 0, sizeof l);
	store_sieve_list(rd, alice, list_cb, &l);
	CHECK_THAT(l.n == 2 && l.active[0] && !l.active[1]);
	CHECK_THAT(store_sieve_active_version(rd, alice, &v2) == 1 && v2 > v1);

	/* replacing the active script keeps it active, with a new version */
	CHECK_THAT(put(s, alice, "home", "fileinto \"x\";") == 0);
	int64_t v3 = 0;
	CHECK_THAT(store_sieve_active_version(rd, alice, &v3) == 1 && v3 > v2);
	CHECK_THAT(store_sieve_get(rd, alice, "home", &text, &len, &info) == 1);
	CHECK_THAT(strcmp(text, "fileinto \"x\";") == 0 && info.active);
	free(text);

	/* the active one cannot be deleted; others can */
	CHECK_THAT(delete (s, alice, "home") == -EBUSY);
	CHECK_THAT(delete (s, alice, "nope") == -ENOENT);
	CHECK_THAT(delete (s, alice, "work") == 0);
	CHECK_THAT(store_sieve_get(rd, alice, "work", &text, &len, NULL) == 0);
	/* deactivate, then delete */
	CHECK_THAT(activate(s, alice, NULL) == 0);
	CHECK_THAT(store_sieve_get(rd, alice, NULL, &text, &len, NULL) == 0);
	CHECK_THAT(delete (s, alice, "home") == 0);
	memset(&l, 0, sizeof l);
	store_sieve_list(rd, alice, list_cb, &l);
	CHECK_THAT(l.n == 0);
	/* bob untouched */
	CHECK_THAT(store_sieve_get(rd, bob, "work", &text, &len, NULL) == 1);
	free(text);
}

/* ManageSieve's RENAMESCRIPT (RFC 5804 §2.11.1): the active one stays
 * active, a taken or missing name is refused; and the count HAVESPACE and
 * PUTSCRIPT check. */
static void test_rename(struct store *s)
{
	struct store_rd *rd = store_reader(s);
	CHECK_THAT(store_sieve_count(rd, bob) == 1); /* "work", from test_scripts */
	CHECK_THAT(put(s, bob, "a", "keep;") == 0);
	CHECK_THAT(put(s, bob, "b", "stop;") == 0);
	CHECK_THAT(store_sieve_count(rd, bob) == 3);
	CHECK_THAT(activate(s, bob, "a") == 0);
	int64_t before = 0, after = 0;
	CHECK_THAT(store_sieve_active_version(rd, bob, &before) == 1);
	CHECK_THAT(rename_script(s, bob, "a", "b") == -EEXIST);
	CHECK_THAT(rename_script(s, bob, "a", "a") == -EEXIST);
	CHECK_THAT(rename_script(s, bob, "nope", "c") == -ENOENT);
	CHECK_THAT(rename_script(s, bob, "a", "bad/name") == -EINVAL);
	CHECK_THAT(rename_script(s, alice, "a", "c") == -ENOENT); /* another account's */
	CHECK_THAT(rename_script(s, bob, "a", "c") == 0);
	char *text = NULL;
	size_t len = 0;
	struct store_sieve_script info;
	CHECK_THAT(store_sieve_get(rd, bob, NULL, &text, &len, &info) == 1);
	CHECK(strcmp(info.name, "c") == 0 && len == 5 && memcmp(text, "keep;", 5) == 0,
	      "the active script is now %s", info.name);
	free(text);
	CHECK_THAT(store_sieve_active_version(rd, bob, &after) == 1 && after > before);
	CHECK_THAT(store_sieve_get(rd, bob, "a", &text, &len, NULL) == 0);
	CHECK_THAT(store_sieve_count(rd, bob) == 3);
	CHECK_THAT(store_sieve_count(rd, 999999) == 0);
}

/* An op by id (kind 'R', 'P', 'A' or 'D'). */
static int by_id(struct store *s, int kind, int64_t acct, int64_t id, const char *text)
{
	char n[24];
	snprintf(n, sizeof n, "%lld", (long long)id);
	struct op o = {kind, acct, n, text, text ? strlen(text) : 0, 0};
	return store_exec(s, run_op, &o);
}

static int64_t updated_of(struct store_rd *rd, int64_t acct, int64_t id)
{
	struct store_sieve_script info;
	return store_sieve_get_id(rd, acct, id, NULL, NULL, &info) == 1 ? info.updated : -1;
}

/* Schema 24's ids: what JMAP names scripts by. */
static void test_ids(struct store *s)
{
	struct store_rd *rd = store_reader(s);
	CHECK_THAT(put(s, alice, "one", "keep;") == 0);
	CHECK_THAT(put(s, alice, "two", "stop;") == 0);
	int64_t one = store_sieve_id_of(rd, alice, "one"),
	        two = store_sieve_id_of(rd, alice, "two");
	CHECK(one > 0 && two > one, "ids %lld %lld", (long long)one, (long long)two);
	CHECK_THAT(store_sieve_id_of(rd, alice, "three") == 0);
	CHECK_THAT(store_sieve_id_of(rd, bob, "one") == 0);
	/* a put over a name keeps the id */
	CHECK_THAT(put(s, alice, "one", "discard;") == 0);
	CHECK_THAT(store_sieve_id_of(rd, alice, "one") == one);
	/* get by id: info alone, or the text too; not as another account */
	struct store_sieve_script info;
	char *text = NULL;
	size_t len = 0;
	CHECK_THAT(store_sieve_get_id(rd, alice, one, NULL, NULL, &info) == 1 && info.id == one &&
	           strcmp(info.name, "one") == 0 && info.size == 8 && !info.active);
	CHECK_THAT(store_sieve_get_id(rd, alice, one, &text, &len, NULL) == 1 && len == 8 &&
	           strcmp(text, "discard;") == 0);
	free(text);
	CHECK_THAT(store_sieve_get_id(rd, bob, one, NULL, NULL, &info) == 0);
	CHECK_THAT(store_sieve_get_id(rd, alice, 999999, NULL, NULL, &info) == 0);
	/* the list and a get by name carry the id */
	CHECK_THAT(store_sieve_get(rd, alice, "two", NULL, NULL, &info) == 1 && info.id == two);

	/* another account's id is no script of this one */
	CHECK_THAT(by_id(s, 'R', bob, one, "x") == -ENOENT);
	CHECK_THAT(by_id(s, 'P', bob, one, "keep;") == -ENOENT);
	CHECK_THAT(by_id(s, 'A', bob, one, NULL) == -ENOENT);
	CHECK_THAT(by_id(s, 'D', bob, one, NULL) == -ENOENT);
	CHECK_THAT(store_sieve_get_id(rd, alice, one, NULL, NULL, &info) == 1);

	/* replace by id */
	int64_t v = updated_of(rd, alice, one);
	CHECK_THAT(by_id(s, 'P', alice, one, "keep;") == 0);
	CHECK_THAT(updated_of(rd, alice, one) > v);
	CHECK_THAT(by_id(s, 'P', alice, one, "") == -EINVAL);
	CHECK_THAT(by_id(s, 'P', alice, 999999, "keep;") == -ENOENT);

	/* activate by id, then rename it: the id, the text and active stay */
	CHECK_THAT(by_id(s, 'A', alice, one, NULL) == 0);
	v = updated_of(rd, alice, one);
	CHECK_THAT(by_id(s, 'R', alice, one, "two") == -EEXIST);
	CHECK_THAT(by_id(s, 'R', alice, one, "a/b") == -EINVAL);
	CHECK_THAT(by_id(s, 'R', alice, 999999, "x") == -ENOENT);
	CHECK_THAT(by_id(s, 'R', alice, one, "one") == 0); /* its own name: nothing */
	CHECK_THAT(updated_of(rd, alice, one) == v);
	CHECK_THAT(by_id(s, 'R', alice, one, "uno") == 0);
	CHECK_THAT(updated_of(rd, alice, one) > v);
	CHECK_THAT(store_sieve_get(rd, alice, NULL, &text, &len, &info) == 1 && info.id == one &&
	           strcmp(info.name, "uno") == 0 && strcmp(text, "keep;") == 0);
	free(text);
	CHECK_THAT(store_sieve_id_of(rd, alice, "one") == 0);
	/* ManageSieve's rename by name keeps it too */
	CHECK_THAT(rename_script(s, alice, "uno", "eins") == 0);
	CHECK_THAT(store_sieve_id_of(rd, alice, "eins") == one);

	/* delete by id: not the active one; then the id is gone for good */
	CHECK_THAT(by_id(s, 'D', alice, one, NULL) == -EBUSY);
	CHECK_THAT(by_id(s, 'D', alice, two, NULL) == 0);
	CHECK_THAT(by_id(s, 'D', alice, two, NULL) == -ENOENT);
	CHECK_THAT(put(s, alice, "two", "stop;") == 0);
	int64_t again = store_sieve_id_of(rd, alice, "two");
	CHECK(again > two, "a new id after a delete: %lld", (long long)again);
	CHECK_THAT(activate(s, alice, NULL) == 0);
	CHECK_THAT(delete (s, alice, "eins") == 0 && delete (s, alice, "two") == 0);
}

static void test_vacation(struct store *s)
{
	struct store_rd *rd = store_reader(s);
	int64_t t = 1800000000;
	CHECK_THAT(store_sieve_vacation_seen(rd, alice, "h", "x@remote.test", t - 86400) == 0);
	struct op o = {'v', alice, "h", "x@remote.test", 0, t};
	CHECK_THAT(store_exec(s, run_op, &o) == 0);
	/* within the period: seen; sender compared without case */
	CHECK_THAT(store_sieve_vacation_seen(rd, alice, "h", "X@Remote.test", t - 86400) == 1);
	/* after it: not */
	CHECK_THAT(store_sieve_vacation_seen(rd, alice, "h", "x@remote.test", t + 1) == 0);
	/* another handle, another account: not */
	CHECK_THAT(store_sieve_vacation_seen(rd, alice, "other", "x@remote.test", 0) == 0);
	CHECK_THAT(store_sieve_vacation_seen(rd, bob, "h", "x@remote.test", 0) == 0);
	/* answered again later: the time moves on */
	o.now = t + 10 * 86400;
	CHECK_THAT(store_exec(s, run_op, &o) == 0);
	CHECK_THAT(store_sieve_vacation_seen(rd, alice, "h", "x@remote.test", t + 86400) == 1);
	/* a note a year later prunes pairs that can no longer matter */
	struct op o2 = {'v', alice, "h", "y@remote.test", 0, t + 400 * 86400LL};
	CHECK_THAT(store_exec(s, run_op, &o2) == 0);
	CHECK_THAT(store_sieve_vacation_seen(rd, alice, "h", "x@remote.test", 0) == 0);
}

/* What a script's filing asks of store_deliver: flags and keywords on
 * the entry, and not_junk keeping it out of Junk under a junk verdict. */
static uint32_t filed_uids[2];
static int64_t filed_boxes[2];

static int deliver_filed(struct store_tx *tx, void *arg)
{
	(void)arg;
	static const char msg[] = "Subject: filed\r\n\r\nbody\r\n";
	struct store_local_rcpt local[2] = {
	    {.account_id = bob,
	     .flags = STORE_FLAG_FLAGGED | STORE_FLAG_SEEN,
	     .keywords = "$label",
	     .not_junk = true},
	    {.account_id = alice, .flags = STORE_FLAG_SEEN},
	};
	struct store_delivery d = {.data = msg,
	                           .len = sizeof msg - 1,
	                           .local = local,
	                           .nlocal = 2,
	                           .junk = true,
	                           .uids = filed_uids,
	                           .mailbox_ids = filed_boxes};
	return store_deliver(tx, &d);
}

static void test_deliver_filed(struct store *s)
{
	struct store_rd *rd = store_reader(s);
	CHECK_THAT(store_exec(s, deliver_filed, NULL) == 0);
	int64_t bob_inbox = 0, alice_junk = 0;
	CHECK_THAT(store_mailbox_find(rd, bob, "INBOX", &bob_inbox) == 1);
	CHECK_THAT(store_mailbox_find(rd, alice, "Junk", &alice_junk) == 1);
	/* bob's copy: rescued into INBOX with the script's flags */
	CHECK(filed_boxes[0] == bob_inbox, "bob's copy in %lld", (long long)filed_boxes[0]);
	uint32_t flags = 0;
	int64_t modseq;
	char kw[64];
	CHECK_THAT(store_entry_flags(rd, filed_boxes[0], filed_uids[0], &flags, &modseq, kw,
	                             sizeof kw) == 1);
	CHECK(flags == (STORE_FLAG_FLAGGED | STORE_FLAG_SEEN) && strcmp(kw, "$label") == 0,
	      "bob: %u %s", flags, kw);
	/* alice's: the junk verdict, $Junk, and the flags */
	CHECK(filed_boxes[1] == alice_junk, "alice's copy in %lld", (long long)filed_boxes[1]);
	CHECK_THAT(store_entry_flags(rd, filed_boxes[1], filed_uids[1], &flags, &modseq, kw,
	                             sizeof kw) == 1);
	CHECK(flags == STORE_FLAG_SEEN && strcmp(kw, "$Junk") == 0, "alice: %u %s", flags, kw);
}

/* Deleting the account takes its scripts and vacation pairs with it. */
static int del_alice(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_account_del(tx, "alice@example.test");
}

static void test_account_delete(struct store *s)
{
	struct store_rd *rd = store_reader(s);
	CHECK_THAT(put(s, alice, "gone", "keep;") == 0);
	CHECK_THAT(activate(s, alice, "gone") == 0);
	CHECK_THAT(store_exec(s, del_alice, NULL) == 0);
	char *text = NULL;
	size_t len;
	CHECK_THAT(store_sieve_get(rd, alice, "gone", &text, &len, NULL) == 0);
	CHECK_THAT(store_sieve_vacation_seen(rd, alice, "h", "y@remote.test", 0) == 0);
}

int main(void)
{
	char dir[] = "/tmp/test_store_sieve.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct store *s = NULL;
	char err[256];
	if (store_open(&s, dir, NULL, err, sizeof err) < 0) {
		printf("store_open: %s\n", err);
		return 1;
	}
	CHECK_THAT(store_exec(s, setup, NULL) == 0);
	test_scripts(s);
	test_rename(s);
	test_ids(s);
	test_vacation(s);
	test_deliver_filed(s);
	test_account_delete(s);
	store_close(&s);
	check_remove_dir(dir);
	return check_report("test_store_sieve");
}
