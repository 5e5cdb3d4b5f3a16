/* test_store_contacts: store/contacts.c (schema 22): books (ensure, create,
 * rename, destroy, list, get and their errors), cards (put with If-Match
 * and If-None-Match, uid and href conflicts, delete, move, get, list),
 * the modseq counter and tombstones as both syncs see them (a book's by
 * href, the account's by id), case-insensitive addresses and search,
 * collected addresses, the bounds, and an account's deletion taking it
 * all along. */
#include "check.h"
#include "store/accounts.h"
#include "store/contacts.h"
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct store *st;
static int64_t ann, other;

/* ---- jobs: each test step is one store_exec of a closure-like struct ---- */

enum op {
	OP_ENSURE,
	OP_CREATE,
	OP_RENAME,
	OP_DESTROY,
	OP_PUT,
	OP_DELETE,
	OP_MOVE,
	OP_COLLECT,
	OP_DEL_ACCOUNT,
};

struct job {
	enum op op;
	int64_t account, book, card, if_match;
	const char *name, *href, *uid, *vcard, *email;
	size_t len;
	const char *const *emails;
	size_t nemails;
	int64_t out_id, out_modseq;
};

static int job_run(struct store_tx *tx, void *arg)
{
	struct job *j = arg;
	switch (j->op) {
	case OP_ENSURE:
		return store_addressbook_ensure(tx, j->account);
	case OP_CREATE:
		return store_addressbook_create(tx, j->account, j->name, &j->out_id);
	case OP_RENAME:
		return store_addressbook_rename(tx, j->account, j->book, j->name);
	case OP_DESTROY:
		return store_addressbook_destroy(tx, j->account, j->book);
	case OP_PUT:
		return store_card_put(tx, j->account, j->book, j->href, j->uid, j->vcard,
		                      j->len ? j->len : (j->vcard ? strlen(j->vcard) : 0),
		                      j->emails, j->nemails, j->if_match, &j->out_id,
		                      &j->out_modseq);
	case OP_DELETE:
		return store_card_delete(tx, j->account, j->book, j->href, j->if_match);
	case OP_MOVE:
		return store_card_move(tx, j->account, j->card, j->book);
	case OP_COLLECT:
		return store_contacts_collect(tx, j->account, j->name, j->email);
	case OP_DEL_ACCOUNT:
		return store_account_del(tx, j->name);
	}
	return -EINVAL;
}

static int run(struct job *j)
{
	return store_exec(st, job_run, j);
}

static int64_t create_book(int64_t account, const char *name, int want)
{
	struct job j = {.op = OP_CREATE, .account = account, .name = name};
	int r = run(&j);
	CHECK(r == want, "create %s: %d, want %d", name, r, want);
	return j.out_id;
}

static const char *const NO_EMAILS[1] = {NULL};

/* put a card; returns the job (ids) and checks the result */
static struct job put(int64_t book, const char *href, const char *uid, const char *vcard,
                      const char *const *emails, size_t n, int64_t if_match, int want)
{
	struct job j = {.op = OP_PUT,
	                .account = ann,
	                .book = book,
	                .href = href,
	                .uid = uid,
	                .vcard = vcard,
	                .emails = n ? emails : NO_EMAILS,
	                .nemails = n,
	                .if_match = if_match};
	int r = run(&j);
	CHECK(r == want, "put %s: %d, want %d", href ? href : "(null)", r, want);
	return j;
}

static int del(int64_t book, const char *href, int64_t if_match)
{
	struct job j = {
	    .op = OP_DELETE, .account = ann, .book = book, .href = href, .if_match = if_match};
	return run(&j);
}

/* ---- reading ---- */

struct seen {
	int n;
	int64_t id[64], modseq[64], book[64];
	bool deleted[64];
	char href[64][64];
	char text[64][512];
	size_t len[64];
	bool has_text[64];
};

static int seen_cb(void *ud, const struct store_card *c)
{
	struct seen *s = ud;
	if (s->n >= 64)
		return -E2BIG;
	int i = s->n++;
	s->id[i] = c->id;
	s->modseq[i] = c->modseq;
	s->book[i] = c->addressbook_id;
	s->deleted[i] = c->deleted;
	snprintf(s->href[i], sizeof s->href[i], "%s", c->href);
	s->has_text[i] = c->vcard != NULL;
	s->len[i] = c->len;
	if (c->vcard)
		snprintf(s->text[i], sizeof s->text[i], "%.*s", (int)c->len, c->vcard);
	else
		s->text[i][0] = '\0';
	return 0;
}

static int stop_cb(void *ud, const struct store_card *c)
{
	(void)ud;
	(void)c;
	return -ECANCELED;
}

struct books {
	int n;
	struct store_addressbook b[8];
};

static int books_cb(void *ud, const struct store_addressbook *b)
{
	struct books *s = ud;
	if (s->n < 8)
		s->b[s->n++] = *b;
	return 0;
}

static struct seen changes(int64_t book, int64_t since)
{
	struct seen s = {.n = 0};
	CHECK_THAT(store_card_changes(store_reader(st), ann, book, since, seen_cb, &s) == 0);
	return s;
}

static struct seen list(int64_t book, bool with_data)
{
	struct seen s = {.n = 0};
	CHECK_THAT(store_card_list(store_reader(st), ann, book, with_data, seen_cb, &s) == 0);
	return s;
}

static struct seen search(const char *prefix, size_t limit)
{
	struct seen s = {.n = 0};
	CHECK_THAT(store_card_search(store_reader(st), ann, prefix, limit, seen_cb, &s) == 0);
	return s;
}

static int64_t modseq(void)
{
	return store_contacts_modseq(store_reader(st), ann);
}

static int setup_job(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "c.test");
	r = r ? r : store_account_add(tx, "ann@c.test", "x", NULL);
	return r ? r : store_account_add(tx, "bob@c.test", "x", NULL);
}

static int setup_cy(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_account_add(tx, "cy@c.test", "x", NULL);
}

static int64_t account_id(const char *address)
{
	struct store_account a;
	CHECK_THAT(store_account_lookup(store_reader(st), address, &a) == 1);
	return a.id;
}

#define CARD(uid, fn, email)                                                                       \
	"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:" uid "\r\nFN:" fn "\r\nEMAIL:" email "\r\nEND:"        \
	"VCARD\r\n"

static void test_books(void)
{
	struct store_rd *rd = store_reader(st);
	struct store_addressbook b;
	struct books bs = {.n = 0};
	/* nothing before ensure */
	CHECK_THAT(store_addressbook_list(rd, ann, books_cb, &bs) == 0 && bs.n == 0);
	CHECK_THAT(store_addressbook_get(rd, ann, 0, NULL, "default", &b) == 0);
	CHECK_THAT(store_addressbook_get(rd, ann, 0, NULL, NULL, &b) == -EINVAL);
	struct job j = {.op = OP_ENSURE, .account = ann};
	CHECK_THAT(run(&j) == 0);
	CHECK_THAT(run(&j) == 0); /* idempotent */
	j.account = 999999;
	CHECK_THAT(run(&j) == -ENOENT);
	CHECK_THAT(store_addressbook_list(rd, ann, books_cb, &bs) == 0 && bs.n == 2);
	CHECK_THAT(strcmp(bs.b[0].name, "Contacts") == 0 && strcmp(bs.b[0].role, "default") == 0);
	CHECK_THAT(strcmp(bs.b[1].name, "Collected Addresses") == 0 &&
	           strcmp(bs.b[1].role, "collected") == 0);
	CHECK_THAT(bs.b[0].modseq == 0);
	CHECK_THAT(store_addressbook_get(rd, ann, 0, NULL, "default", &b) == 1 &&
	           b.id == bs.b[0].id);
	CHECK_THAT(store_addressbook_get(rd, ann, 0, "Collected Addresses", NULL, &b) == 1 &&
	           b.id == bs.b[1].id);
	CHECK_THAT(store_addressbook_get(rd, ann, bs.b[1].id, NULL, NULL, &b) == 1 &&
	           strcmp(b.role, "collected") == 0);
	CHECK_THAT(store_addressbook_get(rd, ann, 0, NULL, "", &b) == 0);
	CHECK_THAT(store_addressbook_get(rd, ann, 0, "contacts", NULL, &b) == 0);
	/* another account's book is not found by id */
	CHECK_THAT(store_addressbook_get(rd, other, bs.b[0].id, NULL, NULL, &b) == 0);

	int64_t work = create_book(ann, "Work", 0);
	CHECK_THAT(work > bs.b[1].id);
	create_book(ann, "Work", -EEXIST);
	create_book(ann, "", -EINVAL);
	create_book(ann, NULL, -EINVAL);
	create_book(ann, "tab\there", -EINVAL);
	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = '\0';
	create_book(ann, longname, -EINVAL);
	longname[255] = '\0';
	int64_t big = create_book(ann, longname, 0);
	create_book(999999, "Ghost", -ENOENT);
	create_book(other, "Work", 0); /* names are per account */

	j = (struct job){.op = OP_RENAME, .account = ann, .book = work, .name = "Office"};
	CHECK_THAT(run(&j) == 0);
	CHECK_THAT(store_addressbook_get(rd, ann, work, NULL, NULL, &b) == 1 &&
	           strcmp(b.name, "Office") == 0);
	CHECK_THAT(run(&j) == 0); /* to its own name */
	j.name = "Contacts";
	CHECK_THAT(run(&j) == -EEXIST);
	j.name = "";
	CHECK_THAT(run(&j) == -EINVAL);
	j.name = "Nowhere";
	j.book = 999999;
	CHECK_THAT(run(&j) == -ENOENT);
	j.account = other; /* not its book */
	j.book = work;
	CHECK_THAT(run(&j) == -ENOENT);

	j = (struct job){.op = OP_DESTROY, .account = ann, .book = bs.b[0].id};
	CHECK_THAT(run(&j) == -EBUSY);
	j.book = big;
	CHECK_THAT(run(&j) == 0);
	CHECK_THAT(run(&j) == -ENOENT);
	j.account = other;
	j.book = work;
	CHECK_THAT(run(&j) == -ENOENT);

	/* at most STORE_ADDRESSBOOKS_MAX books */
	int made = 0, last = 0;
	for (int i = 0; i < STORE_ADDRESSBOOKS_MAX + 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "Many %d", i);
		struct job c = {.op = OP_CREATE, .account = other, .name = name};
		last = run(&c);
		if (last == 0)
			made++;
		else
			break;
	}
	CHECK(made == STORE_ADDRESSBOOKS_MAX - 1 && last == -ENOSPC, "made %d, last %d", made,
	      last);
}

static int64_t book_of(const char *role)
{
	struct store_addressbook b;
	CHECK_THAT(store_addressbook_get(store_reader(st), ann, 0, NULL, role, &b) == 1);
	return b.id;
}

static int64_t book_named(const char *name)
{
	struct store_addressbook b;
	CHECK_THAT(store_addressbook_get(store_reader(st), ann, 0, name, NULL, &b) == 1);
	return b.id;
}

static void test_cards(void)
{
	struct store_rd *rd = store_reader(st);
	int64_t home = book_of("default"), office = book_named("Office");
	int64_t m0 = modseq();
	CHECK_THAT(m0 == 0);
	const char *e1[] = {"Carol@Example.ORG", "carol@work.test"};
	struct job a = put(home, "a.vcf", "uid-a",
	                   CARD("uid-a", "Carol Danvers", "Carol@Example.ORG"), e1, 2, -1, 0);
	CHECK_THAT(a.out_modseq == 1 && modseq() == 1 && a.out_id > 0);
	/* If-None-Match: * on an existing href; a second card with the uid */
	put(home, "a.vcf", "uid-a", CARD("uid-a", "X", "x@x"), NULL, 0, 0, -EEXIST);
	put(home, "b.vcf", "uid-a", CARD("uid-a", "X", "x@x"), NULL, 0, -1, -EEXIST);
	/* the same uid in another book is fine */
	struct job o =
	    put(office, "a.vcf", "uid-a", CARD("uid-a", "Other", "o@x.test"), NULL, 0, 0, 0);
	CHECK_THAT(o.out_modseq == 2 && o.out_id != a.out_id);
	/* If-Match */
	put(home, "a.vcf", "uid-a", CARD("uid-a", "Carol", "c@x"), e1, 1, 99, -ESTALE);
	put(home, "new.vcf", "uid-n", CARD("uid-n", "N", "n@x"), NULL, 0, 5, -ESTALE);
	struct job a2 = put(home, "a.vcf", "uid-a", CARD("uid-a", "Carol Danvers", "c@x.test"), e1,
	                    1, a.out_modseq, 0);
	CHECK_THAT(a2.out_id == a.out_id && a2.out_modseq == 3);
	/* bounds */
	put(home, "", "u", "x", NULL, 0, -1, -EINVAL);
	put(home, NULL, "u", "x", NULL, 0, -1, -EINVAL);
	put(home, "a/b.vcf", "u", "x", NULL, 0, -1, -EINVAL);
	put(home, "ok.vcf", "", "x", NULL, 0, -1, -EINVAL);
	put(home, "ok.vcf", "u\r\n", "x", NULL, 0, -1, -EINVAL);
	put(home, "ok.vcf", "u", NULL, NULL, 0, -1, -EINVAL);
	put(home, "ok.vcf", "u", "x", NULL, 0, -2, -EINVAL);
	char longs[300];
	memset(longs, 'h', 256);
	longs[256] = '\0';
	put(home, longs, "u", "x", NULL, 0, -1, -EINVAL);
	put(home, "ok.vcf", longs, "x", NULL, 0, -1, -EINVAL);
	longs[255] = '\0';
	put(home, longs, longs, "x", NULL, 0, -1, 0); /* 255 is the limit */
	CHECK_THAT(del(home, longs, -1) == 0);
	char *huge = malloc(STORE_CARD_MAX + 2);
	memset(huge, 'v', STORE_CARD_MAX + 1);
	huge[STORE_CARD_MAX + 1] = '\0';
	put(home, "huge.vcf", "huge", huge, NULL, 0, -1, -EINVAL);
	huge[STORE_CARD_MAX] = '\0';
	struct job h = put(home, "huge.vcf", "huge", huge, NULL, 0, -1, 0);
	free(huge);
	CHECK_THAT(del(home, "huge.vcf", h.out_modseq) == 0);
	const char *bad_email[] = {"a@b\n"};
	put(home, "ok.vcf", "u", "x", bad_email, 1, -1, -EINVAL);
	const char *null_email[] = {NULL};
	put(home, "ok.vcf", "u", "x", null_email, 1, -1, -EINVAL);
	put(999999, "ok.vcf", "u", "x", NULL, 0, -1, -ENOENT);
	struct job ob = {.op = OP_PUT,
	                 .account = other,
	                 .book = home,
	                 .href = "z.vcf",
	                 .uid = "z",
	                 .vcard = "x",
	                 .emails = NO_EMAILS};
	CHECK_THAT(run(&ob) == -ENOENT); /* another account's book */

	/* get by href and by id, with the text byte for byte */
	struct seen s = {.n = 0};
	CHECK_THAT(store_card_get(rd, ann, home, "a.vcf", 0, seen_cb, &s) == 1 && s.n == 1);
	CHECK_THAT(s.id[0] == a.out_id && s.modseq[0] == 3 && s.has_text[0] &&
	           strcmp(s.text[0], CARD("uid-a", "Carol Danvers", "c@x.test")) == 0);
	s.n = 0;
	CHECK_THAT(store_card_get(rd, ann, 0, NULL, a.out_id, seen_cb, &s) == 1 && s.n == 1 &&
	           s.book[0] == home && strcmp(s.href[0], "a.vcf") == 0);
	CHECK_THAT(store_card_get(rd, ann, home, "none.vcf", 0, seen_cb, &s) == 0);
	CHECK_THAT(store_card_get(rd, other, 0, NULL, a.out_id, seen_cb, &s) == 0);
	CHECK_THAT(store_card_get(rd, ann, home, "a.vcf", 0, stop_cb, NULL) == -ECANCELED);

	/* list: live cards by id, text when asked */
	s = list(home, false);
	CHECK_THAT(s.n == 1 && !s.has_text[0] &&
	           s.len[0] == strlen(CARD("uid-a", "Carol Danvers", "c@x.test")));
	s = list(0, true);
	CHECK_THAT(s.n == 2 && s.has_text[0] && s.id[0] == a.out_id && s.id[1] == o.out_id);
	CHECK_THAT(store_card_list(rd, ann, 0, true, stop_cb, NULL) == -ECANCELED);

	/* emails are kept lower-cased: collect knows Carol in any case */
	struct job c = {
	    .op = OP_COLLECT, .account = ann, .name = "C", .email = "CAROL@example.org"};
	CHECK_THAT(run(&c) == 0);
	c.email = "carol@WORK.test"; /* the replaced card no longer has it */
	CHECK_THAT(run(&c) == 1);

	/* delete: If-Match, tombstone, then the same href again is a new card */
	int64_t before = modseq();
	CHECK_THAT(del(home, "a.vcf", 1) == -ESTALE);
	CHECK_THAT(del(home, "a.vcf", 0) == -ESTALE);
	CHECK_THAT(del(home, "none.vcf", -1) == -ENOENT);
	CHECK_THAT(del(home, NULL, -1) == -ENOENT);
	CHECK_THAT(del(999999, "a.vcf", -1) == -ENOENT);
	CHECK_THAT(del(home, "a.vcf", 3) == 0);
	CHECK_THAT(modseq() == before + 1);
	CHECK_THAT(del(home, "a.vcf", -1) == -ENOENT);
	s = changes(home, before);
	CHECK_THAT(s.n == 1 && s.deleted[0] && s.id[0] == a.out_id && !s.has_text[0] &&
	           strcmp(s.href[0], "a.vcf") == 0 && s.modseq[0] == before + 1);
	CHECK_THAT(store_card_get(rd, ann, 0, NULL, a.out_id, seen_cb, &s) == 0);
	c.email = "carol@example.org"; /* its addresses went with it */
	CHECK_THAT(run(&c) == 1);
	struct job again =
	    put(home, "a.vcf", "uid-a", CARD("uid-a", "Carol", "c@x"), NULL, 0, 0, 0);
	CHECK_THAT(again.out_id != a.out_id);
	/* the book's sync names the href once, live; the account's sees both ids */
	s = changes(home, before);
	CHECK_THAT(s.n == 1 && !s.deleted[0] && s.id[0] == again.out_id);
	s = changes(0, before);
	CHECK(s.n == 3, "changes(0): %d", s.n); /* tombstone, collected card, new card */
	CHECK_THAT(s.deleted[0] && s.id[0] == a.out_id && s.id[2] == again.out_id);
	for (int i = 1; i < s.n; i++)
		CHECK_THAT(s.modseq[i] > s.modseq[i - 1]);
	/* deleted twice at one href: the newest tombstone only */
	int64_t t0 = modseq();
	CHECK_THAT(del(home, "a.vcf", -1) == 0);
	s = changes(home, 0);
	int at_a = 0;
	for (int i = 0; i < s.n; i++)
		if (strcmp(s.href[i], "a.vcf") == 0) {
			at_a++;
			CHECK_THAT(s.deleted[i] && s.modseq[i] == t0 + 1 &&
			           s.id[i] == again.out_id);
		}
	CHECK_THAT(at_a == 1);
	CHECK_THAT(store_card_changes(rd, ann, 0, 0, stop_cb, NULL) == -ECANCELED);
	struct store_addressbook hb;
	CHECK_THAT(store_addressbook_get(rd, ann, home, NULL, NULL, &hb) == 1 &&
	           hb.modseq == t0 + 1);
}

static void test_move_and_destroy(void)
{
	int64_t home = book_of("default"), office = book_named("Office");
	struct job m1 =
	    put(home, "m.vcf", "uid-m", CARD("uid-m", "Mover", "m@x.test"), NULL, 0, 0, 0);
	put(office, "m2.vcf", "uid-m", CARD("uid-m", "Twin", "t@x.test"), NULL, 0, 0, 0);
	put(office, "m.vcf", "uid-other", CARD("uid-other", "Same href", "h@x.test"), NULL, 0, 0,
	    0);
	struct job mv = {.op = OP_MOVE, .account = ann, .card = m1.out_id, .book = office};
	CHECK_THAT(run(&mv) == -EEXIST); /* the href is taken there */
	CHECK_THAT(del(office, "m.vcf", -1) == 0);
	CHECK_THAT(run(&mv) == -EEXIST); /* and the uid */
	CHECK_THAT(del(office, "m2.vcf", -1) == 0);
	mv.book = 999999;
	CHECK_THAT(run(&mv) == -ENOENT);
	mv.book = office;
	mv.card = 999999;
	CHECK_THAT(run(&mv) == -ENOENT);
	mv.card = m1.out_id;
	mv.account = other;
	CHECK_THAT(run(&mv) == -ENOENT);
	mv.account = ann;
	int64_t before = modseq();
	CHECK_THAT(run(&mv) == 0);
	CHECK_THAT(modseq() == before + 2);
	/* the card keeps its id; its old book sees the href go, the new one arrive */
	struct seen s = changes(home, before);
	CHECK_THAT(s.n == 1 && s.deleted[0] && strcmp(s.href[0], "m.vcf") == 0);
	s = changes(office, before);
	CHECK_THAT(s.n == 1 && !s.deleted[0] && s.id[0] == m1.out_id);
	s = changes(0, before); /* JMAP: one update, no destroy */
	CHECK_THAT(s.n == 1 && !s.deleted[0] && s.id[0] == m1.out_id);
	mv.book = office;
	CHECK_THAT(run(&mv) == 0 && modseq() == before + 2); /* to where it is: nothing */

	/* destroy: each live card a tombstone with a modseq of its own (the
	 * office has "a.vcf" from test_cards too) */
	put(office, "n.vcf", "uid-n", CARD("uid-n", "Second", "n@x.test"), NULL, 0, 0, 0);
	before = modseq();
	struct job d = {.op = OP_DESTROY, .account = ann, .book = office};
	CHECK_THAT(run(&d) == 0);
	CHECK_THAT(modseq() == before + 3); /* a.vcf, m.vcf, n.vcf */
	s = changes(0, before);
	CHECK_THAT(s.n == 3 && s.deleted[0] && s.deleted[1] && s.deleted[2] &&
	           s.modseq[0] < s.modseq[1] && s.modseq[1] < s.modseq[2]);
	s = list(0, false);
	for (int i = 0; i < s.n; i++)
		CHECK_THAT(s.book[i] != office);
	struct store_addressbook b;
	CHECK_THAT(store_addressbook_get(store_reader(st), ann, office, NULL, NULL, &b) == 0);
	/* the collected book may go; collect makes it again */
	struct job dc = {.op = OP_DESTROY, .account = ann, .book = book_of("collected")};
	CHECK_THAT(run(&dc) == 0);
	struct job c = {.op = OP_COLLECT, .account = ann, .name = NULL, .email = "new@x.test"};
	CHECK_THAT(run(&c) == 1);
	CHECK_THAT(book_of("collected") > dc.book);
}

static void test_collect_and_search(void)
{
	struct store_rd *rd = store_reader(st);
	int64_t collected = book_of("collected");
	struct job c = {.op = OP_COLLECT,
	                .account = ann,
	                .name = "Zoë, \"the\" Tester; Jr.",
	                .email = "Zoe.Tester@Example.NET"};
	CHECK_THAT(run(&c) == 1);
	CHECK_THAT(run(&c) == 0);
	c.email = "zoe.tester@example.net";
	CHECK_THAT(run(&c) == 0);
	struct seen s = {.n = 0};
	CHECK_THAT(store_card_list(rd, ann, collected, true, seen_cb, &s) == 0);
	int found = -1;
	for (int i = 0; i < s.n; i++)
		if (strstr(s.text[i], "Zoe.Tester@Example.NET"))
			found = i;
	CHECK_THAT(found >= 0);
	if (found >= 0) {
		const char *t = s.text[found];
		CHECK_THAT(strncmp(t, "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:", 38) == 0);
		CHECK(strstr(t, "\r\nFN:Zoë\\, \"the\" Tester\\; Jr.\r\n") != NULL, "%s", t);
		CHECK_THAT(strstr(t, "\r\nEMAIL:Zoe.Tester@Example.NET\r\nEND:VCARD\r\n") != NULL);
		CHECK_THAT(strlen(s.href[found]) == 36 + 4);
	}
	/* a long name is folded at 75 octets, never inside a character */
	char name[400] = "";
	for (int i = 0; i < 60; i++)
		strcat(name, "é");
	strcat(name, " Long");
	c.name = name;
	c.email = "long@x.test";
	CHECK_THAT(run(&c) == 1);
	s = search("long@", 10);
	CHECK_THAT(s.n == 1);
	if (s.n == 1) {
		const char *p = s.text[0];
		bool ok = true;
		for (const char *l = p; *l;) {
			const char *e = strstr(l, "\r\n");
			if (!e)
				break;
			if (e - l > 75)
				ok = false;
			if (e[2] == ' ' && ((unsigned char)e[3] & 0xC0) == 0x80)
				ok = false;
			l = e + 2;
		}
		CHECK(ok, "folding: %s", p);
	}
	/* no name: the address is the FN; bad addresses */
	c.name = "";
	c.email = "plain@x.test";
	CHECK_THAT(run(&c) == 1);
	s = search("plain", 10);
	CHECK_THAT(s.n == 1 && strstr(s.text[0], "\r\nFN:plain@x.test\r\n"));
	c.email = "no-at-sign";
	CHECK_THAT(run(&c) == -EINVAL);
	c.email = "";
	CHECK_THAT(run(&c) == -EINVAL);
	c.email = NULL;
	CHECK_THAT(run(&c) == -EINVAL);
	c.email = "a b@x.test";
	CHECK_THAT(run(&c) == -EINVAL);
	c.email = "x@y.test";
	c.account = 999999;
	CHECK_THAT(run(&c) == -ENOENT);

	/* search: address or name prefix, any case, at most limit */
	s = search("ZOE.", 10);
	CHECK_THAT(s.n == 1 && s.has_text[0]);
	s = search("tester", 10); /* a word of the name */
	CHECK_THAT(s.n == 1);
	s = search("zo", 10);
	CHECK_THAT(s.n == 1);
	s = search("example.net", 10); /* not a prefix of anything */
	CHECK_THAT(s.n == 0);
	s = search("%", 10);
	CHECK_THAT(s.n == 0);
	s = search("_oe", 10);
	CHECK_THAT(s.n == 0);
	s = search("", 3);
	CHECK_THAT(s.n == 3);
	s = search("", 0);
	CHECK_THAT(s.n == 0);
	CHECK_THAT(store_card_search(rd, ann, "zo", 10, stop_cb, NULL) == -ECANCELED);
	CHECK_THAT(store_card_search(rd, other, "zo", 10, seen_cb, &s) == 0);
	/* FN from a vCard 3.0 card, grouped and folded, with parameters */
	int64_t home = book_of("default");
	put(home, "f.vcf", "uid-f",
	    "BEGIN:VCARD\r\nVERSION:3.0\r\nitem1.FN;CHARSET=UTF-8;X-A=\"a:b\":Fr\r\n edrik Ån\r\n"
	    "UID:uid-f\r\nEND:VCARD\r\n",
	    NULL, 0, 0, 0);
	s = search("fredrik", 10);
	CHECK_THAT(s.n == 1);
	s = search("Ån", 10);
	CHECK_THAT(s.n == 1);
}

static char dir[] = "/tmp/tern-test-contacts-XXXXXX";

/* Fill bob's book with small cards until the store says no: how many. */
struct fill {
	int64_t book;
	int made, last;
};

static int fill_job(struct store_tx *tx, void *arg)
{
	struct fill *f = arg;
	const char *const email[] = {"same@x.test"};
	for (int i = 0; i < STORE_CARDS_MAX + 10; i++) {
		char href[32], uid[32];
		snprintf(href, sizeof href, "%d.vcf", i);
		snprintf(uid, sizeof uid, "u%d", i);
		f->last = store_card_put(tx, other, f->book, href, uid, "BEGIN:VCARD", 11, email, 1,
		                         0, NULL, NULL);
		if (f->last < 0)
			break;
		f->made++;
	}
	return 0;
}

/* ---- tombstones are trimmed to STORE_CARD_TOMBSTONES_MAX ---- */

struct churn {
	int64_t book;
	int n, last;
};

/* put then delete n cards, in one transaction */
static int churn_job(struct store_tx *tx, void *arg)
{
	struct churn *c = arg;
	for (int i = 0; i < c->n; i++) {
		char href[32], uid[32];
		snprintf(href, sizeof href, "t%d.vcf", i);
		snprintf(uid, sizeof uid, "t%d", i);
		if ((c->last = store_card_put(tx, ann, c->book, href, uid, "BEGIN:VCARD", 11,
		                              NO_EMAILS, 0, 0, NULL, NULL)) < 0 ||
		    (c->last = store_card_delete(tx, ann, c->book, href, -1)) < 0)
			return 0;
	}
	return 0;
}

struct tally {
	int live, dead;
	int64_t low;
};

static int tally_cb(void *ud, const struct store_card *c)
{
	struct tally *t = ud;
	if (c->deleted)
		t->dead++;
	else
		t->live++;
	if (t->low == 0 || c->modseq < t->low)
		t->low = c->modseq;
	return 0;
}

static void test_tombstones(void)
{
	struct store_rd *rd = store_reader(st);
	int64_t before = modseq();
	CHECK_THAT(store_contacts_oldest_modseq(rd, ann) == 0); /* nothing purged yet */
	int64_t book = create_book(ann, "Churn", 0);
	struct churn c = {.book = book, .n = STORE_CARD_TOMBSTONES_MAX + 5};
	CHECK_THAT(store_exec(st, churn_job, &c) == 0);
	CHECK(c.last == 0, "churn: %d", c.last);

	/* the newest MAX tombstones of the account stay; the oldest went, and
	 * a sync from before them is no longer answerable */
	int64_t oldest = store_contacts_oldest_modseq(rd, ann);
	CHECK(oldest > before, "oldest %lld, before %lld", (long long)oldest, (long long)before);
	struct tally all = {0};
	CHECK_THAT(store_card_changes(rd, ann, 0, 0, tally_cb, &all) == 0);
	struct tally since = {0};
	CHECK_THAT(store_card_changes(rd, ann, 0, oldest, tally_cb, &since) == 0);
	CHECK(all.dead == STORE_CARD_TOMBSTONES_MAX, "%d tombstones", all.dead);
	CHECK(since.dead == STORE_CARD_TOMBSTONES_MAX && since.low > oldest,
	      "since oldest: %d tombstones from %lld", since.dead, (long long)since.low);
	struct tally churn = {0};
	CHECK_THAT(store_card_changes(rd, ann, book, 0, tally_cb, &churn) == 0);
	CHECK_THAT(churn.live == 0 && churn.dead <= STORE_CARD_TOMBSTONES_MAX);

	/* a book's modseq never falls below oldest, even when every one of its
	 * tombstones went: else its own sync token would be refused forever */
	struct store_addressbook b;
	int64_t quiet = create_book(ann, "Quiet", 0);
	CHECK_THAT(store_addressbook_get(rd, ann, quiet, NULL, NULL, &b) == 1);
	CHECK(b.modseq >= oldest, "book modseq %lld < oldest %lld", (long long)b.modseq,
	      (long long)oldest);

	/* destroying a book trims too (once, at the end) */
	struct job d = {.op = OP_DESTROY, .account = ann, .book = book};
	CHECK_THAT(run(&d) == 0);
	struct job q = {.op = OP_DESTROY, .account = ann, .book = quiet};
	CHECK_THAT(run(&q) == 0);
	struct tally after = {0};
	CHECK_THAT(store_card_changes(rd, ann, 0, 0, tally_cb, &after) == 0);
	CHECK(after.dead <= STORE_CARD_TOMBSTONES_MAX, "%d tombstones", after.dead);
	CHECK_THAT(store_contacts_oldest_modseq(rd, ann) >= oldest);
}

static void test_limits_and_account(void)
{
	struct store_rd *rd = store_reader(st);
	/* STORE_CARDS_MAX live cards; the count follows deletes (tombstones
	 * do not count) and a replaced card is not a new one */
	struct store_addressbook work;
	CHECK_THAT(store_addressbook_get(rd, other, 0, "Work", NULL, &work) == 1);
	struct job d0 = {
	    .op = OP_DELETE, .account = other, .book = work.id, .href = "7.vcf", .if_match = -1};
	CHECK_THAT(run(&d0) == -ENOENT);
	struct fill f = {.book = work.id};
	CHECK_THAT(store_exec(st, fill_job, &f) == 0);
	CHECK(f.made == STORE_CARDS_MAX && f.last == -ENOSPC, "made %d, last %d", f.made, f.last);
	CHECK_THAT(run(&d0) == 0);
	struct job p = {.op = OP_PUT,
	                .account = other,
	                .book = work.id,
	                .href = "new.vcf",
	                .uid = "new",
	                .vcard = "BEGIN:VCARD",
	                .emails = NO_EMAILS,
	                .if_match = -1};
	CHECK_THAT(run(&p) == 0);
	struct job p2 = p;
	p2.href = "newer.vcf";
	p2.uid = "newer";
	CHECK_THAT(run(&p2) == -ENOSPC);
	CHECK_THAT(run(&p) == 0); /* replaced */
	struct job c = {.op = OP_COLLECT, .account = other, .name = "N", .email = "full@x.test"};
	CHECK_THAT(run(&c) == -ENOSPC);
	c.email = "SAME@x.test"; /* known: nothing to add, so no error */
	CHECK_THAT(run(&c) == 0);

	CHECK_THAT(store_contacts_oldest_modseq(rd, other) == 0); /* bob made one tombstone */
	CHECK_THAT(store_contacts_modseq(rd, 999999) == 0);

	/* an account goes: its books, cards, addresses and counter with it. cy
	 * is the newest account, so the next one gets its id again and must
	 * find nothing of cy's. */
	struct job a = {.op = OP_DEL_ACCOUNT, .name = "ann@c.test"};
	CHECK_THAT(run(&a) == 0);
	CHECK_THAT(store_contacts_modseq(rd, ann) == 0);
	struct books bs = {.n = 0};
	CHECK_THAT(store_addressbook_list(rd, ann, books_cb, &bs) == 0 && bs.n == 0);
	struct seen s = {.n = 0};
	CHECK_THAT(store_card_changes(rd, ann, 0, 0, seen_cb, &s) == 0 && s.n == 0);
	int64_t cy = account_id("cy@c.test");
	c = (struct job){.op = OP_COLLECT, .account = cy, .name = "K", .email = "known@x.test"};
	CHECK_THAT(run(&c) == 1 && run(&c) == 0);
	a.name = "cy@c.test";
	CHECK_THAT(run(&a) == 0);
	CHECK_THAT(store_exec(st, setup_cy, NULL) == 0);
	CHECK_THAT(account_id("cy@c.test") == cy);
	CHECK_THAT(store_contacts_modseq(rd, cy) == 0);
	CHECK_THAT(run(&c) == 1);
}

int main(void)
{
	char err[256];
	if (!mkdtemp(dir))
		return 1;
	if (store_open(&st, dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	CHECK_THAT(store_exec(st, setup_job, NULL) == 0);
	ann = account_id("ann@c.test");
	other = account_id("bob@c.test");
	CHECK_THAT(store_exec(st, setup_cy, NULL) == 0);
	test_books();
	test_cards();
	test_move_and_destroy();
	test_collect_and_search();
	test_tombstones();
	test_limits_and_account();
	store_close(&st);
	check_remove_dir(dir);
	return check_report("test_store_contacts");
}
