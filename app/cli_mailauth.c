/* cli_mailauth: `tern spf check IP MAIL_FROM HELO`, one SPF evaluation
 * (mailauth/spf.c), and `tern dmarc check --from D --spf R:D --dkim R:D`,
 * one DMARC evaluation (mailauth/dmarc.c), with the resolver the queue
 * uses ([queue] dns_servers, dns_timeout), printed as key=value fields.
 *
 * Why a command: an operator asks "would tern accept this sender from
 * this address?" (or "what would DMARC say of this From domain?") without
 * sending mail, and the integration tests drive the real c-ares path
 * through them against dnsmasq. */
#include "app/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "mailauth/dmarc.h"
#include "mailauth/spf.h"
#include "net/dns.h"

/* One check on a loop of its own, with a resolver asking servers (the
 * system's when empty): start() begins it, and its callback sets *done.
 * 0, or -1 said on stderr as "tern NAME: ...". */
static int run_check(const char *name, const char *servers, long timeout_s,
                     void (*start)(const struct spf_resolver *res, void *arg), void *arg,
                     const bool *done)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct dns_resolver *dns = NULL;
	char err[300];
	if (dns_resolver_new(&dns, &loop, servers, (unsigned)timeout_s * 1000, err, sizeof err) <
	    0) {
		fprintf(stderr, "tern %s: %s\n", name, err);
		uv_loop_close(&loop);
		return -1;
	}
	struct spf_resolver res = spf_resolver_dns(dns);
	start(&res, arg);
	while (!*done && uv_run(&loop, UV_RUN_ONCE))
		;
	dns_resolver_free(&dns);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (!*done) {
		fprintf(stderr, "tern %s: the evaluation did not finish\n", name);
		return -1;
	}
	return 0;
}

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

struct spf_start_arg {
	const struct spf_request *req;
	struct cli_spf_wait *w;
};

static void start_spf(const struct spf_resolver *res, void *arg)
{
	struct spf_start_arg *a = arg;
	spf_check_start(res, a->req, on_spf_done, a->w);
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
	struct cli_spf_wait w = {0};
	struct spf_start_arg a = {&req, &w};
	if (run_check("spf", servers, timeout_s, start_spf, &a, &w.done) < 0)
		return 1;
	printf("spf=%s identity=%s domain=%s sender=%s", spf_result_name(w.o.result),
	       pos[1][0] ? "mailfrom" : "helo", w.o.domain, w.o.sender);
	if (w.o.explanation[0])
		printf(" explanation=\"%s\"", w.o.explanation);
	if (w.o.problem[0])
		printf(" problem=\"%s\"", w.o.problem);
	printf("\n");
	return 0;
}

/* ---- tern dmarc check ---- */

static const char usage_dmarc[] =
    "usage: tern dmarc check --from DOMAIN [--spf RESULT:DOMAIN] [--dkim RESULT:DOMAIN]...\n"
    "                        [--dns-servers IP:PORT,...] [--timeout S]\n\n"
    "Evaluates DMARC (RFC 9989) for the RFC5322.From domain (an address is\n"
    "cut at its '@'), given the SPF result and the domain SPF checked, and\n"
    "the result and d= of each DKIM signature (up to 8), with the resolver\n"
    "of [queue] dns_servers and dns_timeout (or --dns-servers, --timeout:\n"
    "seconds per DNS try), and prints\n"
    "  dmarc=RESULT from=D policy_domain=P org_domain=O policy=POLICY\n"
    "  disposition=none|quarantine|reject testing=yes|no spf_aligned=yes|no\n"
    "  dkim_aligned=yes|no queries=N [problem=\"...\"]\n"
    "RESULT is none, pass, fail, temperror or permerror; POLICY is the p=,\n"
    "sp= or np= that applied. SPF results: pass fail softfail neutral none\n"
    "temperror permerror; DKIM results: pass fail neutral temperror permerror.\n"
    "Exit status 0 when a result was reached, 2 on a usage error.\n";

struct cli_dmarc_wait {
	bool done;
	struct dmarc_outcome o;
};

static void on_dmarc_done(void *ud, const struct dmarc_outcome *o)
{
	struct cli_dmarc_wait *w = ud;
	w->done = true;
	w->o = *o;
}

struct dmarc_start_arg {
	const struct dmarc_input *in;
	struct cli_dmarc_wait *w;
};

static void start_dmarc(const struct spf_resolver *res, void *arg)
{
	struct dmarc_start_arg *a = arg;
	dmarc_check_start(res, a->in, on_dmarc_done, a->w);
}

/* "RESULT:DOMAIN": the result's index among names (via name_of), the
 * domain after the colon; -1 when malformed. */
static int split_result(const char *arg, const char *(*name_of)(int), int first, int last,
                        const char **domain)
{
	const char *colon = strchr(arg, ':');
	if (!colon || !colon[1])
		return -1;
	for (int r = first; r <= last; r++) {
		const char *n = name_of(r);
		if (strlen(n) == (size_t)(colon - arg) && strncmp(arg, n, strlen(n)) == 0) {
			*domain = colon + 1;
			return r;
		}
	}
	return -1;
}

static const char *spf_name_of(int r)
{
	return spf_result_name((enum spf_result)r);
}

static const char *dkim_name_of(int r)
{
	return dkim_result_name((enum dkim_result)r);
}

int cli_dmarc(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage_dmarc, stdout);
		return 0;
	}
	const char *servers = cfg->queue.dns_servers;
	long timeout_s = (long)cfg->queue.dns_timeout;
	struct dmarc_input in = {.spf = SPF_NONE};
	bool bad = argc < 1 || strcmp(argv[0], "check") != 0;
	for (int i = 1; i < argc && !bad; i += 2) { /* --option value */
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val) {
			bad = true;
		} else if (strcmp(arg, "--from") == 0) {
			const char *at = strrchr(val, '@');
			in.from_domain = at ? at + 1 : val;
		} else if (strcmp(arg, "--spf") == 0) {
			int r =
			    split_result(val, spf_name_of, SPF_NONE, SPF_PERMERROR, &in.spf_domain);
			bad = r < 0;
			in.spf = r < 0 ? SPF_NONE : (enum spf_result)r;
		} else if (strcmp(arg, "--dkim") == 0) {
			const char **d = &in.dkim[in.ndkim].domain;
			int r = split_result(val, dkim_name_of, DKIM_PASS, DKIM_PERMERROR, d);
			bad = r < 0 || in.ndkim >= DMARC_MAX_DKIM;
			if (!bad)
				in.dkim[in.ndkim++].result = (enum dkim_result)r;
		} else if (strcmp(arg, "--dns-servers") == 0) {
			servers = val;
		} else if (strcmp(arg, "--timeout") == 0) {
			timeout_s = strtol(val, NULL, 10);
		} else {
			bad = true;
		}
	}
	if (bad || !in.from_domain || timeout_s < 1 || timeout_s > 60) {
		fputs(usage_dmarc, stderr);
		return 2;
	}
	struct cli_dmarc_wait w = {0};
	struct dmarc_start_arg a = {&in, &w};
	if (run_check("dmarc", servers, timeout_s, start_dmarc, &a, &w.done) < 0)
		return 1;
	const struct dmarc_outcome *o = &w.o;
	printf("dmarc=%s from=%s policy_domain=%s org_domain=%s policy=%s disposition=%s "
	       "testing=%s spf_aligned=%s dkim_aligned=%s queries=%u",
	       dmarc_result_name(o->result), o->from_domain, o->policy_domain, o->org_domain,
	       o->policy_text, dmarc_disposition_name(o->disposition), o->testing ? "yes" : "no",
	       o->spf_aligned ? "yes" : "no", o->dkim_aligned ? "yes" : "no", o->dns_queries);
	if (o->problem[0])
		printf(" problem=\"%s\"", o->problem);
	printf("\n");
	return 0;
}
