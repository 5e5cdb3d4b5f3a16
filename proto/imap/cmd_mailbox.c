/* cmd_mailbox: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, LIST (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154
 * SPECIAL-USE, RFC 3348 CHILDREN), LSUB and STATUS.
 *
 * Names. Inside tern a mailbox name is UTF-8 with '/' between levels and
 * "INBOX" in upper case; on the wire it is modified UTF-7 unless the client
 * enabled UTF8=ACCEPT. Every name the client sends goes through
 * imap_mailbox_name_decode() and every name we send through
 * imap_write_mailbox(), so the two spellings never mix.
 *
 * Reads (LIST, STATUS, SELECT) use the loop's read connection directly:
 * they touch one account's mailboxes, or one mailbox's index. Changes
 * (CREATE, DELETE, RENAME, SUBSCRIBE) are store jobs: the command goes
 * ASYNC and answers from the completion, after COMMIT.
 *
 * Special-use attributes (\Sent, \Drafts, ...) are shown in every LIST and
 * LSUB response, not only with RETURN (SPECIAL-USE): Thunderbird reads
 * them from LSUB, and RFC 6154 allows it.
 */
#include "proto/imap/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mutf7.h"
#include "proto/imap/imap.h"
#include "store/notify.h"
#include "store/mailboxes.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/entries.h"

/* Decode argument i as a mailbox name into buf. Writes BAD/NO itself and
 * returns false on failure. */
static bool arg_mailbox(struct imap_session *s, struct imap_cmd *cmd, size_t i, char *buf,
                        size_t cap, bool strip)
{
	const char *name;
	size_t len;
	if (i >= cmd->nargs || !imap_arg_astring(&cmd->args[i], &name, &len)) {
		imap_tagged(s, cmd, "BAD", NULL, "Mailbox name expected");
		return false;
	}
	ssize_t n = imap_mailbox_name_decode(s, name, len, buf, cap, strip);
	if (n < 0) {
		imap_tagged(s, cmd, "NO", "CANNOT", "Invalid mailbox name");
		return false;
	}
	return true;
}

/* ---- SELECT / EXAMINE ---- */

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

/* QRESYNC's known-uids as parsed (any order, '*' as the largest UID). */
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
				if (q->nlist < 2 || !imap_arg_u32(&q->list[0], &q_uidvalidity) ||
				    q_uidvalidity == 0 || !imap_arg_u64(&q->list[1], &q_modseq) ||
				    q_modseq == 0 ||
				    (q->nlist >= 3 &&
				     (q->list[2].type != IMAP_ARG_ATOM ||
				      imap_seqset_parse(q->list[2].str, q->list[2].len, &known,
				                        &cmd->arena) < 0))) {
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
	if (!arg_mailbox(s, cmd, 0, name, sizeof name, false))
		return IMAP_DONE;

	bool was_selected = s->state == IMAP_SELECTED;
	imap_unselect(s);
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
		imap_unselect(s);
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
		if (sc.first_unseen)
			imap_untagged(s, "OK [UNSEEN %u] First unseen", sc.first_unseen);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", s->sel.uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", s->sel.uidnext);
	imap_untagged(s, "OK [HIGHESTMODSEQ %lld] Highest", (long long)s->sel.highestmodseq);
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
			struct imap_arena a = {0};
			imap_untagged(s, "VANISHED (EARLIER) %s", imap_seqset_format(&a, gone, told));
			imap_arena_reset(&a);
		}
		free(gone);
		char kw[2048];
		for (size_t i = 0; i < sc.nchanged; i++) {
			uint32_t flags;
			int64_t modseq;
			uint32_t uid = sc.changed[i];
			if (store_entry_flags(imap_reader(s), id, uid, &flags, &modseq, kw, sizeof kw) !=
			    1)
				continue;
			imap_printf(s, "* %u FETCH (UID %u FLAGS ", imap_view_seq(s, uid), uid);
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

/* ---- CREATE / DELETE / RENAME / SUBSCRIBE: store jobs ---- */

/* job first: the store job gets this struct as its store_mailbox_req */
struct mbox_cmd {
	struct store_mailbox_req job;
	struct imap_session *s;
	int status;
};

static void mbox_done(void *arg, int status)
{
	struct mbox_cmd *mc = arg;
	mc->status = status;
	imap_cmd_wake(mc->s);
}

static void mbox_ctx_free(struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (mc) {
		free(mc->job.uids);
		mc->job.uids = NULL;
	}
}

static enum imap_cmd_result submit(struct imap_session *s, struct imap_cmd *cmd,
                                   struct mbox_cmd *mc, store_job_fn fn)
{
	mc->s = s;
	mc->job.account_id = s->account_id;
	cmd->ctx = mc;
	cmd->ctx_free = mbox_ctx_free;
	if (store_submit(imap_store(s), fn, mbox_done, mc) != 0) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	cmd->step = 1;
	return IMAP_ASYNC;
}

static void tagged_store_error(struct imap_session *s, struct imap_cmd *cmd, int status)
{
	switch (status) {
	case -ENOENT:
		imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
		break;
	case -EEXIST:
		imap_tagged(s, cmd, "NO", "ALREADYEXISTS", "Mailbox already exists");
		break;
	case -EPERM:
		imap_tagged(s, cmd, "NO", "CANNOT", "INBOX cannot be deleted");
		break;
	case -ENOTEMPTY:
		/* RFC 9051 7.1: the code for a server that keeps children. */
		imap_tagged(s, cmd, "NO", "HASCHILDREN", "Mailbox has children, delete them first");
		break;
	case -EINVAL:
		imap_tagged(s, cmd, "NO", "CANNOT", "Invalid mailbox name");
		break;
	case -ENOSPC:
		imap_tagged(s, cmd, "NO", "OVERQUOTA", "Disk full");
		break;
	default:
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		break;
	}
}

enum imap_cmd_result imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0)
			tagged_store_error(s, cmd, mc->status);
		else
			imap_tagged(s, cmd, "OK", NULL, "CREATE completed");
		return IMAP_DONE;
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs < 1 || cmd->nargs > 2) { /* a CREATE-SPECIAL-USE list is ignored */
		imap_tagged(s, cmd, "BAD", NULL, "Usage: CREATE mailbox");
		return IMAP_DONE;
	}
	if (!arg_mailbox(s, cmd, 0, name, sizeof name, true))
		return IMAP_DONE;
	if (strcmp(name, "INBOX") == 0) {
		imap_tagged(s, cmd, "NO", "ALREADYEXISTS", "INBOX always exists");
		return IMAP_DONE;
	}
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, name, strlen(name));
	return submit(s, cmd, mc, store_mailbox_create_job);
}

enum imap_cmd_result imap_cmd_delete(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0) {
			tagged_store_error(s, cmd, mc->status);
		} else {
			imap_recent_forget(mc->job.mailbox_id);
			imap_tagged(s, cmd, "OK", NULL, "DELETE completed");
		}
		return IMAP_DONE;
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 1) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: DELETE mailbox");
		return IMAP_DONE;
	}
	if (!arg_mailbox(s, cmd, 0, name, sizeof name, true))
		return IMAP_DONE;
	if (s->state == IMAP_SELECTED && strcmp(name, s->sel.name) == 0) {
		imap_tagged(s, cmd, "NO", "INUSE", "Mailbox is selected; CLOSE it first");
		return IMAP_DONE;
	}
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, name, strlen(name));
	return submit(s, cmd, mc, store_mailbox_delete_job);
}

enum imap_cmd_result imap_cmd_rename(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0) {
			tagged_store_error(s, cmd, mc->status);
			return IMAP_DONE;
		}
		/* INBOX's messages moved out: tell everyone watching INBOX */
		for (size_t i = 0; i < mc->job.nuids; i++) {
			struct notify_event ev = {.mailbox_id = 0, .kind = NOTIFY_EXPUNGE};
			int64_t inbox;
			if (store_mailbox_find(imap_reader(s), s->account_id, "INBOX", &inbox) != 1)
				break;
			ev.mailbox_id = inbox;
			ev.uid = mc->job.uids[i];
			ev.modseq = mc->job.modseq;
			notify_publish(&ev);
		}
		if (s->state == IMAP_SELECTED && !mc->job.nuids &&
		    s->sel.mailbox_id == mc->job.mailbox_id) {
			free(s->sel.name);
			s->sel.name = strdup(mc->job.newname);
		}
		imap_tagged(s, cmd, "OK", NULL, "RENAME completed");
		return IMAP_DONE;
	}
	char from[IMAP_MAILBOX_NAME_MAX + 1], to[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 2) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: RENAME from to");
		return IMAP_DONE;
	}
	if (!arg_mailbox(s, cmd, 0, from, sizeof from, true) ||
	    !arg_mailbox(s, cmd, 1, to, sizeof to, true))
		return IMAP_DONE;
	if (strcmp(to, "INBOX") == 0) {
		imap_tagged(s, cmd, "NO", "ALREADYEXISTS", "INBOX always exists");
		return IMAP_DONE;
	}
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, from, strlen(from));
	mc->job.newname = imap_arena_strndup(&cmd->arena, to, strlen(to));
	return submit(s, cmd, mc, store_mailbox_rename_job);
}

enum imap_cmd_result imap_cmd_subscribe(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0)
			tagged_store_error(s, cmd, mc->status);
		else
			imap_tagged(s, cmd, "OK", NULL, "%s completed", cmd->name);
		return IMAP_DONE;
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 1) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: %s mailbox", cmd->name);
		return IMAP_DONE;
	}
	if (!arg_mailbox(s, cmd, 0, name, sizeof name, true))
		return IMAP_DONE;
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, name, strlen(name));
	mc->job.subscribe = strcmp(cmd->name, "SUBSCRIBE") == 0;
	return submit(s, cmd, mc, store_mailbox_subscribe_job);
}

/* ---- STATUS ---- */

#define ST_MESSAGES 0x001u
#define ST_UIDNEXT 0x002u
#define ST_UIDVALIDITY 0x004u
#define ST_UNSEEN 0x008u
#define ST_DELETED 0x010u
#define ST_SIZE 0x020u
#define ST_HIGHESTMODSEQ 0x040u
#define ST_RECENT 0x080u
#define ST_APPENDLIMIT 0x100u

static int status_items(const struct imap_arg *l, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} items[] = {{"MESSAGES", ST_MESSAGES},
	             {"UIDNEXT", ST_UIDNEXT},
	             {"UIDVALIDITY", ST_UIDVALIDITY},
	             {"UNSEEN", ST_UNSEEN},
	             {"DELETED", ST_DELETED},
	             {"SIZE", ST_SIZE},
	             {"HIGHESTMODSEQ", ST_HIGHESTMODSEQ},
	             {"RECENT", ST_RECENT},
	             {"APPENDLIMIT", ST_APPENDLIMIT}};
	if (l->type != IMAP_ARG_LIST || l->nlist == 0)
		return -EINVAL;
	*out = 0;
	for (size_t i = 0; i < l->nlist; i++) {
		size_t k;
		for (k = 0; k < sizeof items / sizeof items[0]; k++)
			if (imap_arg_is_atom(&l->list[i], items[k].name))
				break;
		if (k == sizeof items / sizeof items[0])
			return -EINVAL;
		*out |= items[k].bit;
	}
	return 0;
}

/* "* STATUS name (...)". Returns 0 or negative (nothing written). */
static int write_status(struct imap_session *s, const char *name, int64_t id, unsigned items)
{
	struct store_mailbox mb;
	struct store_mailbox_counts st = {0};
	int rc = store_mailbox_get(imap_reader(s), id, &mb);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((items & (ST_MESSAGES | ST_UNSEEN | ST_DELETED | ST_SIZE)) &&
	    (rc = store_mailbox_counts(imap_reader(s), id, &st)) < 0)
		return rc;
	if (items & ST_HIGHESTMODSEQ)
		imap_condstore_enable(s);
	char buf[512];
	size_t w = 0;
#define ADD(...) w += (size_t)snprintf(buf + w, sizeof buf - w, __VA_ARGS__)
	if (items & ST_MESSAGES)
		ADD(" MESSAGES %u", st.messages);
	if (items & ST_RECENT)
		ADD(" RECENT %lld", (long long)imap_recent_status(s, id));
	if (items & ST_UIDNEXT)
		ADD(" UIDNEXT %u", mb.uidnext);
	if (items & ST_UIDVALIDITY)
		ADD(" UIDVALIDITY %u", mb.uidvalidity);
	if (items & ST_UNSEEN)
		ADD(" UNSEEN %u", st.unseen);
	if (items & ST_DELETED)
		ADD(" DELETED %u", st.deleted);
	if (items & ST_SIZE)
		ADD(" SIZE %llu", (unsigned long long)st.size);
	if (items & ST_HIGHESTMODSEQ)
		ADD(" HIGHESTMODSEQ %lld", (long long)mb.highestmodseq);
	if (items & ST_APPENDLIMIT)
		ADD(" APPENDLIMIT %lld", (long long)s->cfg->max_literal);
#undef ADD
	imap_write(s, "* STATUS ", 9);
	imap_write_mailbox(s, name);
	imap_printf(s, " (%s)\r\n", w ? buf + 1 : "");
	return 0;
}

enum imap_cmd_result imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	unsigned items;
	if (cmd->nargs != 2 || status_items(&cmd->args[1], &items) < 0) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: STATUS mailbox (items)");
		return IMAP_DONE;
	}
	if (!arg_mailbox(s, cmd, 0, name, sizeof name, false))
		return IMAP_DONE;
	int64_t id;
	int rc = store_mailbox_find(imap_reader(s), s->account_id, name, &id);
	if (rc == 1)
		rc = write_status(s, name, id, items);
	else if (rc == 0)
		rc = -ENOENT;
	if (rc == -ENOENT)
		imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
	else if (rc < 0)
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
	else
		imap_tagged(s, cmd, "OK", NULL, "STATUS completed");
	return IMAP_DONE;
}

/* ---- LIST / LSUB ---- */

struct mbox_info {
	char *name;
	char special[16];
	int64_t id;
	bool subscribed, children, subscribed_child;
};

struct mbox_vec {
	struct mbox_info *v;
	size_t n, cap;
};

static int collect_mbox(void *ud, const struct store_mailbox *mb)
{
	struct mbox_vec *mv = ud;
	if (mv->n == mv->cap) {
		size_t cap = mv->cap ? mv->cap * 2 : 16;
		struct mbox_info *v = realloc(mv->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		mv->v = v;
		mv->cap = cap;
	}
	struct mbox_info *m = &mv->v[mv->n];
	memset(m, 0, sizeof *m);
	m->name = strdup(mb->name);
	if (!m->name)
		return -ENOMEM;
	snprintf(m->special, sizeof m->special, "%s", mb->special_use ? mb->special_use : "");
	m->id = mb->id;
	m->subscribed = mb->subscribed;
	mv->n++;
	return 0;
}

static int cmp_mbox(const void *a, const void *b)
{
	const struct mbox_info *x = a, *y = b;
	/* INBOX first, then by name */
	bool xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;
	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Wildcard match: '*' anything, '%' anything but '/'. O(|p| * |n|). */
static bool match(const char *pat, const char *name)
{
	size_t nl = strlen(name);
	bool stack_row[257];
	bool *row = nl < 256 ? stack_row : malloc(nl + 1);
	if (!row)
		return false;
	/* row[j]: pattern prefix matches name prefix of length j */
	row[0] = true;
	for (size_t j = 1; j <= nl; j++)
		row[j] = false;
	for (const char *p = pat; *p; p++) {
		if (*p == '*' || *p == '%') {
			/* row[j] = OR over k <= j of row[k], and for '%' no '/' in name[k..j) */
			bool run = false;
			for (size_t j = 0; j <= nl; j++) {
				if (*p == '%' && j > 0 && name[j - 1] == '/')
					run = false;
				run = run || row[j];
				row[j] = run;
			}
		} else {
			for (size_t j = nl; j > 0; j--)
				row[j] = row[j - 1] && name[j - 1] == *p;
			row[0] = false;
		}
	}
	bool r = row[nl];
	if (row != stack_row)
		free(row);
	return r;
}

struct list_opts {
	bool lsub;
	bool sel_subscribed, sel_special, sel_recursive;
	bool ret_subscribed, ret_children, ret_special;
	unsigned status_items;
	bool status;
};

static void write_list_line(struct imap_session *s, const struct list_opts *o,
                            const struct mbox_info *m, bool childinfo, bool nonexistent)
{
	char attrs[128] = "";
	size_t w = 0;
#define ATTR(x) w += (size_t)snprintf(attrs + w, sizeof attrs - w, "%s%s", w ? " " : "", x)
	if (nonexistent)
		ATTR(o->lsub ? "\\Noselect" : "\\NonExistent");
	ATTR(m->children ? "\\HasChildren" : "\\HasNoChildren");
	if (m->subscribed && !nonexistent && (o->ret_subscribed || o->sel_subscribed) && !o->lsub)
		ATTR("\\Subscribed");
	if (m->special[0])
		ATTR(m->special);
#undef ATTR
	imap_printf(s, "* %s (%s) \"/\" ", o->lsub ? "LSUB" : "LIST", attrs);
	imap_write_mailbox(s, m->name);
	if (childinfo)
		imap_write(s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))", 30);
	imap_write(s, "\r\n", 2);
	if (o->status && !nonexistent)
		write_status(s, m->name, m->id, o->status_items);
}

/* A subscribed mailbox under m that no pattern matches itself. */
static bool has_unmatched_subscribed_child(const struct mbox_vec *mv, const struct mbox_info *m,
                                           char *const *full, size_t npats)
{
	size_t ml = strlen(m->name);
	for (size_t b = 0; b < mv->n; b++) {
		const struct mbox_info *c = &mv->v[b];
		if (!c->subscribed || strncmp(c->name, m->name, ml) != 0 || c->name[ml] != '/')
			continue;
		bool matched = false;
		for (size_t k = 0; k < npats && !matched; k++)
			matched = full[k] && match(full[k], c->name);
		if (!matched)
			return true;
	}
	return false;
}

/* Upper-case a leading "inbox" so INBOX matches case-insensitively. */
static void fold_inbox(char *p)
{
	if (strncasecmp(p, "INBOX", 5) == 0 &&
	    (p[5] == '\0' || p[5] == '/' || p[5] == '*' || p[5] == '%'))
		memcpy(p, "INBOX", 5);
}

enum imap_cmd_result imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd)
{
	struct list_opts o = {0};
	o.lsub = strcmp(cmd->name, "LSUB") == 0;
	size_t i = 0;
	bool extended = false;
	/* selection options */
	if (!o.lsub && cmd->nargs > 0 && cmd->args[0].type == IMAP_ARG_LIST) {
		extended = true;
		const struct imap_arg *l = &cmd->args[0];
		for (size_t k = 0; k < l->nlist; k++) {
			if (imap_arg_is_atom(&l->list[k], "SUBSCRIBED"))
				o.sel_subscribed = true;
			else if (imap_arg_is_atom(&l->list[k], "SPECIAL-USE"))
				o.sel_special = true;
			else if (imap_arg_is_atom(&l->list[k], "RECURSIVEMATCH"))
				o.sel_recursive = true;
			else if (imap_arg_is_atom(&l->list[k], "REMOTE"))
				;
			else {
				imap_tagged(s, cmd, "BAD", NULL, "Unknown LIST selection option");
				return IMAP_DONE;
			}
		}
		if (o.sel_recursive && !o.sel_subscribed) {
			imap_tagged(s, cmd, "BAD", NULL, "RECURSIVEMATCH needs another option");
			return IMAP_DONE;
		}
		i = 1;
	}
	const char *ref;
	size_t reflen;
	if (cmd->nargs < i + 2 || !imap_arg_astring(&cmd->args[i], &ref, &reflen)) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: %s reference mailbox", cmd->name);
		return IMAP_DONE;
	}
	const struct imap_arg *pats = &cmd->args[i + 1];
	size_t npats = 1;
	if (pats->type == IMAP_ARG_LIST && !o.lsub) {
		extended = true;
		npats = pats->nlist;
		pats = pats->list;
		if (npats == 0) {
			imap_tagged(s, cmd, "BAD", NULL, "Empty pattern list");
			return IMAP_DONE;
		}
	}
	/* return options */
	size_t rest = i + 2;
	if (!o.lsub && cmd->nargs == rest + 2 && imap_arg_is_atom(&cmd->args[rest], "RETURN") &&
	    cmd->args[rest + 1].type == IMAP_ARG_LIST) {
		const struct imap_arg *l = &cmd->args[rest + 1];
		for (size_t k = 0; k < l->nlist; k++) {
			if (imap_arg_is_atom(&l->list[k], "SUBSCRIBED"))
				o.ret_subscribed = true;
			else if (imap_arg_is_atom(&l->list[k], "CHILDREN"))
				o.ret_children = true;
			else if (imap_arg_is_atom(&l->list[k], "SPECIAL-USE"))
				o.ret_special = true;
			else if (imap_arg_is_atom(&l->list[k], "STATUS") && k + 1 < l->nlist &&
			         status_items(&l->list[k + 1], &o.status_items) == 0) {
				o.status = true;
				k++;
			} else {
				imap_tagged(s, cmd, "BAD", NULL, "Unknown LIST return option");
				return IMAP_DONE;
			}
		}
	} else if (cmd->nargs != rest) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: %s reference mailbox", cmd->name);
		return IMAP_DONE;
	}
	(void)extended;

	/* decode the reference and patterns */
	char refbuf[IMAP_MAILBOX_NAME_MAX + 1] = "";
	if (reflen) {
		ssize_t n = imap_mailbox_name_decode(s, ref, reflen, refbuf, sizeof refbuf, false);
		if (n < 0 && !(n == -EINVAL && ref[reflen - 1] == '/')) {
			imap_tagged(s, cmd, "NO", "CANNOT", "Invalid reference");
			return IMAP_DONE;
		}
		if (n < 0) { /* "a/" as a reference: decode without the slash */
			n = imap_mailbox_name_decode(s, ref, reflen, refbuf, sizeof refbuf, true);
			if (n < 0) {
				imap_tagged(s, cmd, "NO", "CANNOT", "Invalid reference");
				return IMAP_DONE;
			}
			strcat(refbuf, "/");
		}
	}
	char **full = imap_arena_alloc(&cmd->arena, npats * sizeof *full);
	bool any = false;
	for (size_t k = 0; k < npats; k++) {
		const char *p;
		size_t pl;
		if (!imap_arg_astring(&pats[k], &p, &pl)) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid pattern");
			return IMAP_DONE;
		}
		if (pl == 0) {
			full[k] = NULL; /* "": the hierarchy delimiter query */
			continue;
		}
		char dec[IMAP_MAILBOX_NAME_MAX * 2 + 2];
		ssize_t n;
		if (s->enabled & IMAP_EXT_UTF8)
			n = pl < sizeof dec ? (memcpy(dec, p, pl), dec[pl] = 0, (ssize_t)pl) : -1;
		else
			n = mutf7_decode(p, pl, dec, sizeof dec);
		if (n < 0) {
			full[k] = imap_arena_strndup(&cmd->arena, "", 0); /* matches nothing */
			full[k][0] = '\x01';
			continue;
		}
		/* patterns starting with '/' are not relative to the reference */
		full[k] = imap_arena_printf(&cmd->arena, "%s%s", dec[0] == '/' ? "" : refbuf, dec);
		fold_inbox(full[k]);
		any = true;
	}

	for (size_t k = 0; k < npats; k++) {
		if (full[k] == NULL)
			imap_printf(s, "* %s (\\Noselect) \"/\" \"\"\r\n",
			            o.lsub ? "LSUB" : "LIST");
	}
	if (!any) {
		imap_tagged(s, cmd, "OK", NULL, "%s completed", cmd->name);
		return IMAP_DONE;
	}

	struct mbox_vec mv = {0};
	int rc = store_mailbox_list(imap_reader(s), s->account_id, collect_mbox, &mv);
	if (rc < 0) {
		for (size_t k = 0; k < mv.n; k++)
			free(mv.v[k].name);
		free(mv.v);
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	qsort(mv.v, mv.n, sizeof *mv.v, cmp_mbox);
	for (size_t a = 0; a < mv.n; a++) {
		size_t al = strlen(mv.v[a].name);
		for (size_t b = 0; b < mv.n; b++) {
			if (strncmp(mv.v[b].name, mv.v[a].name, al) == 0 &&
			    mv.v[b].name[al] == '/') {
				mv.v[a].children = true;
				if (mv.v[b].subscribed)
					mv.v[a].subscribed_child = true;
			}
		}
	}
	bool subscribed_only = o.lsub || o.sel_subscribed;
	for (size_t a = 0; a < mv.n; a++) {
		struct mbox_info *m = &mv.v[a];
		bool matched = false;
		for (size_t k = 0; k < npats && !matched; k++)
			matched = full[k] && match(full[k], m->name);
		if (!matched)
			continue;
		if (o.sel_special && !m->special[0])
			continue;
		if (subscribed_only && !m->subscribed) {
			if (o.sel_recursive && m->subscribed_child)
				write_list_line(s, &o, m, true, false);
			else if (o.lsub && m->subscribed_child &&
			         has_unmatched_subscribed_child(&mv, m, full, npats))
				/* RFC 3501 6.3.9: "foo/bar" is subscribed, "foo" is
				 * not, and "%" stops at foo: LSUB returns foo with
				 * \Noselect. */
				write_list_line(s, &o, m, false, true);
			continue;
		}
		write_list_line(s, &o, m, o.sel_recursive && m->subscribed_child, false);
	}
	for (size_t k = 0; k < mv.n; k++)
		free(mv.v[k].name);
	free(mv.v);
	imap_tagged(s, cmd, "OK", NULL, "%s completed", cmd->name);
	return IMAP_DONE;
}
