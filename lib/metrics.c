/* metrics: the table behind /metrics (see metrics.h). */
#include "lib/metrics.h"

#include <dirent.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TERN_SANITIZER_CLANG 1
#endif
#endif
#ifndef TERN_SANITIZER_CLANG
#define TERN_SANITIZER_CLANG 0
#endif
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	const char *labels; /* "" or `key="value"` */
	const char *type;
	const char *help;
} table[MET__COUNT] = {
#define G "gauge"
#define C "counter"
    [MET_OPEN_SMTP] = {"tern_connections", "protocol=\"smtp\"", G, "Connections open now."},
    [MET_OPEN_SUBMISSION] = {"tern_connections", "protocol=\"submission\"", G, ""},
    [MET_OPEN_POP3] = {"tern_connections", "protocol=\"pop3\"", G, ""},
    [MET_OPEN_IMAP] = {"tern_connections", "protocol=\"imap\"", G, ""},
    [MET_OPEN_HTTP] = {"tern_connections", "protocol=\"http\"", G, ""},
    [MET_TLS_OPEN_SMTP] = {"tern_connections_tls", "protocol=\"smtp\"", G,
                           "Connections open now with TLS on."},
    [MET_TLS_OPEN_SUBMISSION] = {"tern_connections_tls", "protocol=\"submission\"", G, ""},
    [MET_TLS_OPEN_POP3] = {"tern_connections_tls", "protocol=\"pop3\"", G, ""},
    [MET_TLS_OPEN_IMAP] = {"tern_connections_tls", "protocol=\"imap\"", G, ""},
    [MET_TLS_OPEN_HTTP] = {"tern_connections_tls", "protocol=\"http\"", G, ""},
    [MET_ACCEPTED_SMTP] = {"tern_connections_accepted_total", "protocol=\"smtp\"", C,
                           "Connections accepted."},
    [MET_ACCEPTED_SUBMISSION] = {"tern_connections_accepted_total", "protocol=\"submission\"", C,
                                 ""},
    [MET_ACCEPTED_POP3] = {"tern_connections_accepted_total", "protocol=\"pop3\"", C, ""},
    [MET_ACCEPTED_IMAP] = {"tern_connections_accepted_total", "protocol=\"imap\"", C, ""},
    [MET_ACCEPTED_HTTP] = {"tern_connections_accepted_total", "protocol=\"http\"", C, ""},
    [MET_CONN_REFUSED] = {"tern_connections_refused_total", "", C,
                          "Connections refused by a connection limit."},
    [MET_LOGIN_OK] = {"tern_logins_total", "result=\"ok\"", C, "Password checks, by result."},
    [MET_LOGIN_FAILED] = {"tern_logins_total", "result=\"failed\"", C, ""},
    [MET_LOGIN_THROTTLED] = {"tern_logins_total", "result=\"throttled\"", C, ""},
    [MET_AUTH_HASHES] = {"tern_auth_hashes_total", "", C,
                         "Password hashes computed to check a login."},
    [MET_AUTH_CACHE_HITS] = {"tern_auth_cache_hits_total", "", C,
                             "Logins recognised by the verified-credentials cache."},
    [MET_SMTP_REPLY_2] = {"tern_smtp_replies_total", "class=\"2\"", C,
                          "SMTP replies sent, by class."},
    [MET_SMTP_REPLY_3] = {"tern_smtp_replies_total", "class=\"3\"", C, ""},
    [MET_SMTP_REPLY_4] = {"tern_smtp_replies_total", "class=\"4\"", C, ""},
    [MET_SMTP_REPLY_5] = {"tern_smtp_replies_total", "class=\"5\"", C, ""},
    [MET_MSG_ACCEPTED] = {"tern_messages_accepted_total", "", C,
                          "SMTP transactions committed to disk."},
    [MET_MSG_STORED] = {"tern_messages_stored_total", "", C,
                        "Copies delivered into local mailboxes."},
    [MET_MSG_QUEUED] = {"tern_messages_queued_total", "", C, "Recipients queued for relay."},
    [MET_MSG_RELAYED] = {"tern_messages_relayed_total", "", C,
                         "Recipients delivered to a remote server."},
    [MET_MSG_DEFERRED] = {"tern_relay_deferred_total", "", C,
                          "Relay attempts that failed temporarily."},
    [MET_MSG_BOUNCED] = {"tern_messages_bounced_total", "", C,
                         "Recipients given up on and bounced."},
    [MET_DNS_LOOKUPS] = {"tern_dns_lookups_total", "", C, "DNS queries made."},
    [MET_DNS_FAILURES] = {"tern_dns_failures_total", "", C,
                          "DNS queries that failed (not NXDOMAIN)."},
    [MET_REP_CLEAN] = {"tern_mx_reputation_total", "verdict=\"clean\"", C,
                       "mx clients checked against DNS block/allow lists, by verdict."},
    [MET_REP_JUNK] = {"tern_mx_reputation_total", "verdict=\"junk\"", C, ""},
    [MET_REP_REJECT] = {"tern_mx_reputation_total", "verdict=\"reject\"", C, ""},
    [MET_REP_TIMEOUT] = {"tern_mx_reputation_total", "verdict=\"timeout\"", C, ""},
    [MET_FCRDNS_PASS] = {"tern_fcrdns_total", "result=\"pass\"", C,
                         "Forward-confirmed reverse DNS of mx clients."},
    [MET_FCRDNS_FAIL] = {"tern_fcrdns_total", "result=\"fail\"", C, ""},
    [MET_RSPAMD_CHECKED] = {"tern_rspamd_checks_total", "result=\"answered\"", C,
                            "Messages posted to rspamd, by outcome."},
    [MET_RSPAMD_FAILED] = {"tern_rspamd_checks_total", "result=\"failed\"", C, ""},
    [MET_SCORE_CLEAN] = {"tern_spam_score_total", "verdict=\"clean\"", C,
                         "mx messages weighed by the built-in spam score, by verdict."},
    [MET_SCORE_JUNK] = {"tern_spam_score_total", "verdict=\"junk\"", C, ""},
    [MET_TLS_12] = {"tern_tls_handshakes_total", "version=\"TLSv1.2\"", C,
                    "TLS handshakes, by version or failed."},
    [MET_TLS_13] = {"tern_tls_handshakes_total", "version=\"TLSv1.3\"", C, ""},
    [MET_TLS_FAILED] = {"tern_tls_handshakes_total", "version=\"failed\"", C, ""},
    [MET_HTTP_2XX] = {"tern_http_responses_total", "class=\"2xx\"", C,
                      "HTTP responses, by status class."},
    [MET_HTTP_3XX] = {"tern_http_responses_total", "class=\"3xx\"", C, ""},
    [MET_HTTP_4XX] = {"tern_http_responses_total", "class=\"4xx\"", C, ""},
    [MET_HTTP_5XX] = {"tern_http_responses_total", "class=\"5xx\"", C, ""},
    [MET_ACME_ISSUED] = {"tern_acme_orders_total", "result=\"issued\"", C,
                         "ACME certificate orders, by result."},
    [MET_ACME_FAILED] = {"tern_acme_orders_total", "result=\"failed\"", C, ""},
    [MET_SPF_NONE] = {"tern_smtp_spf_results_total", "result=\"none\"", C,
                      "SPF results of mx transactions (MAIL FROM, or HELO for <>)."},
    [MET_SPF_NEUTRAL] = {"tern_smtp_spf_results_total", "result=\"neutral\"", C, ""},
    [MET_SPF_PASS] = {"tern_smtp_spf_results_total", "result=\"pass\"", C, ""},
    [MET_SPF_FAIL] = {"tern_smtp_spf_results_total", "result=\"fail\"", C, ""},
    [MET_SPF_SOFTFAIL] = {"tern_smtp_spf_results_total", "result=\"softfail\"", C, ""},
    [MET_SPF_TEMPERROR] = {"tern_smtp_spf_results_total", "result=\"temperror\"", C, ""},
    [MET_SPF_PERMERROR] = {"tern_smtp_spf_results_total", "result=\"permerror\"", C, ""},
    [MET_DKIM_NONE] = {"tern_smtp_dkim_results_total", "result=\"none\"", C,
                       "DKIM results of mx messages, one per signature (none: unsigned)."},
    [MET_DKIM_PASS] = {"tern_smtp_dkim_results_total", "result=\"pass\"", C, ""},
    [MET_DKIM_FAIL] = {"tern_smtp_dkim_results_total", "result=\"fail\"", C, ""},
    [MET_DKIM_NEUTRAL] = {"tern_smtp_dkim_results_total", "result=\"neutral\"", C, ""},
    [MET_DKIM_TEMPERROR] = {"tern_smtp_dkim_results_total", "result=\"temperror\"", C, ""},
    [MET_DKIM_PERMERROR] = {"tern_smtp_dkim_results_total", "result=\"permerror\"", C, ""},
    [MET_DMARC_NONE] = {"tern_smtp_dmarc_results_total", "result=\"none\"", C,
                        "DMARC results of mx messages."},
    [MET_DMARC_PASS] = {"tern_smtp_dmarc_results_total", "result=\"pass\"", C, ""},
    [MET_DMARC_FAIL] = {"tern_smtp_dmarc_results_total", "result=\"fail\"", C, ""},
    [MET_DMARC_TEMPERROR] = {"tern_smtp_dmarc_results_total", "result=\"temperror\"", C, ""},
    [MET_DMARC_PERMERROR] = {"tern_smtp_dmarc_results_total", "result=\"permerror\"", C, ""},
    [MET_ARC_NONE] = {"tern_smtp_arc_results_total", "result=\"none\"", C,
                      "ARC chain results of mx messages (RFC 8617)."},
    [MET_ARC_PASS] = {"tern_smtp_arc_results_total", "result=\"pass\"", C, ""},
    [MET_ARC_FAIL] = {"tern_smtp_arc_results_total", "result=\"fail\"", C, ""},
    [MET_DMARC_REJECTED] = {"tern_smtp_dmarc_actions_total", "action=\"reject\"", C,
                            "What DMARC failures did to mx messages."},
    [MET_DMARC_QUARANTINED] = {"tern_smtp_dmarc_actions_total", "action=\"quarantine\"", C, ""},
    [MET_DMARC_DEFERRED] = {"tern_smtp_dmarc_actions_total", "action=\"defer\"", C, ""},
    [MET_DMARC_OVERRIDDEN] = {"tern_smtp_dmarc_actions_total", "action=\"override\"", C, ""},
    [MET_AR_REMOVED] = {"tern_smtp_auth_results_removed_total", "", C,
                        "Incoming Authentication-Results fields that claimed our authserv-id."},
    [MET_DKIM_SIGNED_RSA] = {"tern_dkim_signatures_total", "algorithm=\"rsa-sha256\"", C,
                             "DKIM signatures made for outgoing mail, by algorithm."},
    [MET_DKIM_SIGNED_ED25519] = {"tern_dkim_signatures_total", "algorithm=\"ed25519-sha256\"", C,
                                 ""},
    [MET_DKIM_SIGN_FAILED] = {"tern_dkim_sign_failures_total", "", C,
                              "DKIM signatures that could not be made (the mail went unsigned "
                              "by that key)."},
    [MET_DKIM_SIGN_CPU_US] = {"tern_dkim_sign_cpu_microseconds_total", "", C,
                              "CPU time the thread pool spent DKIM-signing."},
    [MET_JMAP_REQUESTS] = {"tern_jmap_requests_total", "", C,
                           "JMAP API requests (POST /jmap/api), answered or refused."},
    [MET_JMAP_CALL_CORE_ECHO] = {"tern_jmap_calls_total", "method=\"Core/echo\"", C,
                                 "JMAP method calls, by method name."},
    [MET_JMAP_CALL_MAILBOX_GET] = {"tern_jmap_calls_total", "method=\"Mailbox/get\"", C, ""},
    [MET_JMAP_CALL_MAILBOX_QUERY] = {"tern_jmap_calls_total", "method=\"Mailbox/query\"", C, ""},
    [MET_JMAP_CALL_MAILBOX_CHANGES] = {"tern_jmap_calls_total", "method=\"Mailbox/changes\"", C,
                                       ""},
    [MET_JMAP_CALL_IDENTITY_GET] = {"tern_jmap_calls_total", "method=\"Identity/get\"", C, ""},
    [MET_JMAP_CALL_EMAIL_GET] = {"tern_jmap_calls_total", "method=\"Email/get\"", C, ""},
    [MET_JMAP_CALL_EMAIL_QUERY] = {"tern_jmap_calls_total", "method=\"Email/query\"", C, ""},
    [MET_JMAP_CALL_EMAIL_SET] = {"tern_jmap_calls_total", "method=\"Email/set\"", C, ""},
    [MET_JMAP_CALL_EMAIL_CHANGES] = {"tern_jmap_calls_total", "method=\"Email/changes\"", C, ""},
    [MET_JMAP_CALL_THREAD_GET] = {"tern_jmap_calls_total", "method=\"Thread/get\"", C, ""},
    [MET_JMAP_CALL_SEARCHSNIPPET_GET] = {"tern_jmap_calls_total", "method=\"SearchSnippet/get\"", C,
                                         ""},
    [MET_JMAP_CALL_OTHER] = {"tern_jmap_calls_total", "method=\"other\"", C, ""},
#undef G
#undef C
};

static int64_t values[MET__COUNT];

#define MAX_BOUNDS 12

static const struct {
	const char *name;
	const char *help;
	double bounds[MAX_BOUNDS]; /* upper bounds, seconds, ascending; 0 ends */
} hists[HIST__COUNT] = {
    [HIST_COMMIT] = {"tern_store_commit_seconds",
                     "Time from BEGIN to the end of COMMIT of a store batch.",
                     {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}},
    [HIST_DNS] = {"tern_dns_mx_seconds",
                  "Time to resolve a domain's MX hosts and their addresses.",
                  {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}},
};

static struct {
	uint64_t buckets[MAX_BOUNDS + 1]; /* the last is +Inf */
	uint64_t count, sum_us;
} hist_values[HIST__COUNT];

void metric_add(enum metric_id id, int64_t n)
{
	if ((unsigned)id < MET__COUNT)
		__atomic_fetch_add(&values[id], n, __ATOMIC_RELAXED);
}

int64_t metric_get(enum metric_id id)
{
	return (unsigned)id < MET__COUNT ? __atomic_load_n(&values[id], __ATOMIC_RELAXED) : 0;
}

void metric_observe(enum metric_hist h, double seconds)
{
	if ((unsigned)h >= HIST__COUNT)
		return;
	size_t i = 0;
	while (i < MAX_BOUNDS && hists[h].bounds[i] > 0 && seconds > hists[h].bounds[i])
		i++;
	if (i < MAX_BOUNDS && hists[h].bounds[i] == 0)
		i = MAX_BOUNDS; /* past the last bound: +Inf */
	__atomic_fetch_add(&hist_values[h].buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&hist_values[h].count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&hist_values[h].sum_us, (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
}

static int header(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int metrics_render_one(struct buf *out, const char *name, const char *type, const char *help,
                       double value)
{
	if (header(out, name, type, help) < 0)
		return -1;
	return buf_printf(out, "%s %.17g\n", name, value) < 0 ? -1 : 0;
}

static long resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

static int render_hist(struct buf *out, size_t h)
{
	const char *name = hists[h].name;
	int r = header(out, name, "histogram", hists[h].help);
	uint64_t cum = 0;
	for (size_t i = 0; i < MAX_BOUNDS && hists[h].bounds[i] > 0 && r >= 0; i++) {
		cum += __atomic_load_n(&hist_values[h].buckets[i], __ATOMIC_RELAXED);
		r = buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, hists[h].bounds[i],
		               (unsigned long long)cum);
	}
	cum += __atomic_load_n(&hist_values[h].buckets[MAX_BOUNDS], __ATOMIC_RELAXED);
	if (r >= 0)
		r = buf_printf(
		    out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
		    (unsigned long long)cum, name,
		    (double)__atomic_load_n(&hist_values[h].sum_us, __ATOMIC_RELAXED) / 1e6, name,
		    (unsigned long long)__atomic_load_n(&hist_values[h].count, __ATOMIC_RELAXED));
	return r;
}

int metrics_render(struct buf *out)
{
	int r = 0;
	for (size_t i = 0; i < MET__COUNT && r >= 0; i++) {
		if (i == 0 || strcmp(table[i].name, table[i - 1].name) != 0)
			r = header(out, table[i].name, table[i].type, table[i].help);
		if (r < 0)
			break;
		if (table[i].labels[0])
			r = buf_printf(out, "%s{%s} %lld\n", table[i].name, table[i].labels,
			               (long long)metric_get((enum metric_id)i));
		else
			r = buf_printf(out, "%s %lld\n", table[i].name,
			               (long long)metric_get((enum metric_id)i));
	}
	for (size_t h = 0; h < HIST__COUNT && r >= 0; h++)
		r = render_hist(out, h);
	if (r >= 0)
		r = metrics_render_one(out, "process_resident_memory_bytes", "gauge",
		                       "Resident memory size in bytes.", (double)resident_bytes());
	if (r >= 0)
		r = metrics_render_one(out, "process_open_fds", "gauge", "Open file descriptors.",
		                       (double)open_fds());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33) &&                              \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && !TERN_SANITIZER_CLANG
	/* (not under a sanitizer: its own allocator answers mallinfo2 with 0s)
	 * What of the RSS is live heap and what is freed but kept by malloc:
	 * a steady climb of the first is a leak or an unbounded cache, of the
	 * second a high-water mark (the soak tells them apart with these). */
	struct mallinfo2 mi = mallinfo2();
	if (r >= 0)
		r = metrics_render_one(out, "tern_heap_in_use_bytes", "gauge",
		                       "Heap bytes allocated and not freed (malloc's own count).",
		                       (double)(mi.uordblks + mi.hblkhd));
	if (r >= 0)
		r = metrics_render_one(out, "tern_heap_free_bytes", "gauge",
		                       "Heap bytes freed but still held by malloc.",
		                       (double)mi.fordblks);
#endif
	return r < 0 ? -1 : 0;
}
