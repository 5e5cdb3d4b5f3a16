/* cmd_mail: the TRANSACTION state: STAT, LIST, UIDL, RETR, TOP, DELE,
 * NOOP, RSET, and QUIT (which leads to UPDATE).
 *
 * Everything here answers from the snapshot taken at login (s->msgs):
 * message numbers are indexes into it, DELE only sets a mark in it, RSET
 * clears the marks. Only RETR/TOP (the bytes) and QUIT (the deletions) go
 * to the store.
 *
 * UIDL is "<uidvalidity>.<uid>" in decimal. A UID is never reused within
 * one UIDVALIDITY and INBOX's UIDVALIDITY never changes, so the string is
 * stable across sessions, restarts and IMAP activity; clients in "leave
 * messages on server" mode rely on exactly that.
 */
#include "proto/pop3/pop3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"

static int64_t live_totals(const struct pop3_session *s, uint32_t *count)
{
	int64_t total = 0;
	*count = 0;
	for (uint32_t i = 0; i < s->nmsgs; i++) {
		if (!s->msgs[i].deleted) {
			(*count)++;
			total += s->msgs[i].size;
		}
	}
	return total;
}

/* Resolve a message-number argument; on failure the reply is sent and 0
 * returned. */
static uint32_t get_msg(struct pop3_session *s, const char *arg)
{
	uint32_t n;
	int rc = pop3_parse_msgnum(arg, s->nmsgs, &n);
	if (rc == -EINVAL) {
		pop3_reply(s, "-ERR Invalid message number");
		pop3_error(s);
		return 0;
	}
	if (rc < 0) {
		pop3_reply(s, "-ERR No such message");
		return 0;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, "-ERR Message %u is deleted", n);
		return 0;
	}
	return n;
}

static bool usage(struct pop3_session *s, struct pop3_cmd *cmd, size_t min, size_t max,
                  const char *text)
{
	if (cmd->nargs >= min && cmd->nargs <= max)
		return false;
	pop3_reply(s, "-ERR usage: %s", text);
	pop3_error(s);
	return true;
}

void pop3_cmd_stat(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (usage(s, cmd, 0, 0, "STAT"))
		return;
	uint32_t count;
	int64_t total = live_totals(s, &count);
	pop3_reply(s, "+OK %u %lld", count, (long long)total);
}

static int uidl_string(const struct pop3_session *s, uint32_t i, char *out, size_t outlen)
{
	return snprintf(out, outlen, "%u.%u", s->uidvalidity, s->msgs[i].uid);
}

/* LIST and UIDL share their shape: one line for message n, or a
 * multi-line listing of every message not marked deleted. */
static void listing(struct pop3_session *s, struct pop3_cmd *cmd, bool uidl)
{
	if (usage(s, cmd, 0, 1, uidl ? "UIDL [msg]" : "LIST [msg]"))
		return;
	char item[64];
	if (cmd->nargs == 1) {
		uint32_t n = get_msg(s, cmd->args[0]);
		if (n == 0)
			return;
		if (uidl)
			uidl_string(s, n - 1, item, sizeof item);
		else
			snprintf(item, sizeof item, "%lld", (long long)s->msgs[n - 1].size);
		pop3_reply(s, "+OK %u %s", n, item);
		return;
	}

	/* One buffer for the whole listing: tens of bytes per message, so even
	 * a 100,000-message INBOX is a few MB queued once. */
	size_t cap = 64 + (size_t)s->nmsgs * 48, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
		return;
	}
	uint32_t count;
	int64_t total = live_totals(s, &count);
	if (uidl)
		len += (size_t)snprintf(buf, cap, "+OK\r\n");
	else
		len += (size_t)snprintf(buf, cap, "+OK %u messages (%lld octets)\r\n", count,
		                        (long long)total);
	for (uint32_t i = 0; i < s->nmsgs; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (uidl)
			uidl_string(s, i, item, sizeof item);
		else
			snprintf(item, sizeof item, "%lld", (long long)s->msgs[i].size);
		len += (size_t)snprintf(buf + len, cap - len, "%u %s\r\n", i + 1, item);
	}
	len += (size_t)snprintf(buf + len, cap - len, ".\r\n");
	pop3_write(s, buf, len);
	free(buf);
}

void pop3_cmd_list(struct pop3_session *s, struct pop3_cmd *cmd)
{
	listing(s, cmd, false);
}

void pop3_cmd_uidl(struct pop3_session *s, struct pop3_cmd *cmd)
{
	listing(s, cmd, true);
}

void pop3_cmd_retr(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (usage(s, cmd, 1, 1, "RETR msg"))
		return;
	uint32_t n = get_msg(s, cmd->args[0]);
	if (n)
		pop3_stream_start(s, n, -1);
}

void pop3_cmd_top(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (usage(s, cmd, 2, 2, "TOP msg lines"))
		return;
	int64_t lines;
	if (pop3_parse_count(cmd->args[1], &lines) < 0) {
		pop3_reply(s, "-ERR Invalid line count");
		pop3_error(s);
		return;
	}
	uint32_t n = get_msg(s, cmd->args[0]);
	if (n)
		pop3_stream_start(s, n, lines);
}

void pop3_cmd_dele(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (usage(s, cmd, 1, 1, "DELE msg"))
		return;
	uint32_t n = get_msg(s, cmd->args[0]);
	if (n == 0)
		return;
	s->msgs[n - 1].deleted = true;
	pop3_reply(s, "+OK Message %u deleted", n);
}

void pop3_cmd_noop(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (usage(s, cmd, 0, 0, "NOOP"))
		return;
	pop3_reply(s, "+OK");
}

void pop3_cmd_rset(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (usage(s, cmd, 0, 0, "RSET"))
		return;
	for (uint32_t i = 0; i < s->nmsgs; i++)
		s->msgs[i].deleted = false;
	uint32_t count;
	int64_t total = live_totals(s, &count);
	pop3_reply(s, "+OK Maildrop has %u messages (%lld octets)", count, (long long)total);
}

void pop3_cmd_quit(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (s->state == POP3_TRANSACTION) {
		pop3_maildrop_commit(s);
		return;
	}
	pop3_log(s, LOG_INFO, "event=quit state=%s", pop3_state_name(s->state));
	pop3_reply(s, "+OK tern POP3 server signing off");
	pop3_close(s);
}
