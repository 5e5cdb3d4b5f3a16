/* cmd_append: APPEND (RFC 9051 §6.3.12) with flags, internal date,
 * literal8 (RFC 3516), UTF8 (RFC 9755), several messages in one command
 * (RFC 3502 MULTIAPPEND), APPENDUID (RFC 4315) and quota; and REPLACE /
 * UID REPLACE (RFC 8508), an APPEND of one message that expunges another
 * in the same store job.
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
#include "proto/imap/imap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mailurl/fetch.h"
#include "mailurl/url.h"
#include "mime/msgid.h"
#include "mime/spool.h"
#include "store/notify.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/mailboxes.h"
#include "store/threads.h"

#define APPEND_MAX_MESSAGES 1000
#define CATENATE_MAX_PARTS 1000
#define BADURL_SHOWN 512 /* the longest URL a BADURL code repeats */

struct append_ctx {
	struct imap_session *s;
	/* Message bytes CATENATE's URLs may still read in this command: each
	 * reads its whole message, so 1000 URLs to parts of one big message
	 * must not read it 1000 times (twice APPENDLIMIT in all). */
	uint64_t url_read_left;
	struct mailurl *url; /* CATENATE's URL being read, one for the command */
	struct store_append_req *msgs;
	size_t n;
	int64_t mailbox_id;
	int status;
	/* CRLF copies of messages with bare line ends (crlf_lines), one per
	 * message at most, freed with the command. */
	struct mime_spool *copies;
	size_t ncopies;
	/* REPLACE: msgs[0] and the message it replaces */
	struct store_replace_req replace;
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

static int replace_job(struct store_tx *tx, void *arg)
{
	struct append_ctx *c = arg;
	return store_replace_job(tx, &c->replace);
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

/* The message's threading keys (store/threads.h), read here on the loop
 * so the writer does not parse; they live in the arena, like the job. */
static const struct store_thread_keys *thread_keys(struct arena *a, const char *data, size_t len)
{
	struct mime_thread_ids *t = imap_arena_alloc(a, sizeof *t);
	struct store_thread_keys *k = imap_arena_alloc(a, sizeof *k);
	mime_thread_ids_read(data, len, t);
	*k = (struct store_thread_keys){t->message_id, t->parents, t->nparents};
	return k;
}

/* "BADURL <url>": the URL as sent, cut short, with the bytes a response
 * code cannot carry (CTL, "]", 8-bit) shown as "?" (RFC 4469 4.1). */
static const char *badurl_code(struct imap_cmd *cmd, const char *url, size_t len)
{
	size_t n = len < BADURL_SHOWN ? len : BADURL_SHOWN;
	char *t = imap_arena_alloc(&cmd->arena, n + 8);
	memcpy(t, "BADURL ", 7);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)url[i];
		t[7 + i] = ch < 0x20 || ch >= 0x7f || ch == ']' ? '?' : (char)ch;
	}
	if (n == 0)
		t[7 + n++] = '?';
	t[7 + n] = '\0';
	return t;
}

/* The bytes of one URL part of CATENATE into the message being built. Only
 * relative URLs to this account's own messages (RFC 4469 3): no server,
 * no URLAUTH. Answers NO [BADURL] or [TOOBIG] itself and returns false. */
static bool catenate_url(struct imap_session *s, struct imap_cmd *cmd, struct append_ctx *c,
                         struct mime_spool *m, const char *url, size_t len)
{
	if (!c->url)
		c->url = imap_arena_alloc(&cmd->arena, sizeof *c->url);
	struct mailurl *u = c->url;
	char mbname[IMAP_MAILBOX_NAME_MAX + 1];
	struct buf bytes = {0};
	int r = mailurl_parse(url, len, u) < 0 || u->has_server || u->has_urlauth || !u->uid ||
	                imap_mailbox_name_decode(s, u->mailbox, strlen(u->mailbox), mbname,
	                                         sizeof mbname, true) < 0
	            ? -ENOENT
	            : 0;
	size_t room = m->max > m->seen ? m->max - (size_t)m->seen : 0;
	if (r == 0)
		r = mailurl_fetch(imap_reader(s), s->account_id, mbname, u, room, &c->url_read_left,
		                  &bytes);
	if (r == 0 && mime_spool_append(m, bytes.data ? bytes.data : "", bytes.len) < 0)
		r = -ENOMEM;
	buf_free(&bytes);
	if (r == -E2BIG) {
		imap_tagged(s, cmd, "NO", "TOOBIG", "The message would be too big");
		return false;
	}
	if (r == -ENOMEM) {
		imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
		return false;
	}
	if (r < 0) {
		imap_tagged(s, cmd, "NO", badurl_code(cmd, url, len), "Cannot fetch that URL");
		return false;
	}
	return true;
}

/* CATENATE (RFC 4469): the message is the TEXT literals and the bytes of
 * the URLs in the list, in order, built in a spool of its own (charged to
 * the spool budget as it grows, bare line ends of TEXT made CRLF) no
 * bigger than APPENDLIMIT. Answers and returns false on any failure. */
static bool catenate(struct imap_session *s, struct imap_cmd *cmd, struct append_ctx *c,
                     const struct imap_arg *list, struct store_append_req *msg)
{
	if (list->type != IMAP_ARG_LIST || list->nlist == 0 || list->nlist % 2) {
		imap_tagged(s, cmd, "BAD", NULL, "CATENATE needs a list of TEXT and URL parts");
		return false;
	}
	if (list->nlist / 2 > CATENATE_MAX_PARTS) {
		imap_tagged(s, cmd, "NO", "LIMIT", "Too many parts in CATENATE");
		return false;
	}
	for (size_t k = 0; k < list->nlist; k += 2) {
		const struct imap_arg *kind = &list->list[k], *v = &list->list[k + 1];
		const char *str;
		size_t len;
		if (imap_arg_is_atom(kind, "TEXT")
		        ? v->type != IMAP_ARG_LITERAL
		        : !imap_arg_is_atom(kind, "URL") || !imap_arg_astring(v, &str, &len)) {
			imap_tagged(s, cmd, "BAD", NULL,
			            "CATENATE parts are TEXT literal or URL string");
			return false;
		}
	}
	struct mime_spool *m = &c->copies[c->ncopies++];
	mime_spool_init(m, (size_t)s->cfg->max_literal, true);
	for (size_t k = 0; k < list->nlist; k += 2) {
		const struct imap_arg *v = &list->list[k + 1];
		if (v->type == IMAP_ARG_LITERAL) {
			if (mime_spool_append(m, v->str, v->len) < 0) {
				imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
				return false;
			}
		} else {
			const char *url;
			size_t len;
			imap_arg_astring(v, &url, &len);
			if (!catenate_url(s, cmd, c, m, url, len))
				return false;
		}
		if (mime_spool_too_big(m)) {
			imap_tagged(s, cmd, "NO", "TOOBIG", "The message would be too big");
			return false;
		}
		if (m->no_space) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE",
			            "Too much mail arriving, try again later");
			return false;
		}
	}
	if (mime_spool_end(m) < 0 || m->no_space) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Too much mail arriving, try again later");
		return false;
	}
	if (m->len == 0) {
		imap_tagged(s, cmd, "NO", NULL, "Empty message");
		return false;
	}
	msg->data = m->buf;
	msg->len = m->len;
	return true;
}

/* The append-message arguments from args[i] to the end (RFC 3502
 * append-message, repeated up to max times) into c->msgs. On a bad one it
 * answers (BAD, or NO with a code) and returns false: then nothing is
 * stored, whatever came before it. */
static bool parse_messages(struct imap_session *s, struct imap_cmd *cmd, struct append_ctx *c,
                           size_t i, size_t max)
{
	c->url_read_left = 2 * (uint64_t)s->cfg->max_literal;
	c->msgs = imap_arena_alloc(&cmd->arena, sizeof *c->msgs * (cmd->nargs));
	c->copies = imap_arena_alloc(&cmd->arena, sizeof *c->copies * (cmd->nargs));
	uint64_t quota = imap_account_quota(s);
	if (i >= cmd->nargs) {
		imap_tagged(s, cmd, "BAD", NULL, "%s needs a mailbox and a message", cmd->name);
		return false;
	}
	while (i < cmd->nargs) {
		if (c->n >= max) {
			if (max == 1)
				imap_tagged(s, cmd, "BAD", NULL, "%s takes one message", cmd->name);
			else
				imap_tagged(s, cmd, "NO", "LIMIT",
				            "Too many messages in one APPEND");
			return false;
		}
		struct store_append_req *m = &c->msgs[c->n];
		m->account_id = s->account_id;
		m->keywords = "";
		m->quota_bytes = quota;
		const struct imap_arg *a = &cmd->args[i];
		if (a->type == IMAP_ARG_LIST) {
			char *kws;
			if (imap_flags_collect(a->list, a->nlist, &cmd->arena, &m->flags, &kws) <
			    0) {
				imap_tagged(s, cmd, "BAD", NULL, "Invalid flag in %s", cmd->name);
				return false;
			}
			m->keywords = kws;
			a = ++i < cmd->nargs ? &cmd->args[i] : NULL;
		}
		if (a && a->type == IMAP_ARG_QUOTED) {
			int64_t t;
			if (imap_parse_date_time(a->str, a->len, &t) < 0) {
				imap_tagged(s, cmd, "BAD", NULL, "Invalid date-time in %s",
				            cmd->name);
				return false;
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
				return false;
			}
			a = &a->list[0];
		} else if (a && imap_arg_is_atom(a, "CATENATE")) {
			a = ++i < cmd->nargs ? &cmd->args[i] : NULL;
			if (!a) {
				imap_tagged(s, cmd, "BAD", NULL, "CATENATE needs a list");
				return false;
			}
			if (!catenate(s, cmd, c, a, m))
				return false;
			m->thread = thread_keys(&cmd->arena, m->data, m->len);
			c->n++;
			i++;
			continue;
		}
		if (!a || (a->type != IMAP_ARG_LITERAL && a->type != IMAP_ARG_LITERAL8)) {
			imap_tagged(s, cmd, "BAD", NULL, "%s needs the message as a literal",
			            cmd->name);
			return false;
		}
		if (a->len == 0) {
			imap_tagged(s, cmd, "NO", NULL, "Empty message");
			return false;
		}
		m->data = a->str;
		m->len = a->len;
		int r = a->type == IMAP_ARG_LITERAL ? crlf_lines(c, &m->data, &m->len) : 0;
		if (r == -ENOSPC) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE",
			            "Too much mail arriving, try again later");
			return false;
		}
		if (r < 0) {
			imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
			return false;
		}
		m->thread = thread_keys(&cmd->arena, m->data, m->len);
		c->n++;
		i++;
	}
	return true;
}

/* The target mailbox of APPEND or REPLACE into c->mailbox_id; else it
 * answers NO [TRYCREATE] (or UNAVAILABLE) and returns false. */
static bool find_target(struct imap_session *s, struct imap_cmd *cmd, struct append_ctx *c,
                        const char *name, size_t nlen)
{
	char mbname[IMAP_MAILBOX_NAME_MAX + 1];
	ssize_t ml = imap_mailbox_name_decode(s, name, nlen, mbname, sizeof mbname, true);
	int r =
	    ml < 0 ? 0 : store_mailbox_find(imap_reader(s), s->account_id, mbname, &c->mailbox_id);
	if (r <= 0) {
		imap_tagged(s, cmd, "NO", r < 0 ? "UNAVAILABLE" : "TRYCREATE",
		            r < 0 ? "Cannot look up the mailbox" : "No such mailbox");
		return false;
	}
	for (size_t k = 0; k < c->n; k++)
		c->msgs[k].mailbox_id = c->mailbox_id;
	return true;
}

/* The NO for a failed append job. */
static void append_failed(struct imap_session *s, struct imap_cmd *cmd, int status)
{
	imap_log(s, LOG_WARN, "event=append_failed cmd=%s err=%d", cmd->name, status);
	if (status == -EDQUOT)
		imap_tagged(s, cmd, "NO", "OVERQUOTA", "Quota exceeded");
	else if (status == -ENOENT)
		imap_tagged(s, cmd, "NO", "TRYCREATE", "No such mailbox");
	else if (status == -ENOSPC)
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Disk full, try again later");
	else
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "%s failed, try again", cmd->name);
}

/* Tell every session (this one included, at its next flush) of the new
 * messages. */
static void publish_appended(struct imap_session *s, const struct append_ctx *c)
{
	for (size_t k = 0; k < c->n; k++) {
		struct notify_event ev = {.mailbox_id = c->mailbox_id,
		                          .kind = NOTIFY_EXISTS,
		                          .uid = c->msgs[k].uid,
		                          .modseq = c->msgs[k].modseq,
		                          .origin = s->sid,
		                          .account_id = s->account_id};
		notify_publish(&ev);
	}
}

enum imap_cmd_result imap_cmd_append(struct imap_session *s, struct imap_cmd *cmd)
{
	struct append_ctx *c = cmd->ctx;
	if (cmd->step == 0) {
		const char *name;
		size_t nlen;
		if (cmd->nargs < 2 || !imap_arg_astring(&cmd->args[0], &name, &nlen)) {
			imap_tagged(s, cmd, "BAD", NULL, "APPEND needs a mailbox and a message");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		cmd->ctx = c;
		cmd->ctx_free = append_ctx_free;
		if (!parse_messages(s, cmd, c, 1, APPEND_MAX_MESSAGES) ||
		    !find_target(s, cmd, c, name, nlen))
			return IMAP_DONE;
		if (store_submit(imap_store(s), append_all_job, append_done, c) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot append now");
			return IMAP_DONE;
		}
		cmd->step = 1;
		return IMAP_ASYNC;
	}
	if (c->status < 0) {
		append_failed(s, cmd, c->status);
		return IMAP_DONE;
	}
	uint32_t *uids = imap_arena_alloc(&cmd->arena, (c->n + 1) * sizeof *uids);
	for (size_t k = 0; k < c->n; k++)
		uids[k] = c->msgs[k].uid;
	publish_appended(s, c);
	imap_tagged(s, cmd, "OK",
	            imap_arena_printf(&cmd->arena, "APPENDUID %u %s", c->msgs[0].uidvalidity,
	                              imap_seqset_format(&cmd->arena, uids, c->n)),
	            "APPEND completed");
	return IMAP_DONE;
}

/* REPLACE / UID REPLACE (RFC 8508): the message named in the selected
 * mailbox goes, a new one comes into the named mailbox (often the same
 * Drafts), both in one store job. The client hears APPENDUID in an
 * untagged OK, then EXISTS (if it lands in the selected mailbox), then the
 * old message's EXPUNGE (VANISHED under QRESYNC), as the RFC's example. */
enum imap_cmd_result imap_cmd_replace(struct imap_session *s, struct imap_cmd *cmd)
{
	struct append_ctx *c = cmd->ctx;
	if (cmd->step == 0) {
		const char *name;
		size_t nlen;
		uint32_t id, old;
		if (cmd->nargs < 3 || !imap_arg_u32(&cmd->args[0], &id) || id == 0 ||
		    !imap_arg_astring(&cmd->args[1], &name, &nlen)) {
			imap_tagged(s, cmd, "BAD", NULL,
			            "%sREPLACE needs a message, a mailbox and a message",
			            cmd->uid ? "UID " : "");
			return IMAP_DONE;
		}
		if (cmd->uid) {
			old = imap_view_seq(s, id) ? id : 0;
			if (!old) {
				imap_tagged(s, cmd, "NO", NULL, "No such message");
				return IMAP_DONE;
			}
		} else if (!(old = imap_view_uid(s, id))) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid sequence number");
			return IMAP_DONE;
		}
		if (s->sel.readonly) {
			imap_tagged(s, cmd, "NO", "READ-ONLY", "Mailbox is read-only");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		cmd->ctx = c;
		cmd->ctx_free = append_ctx_free;
		if (!parse_messages(s, cmd, c, 2, 1) || !find_target(s, cmd, c, name, nlen))
			return IMAP_DONE;
		c->replace.append = c->msgs[0];
		c->replace.old_mailbox_id = s->sel.mailbox_id;
		c->replace.old_uid = old;
		if (store_submit(imap_store(s), replace_job, append_done, c) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot replace now");
			return IMAP_DONE;
		}
		cmd->step = 1;
		return IMAP_ASYNC;
	}
	if (c->status == -ESTALE) {
		imap_tagged(s, cmd, "NO", NULL, "The message to replace is gone");
		return IMAP_DONE;
	}
	if (c->status < 0) {
		append_failed(s, cmd, c->status);
		return IMAP_DONE;
	}
	c->msgs[0] = c->replace.append;
	imap_untagged(s, "OK [APPENDUID %u %u] Replacement Message ready", c->msgs[0].uidvalidity,
	              c->msgs[0].uid);
	publish_appended(s, c);
	struct notify_event ev = {.mailbox_id = c->replace.old_mailbox_id,
	                          .kind = NOTIFY_EXPUNGE,
	                          .uid = c->replace.old_uid,
	                          .modseq = c->replace.expunge_modseq,
	                          .origin = s->sid,
	                          .account_id = s->account_id};
	notify_publish(&ev);
	imap_updates_flush(s, true);
	imap_view_expunged(s, &c->replace.old_uid, 1, c->replace.expunge_modseq);
	imap_tagged(s, cmd, "OK", NULL, "%sREPLACE completed", cmd->uid ? "UID " : "");
	return IMAP_DONE;
}
