/* cmd_copy: COPY, MOVE and their UID forms (RFC 9051 §6.4.7, RFC 6851
 * MOVE, RFC 4315 COPYUID).
 *
 * One store job copies every message of the set into the destination
 * (new UIDs from its uidnext, one MODSEQ each, the message bytes shared
 * by reference count) and, for MOVE, expunges the sources in the same
 * transaction, so a MOVE is atomic. The completion answers COPYUID, and
 * for MOVE writes "* OK [COPYUID ...]" then the EXPUNGEs/VANISHED before
 * the tagged OK (RFC 6851 §4.3).
 */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/notify.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/mailboxes.h"

struct copy_ctx {
	struct imap_session *s;
	struct store_copy_req req;
	uint32_t *uids;
	uint32_t *new_uids;
	int64_t *new_modseqs;
	struct store_progress progress; /* INPROGRESS (progress.c) */
	int status;
};

/* The writer job gets the request inside the context; the completion gets
 * the whole context. */
static int copy_job(struct store_tx *tx, void *arg)
{
	return store_copy_job(tx, &((struct copy_ctx *)arg)->req);
}

static void copy_ctx_free(struct imap_cmd *cmd)
{
	struct copy_ctx *c = cmd->ctx;
	if (!c)
		return;
	free(c->uids);
	free(c->new_uids);
	free(c->new_modseqs);
	cmd->ctx = NULL;
}

static void copy_done(void *arg, int status)
{
	struct copy_ctx *c = arg;
	c->status = status;
	imap_cmd_wake(c->s);
}

static enum imap_cmd_result copy_or_move(struct imap_session *s, struct imap_cmd *cmd, bool move)
{
	struct copy_ctx *c = cmd->ctx;
	const char *verb = move ? "MOVE" : "COPY";
	if (cmd->step == 0) {
		struct imap_seqset set, res;
		const char *name;
		size_t nlen;
		char mbname[IMAP_MAILBOX_NAME_MAX + 1];
		if (cmd->nargs != 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(cmd->args[0].str, cmd->args[0].len, &set, &cmd->arena) < 0 ||
		    !imap_arg_astring(&cmd->args[1], &name, &nlen)) {
			imap_tagged(s, cmd, "BAD", NULL, "%s needs a sequence set and a mailbox",
			            verb);
			return IMAP_DONE;
		}
		ssize_t ml = imap_mailbox_name_decode(s, name, nlen, mbname, sizeof mbname, true);
		if (ml < 0) {
			imap_tagged(s, cmd, "NO", "TRYCREATE", "Invalid mailbox name");
			return IMAP_DONE;
		}
		if (move && s->sel.readonly) {
			imap_tagged(s, cmd, "NO", "READ-ONLY", "Mailbox is read-only");
			return IMAP_DONE;
		}
		int64_t dst;
		int r = store_mailbox_find(imap_reader(s), s->account_id, mbname, &dst);
		if (r <= 0) {
			imap_tagged(s, cmd, "NO", r < 0 ? "UNAVAILABLE" : "TRYCREATE",
			            r < 0 ? "Cannot look up the mailbox" : "No such mailbox");
			return IMAP_DONE;
		}
		r = imap_seqset_resolve(s->sel.uids, s->sel.count, s->searchres, s->nsearchres,
		                        &set, cmd->uid, &res, &cmd->arena);
		if (r < 0) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid sequence set: no such message");
			return IMAP_DONE;
		}
		uint64_t cnt = imap_seqset_count(&res);
		if (cnt == 0) {
			imap_tagged(s, cmd, "OK", NULL, "No messages to %s",
			            move ? "move" : "copy");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		cmd->ctx = c;
		cmd->ctx_free = copy_ctx_free;
		c->uids = malloc(cnt * sizeof *c->uids);
		c->new_uids = calloc(cnt, sizeof *c->new_uids);
		c->new_modseqs = calloc(cnt, sizeof *c->new_modseqs);
		if (!c->uids || !c->new_uids || !c->new_modseqs) {
			imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
			return IMAP_DONE;
		}
		size_t k = 0;
		for (size_t j = 0; j < res.n; j++)
			for (uint64_t q = res.r[j].lo; q <= res.r[j].hi; q++)
				c->uids[k++] = s->sel.uids[q - 1];
		c->req.account_id = s->account_id;
		c->req.src_mailbox_id = s->sel.mailbox_id;
		c->req.dst_mailbox_id = dst;
		c->req.uids = c->uids;
		c->req.n = k;
		c->req.move = move && dst != s->sel.mailbox_id ? true : move;
		c->req.quota_bytes = imap_account_quota(s);
		c->req.new_uids = c->new_uids;
		c->req.new_modseqs = c->new_modseqs;
		c->req.progress = &c->progress;
		if (store_submit(imap_store(s), copy_job, copy_done, c) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot %s now",
			            move ? "move" : "copy");
			return IMAP_DONE;
		}
		cmd->step = 1;
		imap_progress_watch(s, &c->progress);
		return IMAP_ASYNC;
	}

	if (c->status < 0) {
		imap_log(s, LOG_WARN, "event=%s_failed err=%d", move ? "move" : "copy", c->status);
		if (c->status == -ENOENT)
			imap_tagged(s, cmd, "NO", "TRYCREATE", "No such mailbox");
		else if (c->status == -EDQUOT)
			imap_tagged(s, cmd, "NO", "OVERQUOTA", "Quota exceeded");
		else
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "%s failed, try again", verb);
		return IMAP_DONE;
	}
	/* the copies exist: tell the destination's watchers */
	uint32_t *src = malloc((c->req.n + 1) * sizeof *src),
	         *dst = malloc((c->req.n + 1) * sizeof *dst);
	size_t n = 0;
	for (size_t i = 0; i < c->req.n; i++) {
		if (!c->new_uids[i])
			continue;
		struct notify_event ev = {.mailbox_id = c->req.dst_mailbox_id,
		                          .kind = NOTIFY_EXISTS,
		                          .uid = c->new_uids[i],
		                          .modseq = c->new_modseqs[i],
		                          .origin = s->sid,
		                          .account_id = s->account_id};
		notify_publish(&ev);
		if (src && dst) {
			src[n] = c->uids[i];
			dst[n] = c->new_uids[i];
			n++;
		}
	}
	char *code = NULL;
	if (n)
		code = imap_arena_printf(&cmd->arena, "COPYUID %u %s %s", c->req.dst_uidvalidity,
		                         imap_seqset_format(&cmd->arena, src, n),
		                         imap_seqset_format(&cmd->arena, dst, n));
	if (move) {
		if (code)
			imap_untagged(s, "OK [%s] Moved", code);
		for (size_t i = 0; i < n; i++) {
			struct notify_event ev = {.mailbox_id = s->sel.mailbox_id,
			                          .kind = NOTIFY_EXPUNGE,
			                          .uid = src[i],
			                          .modseq = c->req.src_modseq,
			                          .origin = s->sid,
			                          .account_id = s->account_id};
			notify_publish(&ev);
		}
		imap_view_expunged(s, src, n, c->req.src_modseq);
		imap_tagged(s, cmd, "OK", NULL, "%sMOVE completed", cmd->uid ? "UID " : "");
	} else {
		imap_tagged(s, cmd, "OK", code, "%sCOPY completed", cmd->uid ? "UID " : "");
	}
	free(src);
	free(dst);
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_copy(struct imap_session *s, struct imap_cmd *cmd)
{
	return copy_or_move(s, cmd, false);
}

enum imap_cmd_result imap_cmd_move(struct imap_session *s, struct imap_cmd *cmd)
{
	return copy_or_move(s, cmd, true);
}
