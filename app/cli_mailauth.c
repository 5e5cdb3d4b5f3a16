/* cli_mailauth: `tern spf check IP MAIL_FROM HELO`, one SPF evaluation
 * (mailauth/spf.c) with the resolver the queue uses ([queue] dns_servers,
 * dns_timeout), printed as key=value fields.
 *
 * Why a command: an operator asks "would tern accept this sender from
 * this address?" without sending mail, and the integration test drives
 * the real c-ares path through it against dnsmasq. */
#include "app/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "mailauth/spf.h"
#include "net/dns.h"

static const char usage_spf[] =
    "usage: tern spf check IP MAIL_FROM HELO [--dns-servers IP:PORT,...] [--timeout S]\n\n"
    "Evaluates SPF (RFC 7208) for a client address, the MAIL FROM address\n"
    "(\"\" checks the HELO identity, postmaster@HELO) and the HELO name, with\n"
    "the resolver of [queue] dns_servers and dns_timeout (or --dns-servers,\n"
    "--timeout: seconds per DNS try), and prints\n"
    "  spf=RESULT identity=mailfrom|helo domain=D sender=S [explanation=\"...\"]\n"
    "  [problem=\"...\"]\n"
    "RESULT is none, neutral, pass, fail, softfail, temperror or permerror.\n"
    "Exit status 0 when a result was reached, 2 on a usage error.\n";

struct cli_spf_wait {
	bool done;
	struct spf_outcome o;
};

static void on_spf_done(void *ud, const struct spf_outcome *o)
{
	struct cli_spf_wait *w = ud;
	w->done = true;
	w->o = *o;
}

int cli_spf(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage_spf, stdout);
		return 0;
	}
	const char *servers = cfg->queue.dns_servers;
	long timeout_s = (long)cfg->queue.dns_timeout;
	const char *pos[3];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dns-servers") == 0 && i + 1 < argc)
			servers = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_s = strtol(argv[++i], NULL, 10);
		else if (npos < 3)
			pos[npos++] = argv[i];
		else
			npos = 4;
	}
	if (argc < 1 || strcmp(argv[0], "check") != 0 || npos != 3 || timeout_s < 1 ||
	    timeout_s > 60) {
		fputs(usage_spf, stderr);
		return 2;
	}
	struct spf_request req = {.mail_from = pos[1], .helo = pos[2], .receiver = cfg->hostname};
	if (spf_ip_parse(pos[0], &req.ip) != 0) {
		fprintf(stderr, "tern spf: '%s' is not an IPv4 or IPv6 address\n", pos[0]);
		return 2;
	}
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct dns_resolver *dns = NULL;
	char err[300];
	if (dns_resolver_new(&dns, &loop, servers, (unsigned)timeout_s * 1000, err, sizeof err) <
	    0) {
		fprintf(stderr, "tern spf: %s\n", err);
		uv_loop_close(&loop);
		return 1;
	}
	struct spf_resolver res = spf_resolver_dns(dns);
	struct cli_spf_wait w = {0};
	spf_check_start(&res, &req, on_spf_done, &w);
	while (!w.done && uv_run(&loop, UV_RUN_ONCE))
		;
	dns_resolver_free(&dns);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (!w.done) {
		fprintf(stderr, "tern spf: the evaluation did not finish\n");
		return 1;
	}
	printf("spf=%s identity=%s domain=%s sender=%s", spf_result_name(w.o.result),
	       pos[1][0] ? "mailfrom" : "helo", w.o.domain, w.o.sender);
	if (w.o.explanation[0])
		printf(" explanation=\"%s\"", w.o.explanation);
	if (w.o.problem[0])
		printf(" problem=\"%s\"", w.o.problem);
	printf("\n");
	return 0;
}
