/* cmd_select: entering and leaving the selected state: SELECT, EXAMINE
 * (RFC 9051 §6.3.2, §6.3.3; CONDSTORE and QRESYNC parameters, RFC 7162),
 * CLOSE, UNSELECT (RFC 3691), CHECK, and UNAUTHENTICATE (RFC 8437), which
 * leaves the authenticated state altogether.
 *
 * SELECT reads the mailbox's index (UIDs, first unseen, keywords in use)
 * from the loop's cache of it (view_cache.c, brought up to date from the
 * store) into the session's view (s->sel), after subscribing to its
 * notifications, so that nothing committed in between is lost.
 *
 * CLOSE expunges \Deleted messages silently (no untagged EXPUNGE: the
 * client is leaving the mailbox) unless it was opened with EXAMINE; the
 * expunge itself is cmd_expunge.c's (imap_expunge_deleted), this file only
 * leaves the selected state once it committed. */
#include "proto/imap/imap_int.h"
#include "proto/imap/view_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"

/* Leave the selected state (no responses). */
static void unselect(struct imap_session *s)
{
	if (s->state != IMAP_SELECTED)
		return;
	imap_updates_unsubscribe(s);
	imap_pending_clear(s);
	free(s->sel.uids);
	free(s->sel.name);
	free(s->sel.keywords);
	free(s->sel.recent_more);
	memset(&s->sel, 0, sizeof s->sel);
	/* $ (RFC 5182 §2.1) and update contexts (RFC 5267 §4.3) are of
	 * this mailbox only */
	imap_search_contexts_free(s);
	free(s->searchres);
	s->searchres = NULL;
	s->nsearchres = 0;
	imap_enter_state(s, IMAP_AUTH);
}

/* The UIDs of the entries changed since a MODSEQ (QRESYNC). */
struct changed {
	uint32_t *v;
	size_t n, cap;
};

static int changed_entry(void *ud, const struct store_entry *e)
{
	struct changed *c = ud;
	return imap_uids_push(&c->v, &c->n, &c->cap, e->uid) ? 0 : -ENOMEM;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void keywords_in_use(void *ud, const char *list)
{
	imap_view_keywords_seen(ud, list);
}

/* The view from the loop's index of the mailbox (view_cache.c), read
 * after subscribing so that nothing committed in between is lost (an
 * event for a UID the view has already is ignored). 1, 0 the mailbox is
 * gone, negative. */
static int read_view(struct imap_session *s, int64_t id, uint32_t *first_unseen)
{
	struct store_rd *rd = imap_reader(s);
	bool begun = store_read_begin(rd);
	struct store_mailbox mb;
	struct imap_view_cache *vc = NULL;
	int rc = store_mailbox_get(rd, id, &mb);
	if (rc == 1)
		rc = imap_view_cache_get(rd, id, mb.uidvalidity, mb.highestmodseq, &vc);
	store_read_end(rd, begun);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	s->sel.uidvalidity = mb.uidvalidity;
	s->sel.uidnext = mb.uidnext;
	s->sel.highestmodseq = mb.highestmodseq;
	size_t n;
	const uint32_t *uids = imap_view_cache_uids(vc, &n);
	/* room for mail that arrives while selected (updates.c grows it) */
	size_t cap = n + n / 8 + 256;
	if (cap > UINT32_MAX || !(s->sel.uids = malloc(cap * sizeof *uids)))
		return -ENOMEM;
	if (n)
		memcpy(s->sel.uids, uids, n * sizeof *uids);
	s->sel.count = (uint32_t)n;
	s->sel.cap = (uint32_t)cap;
	/* a UID that arrived after the mailbox row was read */
	if (n && uids[n - 1] >= s->sel.uidnext)
		s->sel.uidnext = uids[n - 1] + 1;
	*first_unseen = imap_view_cache_first_unseen(vc);
	imap_view_cache_keywords(vc, keywords_in_use, s);
	return 1;
}

/* QRESYNC's known-uids as parsed (any order; no '*', RFC 7162 §7). */
static bool in_known_uids(const struct imap_seqset *known, uint32_t uid)
{
	for (size_t i = 0; i < known->n; i++)
		if (uid >= known->r[i].lo && uid <= known->r[i].hi)
			return true;
	return false;
}

enum imap_cmd_result imap_cmd_select(struct imap_session *s, struct imap_cmd *cmd)
{
	const bool examine = strcmp(cmd->name, "EXAMINE") == 0;
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs < 1 || cmd->nargs > 2) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: %s mailbox [(parameters)]", cmd->name);
		return IMAP_DONE;
	}
	/* parameters: (CONDSTORE) / (QRESYNC (uidvalidity modseq [known-uids ...])) */
	bool condstore = false, qresync = false;
	uint32_t q_uidvalidity = 0;
	uint64_t q_modseq = 0;
	struct imap_seqset known = {0};
	bool have_known = false;
	if (cmd->nargs == 2) {
		const struct imap_arg *pl = &cmd->args[1];
		if (pl->type != IMAP_ARG_LIST) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid SELECT parameters");
			return IMAP_DONE;
		}
		for (size_t i = 0; i < pl->nlist; i++) {
			const struct imap_arg *a = &pl->list[i];
			if (imap_arg_is_atom(a, "CONDSTORE")) {
				condstore = true;
			} else if (imap_arg_is_atom(a, "QRESYNC") && i + 1 < pl->nlist &&
			           pl->list[i + 1].type == IMAP_ARG_LIST) {
				const struct imap_arg *q = &pl->list[++i];
				if (!(s->enabled & IMAP_EXT_QRESYNC)) {
					imap_tagged(s, cmd, "BAD", NULL, "QRESYNC is not enabled");
					return IMAP_DONE;
				}
				if ((s->enabled & IMAP_EXT_UIDONLY) &&
				    (q->nlist >= 4 ||
				     (q->nlist == 3 && q->list[2].type == IMAP_ARG_LIST))) {
					/* RFC 9586 §3.7: no sequence match data */
					imap_tagged(s, cmd, "BAD", "UIDREQUIRED",
					            "Message numbers are not allowed once UIDONLY "
					            "is enabled");
					return IMAP_DONE;
				}
				if (q->nlist < 2 || !imap_arg_u32(&q->list[0], &q_uidvalidity) ||
				    q_uidvalidity == 0 || !imap_arg_u64(&q->list[1], &q_modseq) ||
				    q_modseq == 0 ||
				    (q->nlist >= 3 &&
				     (q->list[2].type != IMAP_ARG_ATOM ||
				      imap_seqset_parse(q->list[2].str, q->list[2].len, &known,
				                        &cmd->arena) < 0 ||
				      known.dollar || imap_seqset_has_star(&known)))) {
					imap_tagged(s, cmd, "BAD", NULL,
					            "Invalid QRESYNC parameters");
					return IMAP_DONE;
				}
				have_known = q->nlist >= 3;
				qresync = true;
			} else {
				imap_tagged(s, cmd, "BAD", NULL, "Unknown SELECT parameter");
				return IMAP_DONE;
			}
		}
	}
	if (!imap_arg_mailbox(s, cmd, 0, name, sizeof name, false))
		return IMAP_DONE;

	bool was_selected = s->state == IMAP_SELECTED;
	unselect(s);
	imap_notify_end(s);
	if (was_selected)
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");

	int64_t id;
	int rc = store_mailbox_find(imap_reader(s), s->account_id, name, &id);
	if (rc <= 0) {
		if (rc < 0)
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		else
			imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
		return IMAP_DONE;
	}
	if (condstore)
		imap_condstore_enable(s);

	memset(&s->sel, 0, sizeof s->sel);
	s->sel.mailbox_id = id;
	s->sel.name = strdup(name);
	s->sel.readonly = examine;
	imap_pending_clear(s);

	/* Subscribe before reading so nothing committed in between is lost. */
	uint32_t first_unseen = 0;
	s->state = IMAP_SELECTED;
	rc = !s->sel.name ? -ENOMEM : imap_updates_subscribe(s);
	if (rc == 0)
		rc = read_view(s, id, &first_unseen);
	if (rc <= 0) {
		unselect(s);
		if (rc < 0)
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		else
			imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
		return IMAP_DONE;
	}
	s->state = IMAP_AUTH;
	imap_enter_state(s, IMAP_SELECTED);
	/* Events that raced the read for UIDs it saw are already in the view. */
	s->pending.keywords_changed = false;
	bool do_qresync = qresync && q_uidvalidity == s->sel.uidvalidity;

	imap_recent_select(s);
	imap_write_flags_responses(s);
	imap_untagged(s, "%u EXISTS", s->sel.count);
	if (!(s->enabled & IMAP_EXT_REV2)) {
		imap_untagged(s, "%u RECENT", imap_recent_count(s));
		if (first_unseen && !(s->enabled & IMAP_EXT_UIDONLY))
			imap_untagged(s, "OK [UNSEEN %u] First unseen", first_unseen);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", s->sel.uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", s->sel.uidnext);
	imap_untagged(s, "OK [HIGHESTMODSEQ %lld] Highest", (long long)s->sel.highestmodseq);
	imap_untagged(s, "OK [MAILBOXID (F%u)] Ok", s->sel.uidvalidity); /* objectid.h */
	if (s->enabled & IMAP_EXT_REV2) {
		imap_write(s, "* LIST () \"/\" ", 14);
		imap_write_mailbox(s, name);
		imap_write(s, "\r\n", 2);
	}
	if (do_qresync) {
		uint32_t *gone = NULL;
		size_t ngone = 0, told = 0;
		if (store_expunged_uids(imap_reader(s), id, (int64_t)q_modseq, 1, UINT32_MAX, &gone,
		                        &ngone) == 0) {
			for (size_t i = 0; i < ngone; i++)
				if (!have_known || in_known_uids(&known, gone[i]))
					gone[told++] = gone[i];
		}
		if (told) {
			struct arena a = {0};
			imap_untagged(s, "VANISHED (EARLIER) %s",
			              imap_seqset_format(&a, gone, told));
			arena_reset(&a);
		}
		free(gone);
		/* the messages of the view changed since, by UID */
		struct changed ch = {0};
		if (store_entries_changed_since(imap_reader(s), id, (int64_t)q_modseq,
		                                changed_entry, &ch) < 0)
			ch.n = 0;
		if (ch.n)
			qsort(ch.v, ch.n, sizeof *ch.v, cmp_u32);
		char kw[2048];
		for (size_t i = 0; i < ch.n; i++) {
			uint32_t flags;
			int64_t modseq;
			uint32_t uid = ch.v[i];
			if (!imap_view_seq(s, uid))
				continue; /* arrived after the view was read: EXISTS tells */
			if (store_entry_flags(imap_reader(s), id, uid, &flags, &modseq, kw,
			                      sizeof kw) != 1)
				continue;
			if (s->enabled & IMAP_EXT_UIDONLY)
				imap_printf(s, "* %u UIDFETCH (FLAGS ", uid);
			else
				imap_printf(s, "* %u FETCH (UID %u FLAGS ", imap_view_seq(s, uid),
				            uid);
			imap_write_flag_list(s, uid, flags, kw);
			imap_printf(s, " MODSEQ (%lld))\r\n", (long long)modseq);
		}
		free(ch.v);
	}
	imap_log(s, LOG_DEBUG, "event=select mailbox_id=%lld exists=%u readonly=%d", (long long)id,
	         s->sel.count, examine);
	imap_tagged(s, cmd, "OK", examine ? "READ-ONLY" : "READ-WRITE", "%s completed",
	            examine ? "EXAMINE" : "SELECT");
	return IMAP_DONE;
}

static void close_done(void *ud, int status)
{
	struct imap_session *s = ud;
	if (s->cur && s->cur->ctx)
		*(int *)s->cur->ctx = status;
	imap_cmd_wake(s);
}

enum imap_cmd_result imap_cmd_close(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->step == 0) {
		if (cmd->nargs) {
			imap_tagged(s, cmd, "BAD", NULL, "CLOSE takes no arguments");
			return IMAP_DONE;
		}
		if (!s->sel.readonly) {
			cmd->ctx = imap_arena_alloc(&cmd->arena, sizeof(int));
			if (imap_expunge_deleted(s, close_done, s) == 0) {
				cmd->step = 1;
				return IMAP_ASYNC;
			}
		}
	}
	unselect(s);
	imap_tagged(s, cmd, "OK", NULL, "CLOSE completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_unselect(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_tagged(s, cmd, "BAD", NULL, "UNSELECT takes no arguments");
		return IMAP_DONE;
	}
	unselect(s);
	imap_tagged(s, cmd, "OK", NULL, "UNSELECT completed");
	return IMAP_DONE;
}

/* UNAUTHENTICATE (RFC 8437): back to not authenticated, as if the
 * connection were new but for TLS (and ID, which is kept): the selected
 * mailbox is left without an expunge and its updates unsubscribed, the
 * ENABLEd extensions (CONDSTORE, QRESYNC, UTF8=ACCEPT, IMAP4rev2) end, $
 * is empty, the user is forgotten and the pre-login limits return. NO is
 * not allowed (§3). Under COMPRESS the RFC has both sides end the
 * compression layer right after the command and its OK; tern's filter
 * cannot be taken off a running stream, so it takes the way out §3
 * leaves: BYE, and the client reconnects. */
enum imap_cmd_result imap_cmd_unauthenticate(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_tagged(s, cmd, "BAD", NULL, "UNAUTHENTICATE takes no arguments");
		return IMAP_DONE;
	}
	if (s->compress) {
		imap_untagged(s, "BYE Cannot end COMPRESS on this connection, reconnect");
		imap_close(s);
		return IMAP_DONE;
	}
	unselect(s);
	imap_log(s, LOG_INFO, "event=unauthenticate");
	s->enabled = 0;
	free(s->searchres);
	s->searchres = NULL;
	s->nsearchres = 0;
	s->account_id = 0;
	s->address[0] = '\0';
	imap_tagged(s, cmd, "OK", NULL, "UNAUTHENTICATE completed");
	imap_enter_state(s, IMAP_NOT_AUTH);
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_check(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_tagged(s, cmd, "OK", NULL, "CHECK completed");
	return IMAP_DONE;
}
