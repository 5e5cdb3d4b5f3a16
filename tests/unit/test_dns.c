/* test_dns: MX ordering and status mapping (pure), then the resolver on a
 * real loop against a real DNS server: dnsmasq on 127.0.0.1 and a free
 * port, started here with records for every case (skipped, with a note,
 * when dnsmasq is not installed). */
#include "net/dns.h"
#include "tests/unit/dns_testutil.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static uint32_t seq_rnd(void *ud)
{
	uint32_t *s = ud;
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_sort(void)
{
	struct dns_mx_host h[6];
	memset(h, 0, sizeof h);
	unsigned prefs[6] = {20, 10, 10, 30, 10, 20};
	for (int i = 0; i < 6; i++) {
		h[i].pref = prefs[i];
		snprintf(h[i].name, sizeof h[i].name, "h%d", i);
	}
	uint32_t seed = 1;
	bool first_seen[6] = {0};
	for (int round = 0; round < 200; round++) {
		dns_mx_sort(h, 6, seq_rnd, &seed);
		for (int i = 1; i < 6; i++)
			CHECK(h[i - 1].pref <= h[i].pref);
		first_seen[h[0].name[1] - '0'] = true;
	}
	/* Every preference-10 host comes first sometimes: random among equals. */
	CHECK(first_seen[1] && first_seen[2] && first_seen[4]);
	CHECK(!first_seen[0] && !first_seen[3] && !first_seen[5]);
}

static void test_status(void)
{
	CHECK(dns_status_from_ares(ARES_SUCCESS) == DNS_OK);
	CHECK(dns_status_from_ares(ARES_ENOTFOUND) == DNS_PERM);
	CHECK(dns_status_from_ares(ARES_ESERVFAIL) == DNS_TEMP);
	CHECK(dns_status_from_ares(ARES_ETIMEOUT) == DNS_TEMP);
	CHECK(dns_status_from_ares(ARES_EREFUSED) == DNS_TEMP);
	CHECK(dns_status_from_ares(ARES_ECONNREFUSED) == DNS_TEMP);
}

/* ---- live ---- */

struct result {
	bool done;
	struct dns_mx_result res;
};

static void on_result(void *ud, const struct dns_mx_result *res)
{
	struct result *r = ud;
	r->done = true;
	r->res = *res;
}

static struct result resolve(uv_loop_t *loop, struct dns_resolver *r, const char *domain)
{
	struct result res = {0};
	struct dns_req *q = dns_resolve_mx(r, domain, on_result, &res);
	CHECK(q != NULL);
	while (!res.done && uv_run(loop, UV_RUN_ONCE))
		;
	return res;
}

static const char *first_ip(const struct dns_mx_host *h, char *buf)
{
	const struct sockaddr_storage *ss = &h->addrs[0];
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, 64);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, 64);
	return buf;
}

static void test_live(void)
{
	const char *dnsmasq = "/usr/sbin/dnsmasq";
	if (access(dnsmasq, X_OK) != 0) {
		printf("test_dns: dnsmasq not installed, live tests skipped\n");
		return;
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
		      "--local=/test/", "--mx-host=two.test,mx1.two.test,20",
		      "--mx-host=two.test,mx2.two.test,10", "--host-record=mx1.two.test,127.0.0.11",
		      "--host-record=mx2.two.test,127.0.0.12,::1", "--mx-host=nullmx.test,.,0",
		      "--host-record=implicit.test,127.0.0.13",
		      "--mx-host=cname.test,alias.cname.test,5",
		      "--cname=alias.cname.test,mx1.two.test", "--txt-record=two.test,v=spf1 -all",
		      "--server=/fail.test/127.0.0.1#9", (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	uv_loop_t loop;
	uv_loop_init(&loop);
	char servers[64], err[256];
	snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
	struct dns_resolver *r = NULL;
	CHECK(dns_resolver_new(&r, &loop, servers, 1000, err, sizeof err) == 0);
	char ip[64];

	struct result x = resolve(&loop, r, "two.test");
	CHECK(x.res.status == DNS_OK && x.res.nhosts == 2 && !x.res.implicit);
	if (x.res.nhosts == 2) {
		CHECK(strcmp(x.res.hosts[0].name, "mx2.two.test") == 0);
		CHECK(x.res.hosts[0].pref == 10 && x.res.hosts[1].pref == 20);
		CHECK(x.res.hosts[0].naddrs == 2); /* A and AAAA */
		CHECK(strcmp(first_ip(&x.res.hosts[1], ip), "127.0.0.11") == 0);
	}

	x = resolve(&loop, r, "nullmx.test");
	CHECK(x.res.status == DNS_NULLMX);

	x = resolve(&loop, r, "implicit.test");
	CHECK(x.res.status == DNS_OK && x.res.implicit && x.res.nhosts == 1);
	if (x.res.nhosts == 1)
		CHECK(strcmp(first_ip(&x.res.hosts[0], ip), "127.0.0.13") == 0);

	x = resolve(&loop, r, "cname.test");
	CHECK(x.res.status == DNS_OK && x.res.nhosts == 1);
	if (x.res.nhosts == 1)
		CHECK(strcmp(first_ip(&x.res.hosts[0], ip), "127.0.0.11") == 0);

	x = resolve(&loop, r, "nxdomain.test");
	CHECK(x.res.status == DNS_PERM);

	x = resolve(&loop, r, "x.fail.test"); /* upstream unreachable: SERVFAIL/REFUSED */
	CHECK(x.res.status == DNS_TEMP);

	/* Cancellation: the callback never runs, nothing leaks or crashes. */
	struct result c = {0};
	struct dns_req *q = dns_resolve_mx(r, "two.test", on_result, &c);
	dns_cancel(q);
	x = resolve(&loop, r, "implicit.test"); /* runs the loop past the cancelled one */
	CHECK(!c.done);

	/* Freeing with a request in flight cancels it. */
	struct result d = {0};
	dns_resolve_mx(r, "two.test", on_result, &d);
	dns_resolver_free(&r);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(!d.done);
	CHECK(uv_loop_close(&loop) == 0);

	/* A server that never answers: a temporary failure after the timeout. */
	uv_loop_init(&loop);
	CHECK(dns_resolver_new(&r, &loop, "127.0.0.1:9", 200, err, sizeof err) == 0);
	x = resolve(&loop, r, "two.test");
	CHECK(x.res.status == DNS_TEMP);
	dns_resolver_free(&r);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	test_sort();
	test_status();
	test_live();
	if (failures) {
		fprintf(stderr, "test_dns: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_dns: ok\n");
	return 0;
}
