/* test_deliver_collect: deliver/collect.c: which addresses of a sent
 * message are collected (To, Cc, Bcc with their decoded display names,
 * then the envelope's; not the sender, not a forward target, each once
 * whatever its case, at most DELIVER_COLLECT_MAX), and that collecting
 * them in a transaction adds cards to the collected book, leaves known
 * addresses alone, and goes on past one that cannot be collected. */
#include "check.h"
#include "deliver/collect.h"
#include "store/accounts.h"
#include "store/contacts.h"
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int64_t account;

static int setup_job(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "c.test");
	r = r ? r : store_account_add(tx, "me@c.test", "x", &account);
	if (r)
		return r;
	r = store_addressbook_ensure(tx, account);
	if (r)
		return r;
	struct store_addressbook b;
	r = store_addressbook_get(store_tx_reader(tx), account, 0, NULL, "default", &b);
	if (r != 1)
		return -EIO;
	const char *card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:k\r\nFN:Known\r\n"
	                   "EMAIL:known@x.test\r\nEND:VCARD\r\n";
	const char *const emails[] = {"Known@X.test"};
	return store_card_put(tx, account, b.id, "k.vcf", "k", card, strlen(card), emails, 1, 0,
	                      NULL, NULL);
}

static int run_job(struct store_tx *tx, void *arg)
{
	deliver_collect_run(tx, arg);
	return 0;
}

struct seen {
	int n;
	char text[16][512];
};

static int seen_cb(void *ud, const struct store_card *c)
{
	struct seen *s = ud;
	if (s->n < 16)
		snprintf(s->text[s->n++], sizeof s->text[0], "%.*s", (int)c->len, c->vcard);
	return 0;
}

/* the collected card of email, or NULL */
static const char *card_of(const struct seen *s, const char *email)
{
	char want[256];
	snprintf(want, sizeof want, "\r\nEMAIL:%s\r\n", email);
	for (int i = 0; i < s->n; i++)
		if (strstr(s->text[i], want))
			return s->text[i];
	return NULL;
}

static struct deliver_rcpt rcpt(const char *addr, bool forwarded)
{
	return (struct deliver_rcpt){.addr = (char *)addr, .remote = true, .forwarded = forwarded};
}

int main(void)
{
	char dir[] = "/tmp/tern-test-collect-XXXXXX", err[256];
	if (!mkdtemp(dir))
		return 1;
	struct store *st = NULL;
	if (store_open(&st, dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	CHECK_THAT(store_exec(st, setup_job, NULL) == 0);

	/* nothing to collect: NULL */
	const char *none = "From: me@c.test\r\nSubject: x\r\n\r\nTo: body@x.test\r\n";
	CHECK_THAT(deliver_collect_prepare(account, "me@c.test", none, strlen(none), NULL, 0) ==
	           NULL);
	struct deliver_rcpt self = rcpt("ME@c.test", false);
	CHECK_THAT(deliver_collect_prepare(account, "me@c.test", none, strlen(none), &self, 1) ==
	           NULL);

	const char *msg =
	    "From: Me <me@c.test>\r\n"
	    "To: =?utf-8?q?Andr=C3=A9?= <andre@x.test>, \"Smith, Bo\" <bo@x.test>,\r\n"
	    " Me Again <me@c.test>\r\n"
	    "Cc: team: cy@x.test, \"Dee D\" <dee@x.test>;, known@x.test\r\n"
	    "bcc: Eve <EVE@x.test>\r\n"
	    "Subject: to: not@collected.test\r\n"
	    "\r\n"
	    "To: body@x.test\r\n";
	struct deliver_rcpt rs[] = {rcpt("andre@X.TEST", false), rcpt("fwd-target@far.test", true),
	                            rcpt("bcc-only@x.test", false), rcpt("\"a b\"@x.test", false)};
	struct deliver_collect *c = deliver_collect_prepare(account, "me@c.test", msg, strlen(msg),
	                                                    rs, sizeof rs / sizeof rs[0]);
	CHECK_THAT(c != NULL);
	CHECK_THAT(store_exec(st, run_job, c) == 0);
	deliver_collect_free(c);

	struct store_addressbook b;
	struct store_rd *rd = store_reader(st);
	CHECK_THAT(store_addressbook_get(rd, account, 0, NULL, "collected", &b) == 1);
	struct seen s = {.n = 0};
	CHECK_THAT(store_card_list(rd, account, b.id, true, seen_cb, &s) == 0);
	CHECK(s.n == 6, "collected %d", s.n); /* andre bo cy dee eve bcc-only */
	const char *t = card_of(&s, "andre@x.test");
	CHECK_THAT(t && strstr(t, "\r\nFN:André\r\n"));
	t = card_of(&s, "bo@x.test");
	CHECK_THAT(t && strstr(t, "\r\nFN:Smith\\, Bo\r\n"));
	t = card_of(&s, "cy@x.test");
	CHECK_THAT(t && strstr(t, "\r\nFN:cy@x.test\r\n"));
	t = card_of(&s, "dee@x.test");
	CHECK_THAT(t && strstr(t, "\r\nFN:Dee D\r\n"));
	t = card_of(&s, "EVE@x.test");
	CHECK_THAT(t && strstr(t, "\r\nFN:Eve\r\n"));
	CHECK_THAT(card_of(&s, "bcc-only@x.test") != NULL);
	CHECK_THAT(!card_of(&s, "me@c.test") && !card_of(&s, "known@x.test") &&
	           !card_of(&s, "fwd-target@far.test") && !card_of(&s, "not@collected.test") &&
	           !card_of(&s, "body@x.test") && !card_of(&s, "andre@X.TEST"));

	/* the same again: nothing new */
	c = deliver_collect_prepare(account, "me@c.test", msg, strlen(msg), rs, 2);
	CHECK_THAT(store_exec(st, run_job, c) == 0);
	deliver_collect_free(c);
	s.n = 0;
	CHECK_THAT(store_card_list(rd, account, b.id, true, seen_cb, &s) == 0 && s.n == 6);

	/* at most DELIVER_COLLECT_MAX of one message */
	size_t many = DELIVER_COLLECT_MAX + 20;
	struct deliver_rcpt *big = calloc(many, sizeof *big);
	char(*addrs)[32] = calloc(many, sizeof *addrs);
	for (size_t i = 0; i < many; i++) {
		snprintf(addrs[i], sizeof addrs[i], "r%zu@many.test", i);
		big[i] = rcpt(addrs[i], false);
	}
	c = deliver_collect_prepare(account, "me@c.test", none, strlen(none), big, many);
	CHECK_THAT(store_exec(st, run_job, c) == 0);
	deliver_collect_free(c);
	int64_t total = 0; /* each address looked up: seen keeps only 16 */
	for (size_t i = 0; i < many; i++) {
		struct seen one = {.n = 0};
		CHECK_THAT(store_card_search(rd, account, addrs[i], 2, seen_cb, &one) == 0);
		total += one.n;
	}
	CHECK(total == DELIVER_COLLECT_MAX, "collected %lld of many", (long long)total);
	free(big);
	free(addrs);

	store_close(&st);
	check_remove_dir(dir);
	return check_report("test_deliver_collect");
}
