/* session: the IMAP server session (RFC 9051, RFC 3501): lifecycle, conn
 * callbacks, dispatch through the command table, replies.
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
#include "proto/imap/core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "lib/mutf7.h"
#include "proto/imap/parser.h"
#include "proto/imap/imap.h"
#include "proto/common/env.h"
#include "proto/common/session.h"
#include "net/conn.h"
#include "store/notify.h"
#include "store/store.h"

static const char *const state_names[] = {
    [IMAP_NOT_AUTH] = "NOT_AUTH",
    [IMAP_AUTH] = "AUTH",
    [IMAP_SELECTED] = "SELECTED",
    [IMAP_LOGOUT] = "LOGOUT",
};

const char *imap_state_name(enum imap_state st)
{
	return state_names[st];
}

void imap_enter_state(struct imap_session *s, enum imap_state to)
{
	if (s->state == to)
		return;
	imap_log(s, LOG_DEBUG, "event=state from=%s to=%s", state_names[s->state], state_names[to]);
	enum imap_state from = s->state;
	s->state = to;
	if (from == IMAP_NOT_AUTH && to != IMAP_LOGOUT)
		imap_apply_limits(s);
}

struct store *imap_store(const struct imap_session *s)
{
	return s->env->store;
}

struct store_rd *imap_reader(const struct imap_session *s)
{
	return store_reader(s->env->store);
}

void imap_condstore_enable(struct imap_session *s)
{
	s->enabled |= IMAP_EXT_CONDSTORE;
}

bool imap_login_allowed(const struct imap_session *s)
{
	if (s->closed)
		return false;
	return proto_auth_allowed(s->env, s->conn);
}

/* The line limit before login (the parser's own: imap_parser_limits_preauth()). */
#define PREAUTH_MAX_LINE 8192

void imap_apply_limits(struct imap_session *s)
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

void imap_set_input(struct imap_session *s, enum imap_input_mode mode)
{
	s->input = mode;
}

/* ---- output ---- */

int imap_write(struct imap_session *s, const void *data, size_t len)
{
	if (s->closed)
		return -1;
	return conn_write(s->conn, data, len);
}

static int vwritef(struct imap_session *s, const char *prefix, const char *fmt, va_list ap,
                   bool crlf) __attribute__((format(printf, 3, 0)));

static int vwritef(struct imap_session *s, const char *prefix, const char *fmt, va_list ap,
                   bool crlf)
{
	char buf[2048];
	size_t plen = strlen(prefix);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(buf + plen, sizeof buf - plen - 2, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return -1;
	}
	memcpy(buf, prefix, plen);
	if ((size_t)n < sizeof buf - plen - 2) {
		va_end(ap2);
		size_t len = plen + (size_t)n;
		if (crlf) {
			buf[len++] = '\r';
			buf[len++] = '\n';
		}
		return imap_write(s, buf, len);
	}
	char *big = malloc(plen + (size_t)n + 3);
	if (!big) {
		va_end(ap2);
		return -1;
	}
	memcpy(big, prefix, plen);
	vsnprintf(big + plen, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	size_t len = plen + (size_t)n;
	if (crlf) {
		big[len++] = '\r';
		big[len++] = '\n';
	}
	int rc = imap_write(s, big, len);
	free(big);
	return rc;
}

int imap_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vwritef(s, "", fmt, ap, false);
	va_end(ap);
	return rc;
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwritef(s, "* ", fmt, ap, true);
	va_end(ap);
}

void imap_tagged(struct imap_session *s, struct imap_cmd *cmd, const char *status, const char *code,
                 const char *fmt, ...)
{
	unsigned flags = cmd->def ? cmd->def->flags : 0;
	if (s->state == IMAP_SELECTED && !(flags & IMAP_CMD_NO_UPDATES)) {
		bool allow = !((flags & IMAP_CMD_NO_EXPUNGE) && !cmd->uid);
		imap_updates_flush(s, allow);
	}
	char prefix[1280];
	const char *tag = cmd->tag ? cmd->tag : "*";
	if (code && *code)
		snprintf(prefix, sizeof prefix, "%.150s %s [%.1000s] ", tag, status, code);
	else
		snprintf(prefix, sizeof prefix, "%.150s %s ", tag, status);
	va_list ap;
	va_start(ap, fmt);
	vwritef(s, prefix, fmt, ap, true);
	va_end(ap);
	if (strcmp(status, "BAD") == 0)
		s->errors++;
	if (strcmp(status, "OK") != 0) {
		char t[64];
		imap_log(s, LOG_DEBUG, "event=reply cmd=%s status=%s code=%s",
		         cmd->name ? cmd->name : "-", status,
		         log_kv_escape(t, sizeof t, code ? code : "", code ? strlen(code) : 0));
	}
}

bool imap_output_full(const struct imap_session *s)
{
	return !s->closed && conn_output_full(s->conn);
}

static bool atom_safe(const char *str, size_t len)
{
	if (len == 0 || len > 256)
		return false;
	if (len == 3 && strncasecmp(str, "NIL", 3) == 0)
		return false;
	/* ATOM-CHARs only, and no "[" either */
	for (size_t i = 0; i < len; i++)
		if (!imap_is_atom_char((unsigned char)str[i]) || str[i] == '[')
			return false;
	return true;
}

static bool quotable(const struct imap_session *s, const char *str, size_t len)
{
	if (len > 4096)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!imap_is_quoted_char((unsigned char)str[i], s->enabled & IMAP_EXT_UTF8))
			return false;
	if (s->enabled & IMAP_EXT_UTF8)
		return utf8_valid(str, len);
	return true;
}

void imap_write_literal(struct imap_session *s, const char *data, size_t len)
{
	bool nul = memchr(data, '\0', len) != NULL;
	imap_printf(s, "%s{%zu}\r\n", nul ? "~" : "", len);
	imap_write(s, data, len);
}

void imap_write_quoted(struct imap_session *s, const char *str, size_t len)
{
	if (!quotable(s, str, len)) {
		imap_write_literal(s, str, len);
		return;
	}
	char buf[2 * 4096 + 2];
	size_t w = 0;
	buf[w++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (str[i] == '"' || str[i] == '\\')
			buf[w++] = '\\';
		buf[w++] = str[i];
	}
	buf[w++] = '"';
	imap_write(s, buf, w);
}

void imap_write_astring(struct imap_session *s, const char *str, size_t len)
{
	if (atom_safe(str, len))
		imap_write(s, str, len);
	else
		imap_write_quoted(s, str, len);
}

void imap_write_nstring(struct imap_session *s, const char *str, size_t len)
{
	if (!str)
		imap_write(s, "NIL", 3);
	else
		imap_write_quoted(s, str, len);
}

ssize_t imap_mailbox_name_encode(const struct imap_session *s, const char *name, char *out,
                                 size_t outcap)
{
	size_t len = strlen(name);
	if (s->enabled & IMAP_EXT_UTF8) {
		if (len + 1 > outcap)
			return -ENAMETOOLONG;
		memcpy(out, name, len + 1);
		return (ssize_t)len;
	}
	return mutf7_encode(name, len, out, outcap);
}

void imap_write_mailbox(struct imap_session *s, const char *name)
{
	char buf[IMAP_MAILBOX_NAME_MAX * 4 + 16];
	ssize_t n = imap_mailbox_name_encode(s, name, buf, sizeof buf);
	if (n < 0) {
		imap_write_quoted(s, name, strlen(name));
		return;
	}
	/* Always quoted: some clients mis-handle atoms with '/' or '&'. An
	 * atom is only used for INBOX. */
	if (strcmp(buf, "INBOX") == 0)
		imap_write(s, buf, (size_t)n);
	else
		imap_write_quoted(s, buf, (size_t)n);
}

ssize_t imap_mailbox_name_decode(const struct imap_session *s, const char *wire, size_t len,
                                 char *out, size_t outcap, bool strip_trailing_sep)
{
	if (memchr(wire, '\0', len))
		return -EINVAL;
	if (len > IMAP_MAILBOX_NAME_MAX)
		return -ENAMETOOLONG;
	ssize_t n;
	bool ascii = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)wire[i] >= 0x80)
			ascii = false;
	if (!ascii) {
		/* raw UTF-8: only with UTF8=ACCEPT (RFC 9755) */
		if (!(s->enabled & IMAP_EXT_UTF8) || !utf8_valid(wire, len))
			return -EINVAL;
		if (len + 1 > outcap)
			return -ENAMETOOLONG;
		memcpy(out, wire, len);
		out[len] = '\0';
		n = (ssize_t)len;
	} else {
		n = mutf7_decode(wire, len, out, outcap);
		if (n < 0) {
			if (!(s->enabled & IMAP_EXT_UTF8) || n == -ENAMETOOLONG)
				return n;
			/* UTF8=ACCEPT: a name with a literal '&' is just a name */
			if (len + 1 > outcap)
				return -ENAMETOOLONG;
			memcpy(out, wire, len);
			out[len] = '\0';
			n = (ssize_t)len;
		}
	}
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return -EINVAL;
	if (strip_trailing_sep)
		while (n > 0 && out[n - 1] == '/')
			out[--n] = '\0';
	if (n == 0)
		return -EINVAL;
	/* no empty components ("a//b", "/a") */
	if (out[0] == '/' || strstr(out, "//") || out[n - 1] == '/')
		return -EINVAL;
	/* INBOX in any case is INBOX, also as a parent */
	if (n >= 5 && strncasecmp(out, "INBOX", 5) == 0 && (n == 5 || out[5] == '/'))
		memcpy(out, "INBOX", 5);
	return n;
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
	free(s->sel.uids);
	free(s->sel.name);
	free(s->sel.keywords);
	free(s->sel.recent_more);
	free(s->searchres);
	free(s->timer);
	free(s);
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

void imap_bad_untagged(struct imap_session *s, const char *tag, const char *code, const char *msg)
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

static void dispatch(struct imap_session *s, struct imap_cmd *cmd)
{
	const struct imap_command *def = imap_command_find(cmd->name, strlen(cmd->name));
	char nm[40];
	if (!def) {
		imap_log(s, LOG_DEBUG, "event=unknown_command name=%s",
		         log_kv_escape(nm, sizeof nm, cmd->name, strlen(cmd->name)));
		imap_bad_untagged(s, cmd->tag, NULL, "Unknown command");
		imap_cmd_free(&cmd);
		return;
	}
	cmd->def = def;
	const char *why = NULL;
	if (cmd->uid && !(def->flags & IMAP_CMD_UID))
		why = "UID not allowed with this command";
	else if ((def->flags & IMAP_CMD_NOAUTH) && s->state != IMAP_NOT_AUTH)
		why = "Already authenticated";
	else if ((def->flags & (IMAP_CMD_AUTH | IMAP_CMD_SELECTED)) && s->state == IMAP_NOT_AUTH)
		why = "Log in first";
	else if ((def->flags & IMAP_CMD_SELECTED) && s->state != IMAP_SELECTED)
		why = "No mailbox selected";
	if (why) {
		imap_bad_untagged(s, cmd->tag, NULL, why);
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
			imap_bad_untagged(s, tag, code, imap_parser_error(s->parser));
			break;
		}
		case IMAP_PARSE_COMMAND:
			dispatch(s, imap_parser_take(s->parser));
			break;
		}
	}
}

/* ---- conn callbacks ---- */

static void on_line(struct conn *c, const char *line, size_t len, bool too_long)
{
	struct imap_session *s = conn_session(c);
	if (s->state == IMAP_LOGOUT)
		return;
	if (too_long) {
		imap_log(s, LOG_INFO, "event=line_too_long");
		if (s->input == IMAP_IN_AUTH) {
			imap_auth_line(s, "*", 1); /* cancel the exchange */
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
		imap_bad_untagged(s, t, NULL, "Line too long");
		return;
	}
	switch (s->input) {
	case IMAP_IN_IDLE:
		imap_idle_line(s, line, len);
		return;
	case IMAP_IN_AUTH:
		imap_auth_line(s, line, len);
		return;
	default:
		break;
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
	}
}

static void on_tls_done(struct conn *c, bool ok)
{
	imap_tls_done(conn_session(c), ok);
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
			imap_untagged(s, "BYE Autologout; idle for too long");
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
	imap_auth_abort(s);
	imap_updates_unsubscribe(s);
	if (s->async && s->input == IMAP_IN_IDLE) {
		s->input = IMAP_IN_COMMAND;
		imap_cmd_wake(s);
	}
	if (s->cur && !s->async) {
		struct imap_cmd *cmd = s->cur;
		s->cur = NULL;
		s->waiting = false;
		imap_cmd_free(&cmd);
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

void imap_session_start(struct conn *c, void *ctx)
{
	const struct imap_ctx *x = ctx;
	/* The limits imap_apply_limits() sets in IMAP_NOT_AUTH: the parser's
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
