/* cmd_expunge: EXPUNGE, UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315) and the
 * silent expunge CLOSE needs (imap_expunge_deleted).
 *
 * Only messages the session knows (its view) are candidates: a message
 * that arrived after the last EXISTS is never expunged before the client
 * heard of it. The job removes the candidates that carry \Deleted, with
 * one new MODSEQ, and remembers them in `expunged` for QRESYNC.
 */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/notify.h"
#include "store/entries.h"
#include "store/store.h"

struct expunge_ctx {
	struct imap_session *s;
	struct store_expunge_req req;
	uint32_t *uids;
	struct store_progress progress; /* INPROGRESS (progress.c), not CLOSE's */
	int status;
	/* imap_expunge_deleted */
	void (*done)(void *ud, int status);
	void *ud;
	int64_t mailbox_id;
};

/* The writer job gets the request inside the context; the completion gets
 * the whole context. */
static int expunge_job(struct store_tx *tx, void *arg)
{
	return store_expunge_job(tx, &((struct expunge_ctx *)arg)->req);
}

static void publish(int64_t account_id, int64_t mailbox_id, const struct store_expunge_req *q,
                    uint64_t origin)
{
	for (size_t i = 0; i < q->nexpunged; i++) {
		struct notify_event ev = {.mailbox_id = mailbox_id,
		                          .kind = NOTIFY_EXPUNGE,
		                          .uid = q->expunged[i],
		                          .modseq = q->modseq,
		                          .origin = origin,
		                          .account_id = account_id};
		notify_publish(&ev);
	}
}

static void expunge_ctx_free(struct imap_cmd *cmd)
{
	struct expunge_ctx *c = cmd->ctx;
	if (!c)
		return;
	free(c->uids);
	free(c->req.expunged);
	cmd->ctx = NULL;
}

static void expunge_done(void *arg, int status)
{
	struct expunge_ctx *c = arg;
	c->status = status;
	imap_cmd_wake(c->s);
}

enum imap_cmd_result imap_cmd_expunge(struct imap_session *s, struct imap_cmd *cmd)
{
	struct expunge_ctx *c = cmd->ctx;
	if (cmd->step == 0) {
		struct imap_seqset set, res;
		if (cmd->uid ? (cmd->nargs != 1 || cmd->args[0].type != IMAP_ARG_ATOM ||
		                imap_seqset_parse(cmd->args[0].str, cmd->args[0].len, &set,
		                                  &cmd->arena) < 0)
		             : cmd->nargs != 0) {
			imap_tagged(s, cmd, "BAD", NULL,
			            cmd->uid ? "UID EXPUNGE needs a UID set"
			                     : "EXPUNGE takes no arguments");
			return IMAP_DONE;
		}
		if (s->sel.readonly) {
			imap_tagged(s, cmd, "NO", "READ-ONLY", "Mailbox is read-only");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		cmd->ctx = c;
		cmd->ctx_free = expunge_ctx_free;
		size_t k = 0;
		if (cmd->uid) {
			if (imap_seqset_resolve(s->sel.uids, s->sel.count, s->searchres,
			                        s->nsearchres, &set, true, &res, &cmd->arena) < 0) {
				imap_tagged(s, cmd, "BAD", NULL, "Invalid UID set");
				return IMAP_DONE;
			}
			uint64_t cnt = imap_seqset_count(&res);
			c->uids = malloc((cnt + 1) * sizeof *c->uids);
			for (size_t j = 0; c->uids && j < res.n; j++)
				for (uint64_t q = res.r[j].lo; q <= res.r[j].hi; q++)
					c->uids[k++] = s->sel.uids[q - 1];
		} else {
			c->uids = malloc((s->sel.count + 1) * sizeof *c->uids);
			if (c->uids && s->sel.count)
				memcpy(c->uids, s->sel.uids, s->sel.count * sizeof *c->uids);
			k = s->sel.count;
		}
		if (!c->uids) {
			imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
			return IMAP_DONE;
		}
		if (k == 0) {
			imap_tagged(s, cmd, "OK", NULL, "%sEXPUNGE completed",
			            cmd->uid ? "UID " : "");
			return IMAP_DONE;
		}
		c->req.mailbox_id = s->sel.mailbox_id;
		c->req.uids = c->uids;
		c->req.n = k;
		c->req.progress = &c->progress;
		if (store_submit_lazy(imap_store(s), expunge_job, expunge_done, c) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot expunge now");
			return IMAP_DONE;
		}
		cmd->step = 1;
		imap_progress_watch(s, &c->progress);
		return IMAP_ASYNC;
	}
	if (c->status < 0) {
		imap_log(s, LOG_WARN, "event=expunge_failed err=%d", c->status);
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "EXPUNGE failed, try again");
		return IMAP_DONE;
	}
	publish(s->account_id, s->sel.mailbox_id, &c->req, s->sid);
	imap_view_expunged(s, c->req.expunged, c->req.nexpunged, c->req.modseq);
	if (c->req.modseq > 0 && (s->enabled & (IMAP_EXT_CONDSTORE | IMAP_EXT_QRESYNC)))
		imap_tagged(
		    s, cmd, "OK",
		    imap_arena_printf(&cmd->arena, "HIGHESTMODSEQ %lld", (long long)c->req.modseq),
		    "%sEXPUNGE completed", cmd->uid ? "UID " : "");
	else
		imap_tagged(s, cmd, "OK", NULL, "%sEXPUNGE completed", cmd->uid ? "UID " : "");
	return IMAP_DONE;
}

/* ---- CLOSE ---- */

static void deleted_done(void *arg, int status)
{
	struct expunge_ctx *c = arg;
	if (status >= 0)
		publish(c->s->account_id, c->mailbox_id, &c->req, c->s->sid);
	c->done(c->ud, status < 0 ? status : (int)c->req.nexpunged);
	imap_unref(c->s);
	free(c->uids);
	free(c->req.expunged);
	free(c);
}

int imap_expunge_deleted(struct imap_session *s, void (*done)(void *ud, int status), void *ud)
{
	if (s->state != IMAP_SELECTED || s->sel.readonly)
		return -EPERM;
	struct expunge_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->s = s;
	c->done = done;
	c->ud = ud;
	c->mailbox_id = s->sel.mailbox_id;
	c->uids = malloc((s->sel.count + 1) * sizeof *c->uids);
	if (!c->uids) {
		free(c);
		return -ENOMEM;
	}
	if (s->sel.count)
		memcpy(c->uids, s->sel.uids, s->sel.count * sizeof *c->uids);
	c->req.mailbox_id = s->sel.mailbox_id;
	c->req.uids = c->uids;
	c->req.n = s->sel.count;
	imap_ref(s);
	int r = store_submit_lazy(imap_store(s), expunge_job, deleted_done, c);
	if (r < 0) {
		imap_unref(s);
		free(c->uids);
		free(c);
	}
	return r;
}
