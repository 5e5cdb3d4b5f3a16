/* fuzz_dmarc_record: the DMARC record parser (mailauth/dmarc_record.c) on
 * arbitrary bytes, then the whole check (mailauth/dmarc.c) over a fake
 * zone where every _dmarc name (or every other one) holds the input as
 * its TXT record (once or twice), and the length and last byte pick the
 * From domain, the identifiers and which answer fails: a record from any
 * DNS server reaches both.
 *
 * Beyond crashes: the kept URIs stay within the pool, are NUL-terminated
 * and hold no ',' '!' or space; a kept policy is one of the enum values;
 * the check ends with exactly one callback, within the query limit (8 per
 * walk, one walk per identifier, 3 for the existence test). */
#include "mailauth/dmarc.h"
#include "mailauth/dmarc_record.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct zone {
	const uint8_t *data;
	size_t size;
	uint8_t mode;
	unsigned queries;
};

static void *fake_query(void *ud, const char *name, enum dns_qtype t, dns_query_cb cb, void *cb_ud)
{
	struct zone *z = ud;
	static struct dns_answer a;
	unsigned n = z->queries++;
	dns_answer_init(&a, DNS_Q_NXDOMAIN);
	if ((z->mode & 0x10) && n == 3) {
		a.status = DNS_Q_TEMP;
	} else if (t == DNS_Q_TXT) {
		/* the input at every other name (or everywhere), twice when asked */
		if ((z->mode & 0x20) || (n & 1) == 0) {
			a.status = DNS_Q_DATA;
			dns_answer_add_text(&a, (const char *)z->data, z->size);
			if (z->mode & 0x40)
				dns_answer_add_text(&a, (const char *)z->data, z->size);
		}
	} else if (z->mode & 0x80) {
		static const uint8_t lo[4] = {127, 0, 0, 1};
		a.status = DNS_Q_DATA;
		dns_answer_add_addr(&a, AF_INET, lo);
	}
	cb(cb_ud, &a);
	return NULL;
}

static void on_done(void *ud, const struct dmarc_outcome *o)
{
	int *calls = ud;
	(*calls)++;
	if ((unsigned)o->result > DMARC_PERMERROR || (unsigned)o->disposition > DMARC_DISP_REJECT ||
	    o->dns_queries > 8 * (2 + DMARC_MAX_DKIM) + 3 ||
	    (o->result != DMARC_FAIL && o->disposition != DMARC_DISP_NONE))
		abort();
	if (!memchr(o->problem, '\0', sizeof o->problem) ||
	    !memchr(o->policy_text, '\0', sizeof o->policy_text))
		abort();
}

static void check_list(const struct dmarc_record *r, const struct dmarc_uri_list *l)
{
	if (l->kept > DMARC_MAX_URIS || l->kept > l->valid)
		abort();
	for (size_t i = 0; i < l->kept; i++) {
		const char *u = dmarc_record_uri(r, l, i);
		if (u < r->pool || u >= r->pool + r->pool_used)
			abort();
		size_t len = strnlen(u, (size_t)(r->pool + sizeof r->pool - u));
		if (u + len >= r->pool + sizeof r->pool || strpbrk(u, ",! ;"))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmarc_record rec;
	if (dmarc_record_parse((const char *)data, size, &rec) == DMARC_RECORD_OK) {
		if (rec.p > DMARC_POLICY_INVALID || rec.sp > DMARC_POLICY_INVALID ||
		    rec.np > DMARC_POLICY_INVALID || rec.psd > DMARC_PSD_N || rec.pct > 100 ||
		    rec.pool_used > sizeof rec.pool || (rec.fo & ~15u) || rec.fo == 0)
			abort();
		check_list(&rec, &rec.rua);
		check_list(&rec, &rec.ruf);
	}

	static const char *froms[] = {"example.com", "a.b.example.com",
	                              "a.b.c.d.e.f.g.h.i.j.k.example.com", "example"};
	static const char *ids[] = {"example.com", "mail.example.com", "x.y.a.b.example.com",
	                            "example.net"};
	/* the scenario from the length and the last byte, so that a record
	 * starting with "v=DMARC1" can meet every one */
	uint8_t mode = (uint8_t)(size * 0x9d + (size ? data[size - 1] : 0));
	struct zone z = {.data = data, .size = size, .mode = mode};
	struct spf_resolver res = {.ud = &z, .query = fake_query};
	struct dmarc_input in = {.from_domain = froms[mode & 3],
	                         .spf = (mode & 4) ? SPF_PASS : SPF_FAIL,
	                         .spf_domain = ids[(mode >> 2) & 3]};
	for (size_t i = 0; i < DMARC_MAX_DKIM && (mode & 8); i++) {
		in.dkim[i].result = i & 1 ? DKIM_PASS : DKIM_FAIL;
		in.dkim[i].domain = ids[(i + mode) & 3];
		in.ndkim++;
	}
	int calls = 0;
	struct dmarc_check *c = dmarc_check_start(&res, &in, on_done, &calls);
	if (c || calls != 1)
		abort(); /* the fake answers at once, so the check has ended */
	return 0;
}
