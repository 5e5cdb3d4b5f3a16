/* test_dns_query: net/dns_query.c against a real DNS server, and SPF
 * (mailauth/spf.c) through it: dnsmasq on 127.0.0.1 and a free port,
 * started here with TXT (several strings in one RR, several RRs), A, AAAA,
 * MX, PTR records, a name without the asked type (NODATA), a missing name
 * (NXDOMAIN) and a zone whose upstream is unreachable (temporary), then a
 * few SPF checks answered by c-ares on the loop; the TLSA path (raw query
 * and answer, dns_raw.c) on hand-made messages and through dnsmasq. Skipped, with one line,
 * when dnsmasq is not installed. */
#include "check.h"
#include "mailauth/spf.h"
#include "net/dns.h"
#include "tests/unit/dns_testutil.h"
#include "net/dns_query.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_pure(void)
{
	char rev[80];
	uint8_t v4[4] = {192, 0, 2, 1}, v6[16];
	dns_reverse_name(AF_INET, v4, rev, sizeof rev);
	CHECK(strcmp(rev, "1.2.0.192.in-addr.arpa") == 0, "%s", rev);
	inet_pton(AF_INET6, "2001:db8::1", v6);
	dns_reverse_name(AF_INET6, v6, rev, sizeof rev);
	CHECK(strcmp(rev, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
	                  "0.0.2.ip6.arpa") == 0,
	      "%s", rev);
	/* Bounded: records past the pool or DNS_Q_MAX_RRS are dropped. */
	static struct dns_answer a;
	dns_answer_init(&a, DNS_Q_DATA);
	char big[3000];
	memset(big, 'x', sizeof big);
	int added = 0;
	for (int i = 0; i < 5; i++)
		added += dns_answer_add_text(&a, big, sizeof big) != NULL;
	CHECK(added == 2 && a.truncated, "pool bound: %d", added);
	dns_answer_init(&a, DNS_Q_DATA);
	for (int i = 0; i < DNS_Q_MAX_RRS + 3; i++)
		dns_answer_add_addr(&a, AF_INET, v4);
	CHECK(a.nrrs == DNS_Q_MAX_RRS && a.truncated, "rr bound");
}

/* The TLSA wire path (net/dns_raw.c): the query's header bits, and answers
 * built by hand: AD set and clear, a CNAME before the TLSA, NXDOMAIN,
 * SERVFAIL, and truncated or looping messages. */
static void test_tlsa_raw(void)
{
	uint8_t q[300];
	size_t n = dns_build_query("_25._tcp.mx.test.", 52, q, sizeof q);
	static const uint8_t want[] = "\x03_25\x04_tcp\x02mx\x04test";
	CHECK(n == 12 + sizeof want + 4 && q[2] == 0x01 && q[3] == 0x20 && q[5] == 1 &&
	          memcmp(q + 12, want, sizeof want) == 0 && q[n - 3] == 52 && q[n - 1] == 1,
	      "query: RD, AD, one question (%zu)", n);
	uint8_t scratch[300];
	CHECK(dns_build_query("a..b", 52, scratch, sizeof scratch) == 0, "empty label refused");
	CHECK(dns_build_query("x", 52, scratch, 10) == 0, "does not fit");

	/* Answer: the question, a CNAME (compressed owner), a TLSA 3 1 1. */
	uint8_t m[200];
	memcpy(m, q, n);
	m[2] = 0x81, m[3] = 0xa0; /* QR RD, RA AD */
	m[7] = 2;                 /* ANCOUNT */
	size_t o = n;
	static const uint8_t cname[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'x', 0xc0, 25};
	memcpy(m + o, cname, sizeof cname);
	o += sizeof cname;
	static const uint8_t tlsa_hdr[] = {0xc0, 12, 0, 52, 0, 1, 0, 0, 0, 60, 0, 35, 3, 1, 1};
	memcpy(m + o, tlsa_hdr, sizeof tlsa_hdr);
	o += sizeof tlsa_hdr;
	memset(m + o, 0xab, 32);
	o += 32;
	static struct dns_answer a;
	CHECK(dns_parse_tlsa_answer(m, o, &a) == DNS_Q_DATA && a.nrrs == 1 && a.authenticated &&
	          a.rrs[0].len == 35 && (uint8_t)a.rrs[0].text[0] == 3 &&
	          (uint8_t)a.rrs[0].text[34] == 0xab,
	      "TLSA with AD after a CNAME");
	m[3] = 0x80;
	CHECK(dns_parse_tlsa_answer(m, o, &a) == DNS_Q_DATA && !a.authenticated, "AD clear");
	CHECK(dns_parse_tlsa_answer(m, o - 1, &a) == DNS_Q_TEMP, "RDATA past the end: malformed");
	m[3] = 0xa3;
	CHECK(dns_parse_tlsa_answer(m, o, &a) == DNS_Q_NXDOMAIN && a.authenticated,
	      "authenticated NXDOMAIN");
	m[3] = 0x82;
	CHECK(dns_parse_tlsa_answer(m, o, &a) == DNS_Q_TEMP, "SERVFAIL");
	m[3] = 0xa0, m[7] = 0;
	CHECK(dns_parse_tlsa_answer(m, o, &a) == DNS_Q_NODATA && a.authenticated, "no answers");
	m[2] = 0x01;
	CHECK(dns_parse_tlsa_answer(m, o, &a) == DNS_Q_TEMP, "not a response");
	CHECK(dns_parse_tlsa_answer(m, 11, &a) == DNS_Q_TEMP, "short header");
	/* A name of labels running past the end. */
	uint8_t bad[12 + 5] = {0, 0, 0x81, 0xa0, 0, 1, 0, 1, 0, 0, 0, 0, 63, 'a', 'b'};
	CHECK(dns_parse_tlsa_answer(bad, sizeof bad, &a) == DNS_Q_TEMP, "label past the end");

	/* The same answer read for A (DNS_Q_A_DNSSEC): the CNAME and the TLSA
	 * are not addresses; an A record of 4 bytes is, with the AD bit. */
	m[2] = 0x81, m[3] = 0xa0, m[7] = 3;
	static const uint8_t arec[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7};
	memcpy(m + o, arec, sizeof arec);
	size_t oa = o + sizeof arec;
	CHECK(dns_parse_raw_answer(m, oa, 1, &a) == DNS_Q_DATA && a.nrrs == 1 && a.authenticated &&
	          a.rrs[0].family == AF_INET && a.rrs[0].addr[0] == 192 && a.rrs[0].addr[3] == 7,
	      "A with AD among other records");
	m[7] = 2;
	CHECK(dns_parse_raw_answer(m, o, 1, &a) == DNS_Q_NODATA && a.authenticated,
	      "no A record: authenticated NODATA");
	m[3] = 0x80, m[7] = 3;
	CHECK(dns_parse_raw_answer(m, oa, 1, &a) == DNS_Q_DATA && !a.authenticated, "A, AD clear");
}

struct qres {
	bool done;
	struct dns_answer a;
};

static void on_answer(void *ud, const struct dns_answer *a)
{
	struct qres *r = ud;
	r->done = true;
	r->a = *a;
	/* text points into the copied pool: rebase */
	for (size_t i = 0; i < r->a.nrrs; i++)
		if (a->rrs[i].text)
			r->a.rrs[i].text = r->a.pool + (a->rrs[i].text - a->pool);
}

static struct qres *ask(uv_loop_t *loop, struct dns_resolver *r, const char *name, enum dns_qtype t)
{
	static struct qres res;
	memset(&res, 0, sizeof res);
	struct dns_query *q = dns_query(r, name, t, on_answer, &res);
	CHECK(q != NULL, "query %s started", name);
	while (q && !res.done && uv_run(loop, UV_RUN_ONCE))
		;
	return &res;
}

static bool has_text(const struct dns_answer *a, const char *text)
{
	for (size_t i = 0; i < a->nrrs; i++)
		if (a->rrs[i].len == strlen(text) &&
		    memcmp(a->rrs[i].text, text, a->rrs[i].len) == 0)
			return true;
	return false;
}

static void test_queries(uv_loop_t *loop, struct dns_resolver *r)
{
	struct qres *x = ask(loop, r, "multi.test", DNS_Q_TXT);
	CHECK(x->a.status == DNS_Q_DATA && x->a.nrrs == 2, "txt: %s %zu",
	      dns_qstatus_name(x->a.status), x->a.nrrs);
	CHECK(has_text(&x->a, "v=spf1 ip4:127.0.0.0/8 -all"), "strings of one RR joined");
	CHECK(has_text(&x->a, "second record"), "RRs kept apart");

	x = ask(loop, r, "host.test", DNS_Q_A);
	CHECK(x->a.status == DNS_Q_DATA && x->a.nrrs == 1 && x->a.rrs[0].family == AF_INET &&
	          x->a.rrs[0].addr[3] == 20,
	      "A");
	x = ask(loop, r, "host.test", DNS_Q_AAAA);
	CHECK(x->a.status == DNS_Q_DATA && x->a.nrrs == 1 && x->a.rrs[0].family == AF_INET6 &&
	          x->a.rrs[0].addr[15] == 0x20,
	      "AAAA");
	x = ask(loop, r, "example.test", DNS_Q_MX);
	CHECK(x->a.status == DNS_Q_DATA && x->a.nrrs == 1 && has_text(&x->a, "mx1.test") &&
	          x->a.rrs[0].pref == 5,
	      "MX");
	x = ask(loop, r, "20.0.0.127.in-addr.arpa", DNS_Q_PTR);
	CHECK(x->a.status == DNS_Q_DATA && has_text(&x->a, "host.test"), "PTR %s",
	      dns_qstatus_name(x->a.status));
	x = ask(loop, r, "host.test", DNS_Q_TXT);
	CHECK(x->a.status == DNS_Q_NODATA, "nodata: %s", dns_qstatus_name(x->a.status));
	x = ask(loop, r, "missing.test", DNS_Q_TXT);
	CHECK(x->a.status == DNS_Q_NXDOMAIN, "nxdomain: %s", dns_qstatus_name(x->a.status));
	x = ask(loop, r, "x.fail.test", DNS_Q_TXT);
	CHECK(x->a.status == DNS_Q_TEMP, "temp: %s", dns_qstatus_name(x->a.status));

	/* TLSA over ares_send: dnsmasq does not validate, so AD stays clear. */
	x = ask(loop, r, "_25._tcp.mx1.test", DNS_Q_TLSA);
	CHECK(x->a.status == DNS_Q_DATA && x->a.nrrs == 1 && x->a.rrs[0].len == 35 &&
	          (uint8_t)x->a.rrs[0].text[0] == 3 && (uint8_t)x->a.rrs[0].text[3] == 0x12 &&
	          !x->a.authenticated,
	      "TLSA: %s %zu", dns_qstatus_name(x->a.status), x->a.nrrs);
	x = ask(loop, r, "_25._tcp.host.test", DNS_Q_TLSA);
	CHECK(x->a.status == DNS_Q_NODATA || x->a.status == DNS_Q_NXDOMAIN, "TLSA none: %s",
	      dns_qstatus_name(x->a.status));
	x = ask(loop, r, "_25._tcp.x.fail.test", DNS_Q_TLSA);
	CHECK(x->a.status == DNS_Q_TEMP, "TLSA temp: %s", dns_qstatus_name(x->a.status));

	/* Cancelled: no callback. */
	struct qres c = {0};
	dns_query_cancel(dns_query(r, "multi.test", DNS_Q_TXT, on_answer, &c));
	ask(loop, r, "host.test", DNS_Q_A);
	CHECK(!c.done, "cancelled query called back");
}

struct spf_got {
	bool done;
	struct spf_outcome o;
};

static void on_spf(void *ud, const struct spf_outcome *o)
{
	struct spf_got *g = ud;
	g->done = true;
	g->o = *o;
}

static struct spf_outcome spf(uv_loop_t *loop, struct dns_resolver *r, const char *ip,
                              const char *mail_from, const char *helo)
{
	struct spf_resolver res = spf_resolver_dns(r);
	struct spf_request req = {.mail_from = mail_from, .helo = helo, .receiver = "mx.tern.test"};
	spf_ip_parse(ip, &req.ip);
	struct spf_got g = {0};
	struct spf_check *c = spf_check_start(&res, &req, on_spf, &g);
	while (c && !g.done && uv_run(loop, UV_RUN_ONCE))
		;
	CHECK(g.done, "spf %s %s finished", ip, mail_from);
	return g.o;
}

static void test_spf(uv_loop_t *loop, struct dns_resolver *r)
{
	struct spf_outcome o = spf(loop, r, "127.0.0.20", "a@example.test", "h.test");
	CHECK(o.result == SPF_PASS, "a: %s %s", spf_result_name(o.result), o.problem);
	o = spf(loop, r, "127.0.0.30", "a@example.test", "h.test");
	CHECK(o.result == SPF_PASS, "mx: %s %s", spf_result_name(o.result), o.problem);
	o = spf(loop, r, "192.0.2.7", "a@example.test", "h.test");
	CHECK(o.result == SPF_PASS, "ip4 in a split string: %s %s", spf_result_name(o.result),
	      o.problem);
	o = spf(loop, r, "127.0.0.99", "a@example.test", "h.test");
	CHECK(o.result == SPF_PASS, "include+exists: %s %s", spf_result_name(o.result), o.problem);
	o = spf(loop, r, "198.51.100.1", "a@example.test", "h.test");
	CHECK(o.result == SPF_FAIL && strcmp(o.explanation, "198.51.100.1 may not send for a") == 0,
	      "fail with exp: %s \"%s\"", spf_result_name(o.result), o.explanation);
	o = spf(loop, r, "127.0.0.20", "", "ptr.test");
	CHECK(o.result == SPF_PASS, "helo identity, ptr: %s %s", spf_result_name(o.result),
	      o.problem);
	o = spf(loop, r, "127.0.0.20", "a@missing.test", "h.test");
	CHECK(o.result == SPF_NONE, "none: %s", spf_result_name(o.result));
	o = spf(loop, r, "127.0.0.20", "a@x.fail.test", "h.test");
	CHECK(o.result == SPF_TEMPERROR, "temperror: %s", spf_result_name(o.result));

	/* Cancelled while its queries are in flight: no callback. */
	struct spf_resolver res = spf_resolver_dns(r);
	struct spf_request req = {.mail_from = "a@example.test", .helo = "h.test"};
	spf_ip_parse("198.51.100.1", &req.ip);
	struct spf_got g = {0};
	struct spf_check *c = spf_check_start(&res, &req, on_spf, &g);
	CHECK(c != NULL, "in flight");
	spf_check_cancel(c);
	spf(loop, r, "127.0.0.20", "a@example.test", "h.test");
	CHECK(!g.done, "cancelled check called back");
}

int main(void)
{
	test_pure();
	test_tlsa_raw();
	const char *dnsmasq = "/usr/sbin/dnsmasq";
	if (access(dnsmasq, X_OK) != 0) {
		printf("SKIPPED: test_dns_query: live queries: /usr/sbin/dnsmasq not "
		       "installed\n");
		return check_report("test_dns_query");
	}
	int port = free_udp_tcp_port();
	char portarg[32];
	snprintf(portarg, sizeof portarg, "--port=%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", 1);
		dup2(devnull, 2);
		execl(dnsmasq, "dnsmasq", "--no-daemon", portarg, "--listen-address=127.0.0.1",
		      "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		      "--local=/test/", "--txt-record=multi.test,v=spf1 ip4:127.0.0.0/8, -all",
		      "--txt-record=multi.test,second record",
		      "--host-record=host.test,127.0.0.20,::20",
		      "--ptr-record=20.0.0.127.in-addr.arpa,host.test",
		      "--mx-host=example.test,mx1.test,5", "--host-record=mx1.test,127.0.0.30",
		      "--txt-record=example.test,v=spf1 mx a:host.test ip4:192.0.2.0/24 ,"
		      "include:inc.test -all exp=exp.test",
		      "--txt-record=exp.test,%{i} may not send for %{l}",
		      "--txt-record=inc.test,v=spf1 exists:%{i}.ok.test -all",
		      "--host-record=127.0.0.99.ok.test,127.0.0.2",
		      "--txt-record=ptr.test,v=spf1 ptr:host.test -all",
		      "--dns-rr=_25._tcp.mx1.test,52,030101"
		      "1212121212121212121212121212121212121212121212121212121212121212",
		      "--server=/fail.test/127.0.0.1#9", (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	uv_loop_t loop;
	uv_loop_init(&loop);
	char servers[64], err[256];
	snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
	struct dns_resolver *r = NULL;
	CHECK(dns_resolver_new(&r, &loop, servers, 1000, err, sizeof err) == 0, "%s", err);
	if (r) {
		test_queries(&loop, r);
		test_spf(&loop, r);
		/* Freeing with a query in flight: no callback. */
		struct qres d = {0};
		dns_query(r, "multi.test", DNS_Q_TXT, on_answer, &d);
		dns_resolver_free(&r);
		uv_run(&loop, UV_RUN_DEFAULT);
		CHECK(!d.done, "query outlived its resolver");
	}
	CHECK(uv_loop_close(&loop) == 0, "loop closed");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return check_report("test_dns_query");
}
