/* cmd_store: STORE and UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE
 * (RFC 7162 §3.1.3).
 *
 * One store job changes every message of the set (one MODSEQ per changed
 * message); its completion writes the untagged FETCH responses (unless
 * .SILENT, but always for a changed message under UNCHANGEDSINCE), tells
 * other sessions through notify, and answers OK, or OK [MODIFIED set] for
 * the messages that failed the UNCHANGEDSINCE test.
 */
#include "proto/imap/flags.h"
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime.h"
#include "store/notify.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"

struct store_ctx {
	struct imap_session *s;
	struct store_flags_req req;
	uint32_t *uids;
	struct store_progress progress; /* INPROGRESS (progress.c) */
	bool silent;
	int status;
};

/* The writer job gets the request inside the context; the completion gets
 * the whole context. */
static int flags_job(struct store_tx *tx, void *arg)
{
	return store_flags_job(tx, &((struct store_ctx *)arg)->req);
}

static void store_ctx_free(struct imap_cmd *cmd)
{
	struct store_ctx *c = cmd->ctx;
	if (!c)
		return;
	store_flags_req_clear(&c->req);
	free(c->req.res);
	free(c->uids);
	cmd->ctx = NULL;
}

static void store_done(void *arg, int status)
{
	struct store_ctx *c = arg;
	c->status = status;
	imap_cmd_wake(c->s);
}

enum imap_cmd_result imap_cmd_store(struct imap_session *s, struct imap_cmd *cmd)
{
	struct store_ctx *c = cmd->ctx;
	if (cmd->step == 0) {
		struct imap_seqset set, res;
		size_t i = 1;
		int64_t unchangedsince = -1;
		if (cmd->nargs < 3 || cmd->args[0].type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(cmd->args[0].str, cmd->args[0].len, &set, &cmd->arena) < 0) {
			imap_tagged(s, cmd, "BAD", NULL, "STORE needs a set, an item and flags");
			return IMAP_DONE;
		}
		if (cmd->args[1].type == IMAP_ARG_LIST) {
			const struct imap_arg *m = &cmd->args[1];
			uint64_t v;
			if (m->nlist != 2 || !imap_arg_is_atom(&m->list[0], "UNCHANGEDSINCE") ||
			    !imap_arg_u64(&m->list[1], &v)) {
				imap_tagged(s, cmd, "BAD", NULL, "Unknown STORE modifier");
				return IMAP_DONE;
			}
			unchangedsince = (int64_t)v;
			i = 2;
		}
		if (i >= cmd->nargs) {
			imap_tagged(s, cmd, "BAD", NULL, "STORE needs an item");
			return IMAP_DONE;
		}
		const struct imap_arg *item = &cmd->args[i++];
		enum store_flag_op op;
		const char *w = item->type == IMAP_ARG_ATOM ? item->str : "";
		if (*w == '+')
			op = STORE_FLAGS_ADD, w++;
		else if (*w == '-')
			op = STORE_FLAGS_REMOVE, w++;
		else
			op = STORE_FLAGS_SET;
		bool silent = false;
		if (strcasecmp(w, "FLAGS.SILENT") == 0)
			silent = true;
		else if (strcasecmp(w, "FLAGS") != 0) {
			imap_tagged(s, cmd, "BAD", NULL, "Unknown STORE item");
			return IMAP_DONE;
		}
		const struct imap_arg *fl = &cmd->args[i];
		size_t nfl = cmd->nargs - i;
		if (nfl == 1 && fl->type == IMAP_ARG_LIST) {
			nfl = fl->nlist;
			fl = fl->list;
		} else if (nfl == 0) {
			imap_tagged(s, cmd, "BAD", NULL, "STORE needs flags");
			return IMAP_DONE;
		}
		uint32_t mask;
		char *kws;
		if (imap_flags_collect(fl, nfl, &cmd->arena, &mask, &kws) < 0) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid flag");
			return IMAP_DONE;
		}
		if (s->sel.readonly) {
			imap_tagged(s, cmd, "NO", "READ-ONLY", "Mailbox is read-only");
			return IMAP_DONE;
		}
		int r = imap_seqset_resolve(s->sel.uids, s->sel.count, s->searchres, s->nsearchres,
		                            &set, cmd->uid, &res, &cmd->arena);
		if (r < 0) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid sequence set: no such message");
			return IMAP_DONE;
		}
		if (unchangedsince >= 0)
			imap_condstore_enable(s);
		uint64_t cnt = imap_seqset_count(&res);
		if (cnt == 0) {
			imap_tagged(s, cmd, "OK", imap_expunge_issued(s), "STORE completed");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		c->silent = silent;
		cmd->ctx = c;
		cmd->ctx_free = store_ctx_free;
		c->uids = malloc(cnt * sizeof *c->uids);
		c->req.res = calloc(cnt, sizeof *c->req.res);
		if (!c->uids || !c->req.res) {
			imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
			return IMAP_DONE;
		}
		size_t k = 0;
		for (size_t j = 0; j < res.n; j++)
			for (uint64_t q = res.r[j].lo; q <= res.r[j].hi; q++)
				c->uids[k++] = s->sel.uids[q - 1];
		c->req.mailbox_id = s->sel.mailbox_id;
		c->req.uids = c->uids;
		c->req.n = k;
		c->req.op = op;
		c->req.flags = mask;
		c->req.keywords = kws;
		c->req.unchangedsince = unchangedsince;
		c->req.progress = &c->progress;
		if ((r = store_submit_lazy(imap_store(s), flags_job, store_done, c)) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot store flags now");
			return IMAP_DONE;
		}
		cmd->step = 1;
		imap_progress_watch(s, &c->progress);
		return IMAP_ASYNC;
	}

	/* step 1: committed (or failed) */
	if (c->status < 0) {
		imap_log(s, LOG_WARN, "event=store_failed err=%d", c->status);
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot store flags now, try again");
		return IMAP_DONE;
	}
	bool condstore = s->enabled & (IMAP_EXT_CONDSTORE | IMAP_EXT_QRESYNC);
	/* keywords the FETCH replies below name, and FLAGS did not list yet
	 * (this STORE's own, or another session's not told yet): FLAGS first */
	for (size_t i = 0; i < c->req.n; i++)
		if (c->req.res[i].status >= 0)
			imap_view_keywords_seen(s, c->req.res[i].keywords);
	imap_keywords_announce(s);
	struct buf out = {0};
	uint32_t *modified = NULL;
	size_t nmod = 0;
	char num[96];
	for (size_t i = 0; i < c->req.n; i++) {
		const struct store_flag_result *r = &c->req.res[i];
		uint32_t seq = imap_view_seq(s, r->uid);
		if (r->status < 0 || seq == 0)
			continue;
		if (r->status == 2) {
			if (!modified)
				modified = malloc(c->req.n * sizeof *modified);
			if (modified)
				modified[nmod++] = cmd->uid ? r->uid : seq;
			continue;
		}
		if (r->status == 1) {
			struct notify_event ev = {.mailbox_id = s->sel.mailbox_id,
			                          .kind = NOTIFY_FLAGS,
			                          .uid = r->uid,
			                          .modseq = r->modseq,
			                          .origin = s->sid,
			                          .account_id = s->account_id};
			imap_view_flags_changed(s, r->uid, r->modseq);
			notify_publish(&ev);
		}
		bool report = !c->silent || (r->status == 1 && c->req.unchangedsince >= 0);
		if (!report)
			continue;
		if (s->enabled & IMAP_EXT_UIDONLY) /* RFC 9586 §3.3 */
			snprintf(num, sizeof num, "* %u UIDFETCH (", r->uid);
		else
			snprintf(num, sizeof num, "* %u FETCH (", seq);
		buf_adds(&out, num);
		if (cmd->uid && !(s->enabled & IMAP_EXT_UIDONLY)) {
			snprintf(num, sizeof num, "UID %u ", r->uid);
			buf_adds(&out, num);
		}
		if (!c->silent) {
			buf_adds(&out, "FLAGS ");
			imap_format_flags(&out, imap_output_flags(s, r->uid, r->flags),
			                  r->keywords);
			if (condstore)
				buf_addc(&out, ' ');
		}
		if (condstore) {
			snprintf(num, sizeof num, "MODSEQ (%lld)", (long long)r->modseq);
			buf_adds(&out, num);
		}
		if (out.len && out.data[out.len - 1] == ' ')
			out.len--;
		buf_adds(&out, ")\r\n");
		if (out.len > 32768) {
			imap_write(s, out.data, out.len);
			buf_reset(&out);
		}
	}
	if (out.len)
		imap_write(s, out.data, out.len);
	buf_free(&out);
	if (nmod) {
		char *set = imap_seqset_format(&cmd->arena, modified, nmod);
		char *code = imap_arena_printf(&cmd->arena, "MODIFIED %s", set);
		imap_tagged(s, cmd, "OK", code, "Conditional STORE failed for some messages");
	} else {
		imap_tagged(s, cmd, "OK", imap_expunge_issued(s), "%sSTORE completed",
		            cmd->uid ? "UID " : "");
	}
	free(modified);
	return IMAP_DONE;
}
