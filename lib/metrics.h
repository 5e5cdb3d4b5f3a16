/* metrics: the process's counters, for the Prometheus page (/metrics).
 *
 * One fixed table (metrics.c) names every series: its metric name, its
 * labels, whether it is a counter or a gauge, and a line of help. Code
 * anywhere counts with metric_add(MET_x, n): a relaxed atomic add on a
 * plain array, so the loop thread and the store's threads may both count,
 * and nothing is allocated or locked. The page is rendered from the table
 * (metrics_render), plus what is read at scrape time (RSS, open files) and
 * what the caller appends (the store's own counters, the queue's depth).
 *
 * A fixed enum rather than a registry: every series exists from the start
 * (a scraper sees 0, not a missing series), and the set is reviewed in one
 * place. */
#ifndef TERN_METRICS_H
#define TERN_METRICS_H

#include <stdint.h>

#include "lib/buf.h"

enum metric_id {
	/* connections open now, by protocol (gauges) */
	MET_OPEN_SMTP,
	MET_OPEN_SUBMISSION,
	MET_OPEN_POP3,
	MET_OPEN_IMAP,
	MET_OPEN_HTTP,
	/* of those, with TLS on (gauges) */
	MET_TLS_OPEN_SMTP,
	MET_TLS_OPEN_SUBMISSION,
	MET_TLS_OPEN_POP3,
	MET_TLS_OPEN_IMAP,
	MET_TLS_OPEN_HTTP,
	/* connections accepted, by protocol */
	MET_ACCEPTED_SMTP,
	MET_ACCEPTED_SUBMISSION,
	MET_ACCEPTED_POP3,
	MET_ACCEPTED_IMAP,
	MET_ACCEPTED_HTTP,
	MET_CONN_REFUSED, /* over a connection limit */
	/* password checks */
	MET_LOGIN_OK,
	MET_LOGIN_FAILED,
	MET_LOGIN_THROTTLED,
	MET_AUTH_HASHES,     /* password hashes computed (yescrypt & co) */
	MET_AUTH_CACHE_HITS, /* logins recognised by the credentials cache */
	/* SMTP replies sent, by class */
	MET_SMTP_REPLY_2,
	MET_SMTP_REPLY_3,
	MET_SMTP_REPLY_4,
	MET_SMTP_REPLY_5,
	/* messages */
	MET_MSG_ACCEPTED, /* SMTP transactions committed (250 after DATA/BDAT) */
	MET_MSG_STORED,   /* copies delivered into local mailboxes */
	MET_MSG_QUEUED,   /* recipients queued for relay */
	MET_MSG_RELAYED,  /* recipients delivered to a remote MX */
	MET_MSG_DEFERRED, /* relay attempts that failed temporarily */
	MET_MSG_BOUNCED,  /* recipients given up on (DSN sent) */
	/* DNS */
	MET_DNS_LOOKUPS,
	MET_DNS_FAILURES,
	/* mx clients' reputation at connect (proto/smtp/mx_reputation.c) */
	MET_REP_CLEAN,
	MET_REP_JUNK,
	MET_REP_REJECT,
	MET_REP_TIMEOUT, /* the greeting did not wait for every answer */
	MET_FCRDNS_PASS,
	MET_FCRDNS_FAIL,
	MET_RSPAMD_CHECKED, /* messages rspamd answered */
	MET_RSPAMD_FAILED,  /* rspamd errors and timeouts: delivered unchecked */
	MET_SCORE_CLEAN,    /* mx messages the built-in score let through */
	MET_SCORE_JUNK,     /* ... and sent to Junk */
	/* TLS handshakes finished, by version, and failed */
	MET_TLS_12,
	MET_TLS_13,
	MET_TLS_FAILED,
	/* HTTP responses, by class */
	MET_HTTP_2XX,
	MET_HTTP_3XX,
	MET_HTTP_4XX,
	MET_HTTP_5XX,
	/* ACME certificate orders (acme/) */
	MET_ACME_ISSUED,
	MET_ACME_FAILED,
	/* mail authentication verdicts on mx listeners (proto/smtp/judge.c),
	 * in the order of enum spf_result, enum dkim_result (PENDING = none)
	 * and enum dmarc_result */
	MET_SPF_NONE,
	MET_SPF_NEUTRAL,
	MET_SPF_PASS,
	MET_SPF_FAIL,
	MET_SPF_SOFTFAIL,
	MET_SPF_TEMPERROR,
	MET_SPF_PERMERROR,
	MET_DKIM_NONE,
	MET_DKIM_PASS,
	MET_DKIM_FAIL,
	MET_DKIM_NEUTRAL,
	MET_DKIM_TEMPERROR,
	MET_DKIM_PERMERROR,
	MET_DMARC_NONE,
	MET_DMARC_PASS,
	MET_DMARC_FAIL,
	MET_DMARC_TEMPERROR,
	MET_DMARC_PERMERROR,
	MET_ARC_NONE, /* in the order of enum arc_status (PENDING = none) */
	MET_ARC_PASS,
	MET_ARC_FAIL,
	/* what the DMARC verdict did to a message */
	MET_DMARC_REJECTED,
	MET_DMARC_QUARANTINED,
	MET_DMARC_DEFERRED,   /* temperror: 4xx */
	MET_DMARC_OVERRIDDEN, /* a failure not enforced: trusted forwarder or ARC sealer,
	                         dmarc_reject = false */
	MET_AR_REMOVED,       /* incoming Authentication-Results claiming our authserv-id */

	MET_DKIM_SIGNED_RSA,     /* DKIM-Signature fields made, rsa-sha256 */
	MET_DKIM_SIGNED_ED25519, /* ... ed25519-sha256 */
	MET_DKIM_SIGN_FAILED,    /* a key that could not sign (mail went on without) */
	MET_DKIM_SIGN_CPU_US,    /* worker CPU spent signing, microseconds */
	/* JMAP (proto/jmap): requests, and method calls by name */
	MET_JMAP_REQUESTS,
	MET_JMAP_CALL_CORE_ECHO,
	MET_JMAP_CALL_MAILBOX_GET,
	MET_JMAP_CALL_MAILBOX_QUERY,
	MET_JMAP_CALL_MAILBOX_CHANGES,
	MET_JMAP_CALL_IDENTITY_GET,
	MET_JMAP_CALL_EMAIL_GET,
	MET_JMAP_CALL_EMAIL_QUERY,
	MET_JMAP_CALL_EMAIL_SET,
	MET_JMAP_CALL_EMAIL_CHANGES,
	MET_JMAP_CALL_THREAD_GET,
	MET_JMAP_CALL_SEARCHSNIPPET_GET,
	MET_JMAP_CALL_OTHER, /* any other name, unknown ones included */
	MET__COUNT
};

void metric_add(enum metric_id id, int64_t n);
int64_t metric_get(enum metric_id id);

/* Latencies, in fixed-bucket histograms. */
enum metric_hist {
	HIST_COMMIT, /* a store batch, BEGIN to the end of COMMIT */
	HIST_DNS,    /* an MX lookup with its hosts' addresses */
	HIST__COUNT
};
void metric_observe(enum metric_hist h, double seconds);

/* Append the whole table, the histograms and the process's RSS and open
 * files in Prometheus text format 0.0.4. Returns 0, -1 on ENOMEM. */
int metrics_render(struct buf *out);

/* Append one series: "# HELP/# TYPE" lines and the sample. For what the
 * caller reads at scrape time. type is "counter" or "gauge". */
int metrics_render_one(struct buf *out, const char *name, const char *type, const char *help,
                       double value);

#endif
