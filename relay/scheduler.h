/* scheduler: the outbound queue runner.
 *
 * A timer on the loop looks for due rows in the `queue` table, groups them
 * by destination domain (and by message inside a domain), claims them in a
 * writer transaction and hands each group to a delivery job: MX lookup
 * (or the smarthost), a connection, one SMTP transaction per message with
 * all of its recipients for that domain. The outcome of every recipient is
 * recorded in one writer transaction per job: delivered rows are deleted,
 * temporary failures are rescheduled with exponential backoff, permanent
 * failures and expired rows are bounced (a DSN stored in the same
 * transaction) and deleted. */
#ifndef TERN_RELAY_SCHEDULER_H
#define TERN_RELAY_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct store;

/* [queue] */
struct relay_settings {
	int64_t retry_first;     /* seconds */
	int64_t retry_max;       /* seconds */
	int64_t lifetime;        /* seconds */
	int64_t scan_interval;   /* seconds between scans for due rows */
	char dns_servers[512];   /* "ip:port,ip:port"; "" = /etc/resolv.conf */
	int64_t dns_timeout;     /* seconds per DNS try */
	int64_t remote_port;     /* port of MX hosts (25) */
	int64_t connect_timeout; /* seconds */
	char smarthost[256];     /* "" = deliver by MX */
	int64_t smarthost_port;
	char smarthost_user[256];
	char smarthost_password_file[512];
	bool require_tls;               /* every hop must offer STARTTLS */
	char require_tls_domains[1024]; /* comma-separated domains */
	bool verify_tls;                /* verify the peer's certificate */
	char ca_file[512];              /* CA bundle for verification; "" = the system's */
	bool mta_sts;                   /* look up and apply MTA-STS policies (RFC 8461) */
	int64_t mta_sts_port;           /* port of the policy host (443; tests change it) */
	int64_t max_connections;        /* outbound connections in total */
	int64_t max_per_domain;         /* outbound connections per domain */
	int64_t delay_dsn_after;        /* seconds; 0 = no delay DSN */
	int64_t max_received_headers;   /* loop limit */
};

/* What the runner uses of the rest of the server, handed over at start.
 * Everything pointed to must outlive the runner. */
struct relay_services {
	uv_loop_t *loop;
	struct store *store;
	const char *hostname; /* HELO name; DSNs come from MAILER-DAEMON@hostname */
	const bool *stopping; /* the server is shutting down: no more scans */
	/* "host:port" of our own SMTP (MX) listeners: a target that is one of
	 * them is mail looping back to us. */
	const char *const *self_smtp;
	size_t nself_smtp;
};

/* Start the runner (after the listeners): recovers stale claims, creates
 * the resolver and the TLS client context, arms the scan timer. Logs and
 * keeps serving without relay if something is missing. settings is kept by
 * pointer, svc is copied. */
void queue_runner_start(const struct relay_settings *settings, const struct relay_services *svc);
/* Stop: cancel DNS, abort connections; claimed rows are recovered at the
 * next start. Run the loop afterwards so handles can close. */
void queue_runner_stop(void);
/* New rows were committed (SMTP): scan within 100 ms, not at the next
 * scan_interval; many kicks in that time make one scan. */
void queue_runner_kick(void);

/* Counters since start, for logs and a later metrics endpoint. */
struct queue_stats {
	uint64_t attempts;  /* SMTP transactions tried (per message and host) */
	uint64_t delivered; /* recipients */
	uint64_t deferred;
	uint64_t bounced;
	uint64_t dsn_sent;
	uint64_t connections;
	int64_t queued; /* rows at the last scan */
};
void queue_runner_stats(struct queue_stats *out);

#endif
