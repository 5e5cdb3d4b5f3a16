/* scheduler_int: what the runner (scheduler.c), the delivery of one job
 * (attempt.c) and the job helpers they both call (job.c) share. Not an API.
 *
 * The order, top to bottom: scheduler.c starts attempts; attempt.c reports
 * back only through the completion callback it was given; job.c is below
 * both. */
#ifndef TERN_RELAY_SCHEDULER_INT_H
#define TERN_RELAY_SCHEDULER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mailauth/mta_sts_policy.h"
#include "relay/smtp_client.h"
#include "relay/scheduler.h"

struct dns_req;
struct dns_query;
struct dane_tlsa;
#define QJOB_DANE_MAX 8
struct conn_client;
struct smtp_client;
struct queue_runner;
struct qjob;

/* How an attempt gives its job back to the runner (queue_job_deliver()). */
typedef void (*queue_job_done_fn)(struct qjob *job);
struct qenv;
/* How an attempt tells the runner, while the session goes on, that one
 * envelope's transaction has ended: its rows sent have results. */
typedef void (*queue_env_done_fn)(struct qjob *job, struct qenv *env);

enum qrow_result { QR_PENDING = 0, QR_OK, QR_TEMP, QR_PERM };

struct qrow {
	int64_t id;
	char *rcpt, *notify, *orcpt;
	char *last_error; /* from the previous attempt, or NULL */
	int64_t attempts, expires, created;
	int64_t next_attempt; /* when this attempt was due */
	bool delay_dsn_sent;  /* its delay DSN went out on an earlier attempt */
	bool cancelled;       /* `tern queue bounce` */
	bool claimed;
	/* removed from the queue when its envelope ended (scheduler.c's
	 * envelope_done): the job's record must not remove it again, since
	 * by then its id may be a new row's (SQLite reuses the largest) */
	bool finished;
	enum qrow_result result;
	int code;
	char enhanced[16];
	char reply[SMTP_REPLY_TEXT + 16]; /* "550 5.1.1 text" */
	char mta[256];                    /* host that answered, or "" */
	bool next_hop_dsn;                /* the host that took it offered DSN (RFC 3461) */
};

struct qenv {
	int64_t message_id;
	char *mail_from, *ret, *envid;
	char *data;
	size_t len;
	struct qrow *rows;
	size_t nrows, caprows;
	/* the transaction in flight */
	struct smtp_tx tx;
	struct smtp_tx_rcpt *txr;
	size_t *txmap; /* txr index -> rows index */
};

struct qtarget {
	char host[256];
	struct sockaddr_storage addr;
};

/* A delivery job moves through these phases, one asynchronous thing at a
 * time, so the phase says who holds the job:
 *
 *   CLAIM --(writer)--> RESOLVE --(dns)--> CONNECT --(tcp)--> SESSION
 *                          |                  ^ next target     |
 *                          |                  +-----------------+
 *                          +--------------------------------------> RECORD --(writer)--> freed
 */
enum qjob_phase { QJ_CLAIM = 0, QJ_RESOLVE, QJ_CONNECT, QJ_SESSION, QJ_RECORD };

struct qjob {
	struct qjob *prev, *next;
	enum qjob_phase phase;
	bool abandoned; /* the runner stopped: free when the holder lets go */
	size_t signing; /* DSNs being DKIM-signed before delivery (+1 while starting) */
	char domain[256];
	struct qenv *envs;
	size_t nenvs, capenvs;
	int64_t bytes; /* message bytes the job will hold in memory */
	/* delivery */
	struct queue_runner *rt;    /* what the attempt uses of the runner */
	queue_job_done_fn done;     /* the attempt's completion */
	queue_env_done_fn env_done; /* each envelope's end, or NULL */
	struct dns_req *dns;
	struct qtarget *targets;
	size_t ntargets, cur;
	bool require_tls;
	/* MTA-STS (relay/mta_sts.c): the lookup in flight, then the policy in
	 * force for this attempt (sts_mode NONE: none). */
	struct mta_sts_lookup *sts;
	enum mta_sts_mode sts_mode;
	struct mta_sts_policy sts_policy;
	bool sts_plain_counted; /* this session's "no STARTTLS" is counted */
	/* DANE (RFC 7672): the TLSA lookup in flight for an MX host, then the
	 * usable records of dane_host from an authenticated answer (ndane 0:
	 * no DANE for it). Only for MX delivery (mx_delivery). */
	bool mx_delivery;
	struct dns_query *tlsa_q;
	char dane_host[256];
	struct dane_tlsa *dane; /* QJOB_DANE_MAX, allocated at the first lookup */
	size_t ndane;
	/* dane_host is in a signed zone and its TLSA lookup failed: none of
	 * its addresses may be used (RFC 7672 2.2) */
	bool dane_unusable;
	struct conn_client *cc;
	struct smtp_client *cl;
	size_t cur_env;
	bool tx_running;
	char last_error[600]; /* session-level error for rows left pending */
	int last_code;
	char last_enhanced[16];
	bool loop_detected;
	bool plaintext_retry; /* this host failed the TLS handshake: again without */
	bool retry_same;      /* reconnect to the same host */
};

struct queue_runner {
	const struct relay_settings *cfg;
	struct relay_services svc;
	struct dns_resolver *dns;
	struct tls_client_ctx *tls;
	struct tls_client_ctx *tls_verify; /* MTA-STS policy fetches: always verified */
	struct tls_client_ctx *tls_dane;   /* verify_tls on: one that does not, for DANE */
	struct queue_stats stats;
	bool running;
	char smarthost_password[512];
};

/* attempt.c: take a claimed job in phase RESOLVE through the network, using
 * rt's settings, services, resolver and TLS context. env_done(job, env), if
 * not NULL, runs after each envelope's transaction, with the job still the
 * attempt's (the runner may read the envelope, not free it). done(job) runs exactly
 * once, when the attempt lets go of the job (it may run before this
 * returns, on a local failure): with a result on every claimed row, or, if
 * the job was abandoned meanwhile, with nothing to record. Either way the
 * job is the runner's again, to record or to free. */
void queue_job_deliver(struct qjob *job, struct queue_runner *rt, queue_env_done_fn env_done,
                       queue_job_done_fn done);
/* attempt.c: stop everything the job is waiting on (runner stop; the job is
 * marked abandoned first). done(job) follows, at once or when the cancelled
 * wait ends (a smarthost lookup, a connection closing). A job in CLAIM or
 * RECORD is the store's: nothing happens. */
void queue_job_abandon(struct qjob *job);

/* job.c: the one place a job changes phase (logged at debug). */
void queue_job_enter(struct qjob *job, enum qjob_phase to);
/* job.c: set every pending row of the job to a result. */
void queue_rows_set(struct qjob *job, enum qrow_result r, int code, const char *enhanced,
                    const char *text);
/* job.c: does a claimed row still wait for a result? */
bool queue_job_has_pending(const struct qjob *job);

#endif
