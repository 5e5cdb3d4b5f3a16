/* test_dkim_signer: the signing service (relay/dkim_signer.c) on a real
 * loop and store: the store's live private keys and its serial, dual
 * signatures that mailauth's verifier passes with the published keys, the
 * parent domain for a sub-domain's From, nothing for a domain without
 * keys, a retired key dropped once the serial moved, and which queued
 * messages are tern's own DSNs. */
#include "check.h"
#include "admin/admin.h"
#include "mailauth/dkim.h"
#include "relay/dkim_signer.h"
#include "relay/dsn.h"
#include "store/dkim.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static struct store *st;
static uv_loop_t loop;

static int add_key(const char *domain, const char *selector, enum admin_dkim_alg alg)
{
	static struct admin_dkim_key key;
	char err[200];
	if (admin_dkim_generate(alg, &key, err, sizeof err) < 0)
		return -1;
	struct admin_op op;
	admin_op_set(&op, ADMIN_DKIM_ADD, domain, selector);
	op.key = &key;
	int rc = store_exec(st, admin_op_run, &op);
	admin_dkim_key_wipe(&key);
	return rc;
}

static int retire(const char *domain, const char *selector)
{
	struct admin_op op;
	admin_op_set(&op, ADMIN_DKIM_RETIRE, domain, selector);
	return store_exec(st, admin_op_run, &op);
}

/* ---- the store's side ---- */

struct live {
	int n;
	char sel[8][64];
	int loadable;
};

static int live_cb(void *ud, const struct store_dkim_private *k)
{
	struct live *l = ud;
	snprintf(l->sel[l->n++], 64, "%s", k->selector);
	char err[100];
	struct dkim_signing_key *key =
	    dkim_signing_key_load(k->algorithm, k->private_key, err, sizeof err);
	if (key)
		l->loadable++;
	dkim_signing_key_free(&key);
	return 0;
}

static void test_store_side(void)
{
	struct store_dkim_serial s0, s1, s2;
	CHECK_THAT(store_dkim_serial(store_reader(st), &s0) == 0 && s0.count == 0);
	CHECK_THAT(add_key("example.test", "r1", ADMIN_DKIM_RSA) == 0);
	CHECK_THAT(add_key("example.test", "e1", ADMIN_DKIM_ED25519) == 0);
	CHECK_THAT(store_dkim_serial(store_reader(st), &s1) == 0 && s1.count == 2 && s1.max_id > 0);
	struct live l = {0};
	CHECK_THAT(store_dkim_live_private(store_reader(st), "example.test", live_cb, &l) == 0);
	CHECK_THAT(l.n == 2 && l.loadable == 2 && strcmp(l.sel[0], "r1") == 0);
	CHECK_THAT(add_key("example.test", "e0", ADMIN_DKIM_ED25519) == 0);
	CHECK_THAT(retire("example.test", "e0") == 0);
	CHECK_THAT(store_dkim_serial(store_reader(st), &s2) == 0 && s2.retired_sum > 0);
	CHECK_THAT(memcmp(&s1, &s2, sizeof s1) != 0);
	memset(&l, 0, sizeof l);
	CHECK_THAT(store_dkim_live_private(store_reader(st), "example.test", live_cb, &l) == 0);
	CHECK_THAT(l.n == 2); /* the retired one is not handed out */
	memset(&l, 0, sizeof l);
	CHECK_THAT(store_dkim_live_private(store_reader(st), "nokeys.test", live_cb, &l) == 0 &&
	           l.n == 0);
}

/* ---- the signer ---- */

struct result {
	int calls;
	char fields[8192];
	size_t len;
};

static void on_signed(void *ud, const char *fields, size_t len)
{
	struct result *r = ud;
	r->calls++;
	r->len = len < sizeof r->fields ? len : 0;
	memcpy(r->fields, fields, r->len);
	r->fields[r->len] = '\0';
}

struct pub {
	char name[400];
	char rec[1200];
};
static struct pub pubs[8];
static int npubs;

static int pub_cb(void *ud, const struct store_dkim_key *k)
{
	(void)ud;
	if (npubs < 8) {
		snprintf(pubs[npubs].name, sizeof pubs[npubs].name, "%s._domainkey.%s", k->selector,
		         k->domain);
		snprintf(pubs[npubs].rec, sizeof pubs[npubs].rec, "v=DKIM1; k=%s; p=%s",
		         admin_dkim_key_type(k->algorithm), k->public_key);
		npubs++;
	}
	return 0;
}

/* Signs msg through the service; the number of passing signatures
 * (mailauth's verifier, keys from the store's public side), or -1 when
 * nothing was signed. d is the d= of the last signature. */
static int sign_and_verify(const char *msg, char *d, size_t dlen)
{
	struct result r = {0};
	if (dkim_signer_sign(msg, strlen(msg), on_signed, &r) != 1)
		return -1;
	uv_run(&loop, UV_RUN_DEFAULT);
	if (r.calls != 1)
		return -2;
	size_t total = r.len + strlen(msg);
	char *full = malloc(total + 1);
	memcpy(full, r.fields, r.len);
	memcpy(full + r.len, msg, strlen(msg) + 1);
	npubs = 0;
	store_dkim_list(store_reader(st), NULL, pub_cb, NULL);
	struct dkim_verify *v = dkim_verify_new(0, 0);
	dkim_verify_feed(v, full, total);
	dkim_verify_end(v);
	int pass = 0;
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *q = dkim_verify_query(v, i);
		for (int k = 0; q && k < npubs; k++) {
			if (strcasecmp(q, pubs[k].name) != 0)
				continue;
			const char *txt = pubs[k].rec;
			size_t tl = strlen(txt);
			dkim_verify_key(v, i, DKIM_DNS_OK, &txt, &tl, 1);
		}
		const struct dkim_sig_result *res = dkim_verify_result(v, i);
		pass += res->result == DKIM_PASS;
		snprintf(d, dlen, "%s", res->domain);
	}
	dkim_verify_free(&v);
	free(full);
	return pass;
}

static const char msg_fmt[] = "Received: from x by y; Sun, 6 Dec 2026 21:00:00 +0000\r\n"
                              "From: A <a@%s>\r\nTo: b@r.test\r\nSubject: s\r\n"
                              "Date: Sun, 6 Dec 2026 21:00:00 +0000\r\n\r\nbody\r\n";

static void test_signer(void)
{
	char msg[600], d[256];
	dkim_signer_start(&loop, st);
	snprintf(msg, sizeof msg, msg_fmt, "example.test");
	CHECK_THAT(sign_and_verify(msg, d, sizeof d) == 2); /* r1 and e1 */
	CHECK_THAT(strcmp(d, "example.test") == 0);
	/* a sub-domain's From: the parent's keys (relaxed alignment) */
	snprintf(msg, sizeof msg, msg_fmt, "mail.example.test");
	CHECK_THAT(sign_and_verify(msg, d, sizeof d) == 2);
	CHECK_THAT(strcmp(d, "example.test") == 0);
	/* many at once: the pool's workers share the keys and the DRBG */
	static struct result many[16];
	int started = 0;
	for (int i = 0; i < 16; i++)
		started += dkim_signer_sign(msg, strlen(msg), on_signed, &many[i]) == 1;
	CHECK_THAT(started == 16);
	uv_run(&loop, UV_RUN_DEFAULT);
	int good = 0;
	for (int i = 0; i < 16; i++)
		good += many[i].calls == 1 && strstr(many[i].fields, "a=rsa-sha256") &&
		        strstr(many[i].fields, "a=ed25519-sha256");
	CHECK_THAT(good == 16);
	/* no keys, no From: nothing to sign */
	snprintf(msg, sizeof msg, msg_fmt, "nokeys.test");
	CHECK_THAT(sign_and_verify(msg, d, sizeof d) == -1);
	CHECK_THAT(sign_and_verify("Subject: no from\r\n\r\nx\r\n", d, sizeof d) == -1);
	/* a second selector signs as soon as the serial is read again */
	CHECK_THAT(add_key("example.test", "e2", ADMIN_DKIM_ED25519) == 0);
	snprintf(msg, sizeof msg, msg_fmt, "example.test");
	usleep(1100 * 1000);
	uv_update_time(&loop);
	CHECK_THAT(sign_and_verify(msg, d, sizeof d) == 3);
	CHECK_THAT(retire("example.test", "r1") == 0);
	CHECK_THAT(retire("example.test", "e1") == 0);
	usleep(1100 * 1000);
	uv_update_time(&loop);
	CHECK_THAT(sign_and_verify(msg, d, sizeof d) == 1);
	dkim_signer_stop();
	/* stopped: nothing is signed */
	CHECK_THAT(sign_and_verify(msg, d, sizeof d) == -1);
}

static void test_dsn_is_ours(void)
{
	struct dsn_rcpt r = {.rcpt = "x@r.test", .action = DSN_FAILED, .status = "5.1.1"};
	struct dsn_info in = {
	    .reporting_mta = "mail.example.test",
	    .postmaster = "MAILER-DAEMON@mail.example.test",
	    .to = "s@r.test",
	    .original = "Subject: o\r\n\r\nx\r\n",
	    .original_len = 17,
	    .rcpts = &r,
	    .nrcpts = 1,
	};
	size_t len;
	char *m = dsn_build(&in, &len);
	CHECK_THAT(m && dsn_is_ours(m, len));
	free(m);
	static const char fwd[] = "Received: from a by b\r\nFrom: Mail Delivery System "
	                          "<MAILER-DAEMON@mail.example.test>\r\n\r\nx\r\n";
	CHECK_THAT(!dsn_is_ours(fwd, sizeof fwd - 1));
	CHECK_THAT(!dsn_is_ours("", 0));
	CHECK_THAT(!dsn_is_ours(NULL, 0));
}

int main(void)
{
	char dir[] = "/tmp/tern-dkim-signer-XXXXXX", err[256];
	CHECK_THAT(mkdtemp(dir) != NULL);
	CHECK_THAT(uv_loop_init(&loop) == 0);
	CHECK_THAT(store_open(&st, dir, NULL, err, sizeof err) == 0);
	struct admin_op op;
	admin_op_set(&op, ADMIN_DOMAIN_ADD, "example.test", NULL);
	CHECK_THAT(store_exec(st, admin_op_run, &op) == 0);

	test_store_side();
	test_signer();
	test_dsn_is_ours();

	store_close(&st);
	uv_loop_close(&loop);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_THAT(system(cmd) == 0);
	return check_report("test_dkim_signer");
}
