/* maildrop: the session's two store jobs, \Seen and QUIT.
 *
 * \Seen: RETR marks a message seen for IMAP, as Dovecot does. Setting it is
 * a store job; rather than one job per RETR (a client downloading 10,000
 * messages would queue 10,000 jobs), uids are queued and at most one \Seen
 * job runs per session: whatever queued up while it ran goes in the next.
 * The flags are set whether or not the client ends with QUIT: the message
 * was read.
 *
 * QUIT: the UPDATE state is ONE job: the queued \Seen flags, then
 * store_entries_expunge() for every message marked with DELE (which also
 * records the UIDs in `expunged` for IMAP QRESYNC). The +OK is sent from
 * the completion, after COMMIT; on failure nothing was deleted and the
 * client hears -ERR [SYS/TEMP]. Then the deletions are published as
 * NOTIFY_EXPUNGE so IMAP sessions with INBOX selected see them.
 *
 * Jobs hold a reference on the session: if the conn closes while one runs,
 * the completion still finishes the store side (publishing events) and
 * touches no I/O.
 *
 * The snapshot these jobs work on (message numbers, UIDs, MODSEQs) is
 * taken at login by snapshot.c.
 */
#include "proto/pop3/pop3_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "store/notify.h"
#include "proto/common/env.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/entries.h"
#include "store/mailboxes.h"

/* ---- \Seen ---- */

struct seen_set {
	uint32_t *uids;
	int64_t *modseqs; /* in: MODSEQ at snapshot; out: after the update */
	bool *changed;
	size_t n;
};

static int seen_apply(struct store_tx *tx, int64_t mailbox_id, struct seen_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t flags;
		int64_t modseq;
		int rc = store_entries_update_flags(tx, mailbox_id, set->uids[i], STORE_FLAG_SEEN,
		                                    0, &flags, &modseq);
		if (rc == -ENOENT) {
			set->changed[i] = false; /* expunged meanwhile */
			continue;
		}
		if (rc < 0)
			return rc;
		set->changed[i] = modseq != set->modseqs[i];
		set->modseqs[i] = modseq;
	}
	return 0;
}

static void seen_publish(struct pop3_session *s, const struct seen_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		if (!set->changed[i])
			continue;
		struct notify_event ev = {
		    .mailbox_id = s->mailbox_id,
		    .account_id = s->account_id,
		    .kind = NOTIFY_FLAGS,
		    .uid = set->uids[i],
		    .modseq = set->modseqs[i],
		    .origin = s->sid,
		};
		notify_publish(&ev);
	}
}

/* Move the queued uids into set (the queue is left empty). */
static int seen_take(struct pop3_session *s, struct seen_set *set)
{
	memset(set, 0, sizeof *set);
	if (s->nseen == 0)
		return 0;
	set->changed = calloc(s->nseen, sizeof *set->changed);
	if (!set->changed)
		return -ENOMEM;
	set->uids = s->seen_uids;
	set->modseqs = s->seen_modseqs;
	set->n = s->nseen;
	s->seen_uids = NULL;
	s->seen_modseqs = NULL;
	s->nseen = s->capseen = 0;
	return 0;
}

static void seen_free(struct seen_set *set)
{
	free(set->uids);
	free(set->modseqs);
	free(set->changed);
}

struct seen_job {
	struct pop3_session *s;
	int64_t mailbox_id;
	struct seen_set set;
};

static int seen_job_run(struct store_tx *tx, void *arg)
{
	struct seen_job *j = arg;
	return seen_apply(tx, j->mailbox_id, &j->set);
}

static void seen_job_done(void *arg, int status)
{
	struct seen_job *j = arg;
	struct pop3_session *s = j->s;
	s->seen_inflight = false;
	if (status < 0)
		pop3_log(s, LOG_WARN, "event=seen_failed count=%zu err=%d", j->set.n, status);
	else
		seen_publish(s, &j->set);
	seen_free(&j->set);
	free(j);
	pop3_maildrop_flush_seen(s);
	pop3_unref(s);
}

void pop3_maildrop_mark_seen(struct pop3_session *s, uint32_t msgno)
{
	struct pop3_msg *m = &s->msgs[msgno - 1];
	if (m->seen)
		return;
	if (s->nseen == s->capseen) {
		size_t cap = s->capseen ? s->capseen * 2 : 64;
		uint32_t *u = realloc(s->seen_uids, cap * sizeof *u);
		if (!u)
			return;
		s->seen_uids = u;
		int64_t *ms = realloc(s->seen_modseqs, cap * sizeof *ms);
		if (!ms)
			return;
		s->seen_modseqs = ms;
		s->capseen = cap;
	}
	m->seen = true;
	s->seen_uids[s->nseen] = m->uid;
	s->seen_modseqs[s->nseen] = m->modseq;
	s->nseen++;
	pop3_maildrop_flush_seen(s);
}

void pop3_maildrop_flush_seen(struct pop3_session *s)
{
	if (s->seen_inflight || s->nseen == 0 || s->state == POP3_UPDATE)
		return;
	struct seen_job *j = calloc(1, sizeof *j);
	if (!j)
		return;
	if (seen_take(s, &j->set) < 0) {
		free(j);
		return;
	}
	j->s = s;
	j->mailbox_id = s->mailbox_id;
	int rc = store_submit_lazy(s->env->store, seen_job_run, seen_job_done, j);
	if (rc < 0) {
		pop3_log(s, LOG_WARN, "event=seen_failed count=%zu err=%d", j->set.n, rc);
		seen_free(&j->set);
		free(j);
		return;
	}
	s->seen_inflight = true;
	pop3_ref(s);
}

/* ---- QUIT: the UPDATE state ---- */

struct quit_job {
	struct pop3_session *s;
	int64_t mailbox_id;
	uint32_t *uids; /* marked with DELE */
	size_t n;
	struct seen_set seen;
	int64_t modseq; /* HIGHESTMODSEQ after the expunge */
};

static int quit_job_run(struct store_tx *tx, void *arg)
{
	struct quit_job *j = arg;
	int rc = seen_apply(tx, j->mailbox_id, &j->seen);
	if (rc < 0)
		return rc;
	if (j->n == 0)
		return 0;
	int expunged = store_entries_expunge(tx, j->mailbox_id, j->uids, j->n);
	if (expunged < 0)
		return expunged;
	struct store_mailbox mb;
	rc = store_mailbox_get(store_tx_reader(tx), j->mailbox_id, &mb);
	if (rc < 0)
		return rc;
	j->modseq = mb.highestmodseq;
	return expunged;
}

static void quit_job_done(void *arg, int status)
{
	struct quit_job *j = arg;
	struct pop3_session *s = j->s;
	if (status < 0) {
		pop3_log(s, LOG_ERROR, "event=update_failed marked=%zu err=%d", j->n, status);
		pop3_reply(s, "-ERR [SYS/TEMP] Could not apply deletions, nothing was deleted; "
		              "try again later");
	} else {
		for (size_t i = 0; i < j->n; i++) {
			struct notify_event ev = {
			    .mailbox_id = j->mailbox_id,
			    .account_id = s->account_id,
			    .kind = NOTIFY_EXPUNGE,
			    .uid = j->uids[i],
			    .modseq = j->modseq,
			    .origin = s->sid,
			};
			notify_publish(&ev);
		}
		seen_publish(s, &j->seen);
		pop3_log(s, LOG_INFO, "event=quit deleted=%d", status);
		pop3_reply(s, "+OK tern POP3 server signing off (%zu messages deleted)", j->n);
	}
	pop3_resume(s);
	pop3_close(s);
	seen_free(&j->seen);
	free(j->uids);
	free(j);
	pop3_unref(s);
}

void pop3_maildrop_commit(struct pop3_session *s)
{
	pop3_enter_state(s, POP3_UPDATE);
	struct quit_job *j = calloc(1, sizeof *j);
	size_t ndel = 0;
	for (uint32_t i = 0; i < s->nmsgs; i++)
		ndel += s->msgs[i].deleted;
	if (j && ndel)
		j->uids = malloc(ndel * sizeof *j->uids);
	if (!j || (ndel && !j->uids) || seen_take(s, &j->seen) < 0) {
		if (j)
			free(j->uids);
		free(j);
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory, nothing was deleted");
		pop3_close(s);
		return;
	}
	for (uint32_t i = 0; i < s->nmsgs; i++)
		if (s->msgs[i].deleted)
			j->uids[j->n++] = s->msgs[i].uid;
	j->s = s;
	j->mailbox_id = s->mailbox_id;

	if (j->n == 0 && j->seen.n == 0) {
		free(j->uids);
		free(j);
		pop3_log(s, LOG_INFO, "event=quit deleted=0");
		pop3_reply(s, "+OK tern POP3 server signing off");
		pop3_close(s);
		return;
	}
	int rc = store_submit(s->env->store, quit_job_run, quit_job_done, j);
	if (rc < 0) {
		pop3_log(s, LOG_ERROR, "event=update_failed marked=%zu err=%d", j->n, rc);
		seen_free(&j->seen);
		free(j->uids);
		free(j);
		pop3_reply(s, "-ERR [SYS/TEMP] Could not apply deletions, nothing was deleted");
		pop3_close(s);
		return;
	}
	pop3_ref(s);
	pop3_pause(s);
}
