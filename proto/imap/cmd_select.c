/* cmd_select: entering and leaving the selected state: SELECT, EXAMINE
 * (RFC 9051 §6.3.2, §6.3.3; CONDSTORE and QRESYNC parameters, RFC 7162),
 * CLOSE, UNSELECT (RFC 3691), CHECK, and UNAUTHENTICATE (RFC 8437), which
 * leaves the authenticated state altogether.
 *
 * SELECT reads the mailbox's index (UIDs, flags, keywords) from the loop's
 * read connection into the session's view (s->sel), after subscribing to
 * its notifications, so that nothing committed in between is lost.
 *
 * CLOSE expunges \Deleted messages silently (no untagged EXPUNGE: the
 * client is leaving the mailbox) unless it was opened with EXAMINE; the
 * expunge itself is cmd_expunge.c's (imap_expunge_deleted), this file only
 * leaves the selected state once it committed. */
#include "proto/imap/imap_int.h"

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

struct select_scan {
	struct imap_session *s;
	uint32_t first_unseen; /* seq */
	int64_t changedsince;  /* QRESYNC: report entries with modseq > this */
	uint32_t *changed;
	size_t nchanged, capchanged;
	bool oom;
};

static int select_entry(void *ud, const struct store_entry *e)
{
	struct select_scan *sc = ud;
	struct imap_selected *sel = &sc->s->sel;
	if (sel->count == sel->cap) {
		uint32_t cap = sel->cap ? sel->cap * 2 : 256;
		uint32_t *u = realloc(sel->uids, cap * sizeof *u);
		if (!u) {
			sc->oom = true;
			return -ENOMEM;
		}
		sel->uids = u;
		sel->cap = cap;
	}
	sel->uids[sel->count++] = e->uid;
	if (!(e->flags & STORE_FLAG_SEEN) && !sc->first_unseen)
		sc->first_unseen = sel->count;
	if (e->keywords && *e->keywords) {
		const char *p = e->keywords;
		while (*p) {
			const char *q = strchr(p, ' ');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			if (n)
				imap_view_keyword_seen(sc->s, p, n);
			p += n;
			while (*p == ' ')
				p++;
		}
	}
	if (sc->changedsince >= 0 && e->modseq > sc->changedsince) {
		if (sc->nchanged == sc->capchanged) {
			size_t cap = sc->capchanged ? sc->capchanged * 2 : 64;
			uint32_t *u = realloc(sc->changed, cap * sizeof *u);
			if (!u) {
				sc->oom = true;
				return -ENOMEM;
			}
			sc->changed = u;
			sc->capchanged = cap;
		}
		sc->changed[sc->nchanged++] = e->uid;
	}
	return 0;
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
	/* NOTIFY stays: it "lasts until the next NOTIFY command or until the
	 * IMAP connection is closed" (RFC 5465 §3), and SELECTED follows
	 * whatever mailbox is selected */
	if (was_selected)
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");

	int64_t id;
	struct store_mailbox mb;
	int rc = store_mailbox_find(imap_reader(s), s->account_id, name, &id);
	if (rc == 1)
		rc = store_mailbox_get(imap_reader(s), id, &mb);
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
	s->sel.uidvalidity = mb.uidvalidity;
	s->sel.uidnext = mb.uidnext;
	s->sel.highestmodseq = mb.highestmodseq;
	s->sel.readonly = examine;
	imap_pending_clear(s);

	bool do_qresync = qresync && q_uidvalidity == mb.uidvalidity;
	struct select_scan sc = {.s = s, .changedsince = do_qresync ? (int64_t)q_modseq : -1};
	/* Subscribe before reading so nothing committed in between is lost:
	 * an event for a UID the scan already saw is ignored. */
	s->state = IMAP_SELECTED;
	if (imap_updates_subscribe(s) != 0 ||
	    store_entries_list_flags(imap_reader(s), id, select_entry, &sc) < 0 || !s->sel.name) {
		free(sc.changed);
		unselect(s);
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	s->state = IMAP_AUTH;
	imap_enter_state(s, IMAP_SELECTED);
	/* Events that raced the scan for UIDs it saw are already in the view. */
	s->pending.keywords_changed = false;

	imap_recent_select(s);
	imap_write_flags_responses(s);
	imap_untagged(s, "%u EXISTS", s->sel.count);
	if (!(s->enabled & IMAP_EXT_REV2)) {
		imap_untagged(s, "%u RECENT", imap_recent_count(s));
		if (sc.first_unseen && !(s->enabled & IMAP_EXT_UIDONLY))
			imap_untagged(s, "OK [UNSEEN %u] First unseen", sc.first_unseen);
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
		char kw[2048];
		for (size_t i = 0; i < sc.nchanged; i++) {
			uint32_t flags;
			int64_t modseq;
			uint32_t uid = sc.changed[i];
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
	}
	free(sc.changed);
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
