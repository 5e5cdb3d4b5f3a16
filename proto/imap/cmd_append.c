/* cmd_append: APPEND (RFC 9051 §6.3.12) with flags, internal date,
 * literal8 (RFC 3516), UTF8 (RFC 9755), several messages in one command
 * (RFC 3502 MULTIAPPEND syntax), APPENDUID (RFC 4315) and quota.
 *
 * The parser (parser.c) has already read every literal (checked against the
 * literal size limit before any "+" was sent) into the command's arena, so
 * by the time the handler runs the whole command is here. All messages go
 * into ONE store job: either all of them are appended or none (RFC 3502
 * §6.3.11), and the OK is sent only after the commit.
 *
 * Memory. Every message being appended draws from the process's spool
 * budget ([smtp] spool_memory, mime/spool.h), which SMTP's messages draw
 * from too: the parser charges a big literal before it sends "+" (or
 * refuses it with NO [UNAVAILABLE], parser.h), and a copy made here to
 * turn bare line ends into CRLF is a spool of its own, charged as it
 * grows. So twelve 50 MB APPENDs at once cost what the budget allows, and
 * the rest are told to try later.
 */
#include "proto/imap/flags.h"
#include "proto/imap/imap_int.h"
#include "proto/imap/dates.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mime/spool.h"
#include "store/notify.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/mailboxes.h"

#define APPEND_MAX_MESSAGES 1000

struct append_ctx {
	struct imap_session *s;
	struct store_append_req *msgs;
	size_t n;
	int64_t mailbox_id;
	int status;
	/* CRLF copies of messages with bare line ends (crlf_lines), one per
	 * message at most, freed with the command. */
	struct mime_spool *copies;
	size_t ncopies;
};

static void append_ctx_free(struct imap_cmd *cmd)
{
	struct append_ctx *c = cmd->ctx;
	if (!c)
		return;
	for (size_t i = 0; i < c->ncopies; i++)
		mime_spool_free(&c->copies[i]);
	c->ncopies = 0;
}

static int append_all_job(struct store_tx *tx, void *arg)
{
	struct append_ctx *c = arg;
	for (size_t i = 0; i < c->n; i++) {
		int r = store_append_job(tx, &c->msgs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void append_done(void *arg, int status)
{
	struct append_ctx *c = arg;
	c->status = status;
	imap_cmd_wake(c->s);
}

/* A message is stored with CRLF line ends, whatever the client sent: IMAP's
 * RFC822.SIZE and POP3's octet counts are the stored size, and both must
 * equal what is sent (RFC 9051 2.3.4, RFC 1939 11). A bare LF or bare CR of
 * an ordinary literal becomes CRLF, the way SMTP's "normalize" policy does
 * (the same code: mime/spool.h). The copy is a spool kept until the
 * command ends, so it counts against the spool budget. A literal8 is left
 * alone: its binary parts are bytes, not lines. Returns 0, -ENOSPC (over
 * the budget) or -ENOMEM. */
static int crlf_lines(struct append_ctx *c, const char **data, size_t *len)
{
	const char *p = *data;
	size_t n = *len, i;
	for (i = 0; i < n; i++)
		if ((p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) ||
		    (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n')))
			break;
	if (i == n)
		return 0; /* the usual case: nothing to change */
	struct mime_spool *m = &c->copies[c->ncopies++];
	mime_spool_init(m, 2 * n + 2, true);
	if (mime_spool_append(m, p, n) < 0 || mime_spool_end(m) < 0)
		return -ENOMEM;
	if (m->no_space)
		return -ENOSPC;
	*data = m->buf;
	*len = m->len;
	return 0;
}

enum imap_cmd_result imap_cmd_append(struct imap_session *s, struct imap_cmd *cmd)
{
	struct append_ctx *c = cmd->ctx;
	if (cmd->step == 0) {
		const char *name;
		size_t nlen;
		char mbname[IMAP_MAILBOX_NAME_MAX + 1];
		if (cmd->nargs < 2 || !imap_arg_astring(&cmd->args[0], &name, &nlen)) {
			imap_tagged(s, cmd, "BAD", NULL, "APPEND needs a mailbox and a message");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		cmd->ctx = c;
		cmd->ctx_free = append_ctx_free;
		c->msgs = imap_arena_alloc(&cmd->arena, sizeof *c->msgs * (cmd->nargs));
		c->copies = imap_arena_alloc(&cmd->arena, sizeof *c->copies * (cmd->nargs));
		uint64_t quota = imap_account_quota(s);
		size_t i = 1;
		while (i < cmd->nargs) {
			if (c->n >= APPEND_MAX_MESSAGES) {
				imap_tagged(s, cmd, "NO", "LIMIT",
				            "Too many messages in one APPEND");
				return IMAP_DONE;
			}
			struct store_append_req *m = &c->msgs[c->n];
			m->account_id = s->account_id;
			m->keywords = "";
			m->quota_bytes = quota;
			const struct imap_arg *a = &cmd->args[i];
			if (a->type == IMAP_ARG_LIST) {
				char *kws;
				if (imap_flags_collect(a->list, a->nlist, &cmd->arena, &m->flags,
				                       &kws) < 0) {
					imap_tagged(s, cmd, "BAD", NULL, "Invalid flag in APPEND");
					return IMAP_DONE;
				}
				m->keywords = kws;
				a = ++i < cmd->nargs ? &cmd->args[i] : NULL;
			}
			if (a && a->type == IMAP_ARG_QUOTED) {
				int64_t t;
				if (imap_parse_date_time(a->str, a->len, &t) < 0) {
					imap_tagged(s, cmd, "BAD", NULL,
					            "Invalid date-time in APPEND");
					return IMAP_DONE;
				}
				m->internal_date = t;
				a = ++i < cmd->nargs ? &cmd->args[i] : NULL;
			}
			if (a && imap_arg_is_atom(a, "UTF8")) {
				/* RFC 9755: UTF8 (~{n}) */
				a = ++i < cmd->nargs ? &cmd->args[i] : NULL;
				if (!a || a->type != IMAP_ARG_LIST || a->nlist != 1 ||
				    a->list[0].type != IMAP_ARG_LITERAL8) {
					imap_tagged(s, cmd, "BAD", NULL,
					            "UTF8 needs a literal8 in parentheses");
					return IMAP_DONE;
				}
				a = &a->list[0];
			}
			if (!a || (a->type != IMAP_ARG_LITERAL && a->type != IMAP_ARG_LITERAL8)) {
				imap_tagged(s, cmd, "BAD", NULL,
				            "APPEND needs the message as a literal");
				return IMAP_DONE;
			}
			if (a->len == 0) {
				imap_tagged(s, cmd, "NO", NULL, "Empty message");
				return IMAP_DONE;
			}
			m->data = a->str;
			m->len = a->len;
			int r = a->type == IMAP_ARG_LITERAL ? crlf_lines(c, &m->data, &m->len) : 0;
			if (r == -ENOSPC) {
				imap_tagged(s, cmd, "NO", "UNAVAILABLE",
				            "Too much mail arriving, try again later");
				return IMAP_DONE;
			}
			if (r < 0) {
				imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
				return IMAP_DONE;
			}
			c->n++;
			i++;
		}
		ssize_t ml = imap_mailbox_name_decode(s, name, nlen, mbname, sizeof mbname, true);
		int r = ml < 0 ? 0
		               : store_mailbox_find(imap_reader(s), s->account_id, mbname,
		                                    &c->mailbox_id);
		if (r <= 0) {
			imap_tagged(s, cmd, "NO", r < 0 ? "UNAVAILABLE" : "TRYCREATE",
			            r < 0 ? "Cannot look up the mailbox" : "No such mailbox");
			return IMAP_DONE;
		}
		for (size_t k = 0; k < c->n; k++)
			c->msgs[k].mailbox_id = c->mailbox_id;
		if (store_submit(imap_store(s), append_all_job, append_done, c) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot append now");
			return IMAP_DONE;
		}
		cmd->step = 1;
		return IMAP_ASYNC;
	}
	if (c->status < 0) {
		imap_log(s, LOG_WARN, "event=append_failed err=%d", c->status);
		if (c->status == -EDQUOT)
			imap_tagged(s, cmd, "NO", "OVERQUOTA", "Quota exceeded");
		else if (c->status == -ENOENT)
			imap_tagged(s, cmd, "NO", "TRYCREATE", "No such mailbox");
		else if (c->status == -ENOSPC)
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Disk full, try again later");
		else
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "APPEND failed, try again");
		return IMAP_DONE;
	}
	uint32_t *uids = imap_arena_alloc(&cmd->arena, (c->n + 1) * sizeof *uids);
	for (size_t k = 0; k < c->n; k++) {
		uids[k] = c->msgs[k].uid;
		struct notify_event ev = {.mailbox_id = c->mailbox_id,
		                          .kind = NOTIFY_EXISTS,
		                          .uid = c->msgs[k].uid,
		                          .modseq = c->msgs[k].modseq,
		                          .origin = s->sid,
		                          .account_id = s->account_id};
		notify_publish(&ev);
	}
	imap_tagged(s, cmd, "OK",
	            imap_arena_printf(&cmd->arena, "APPENDUID %u %s", c->msgs[0].uidvalidity,
	                              imap_seqset_format(&cmd->arena, uids, c->n)),
	            "APPEND completed");
	return IMAP_DONE;
}
