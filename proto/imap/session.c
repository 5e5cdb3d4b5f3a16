/* session: the IMAP server session (RFC 9051, RFC 3501): lifecycle, conn
 * callbacks, dispatch through the command table it was opened with, the
 * wake of async commands. What it writes goes through output.c; a
 * command's tagged reply is reply.c's.
 *
 * Why it looks like this. An IMAP command is not a line: literals split it
 * across lines and blocks, so every byte goes through one resumable parser
 * (parser.c) and the session only reacts to its events: "send the +
 * continuation", "read a literal of n bytes", "a command is complete",
 * "this command is bad". A complete command is checked against the table
 * (commands.c: state flags) and handed to its handler, which returns
 *
 *   DONE   finished, tagged reply written;
 *   AGAIN  more to do: called again when the output queue drains (or on
 *          the next loop turn), so one FETCH 1:* cannot starve the loop;
 *   ASYNC  waiting for a store commit or a password check; its completion
 *          calls imap_cmd_wake().
 *
 * While a command is not DONE the conn is paused: pipelined commands stay
 * in the input buffer and replies stay in order. One command runs at a
 * time; RFC 9051 §5.5 allows more, but nothing a client does gets faster
 * from it here and ordering stays trivially right.
 *
 * Lifetime. The session is reference counted: the conn holds one
 * reference until `closed`, an ASYNC wait holds one, the AGAIN timer holds
 * one while its handle closes. Completions that arrive after the conn
 * closed find s->closed and only release their command.
 *
 * The session knows no command by name: handlers are reached through the
 * table (commands.c, handed over by imap.c), and a command that reads its
 * own lines (AUTHENTICATE, IDLE) hands imap_set_input() the function that
 * takes them. So no file below the commands calls up into one.
 *
 * Untagged updates from other sessions are queued by updates.c and
 * written by imap_tagged() before the tagged line (never in the middle of a
 * command's own untagged stream), or at once in IDLE.
 *
 *   connect --greeting--> NOT_AUTH --LOGIN/AUTHENTICATE--> AUTH <--+
 *     |                     |   ^                            |     | CLOSE
 *     | (STARTTLS: TLS,     |   |                 SELECT/EXAMINE   | UNSELECT
 *     |  back to NOT_AUTH)  +---+                            v     |
 *     |                                                   SELECTED-+
 *     +--- LOGOUT / BYE / drop / timeout / too many errors ---> LOGOUT
 */
#include "proto/imap/imap_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "proto/imap/parser.h"
#include "proto/imap/imap.h"
#include "proto/common/env.h"
#include "proto/common/session.h"
#include "auth/auth.h"
#include "net/conn.h"
#include "store/notify.h"
#include "store/store.h"

static const char *const state_names[] = {
    [IMAP_NOT_AUTH] = "NOT_AUTH",
    [IMAP_AUTH] = "AUTH",
    [IMAP_SELECTED] = "SELECTED",
    [IMAP_LOGOUT] = "LOGOUT",
};

/* The line limit before login (the parser's own: imap_parser_limits_preauth()).
 * An ID command at RFC 2971's limits (30 pairs, 1024-octet values) in
 * quoted strings with every octet escaped is 62.6 KiB, and clients send ID
 * before they log in. The conn holds a buffer this big only while it
 * reads a line. */
#define PREAUTH_MAX_LINE 65536

/* The parser's and the conn's limits for the session's state. */
static void apply_limits(struct imap_session *s)
{
	struct imap_parser_limits l;
	const struct imap_settings *cfg = s->cfg;
	if (s->state == IMAP_NOT_AUTH) {
		imap_parser_limits_preauth(&l);
		if (!s->closed)
			conn_set_max_line(s->conn, PREAUTH_MAX_LINE);
	} else {
		imap_parser_limits_auth(&l, (uint64_t)cfg->max_literal, (size_t)cfg->max_line);
		if (!s->closed)
			conn_set_max_line(s->conn, (size_t)cfg->max_line);
	}
	imap_parser_set_limits(s->parser, &l);
}

void imap_enter_state(struct imap_session *s, enum imap_state to)
{
	if (s->state == to)
		return;
	imap_log(s, LOG_DEBUG, "event=state from=%s to=%s", state_names[s->state], state_names[to]);
	enum imap_state from = s->state;
	s->state = to;
	/* leaving NOT_AUTH raises the limits; UNAUTHENTICATE lowers them */
	if ((from == IMAP_NOT_AUTH || to == IMAP_NOT_AUTH) && to != IMAP_LOGOUT)
		apply_limits(s);
}

void imap_set_input(struct imap_session *s, enum imap_input_mode mode, imap_line_fn line)
{
	s->input = mode;
	s->line = line;
}

/* ---- lifecycle ---- */

void imap_ref(struct imap_session *s)
{
	s->refs++;
}

static void session_free(struct imap_session *s)
{
	imap_sasl_end(s);
	imap_parser_free(&s->parser);
	imap_compress_free(s);
	imap_pending_clear(s);
	imap_notify_end(s);
	free(s->sel.uids);
	free(s->sel.name);
	free(s->sel.keywords);
	free(s->sel.recent_more);
	free(s->searchres);
	imap_search_contexts_free(s);
	free(s->timer);
	free(s);
}

/* Wipe and free the SASL exchange (it holds the password). */
void imap_sasl_end(struct imap_session *s)
{
	if (s->sasl) {
		sasl_clear(s->sasl);
		free(s->sasl);
		s->sasl = NULL;
	}
}

void imap_unref(struct imap_session *s)
{
	if (--s->refs == 0)
		session_free(s);
}

void imap_close(struct imap_session *s)
{
	imap_enter_state(s, IMAP_LOGOUT);
	if (!s->closed)
		conn_close(s->conn);
}

void imap_pause_input(struct imap_session *s)
{
	if (!s->paused && !s->closed) {
		s->paused = 1;
		conn_pause(s->conn);
	}
}

static void resume_input(struct imap_session *s)
{
	if (s->paused) {
		s->paused = 0;
		if (!s->closed)
			conn_resume(s->conn);
	}
}

static void check_errors(struct imap_session *s)
{
	if (s->state == IMAP_LOGOUT || s->errors < (unsigned)s->cfg->max_errors)
		return;
	imap_log(s, LOG_INFO, "event=too_many_errors errors=%u", s->errors);
	imap_untagged(s, "BYE Too many invalid commands");
	imap_close(s);
}

/* A BAD outside a command (parse errors): count, maybe BYE. */
static void bad_untagged(struct imap_session *s, const char *tag, const char *code, const char *msg)
{
	if (code)
		imap_printf(s, "%s BAD [%s] %s\r\n", tag ? tag : "*", code, msg);
	else
		imap_printf(s, "%s BAD %s\r\n", tag ? tag : "*", msg);
	s->errors++;
	check_errors(s);
}

/* ---- running commands ---- */

static void run_handler(struct imap_session *s);

static void finish_cmd(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cur;
	s->cur = NULL;
	s->waiting = false;
	imap_cmd_free(&cmd);
	if (!s->closed)
		resume_input(s);
	check_errors(s);
}

static void on_again_timer(uv_timer_t *t)
{
	struct imap_session *s = t->data;
	if (!s->waiting || !s->cur || s->closed)
		return;
	if (conn_output_full(s->conn))
		return; /* drained will call */
	s->waiting = false;
	run_handler(s);
}

static void run_handler(struct imap_session *s)
{
	for (;;) {
		struct imap_cmd *cmd = s->cur;
		/* Everything one step of a command reads comes from one read
		 * transaction (store_read_begin). */
		bool txn = store_read_begin(imap_reader(s));
		enum imap_cmd_result r = cmd->def->handler(s, cmd);
		store_read_end(imap_reader(s), txn);
		if (r == IMAP_DONE) {
			finish_cmd(s);
			return;
		}
		if (s->input == IMAP_IN_COMMAND)
			imap_pause_input(s);
		if (r == IMAP_ASYNC) {
			s->async = true;
			imap_ref(s);
			return;
		}
		/* IMAP_AGAIN */
		if (s->closed) {
			/* nobody will drain: abandon the command */
			finish_cmd(s);
			return;
		}
		s->waiting = true;
		if (conn_output_full(s->conn))
			return; /* on_drained */
		if (!s->timer) {
			s->timer = malloc(sizeof(uv_timer_t));
			if (!s->timer || uv_timer_init(conn_loop(s->conn), s->timer) != 0) {
				free(s->timer);
				s->timer = NULL;
				s->waiting = false;
				continue; /* no timer: keep going synchronously */
			}
			((uv_timer_t *)s->timer)->data = s;
		}
		uv_timer_start(s->timer, on_again_timer, 0, 0);
		return;
	}
}

void imap_cmd_wake(struct imap_session *s)
{
	if (!s->async)
		return;
	s->async = false;
	imap_progress_unwatch(s);
	if (s->closed || s->state == IMAP_LOGOUT) {
		if (s->cur) {
			struct imap_cmd *cmd = s->cur;
			s->cur = NULL;
			imap_cmd_free(&cmd);
		}
		imap_unref(s);
		return;
	}
	run_handler(s);
	imap_unref(s);
}

/* The table entry for a command name (case-insensitive), or NULL. */
static const struct imap_command *command_find(const struct imap_session *s, const char *name,
                                               size_t len)
{
	for (size_t i = 0; i < s->ncommands; i++)
		if (strlen(s->commands[i].name) == len &&
		    strncasecmp(s->commands[i].name, name, len) == 0)
			return &s->commands[i];
	return NULL;
}

static void dispatch(struct imap_session *s, struct imap_cmd *cmd)
{
	const struct imap_command *def = command_find(s, cmd->name, strlen(cmd->name));
	char nm[40];
	if (!def) {
		imap_log(s, LOG_DEBUG, "event=unknown_command name=%s",
		         log_kv_escape(nm, sizeof nm, cmd->name, strlen(cmd->name)));
		bad_untagged(s, cmd->tag, NULL, "Unknown command");
		imap_cmd_free(&cmd);
		return;
	}
	cmd->def = def;
	const char *why = NULL, *code = NULL;
	if (cmd->uid && !(def->flags & IMAP_CMD_UID))
		why = "UID not allowed with this command";
	else if ((def->flags & IMAP_CMD_NOAUTH) && s->state != IMAP_NOT_AUTH)
		why = "Already authenticated";
	else if ((def->flags & (IMAP_CMD_AUTH | IMAP_CMD_SELECTED)) && s->state == IMAP_NOT_AUTH)
		why = "Log in first";
	else if ((def->flags & IMAP_CMD_SELECTED) && s->state != IMAP_SELECTED)
		why = "No mailbox selected";
	else if ((def->flags & IMAP_CMD_SEQNUM) && !cmd->uid && (s->enabled & IMAP_EXT_UIDONLY)) {
		why = "Message numbers are not allowed once UIDONLY is enabled"; /* RFC 9586 §3 */
		code = "UIDREQUIRED";
	}
	if (why) {
		bad_untagged(s, cmd->tag, code, why);
		imap_cmd_free(&cmd);
		return;
	}
	imap_log(s, LOG_DEBUG, "event=command name=%s%s", cmd->uid ? "UID " : "", def->name);
	cmd->started_ms = s->closed ? 0 : uv_now(conn_loop(s->conn));
	s->cur = cmd;
	run_handler(s);
}

/* Feed bytes to the parser and act on its events. */
static void feed(struct imap_session *s, const char *data, size_t len)
{
	while (len > 0 && s->state != IMAP_LOGOUT && !s->closed) {
		enum imap_parse_event ev;
		size_t n = imap_parser_feed(s->parser, data, len, &ev);
		data += n;
		len -= n;
		switch (ev) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_LITERAL: {
			uint64_t lit = imap_parser_literal_len(s->parser);
			if (imap_parser_literal_skip(s->parser)) {
				if (lit > (uint64_t)s->cfg->max_literal) {
					imap_untagged(s, "BYE [TOOBIG] Literal too big");
					imap_close(s);
					return;
				}
			} else if (imap_parser_literal_sync(s->parser)) {
				imap_write(s, "+ Ready for literal data\r\n", 26);
			}
			if (lit > 0)
				conn_read_block(s->conn, lit);
			break;
		}
		case IMAP_PARSE_ERROR: {
			const char *tag = imap_parser_tag(s->parser);
			const char *code = imap_parser_error_code(s->parser);
			bad_untagged(s, tag, code, imap_parser_error(s->parser));
			break;
		}
		case IMAP_PARSE_REFUSED: {
			/* A big literal (an APPEND's message) found the spool
			 * budget spent: a temporary condition, like SMTP's 452,
			 * so UNAVAILABLE (RFC 5530), not a BAD or a LIMIT. */
			const char *tag = imap_parser_tag(s->parser);
			imap_log(s, LOG_INFO, "event=literal_refused reason=spool_memory");
			imap_printf(
			    s, "%s NO [UNAVAILABLE] Too much mail arriving, try again later\r\n",
			    tag ? tag : "*");
			break;
		}
		case IMAP_PARSE_COMMAND:
			dispatch(s, imap_parser_take(s->parser));
			break;
		}
	}
}

/* ---- conn callbacks ---- */

/* A line for the command that reads its own input (s->input is not
 * IMAP_IN_COMMAND: AUTHENTICATE's continuations, IDLE's DONE), through
 * the function it gave imap_set_input(): the session knows no command by
 * name. */
static void command_line(struct imap_session *s, const char *line, size_t len)
{
	if (!s->cur || !s->line) {
		imap_set_input(s, IMAP_IN_COMMAND, NULL);
		return;
	}
	s->line(s, line, len);
}

static void on_line(struct conn *c, const char *line, size_t len, bool too_long)
{
	struct imap_session *s = conn_session(c);
	if (s->state == IMAP_LOGOUT)
		return;
	if (too_long) {
		imap_log(s, LOG_INFO, "event=line_too_long");
		if (s->input == IMAP_IN_AUTH) {
			command_line(s, "*", 1); /* cancel the exchange */
			return;
		}
		/* The tag: from the parser if the line continues a command,
		 * else from the start of what conn kept of the line. */
		const char *tag = imap_parser_tag(s->parser);
		char t[128];
		if (tag) {
			snprintf(t, sizeof t, "%s", tag);
		} else {
			size_t n = 0;
			while (n < len && n < sizeof t - 1 &&
			       imap_is_tag_char((unsigned char)line[n]))
				n++;
			if (n == 0 || n == len || line[n] != ' ')
				n = 0;
			memcpy(t, n ? line : "*", n ? n : 1);
			t[n ? n : 1] = '\0';
		}
		imap_parser_reset(s->parser);
		bad_untagged(s, t, NULL, "Line too long");
		return;
	}
	if (s->input != IMAP_IN_COMMAND) {
		command_line(s, line, len);
		return;
	}
	feed(s, line, len);
	feed(s, "\r\n", 2);
}

static void on_block(struct conn *c, const char *data, size_t len, bool last)
{
	struct imap_session *s = conn_session(c);
	if (s->state == IMAP_LOGOUT)
		return;
	feed(s, data, len);
}

static void on_drained(struct conn *c)
{
	struct imap_session *s = conn_session(c);
	if (s->waiting && s->cur && !s->async) {
		s->waiting = false;
		run_handler(s);
	} else if (!s->cur) {
		imap_notify_drained(s); /* NOTIFY's queue, held while output was full */
	}
}

static void on_tls_done(struct conn *c, bool ok)
{
	struct imap_session *s = conn_session(c);
	imap_log(s, LOG_INFO, "event=starttls ok=%s", ok ? "yes" : "no");
	/* Nothing from before the handshake survives (RFC 9051 §6.2.1). */
	imap_parser_reset(s->parser);
	imap_sasl_end(s);
}

static void on_timeout(struct conn *c)
{
	struct imap_session *s = conn_session(c);
	/* A command paused until its output drains may stop inside a literal
	 * (FETCH streams bodies in pieces), where a BYE would count as bytes
	 * of it: then close without one. */
	bool mid_response = s->cur && s->waiting;
	if (s->env->stopping) {
		imap_log(s, LOG_INFO, "event=shutdown state=%s", state_names[s->state]);
		if (!mid_response)
			imap_untagged(s, "BYE [UNAVAILABLE] Server shutting down");
	} else {
		imap_log(s, LOG_INFO, "event=timeout state=%s", state_names[s->state]);
		if (!mid_response)
			imap_untagged(s, s->state == IMAP_NOT_AUTH
			                     ? "BYE Autologout; too long without logging in"
			                     : "BYE Autologout; idle for too long");
	}
	imap_close(s);
}

static void timer_closed(uv_handle_t *h)
{
	struct imap_session *s = h->data;
	free(h);
	imap_unref(s);
}

static void on_closed(struct conn *c)
{
	struct imap_session *s = conn_session(c);
	imap_log(s, LOG_INFO, "event=close state=%s errors=%u", state_names[s->state], s->errors);
	s->closed = true;
	s->conn = NULL;
	s->state = IMAP_LOGOUT;
	/* A command waiting for what only the connection could bring (an
	 * AUTHENTICATE continuation, IDLE's DONE) or for the password check
	 * cancelled here will not be woken by anyone else: wake it, and the
	 * wake frees it (the session is closed). A store job completes
	 * anyway and wakes its command itself. */
	bool orphaned = s->input != IMAP_IN_COMMAND || s->auth;
	imap_sasl_end(s);
	if (s->auth) {
		auth_cancel(s->auth);
		s->auth = NULL;
	}
	imap_updates_unsubscribe(s);
	imap_notify_end(s);
	if (orphaned) {
		imap_set_input(s, IMAP_IN_COMMAND, NULL);
		imap_cmd_wake(s);
	}
	if (s->cur && !s->async) {
		struct imap_cmd *cmd = s->cur;
		s->cur = NULL;
		s->waiting = false;
		imap_cmd_free(&cmd);
	}
	imap_progress_unwatch(s);
	if (s->progress_timer) {
		imap_ref(s);
		uv_handle_t *h = s->progress_timer;
		h->data = s;
		s->progress_timer = NULL;
		uv_close(h, timer_closed); /* frees the handle, drops the ref */
	}
	if (s->timer) {
		imap_ref(s);
		uv_timer_stop(s->timer);
		uv_handle_t *h = s->timer;
		h->data = s;
		s->timer = NULL;
		uv_close(h, timer_closed); /* frees the handle, drops the ref */
	}
	imap_unref(s);
}

static const struct conn_callbacks imap_callbacks = {
    .line = on_line,
    .block = on_block,
    .drained = on_drained,
    .tls_done = on_tls_done,
    .timeout = on_timeout,
    .closed = on_closed,
};

void imap_session_open(struct conn *c, const struct imap_ctx *x,
                       const struct imap_command *commands, size_t ncommands)
{
	/* The limits apply_limits() sets in IMAP_NOT_AUTH: the parser's
	 * here, the line limit through proto_session_new(). */
	struct imap_parser_limits l;
	imap_parser_limits_preauth(&l);
	struct imap_parser *parser = imap_parser_new(&l);
	if (!parser) {
		conn_abort(c);
		return;
	}
	struct imap_session *s = proto_session_new(c, sizeof *s, &imap_callbacks, PREAUTH_MAX_LINE);
	if (!s) {
		imap_parser_free(&parser);
		return;
	}
	s->conn = c;
	s->env = x->env;
	s->cfg = x->settings;
	s->refs = 1;
	s->sid = conn_id(c);
	snprintf(s->peer, sizeof s->peer, "%s", conn_peer(c));
	s->state = IMAP_NOT_AUTH;
	s->parser = parser;
	s->commands = commands;
	s->ncommands = ncommands;

	imap_log(s, LOG_INFO, "event=connect tls=%s", conn_is_tls(c) ? "yes" : "no");
	if (s->env->stopping) {
		imap_untagged(s, "BYE [UNAVAILABLE] Server shutting down");
		imap_close(s);
		return;
	}
	char caps[1024];
	imap_untagged(s, "OK [CAPABILITY %s] tern IMAP4rev2 ready",
	              imap_capabilities(s, caps, sizeof caps));
}
