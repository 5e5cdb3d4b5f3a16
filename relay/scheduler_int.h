/* scheduler_int: what the runner (scheduler.c) and the delivery of one job
 * (attempt.c) share. Not an API. */
#ifndef TERN_QUEUE_INT_H
#define TERN_QUEUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "relay/smtp_client.h"
#include "relay/scheduler.h"

struct dns_req;
struct conn_client;
struct smtp_client;

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
	char domain[256];
	struct qenv *envs;
	size_t nenvs, capenvs;
	int64_t bytes; /* message bytes the job will hold in memory */
	/* delivery */
	struct dns_req *dns;
	struct qtarget *targets;
	size_t ntargets, cur;
	bool require_tls;
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
	struct queue_stats stats;
	bool running;
	char smarthost_password[512];
};

extern struct queue_runner queue_rt;

/* scheduler.c: the one place a job changes phase (logged at debug). */
void queue_job_enter(struct qjob *job, enum qjob_phase to);

/* attempt.c: take a claimed job from RESOLVE to RECORD; calls
 * queue_job_delivered() at the end (or immediately on a local failure). */
void queue_job_deliver(struct qjob *job);
/* scheduler.c: the job has results for every row; record them. */
void queue_job_delivered(struct qjob *job);
/* scheduler.c: free a job's memory. */
void queue_job_free(struct qjob *job);
/* attempt.c: stop everything the job is waiting on (runner stop). */
void queue_job_abandon(struct qjob *job);

/* Set every pending row of the job (or of one envelope) to a result. */
void queue_rows_set(struct qjob *job, enum qrow_result r, int code, const char *enhanced,
                    const char *text);

#endif
