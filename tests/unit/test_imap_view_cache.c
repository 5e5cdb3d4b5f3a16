/* test_imap_view_cache: SELECT's index of a mailbox kept on the loop
 * (proto/imap/view_cache.c) against a real store: after random mixes of
 * deliveries, APPENDs with flags and keywords, STOREs (a keyword's last
 * use removed included), EXPUNGEs and COPY/MOVE out and in, the cached
 * index (brought up to date from the changes since its MODSEQ) says
 * exactly what a cold scan of the entries says: the UIDs, the first
 * unseen message, and the keywords in use in the order a scan meets
 * them; also after more mailboxes than it keeps were selected (evicted
 * ones come back right) and under a new UIDVALIDITY. */
#include "proto/imap/view_cache.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "check.h"
#include "store_jobs_testutil.h"

static int64_t account, inbox, other;

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "example.test");
	if (r < 0)
		return r;
	if ((r = store_account_add(tx, "u@example.test", "", &account)) < 0)
		return r;
	if (store_mailbox_find(store_tx_reader(tx), account, "INBOX", &inbox) <= 0 &&
	    store_mailbox_create(tx, account, "INBOX", "", &inbox) < 0)
		return -EIO;
	if (store_mailbox_create(tx, account, "Other", "", &other) < 0)
		return -EIO;
	return 0;
}

static const char *MANY_MSG = "Subject: x\r\n\r\nx\r\n";

static int make_many(struct store_tx *tx, void *arg)
{
	int64_t *ids = arg;
	for (int i = 0; i < 70; i++) {
		char name[32];
		snprintf(name, sizeof name, "Box%d", i);
		int r = store_mailbox_create(tx, account, name, "", &ids[i]);
		if (r < 0)
			return r;
		struct store_append_req aq = {.account_id = account,
		                              .mailbox_id = ids[i],
		                              .data = MANY_MSG,
		                              .len = strlen(MANY_MSG),
		                              .flags = i % 2 ? STORE_FLAG_SEEN : 0,
		                              .keywords = i % 3 ? "" : "Many"};
		if ((r = store_append_job(tx, &aq)) < 0)
			return r;
	}
	return 0;
}

static const char *MSG = "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n";

static int deliver(struct store_tx *tx, void *arg)
{
	char *m = arg;
	struct store_local_rcpt r = {.account_id = account, .mailbox_id = inbox};
	struct store_delivery d = {
	    .data = m, .len = strlen(m), .mail_from = "", .local = &r, .nlocal = 1};
	return store_deliver(tx, &d);
}

/* What FLAGS would list: each word once, the first spelling met. */
struct kwset {
	char text[4096];
};
static void kwset_add_list(struct kwset *k, const char *list)
{
	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		size_t n = (size_t)(e - p);
		bool have = false;
		for (const char *q = k->text; *q && n;) {
			const char *qe = strchr(q, ' ');
			size_t qn = qe ? (size_t)(qe - q) : strlen(q);
			if (qn == n && strncasecmp(q, p, n) == 0)
				have = true;
			q += qn;
			while (*q == ' ')
				q++;
		}
		if (n && !have && strlen(k->text) + n + 2 < sizeof k->text) {
			if (*k->text)
				strcat(k->text, " ");
			strncat(k->text, p, n);
		}
		p = e;
	}
}
static void kw_cb(void *ud, const char *list)
{
	kwset_add_list(ud, list);
}

struct scan {
	uint32_t uids[4096];
	size_t n;
	uint32_t first_unseen;
	struct kwset kw;
};
static int scan_cb(void *ud, const struct store_entry *e)
{
	struct scan *s = ud;
	if (s->n == sizeof s->uids / sizeof s->uids[0])
		return -ENOSPC;
	s->uids[s->n++] = e->uid;
	if (!(e->flags & STORE_FLAG_SEEN) && !s->first_unseen)
		s->first_unseen = (uint32_t)s->n;
	kwset_add_list(&s->kw, e->keywords);
	return 0;
}

/* The cache of mailbox id against a cold scan; false on a difference. */
static bool same_as_scan(struct store *st, int64_t id, const char *when)
{
	struct store_rd *rd = store_reader(st);
	struct store_mailbox mb;
	if (store_mailbox_get(rd, id, &mb) != 1)
		return false;
	struct imap_view_cache *c;
	int r = imap_view_cache_get(rd, id, mb.uidvalidity, mb.highestmodseq, &c);
	CHECK(r == 0, "%s: get %d", when, r);
	if (r != 0)
		return false;
	static struct scan s;
	memset(&s, 0, sizeof s);
	CHECK(store_entries_list_flags(rd, id, scan_cb, &s) >= 0, "%s: scan", when);
	size_t n;
	const uint32_t *uids = imap_view_cache_uids(c, &n);
	bool ok = n == s.n && (n == 0 || memcmp(uids, s.uids, n * sizeof *uids) == 0);
	CHECK(ok, "%s: %zu UIDs cached, %zu in the store", when, n, s.n);
	uint32_t fu = imap_view_cache_first_unseen(c);
	CHECK(fu == s.first_unseen, "%s: first unseen %u, scan %u", when, fu, s.first_unseen);
	struct kwset k = {0};
	imap_view_cache_keywords(c, kw_cb, &k);
	CHECK(strcmp(k.text, s.kw.text) == 0, "%s: keywords '%s', scan '%s'", when, k.text,
	      s.kw.text);
	return ok && fu == s.first_unseen && strcmp(k.text, s.kw.text) == 0;
}

static const char *const KEYWORDS[] = {"$Forwarded", "Work", "work", "$Junk", "a", "B", "b"};
#define NKW (sizeof KEYWORDS / sizeof KEYWORDS[0])

static void random_keywords(char *out, size_t cap)
{
	*out = '\0';
	bool used[NKW] = {0};
	int n = rand() % 3;
	for (int i = 0; i < n; i++) {
		size_t k = (size_t)rand() % NKW;
		bool clash = false;
		for (size_t j = 0; j < NKW; j++)
			if (used[j] && strcasecmp(KEYWORDS[j], KEYWORDS[k]) == 0)
				clash = true;
		if (clash)
			continue;
		used[k] = true;
		if (*out)
			strncat(out, " ", cap - strlen(out) - 1);
		strncat(out, KEYWORDS[k], cap - strlen(out) - 1);
	}
}

/* Some UIDs of mailbox id, ascending (at most max). */
static size_t some_uids(struct store *st, int64_t id, uint32_t *out, size_t max)
{
	static struct scan s;
	memset(&s, 0, sizeof s);
	store_entries_list_flags(store_reader(st), id, scan_cb, &s);
	size_t n = 0;
	int every = 1 + rand() % 4;
	for (size_t i = 0; i < s.n && n < max; i++)
		if (rand() % every == 0)
			out[n++] = s.uids[i];
	return n;
}

static void random_op(struct store *st)
{
	uint32_t uids[256];
	char kw[128];
	int op = rand() % 10;
	int64_t box = rand() % 4 ? inbox : other;
	if (op <= 2) {
		int k = 1 + rand() % 5;
		for (int i = 0; i < k; i++)
			store_exec(st, deliver, (void *)MSG);
	} else if (op == 3) {
		random_keywords(kw, sizeof kw);
		struct store_append_req aq = {.account_id = account,
		                              .mailbox_id = box,
		                              .data = MSG,
		                              .len = strlen(MSG),
		                              .flags = (uint32_t)rand() & STORE_FLAG_ALL,
		                              .keywords = kw};
		store_exec(st, fn_append, &aq);
	} else if (op <= 6) {
		size_t n = some_uids(st, box, uids, 256);
		if (!n)
			return;
		struct store_flag_result res[256];
		random_keywords(kw, sizeof kw);
		struct store_flags_req fq = {.mailbox_id = box,
		                             .uids = uids,
		                             .n = n,
		                             .op = (enum store_flag_op)(rand() % 3),
		                             .flags = (uint32_t)rand() & STORE_FLAG_ALL,
		                             .keywords = kw,
		                             .unchangedsince = -1,
		                             .res = res};
		store_exec(st, fn_flags, &fq);
		store_flags_req_clear(&fq);
	} else if (op == 7) {
		struct store_expunge_req eq = {.mailbox_id = box};
		if (rand() % 2) {
			eq.n = some_uids(st, box, uids, 256);
			eq.uids = uids;
		}
		store_exec(st, fn_expunge, &eq);
		free(eq.expunged);
	} else {
		size_t n = some_uids(st, box, uids, 64);
		if (!n)
			return;
		uint32_t nu[64];
		struct store_copy_req cq = {.account_id = account,
		                            .src_mailbox_id = box,
		                            .dst_mailbox_id = box == inbox ? other : inbox,
		                            .uids = uids,
		                            .n = n,
		                            .move = rand() % 2,
		                            .new_uids = nu};
		store_exec(st, fn_copy, &cq);
	}
}

int main(void)
{
	char dir[] = "/tmp/tern-viewcache-XXXXXX", err[256];
	struct store *st;
	if (!mkdtemp(dir) || store_open(&st, dir, NULL, err, sizeof err) < 0) {
		printf("store_open: %s\n", err);
		return 1;
	}
	srand(15);
	CHECK(store_exec(st, setup, NULL) == 0, "setup");
	CHECK(same_as_scan(st, inbox, "empty"), "empty INBOX");
	for (int i = 0; i < 20; i++)
		store_exec(st, deliver, (void *)MSG);
	CHECK(same_as_scan(st, inbox, "cold"), "20 delivered");
	CHECK(same_as_scan(st, inbox, "unchanged"), "nothing changed");

	/* a keyword's last use removed leaves FLAGS */
	uint32_t one = 3;
	struct store_flag_result res[1];
	struct store_flags_req fq = {.mailbox_id = inbox,
	                             .uids = &one,
	                             .n = 1,
	                             .op = STORE_FLAGS_ADD,
	                             .flags = STORE_FLAG_SEEN,
	                             .keywords = "Rare",
	                             .unchangedsince = -1,
	                             .res = res};
	store_exec(st, fn_flags, &fq);
	store_flags_req_clear(&fq);
	CHECK(same_as_scan(st, inbox, "keyword added"), "Rare");
	fq.op = STORE_FLAGS_REMOVE;
	fq.flags = 0;
	store_exec(st, fn_flags, &fq);
	store_flags_req_clear(&fq);
	CHECK(same_as_scan(st, inbox, "keyword removed"), "Rare gone");
	struct kwset k = {0};
	struct imap_view_cache *c;
	struct store_mailbox mb;
	store_mailbox_get(store_reader(st), inbox, &mb);
	imap_view_cache_get(store_reader(st), inbox, mb.uidvalidity, mb.highestmodseq, &c);
	imap_view_cache_keywords(c, kw_cb, &k);
	CHECK(strcmp(k.text, "") == 0, "no keyword left: '%s'", k.text);

	/* random mixes, the cache brought up to date after 1..4 changes */
	int bad = 0;
	for (int round = 0; round < 400 && bad < 3; round++) {
		int ops = 1 + rand() % 4;
		for (int i = 0; i < ops; i++)
			random_op(st);
		char when[64];
		snprintf(when, sizeof when, "round %d", round);
		if (!same_as_scan(st, inbox, when))
			bad++;
		if (rand() % 3 == 0 && !same_as_scan(st, other, when))
			bad++;
		if (rand() % 50 == 0) {
			imap_view_cache_forget(other);
			if (!same_as_scan(st, other, "forgotten"))
				bad++;
		}
	}

	/* more mailboxes than the cache keeps: the least recently used go,
	 * and come back right */
	static int64_t many[70];
	CHECK(store_exec(st, make_many, many) == 0, "70 mailboxes");
	for (int i = 0; i < 70; i++) {
		char when[32];
		snprintf(when, sizeof when, "mailbox %d", i);
		same_as_scan(st, many[i], when);
		if (i % 10 == 0)
			same_as_scan(st, inbox, "among many");
	}
	random_op(st);
	CHECK(same_as_scan(st, other, "evicted"), "Other after eviction");
	CHECK(same_as_scan(st, many[0], "evicted"), "the first of many after eviction");

	/* a new UIDVALIDITY under the same id starts afresh */
	store_mailbox_get(store_reader(st), inbox, &mb);
	CHECK(imap_view_cache_get(store_reader(st), inbox, mb.uidvalidity + 1, mb.highestmodseq,
	                          &c) == 0,
	      "other uidvalidity");
	CHECK(same_as_scan(st, inbox, "uidvalidity back"), "rebuilt");

	imap_view_cache_forget(inbox);
	imap_view_cache_clear();
	store_close(&st);
	check_remove_dir(dir);
	return check_report("test_imap_view_cache");
}
