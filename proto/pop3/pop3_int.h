/* pop3_int: what the POP3 files share. Not for use outside proto/pop3.
 *
 *   session.c   conn callbacks, the start, dispatch through the table
 *   commands.c  the commands[] table
 *   cmd_auth.c  AUTHORIZATION: CAPA USER PASS AUTH APOP STLS
 *   cmd_mail.c  TRANSACTION: STAT LIST UIDL RETR TOP DELE NOOP RSET QUIT
 *   retr.c      streaming RETR/TOP from the store with backpressure
 *   maildrop.c  the \Seen and QUIT store jobs
 *   reply.c     replies, raw output, the error count
 *   life.c      states, references, pause/resume, close
 *   snapshot.c  the INBOX snapshot taken at login
 *   ahead.c     read-ahead of small messages for RETR/TOP
 *   dot.c       byte-stuffing / TOP limit (pure)
 *   parse.c     command line parsing (pure)
 *   lock.c      the IN-USE registry
 *
 * The list runs top to bottom: a file calls only files listed below it.
 * session.c reaches the command handlers only through the table; it calls
 * cmd_auth.c directly for two continuations (a SASL response line, the end
 * of the STLS handshake) and retr.c to resume a stream, both below it.
 */
#ifndef TERN_POP3_INT_H
#define TERN_POP3_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/pop3/dot.h"
#include "proto/pop3/parse.h"
#include "proto/pop3/pop3.h"
#include "proto/sasl/sasl.h"
#include "auth/auth.h"
#include "lib/log.h"

struct conn;
struct proto_env;

/* See the diagram in session.c. */
enum pop3_state {
	POP3_AUTHORIZATION = 0,
	POP3_SASL, /* AUTH: waiting for the client's next SASL response */
	POP3_TRANSACTION,
	POP3_UPDATE, /* QUIT received, deletions being committed */
	POP3_LOGOUT, /* goodbye sent or connection gone: nothing more runs */
};

#define POP3_ST(s) (1u << (s))

/* One message of the snapshot taken at login. */
struct pop3_msg {
	uint32_t uid;
	int64_t message_id;
	int64_t size;   /* octets as LIST/STAT/RETR report them */
	int64_t modseq; /* at snapshot time, to tell whether \Seen changed it */
	bool deleted;   /* DELE'd in this session */
	bool seen;      /* \Seen at snapshot, or already queued to be set */
};

/* A RETR or TOP being streamed. */
struct pop3_stream {
	bool active;
	int64_t message_id;
	uint64_t offset; /* next byte of the stored message to read */
	uint64_t size;   /* stored size */
	struct pop3_dot dot;
	uint32_t msgno; /* 1-based, for \Seen and logs */
	bool set_seen;  /* RETR (not TOP) */
};

/* Messages first .. first+count-1 of the snapshot, back to back in buf:
 * message first+i is buf[off[i] .. off[i+1]). */
#define POP3_AHEAD_MAX 64
#define POP3_AHEAD_BYTES (128 * 1024)
#define POP3_AHEAD_MSG_MAX (16 * 1024) /* bigger ones are read the usual way */
struct pop3_ahead {
	uint32_t first, count;
	char *buf;
	size_t off[POP3_AHEAD_MAX + 1];
};

struct pop3_session {
	struct conn *conn;
	const struct proto_env *env;
	const struct pop3_settings *cfg;
	int tls_port; /* pop3_ctx's: the POP3S port named in hints, 0 = none */
	unsigned refs;
	bool closed; /* the conn is gone (closed callback ran) */
	enum pop3_state state;
	uint64_t sid;
	char peer[64];

	int64_t errors;

	/* AUTHORIZATION */
	char user[SASL_USER_MAX + 1]; /* from USER, for PASS */
	bool have_user;
	const char *mech_name; /* "user", "plain", "login": for logs */
	struct sasl sasl;
	struct auth_req *auth; /* pending password check */
	bool tls_pending;      /* STLS accepted, handshake running */

	/* TRANSACTION */
	int64_t account_id;
	bool locked; /* holds the IN-USE lock for account_id */
	char address[320];
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct pop3_msg *msgs;
	uint32_t nmsgs, capmsgs;
	struct pop3_stream stream;
	struct pop3_ahead ahead;
	char *rbuf; /* POP3_READ_PIECE bytes from the store */
	char *wbuf; /* 2 * POP3_READ_PIECE + POP3_DOT_FINISH_MAX bytes to conn */

	/* \Seen updates waiting for a store job (uids), and whether one runs. */
	uint32_t *seen_uids;
	int64_t *seen_modseqs;
	size_t nseen, capseen;
	bool seen_inflight;

	const char *raw_line; /* the command line as sent, during its handler */
	size_t raw_len;
	char *linebuf; /* a mutable copy of the current command line */
	size_t linecap;
};

#define POP3_READ_PIECE (64 * 1024)

typedef void (*pop3_handler)(struct pop3_session *s, struct pop3_cmd *cmd);

/* The handler takes the rest of the line as its one argument, spaces and
 * all (PASS), so "too many arguments" does not apply to it. */
#define POP3_CMD_RAW_ARG (1u << 0)

struct pop3_command {
	const char *verb;
	unsigned states; /* POP3_ST() mask of the states it is valid in */
	unsigned flags;  /* POP3_CMD_* */
	pop3_handler handler;
};

#define pop3_log(s, lvl, ...) log_session((lvl), (s)->sid, (s)->peer, "pop3", __VA_ARGS__)

/* commands.c */
const struct pop3_command *pop3_command_find(const char *verb);

/* cmd_auth.c */
void pop3_cmd_capa(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_user(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_pass(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_auth(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_apop(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_stls(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_sasl_line(struct pop3_session *s, const char *line, size_t len);
void pop3_tls_done(struct pop3_session *s, bool ok);
/* Forget everything about an unfinished login (close, STLS). */
void pop3_auth_reset(struct pop3_session *s);

/* cmd_mail.c */
void pop3_cmd_stat(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_list(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_uidl(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_retr(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_top(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_dele(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_noop(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_rset(struct pop3_session *s, struct pop3_cmd *cmd);
void pop3_cmd_quit(struct pop3_session *s, struct pop3_cmd *cmd);

/* retr.c */
void pop3_stream_start(struct pop3_session *s, uint32_t msgno, int64_t top_lines);
void pop3_stream_pump(struct pop3_session *s);

/* maildrop.c */
/* Queue \Seen for message msgno (1-based) and start a job if none runs. */
void pop3_maildrop_mark_seen(struct pop3_session *s, uint32_t msgno);
/* Start a \Seen job for whatever is queued, if none runs. */
void pop3_maildrop_flush_seen(struct pop3_session *s);
/* QUIT in TRANSACTION: commit deletions (and queued \Seen) in one job,
 * then reply and close. */
void pop3_maildrop_commit(struct pop3_session *s);

/* reply.c */
void pop3_reply(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pop3_write(struct pop3_session *s, const void *data, size_t len);
/* Count an error; after max_errors, "-ERR too many errors" and close.
 * Returns true if the session is now closing. */
bool pop3_error(struct pop3_session *s);

/* life.c */
void pop3_enter_state(struct pop3_session *s, enum pop3_state to);
const char *pop3_state_name(enum pop3_state st);
void pop3_ref(struct pop3_session *s);
void pop3_unref(struct pop3_session *s);
void pop3_pause(struct pop3_session *s);
void pop3_resume(struct pop3_session *s);
void pop3_close(struct pop3_session *s);
bool pop3_login_allowed(const struct pop3_session *s);

/* snapshot.c */
/* Take the INBOX snapshot for s->account_id. 0 or negative errno. */
int pop3_snapshot_open(struct pop3_session *s);
void pop3_snapshot_free(struct pop3_session *s);

/* ahead.c: the whole of message msgno (<= POP3_READ_PIECE bytes) into
 * buf, from the read-ahead (filling it if needed). -EAGAIN: not a small
 * message, read it the usual way; other negative errno: the store's. */
ssize_t pop3_ahead_read(struct pop3_session *s, uint32_t msgno, char *buf);
void pop3_ahead_free(struct pop3_session *s);

#endif
