/* updates: what other sessions did to the selected mailbox, told at the
 * right time (RFC 9051 §5.2, §7.5.1; RFC 7162 §3.2.10 VANISHED).
 *
 * Why queue instead of writing at once. A notification can arrive at any
 * moment on the loop, including in the middle of this session's FETCH
 * stream or between a client's SEARCH and its use of the numbers. The
 * client's sequence numbers must only change when it is told, and an
 * EXPUNGE must never be told during FETCH, STORE or SEARCH. So events go
 * into three queues (new UIDs, expunged UIDs, UIDs whose flags changed),
 * and the session's view (uid array) changes only in
 * imap_updates_flush(), in the same step that writes the untagged
 * responses. Flush points: imap_tagged() before every tagged reply (with
 * EXPUNGE held back for the commands that forbid it), and at once while
 * IDLE.
 *
 * This session's own changes come back as notifications too. Its own
 * expunges and flag changes were already reported by the command that made
 * them (imap_view_expunged / imap_view_flags_changed), so events with
 * origin == our sid are dropped; its own new messages (APPEND, COPY into
 * the selected mailbox) are not reported by those commands and go through
 * the EXISTS queue like anyone else's.
 *
 * CONTEXT=SEARCH update contexts (search_context.c) are told at the same
 * points, in the order RFC 5267 §4.3 needs: REMOVEFROM before the EXPUNGE
 * that renumbers, ADDTO after the EXISTS that numbers, both after the
 * FETCH FLAGS of a change (and, for this session's own STORE, whose FETCH
 * the command wrote, at the next flush).
 *
 * Keywords. No FETCH names a keyword before an untagged FLAGS (and
 * PERMANENTFLAGS) has: RFC 9051 only obliges clients to take what FLAGS
 * says, but Dovecot and Cyrus announce first, and strict clients treat an
 * unannounced keyword as a protocol error. sel.keywords is what FLAGS said.
 * Whatever writes flags (the flush below, STORE's replies, FETCH) passes
 * the keywords through imap_view_keywords_seen() and calls
 * imap_keywords_announce() before its first line that could name a new
 * one; the flush also announces the keywords new messages arrive with.
 */
#include "proto/imap/imap_int.h"
#include "proto/imap/flags.h"
#include "lib/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "store/notify.h"
#include "store/entries.h"
#include "store/mailboxes.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool vec_has(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = n; i-- > 0;)
		if (v[i] == x)
			return true;
	return false;
}

static bool vec_remove(uint32_t *v, size_t *n, uint32_t x)
{
	for (size_t i = 0; i < *n; i++) {
		if (v[i] == x) {
			memmove(v + i, v + i + 1, (*n - i - 1) * sizeof *v);
			(*n)--;
			return true;
		}
	}
	return false;
}

void imap_pending_clear(struct imap_session *s)
{
	free(s->pending.exists);
	free(s->pending.expunged);
	free(s->pending.flags);
	free(s->pending.recheck);
	free(s->pending.fetchnew);
	memset(&s->pending, 0, sizeof s->pending);
}

const char *imap_expunge_issued(const struct imap_session *s)
{
	return s->pending.nexpunged ? "EXPUNGEISSUED" : NULL;
}

uint32_t imap_view_seq(const struct imap_session *s, uint32_t uid)
{
	size_t i = imap_uids_lower_bound(s->sel.uids, s->sel.count, uid);
	return i < s->sel.count && s->sel.uids[i] == uid ? (uint32_t)i + 1 : 0;
}

uint32_t imap_view_uid(const struct imap_session *s, uint32_t seq)
{
	return seq >= 1 && seq <= s->sel.count ? s->sel.uids[seq - 1] : 0;
}

static void on_event(void *ud, const struct notify_event *ev)
{
	struct imap_session *s = ud;
	struct imap_pending *p = &s->pending;
	if (s->state != IMAP_SELECTED || ev->mailbox_id != s->sel.mailbox_id)
		return;
	switch (ev->kind) {
	case NOTIFY_EXISTS:
		if (imap_view_seq(s, ev->uid) || vec_has(p->exists, p->nexists, ev->uid))
			return;
		imap_uids_push(&p->exists, &p->nexists, &p->capexists, ev->uid);
		if (ev->origin != s->sid && imap_notify_wants_fetch(s))
			imap_uids_push(&p->fetchnew, &p->nfetchnew, &p->capfetchnew, ev->uid);
		break;
	case NOTIFY_EXPUNGE:
		if (ev->origin == s->sid)
			return;
		if (vec_remove(p->exists, &p->nexists, ev->uid))
			return; /* never told: nothing to take back */
		if (!imap_view_seq(s, ev->uid) || vec_has(p->expunged, p->nexpunged, ev->uid))
			return;
		imap_uids_push(&p->expunged, &p->nexpunged, &p->capexpunged, ev->uid);
		break;
	case NOTIFY_FLAGS:
		if (ev->origin == s->sid)
			return;
		if (!imap_view_seq(s, ev->uid) || vec_has(p->flags, p->nflags, ev->uid))
			return;
		imap_uids_push(&p->flags, &p->nflags, &p->capflags, ev->uid);
		break;
	default: /* account events never reach a mailbox's subscribers */
		return;
	}
	bool allow;
	if (s->notify) {
		/* NOTIFY decides, in IDLE too; without a SELECTED group the
		 * updates wait for a tagged reply, as in the base protocol */
		if (imap_notify_selected_now(s, ev->kind, &allow))
			imap_updates_flush(s, allow);
	} else if (s->input == IMAP_IN_IDLE) {
		imap_updates_flush(s, true);
	}
}

int imap_updates_subscribe(struct imap_session *s)
{
	imap_updates_unsubscribe(s);
	s->sub = notify_subscribe(s->sel.mailbox_id, on_event, s);
	return s->sub ? 0 : -ENOMEM;
}

void imap_updates_unsubscribe(struct imap_session *s)
{
	notify_unsubscribe(s->sub);
	s->sub = NULL;
}

void imap_write_flag_list(struct imap_session *s, uint32_t uid, uint32_t flags,
                          const char *keywords)
{
	struct buf b;
	b = (struct buf){0};
	if (imap_format_flags(&b, imap_output_flags(s, uid, flags), keywords) == 0)
		imap_write(s, b.data, b.len);
	buf_free(&b);
}

void imap_write_flags_responses(struct imap_session *s)
{
	const char *kw = s->sel.keywords ? s->sel.keywords : "";
	imap_printf(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)\r\n",
	            *kw ? " " : "", kw);
	if (s->sel.readonly)
		imap_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
	else
		imap_printf(
		    s,
		    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s "
		    "\\*)] Flags permitted\r\n",
		    *kw ? " " : "", kw);
}

void imap_view_keyword_seen(struct imap_session *s, const char *kwd, size_t len)
{
	const char *kw = s->sel.keywords ? s->sel.keywords : "";
	/* already listed? */
	const char *p = kw;
	while (*p) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == len && strncasecmp(p, kwd, len) == 0)
			return;
		p += n;
		while (*p == ' ')
			p++;
	}
	size_t old = strlen(kw);
	char *nk = malloc(old + len + 2);
	if (!nk)
		return;
	memcpy(nk, kw, old);
	size_t w = old;
	if (old)
		nk[w++] = ' ';
	memcpy(nk + w, kwd, len);
	nk[w + len] = '\0';
	free(s->sel.keywords);
	s->sel.keywords = nk;
	s->pending.keywords_changed = true;
}

void imap_view_keywords_seen(struct imap_session *s, const char *keywords)
{
	for (const char *p = keywords; p && *p;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if (e > p)
			imap_view_keyword_seen(s, p, (size_t)(e - p));
		p = e;
	}
}

void imap_keywords_announce(struct imap_session *s)
{
	if (!s->pending.keywords_changed || s->state != IMAP_SELECTED || s->closed)
		return;
	s->pending.keywords_changed = false;
	imap_write_flags_responses(s);
}

static int new_entry_keywords(void *ud, const struct store_entry *e)
{
	imap_view_keywords_seen(ud, e->keywords);
	return 0;
}

void imap_view_flags_changed(struct imap_session *s, uint32_t uid, int64_t modseq)
{
	if (modseq > s->sel.highestmodseq)
		s->sel.highestmodseq = modseq;
	vec_remove(s->pending.flags, &s->pending.nflags, uid);
	imap_search_context_recheck_later(s, uid);
}

void imap_view_expunged(struct imap_session *s, const uint32_t *uids, size_t n, int64_t modseq)
{
	if (s->state != IMAP_SELECTED || n == 0) {
		if (modseq > s->sel.highestmodseq)
			s->sel.highestmodseq = modseq;
		return;
	}
	uint32_t *sorted = malloc(n * sizeof *sorted);
	if (!sorted)
		return;
	memcpy(sorted, uids, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_u32);
	/* keep only UIDs in the view, unique */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if ((m && sorted[m - 1] == sorted[i]) || !imap_view_seq(s, sorted[i]))
			continue;
		sorted[m++] = sorted[i];
	}
	if (m) {
		/* REMOVEFROM while the sequence numbers are still valid */
		imap_search_contexts_expunging(s, sorted, m);
		if (s->enabled & (IMAP_EXT_QRESYNC | IMAP_EXT_UIDONLY)) {
			struct arena a = {0};
			imap_untagged(s, "VANISHED %s", imap_seqset_format(&a, sorted, m));
			arena_reset(&a);
		} else {
			/* highest first: earlier numbers stay valid while we go */
			for (size_t i = m; i-- > 0;)
				imap_untagged(s, "%u EXPUNGE", imap_view_seq(s, sorted[i]));
		}
		/* compact the view in one pass */
		size_t w = 0, k = 0;
		for (uint32_t r = 0; r < s->sel.count; r++) {
			uint32_t u = s->sel.uids[r];
			while (k < m && sorted[k] < u)
				k++;
			if (k < m && sorted[k] == u)
				continue;
			s->sel.uids[w++] = u;
		}
		s->sel.count = (uint32_t)w;
		for (size_t i = 0; i < m; i++) {
			vec_remove(s->pending.expunged, &s->pending.nexpunged, sorted[i]);
			vec_remove(s->pending.flags, &s->pending.nflags, sorted[i]);
		}
	}
	free(sorted);
	if (modseq > s->sel.highestmodseq)
		s->sel.highestmodseq = modseq;
}

void imap_updates_flush(struct imap_session *s, bool allow_expunge)
{
	struct imap_pending *p = &s->pending;
	if (s->state != IMAP_SELECTED || s->closed)
		return;

	if (allow_expunge && p->nexpunged) {
		uint32_t *v = p->expunged;
		size_t n = p->nexpunged;
		p->expunged = NULL;
		p->nexpunged = p->capexpunged = 0;
		/* read from the store so HIGHESTMODSEQ moves with it */
		imap_view_expunged(s, v, n, 0);
		free(v);
	}

	if (p->nexists) {
		qsort(p->exists, p->nexists, sizeof *p->exists, cmp_u32);
		uint32_t last = s->sel.count ? s->sel.uids[s->sel.count - 1] : 0;
		size_t need = s->sel.count + p->nexists;
		if (need > s->sel.cap) {
			uint32_t *u = realloc(s->sel.uids, need * sizeof *u);
			if (!u)
				return;
			s->sel.uids = u;
			s->sel.cap = (uint32_t)need;
		}
		uint32_t first = 0;
		for (size_t i = 0; i < p->nexists; i++) {
			if (p->exists[i] <= last)
				continue; /* cannot happen: UIDs only grow */
			s->sel.uids[s->sel.count++] = p->exists[i];
			last = p->exists[i];
			if (!first)
				first = last;
			if (last >= s->sel.uidnext)
				s->sel.uidnext = last + 1;
			imap_recent_arrived(s, last);
		}
		p->nexists = 0;
		imap_untagged(s, "%u EXISTS", s->sel.count);
		if (!(s->enabled & IMAP_EXT_REV2))
			imap_untagged(s, "%u RECENT", imap_recent_count(s));
		/* keywords the new messages came with (APPEND, COPY): FLAGS
		 * lists them from now on (a read error only delays that to the
		 * FETCH that names them) */
		if (first)
			store_entries_range(imap_reader(s), s->sel.mailbox_id, first, last, 0,
			                    STORE_COLS_ENTRY, new_entry_keywords, s);
		/* ADDTO after the EXISTS that numbers them */
		imap_search_contexts_arrived(s, first, last);
	}
	if (p->nfetchnew) {
		/* NOTIFY's FETCH after the EXISTS and the ADDTO (RFC 5465 §5.2) */
		uint32_t *v = p->fetchnew;
		size_t n = 0;
		qsort(v, p->nfetchnew, sizeof *v, cmp_u32);
		for (size_t i = 0; i < p->nfetchnew; i++)
			if (imap_view_seq(s, v[i]))
				v[n++] = v[i];
		p->fetchnew = NULL;
		p->nfetchnew = p->capfetchnew = 0;
		if (imap_notify_wants_fetch(s))
			imap_notify_fetch_new(s, v, n);
		free(v);
	}

	struct flag_update {
		uint32_t seq, uid, flags;
		int64_t modseq;
		char *kw;
	} *fu = NULL;
	size_t nfu = 0;
	if (p->nflags) {
		/* read them all first: a keyword among them is announced before
		 * the first FETCH */
		uint32_t *v = p->flags;
		size_t n = p->nflags;
		p->flags = NULL;
		p->nflags = p->capflags = 0;
		qsort(v, n, sizeof *v, cmp_u32);
		fu = calloc(n, sizeof *fu);
		char kw[2048];
		for (size_t i = 0; fu && i < n; i++) {
			struct flag_update *f = &fu[nfu];
			f->uid = v[i];
			f->seq = imap_view_seq(s, v[i]);
			if (!f->seq || store_entry_flags(imap_reader(s), s->sel.mailbox_id, v[i],
			                                 &f->flags, &f->modseq, kw, sizeof kw) != 1)
				continue; /* gone: its EXPUNGE is on the way */
			if (!(f->kw = strdup(kw)))
				break;
			imap_view_keywords_seen(s, kw);
			nfu++;
		}
		free(v);
	}

	imap_keywords_announce(s);

	for (size_t i = 0; i < nfu; i++) {
		const struct flag_update *f = &fu[i];
		if (s->enabled & IMAP_EXT_UIDONLY)
			imap_printf(s, "* %u UIDFETCH (FLAGS ", f->uid);
		else
			imap_printf(s, "* %u FETCH (UID %u FLAGS ", f->seq, f->uid);
		imap_write_flag_list(s, f->uid, f->flags, f->kw);
		if (s->enabled & IMAP_EXT_CONDSTORE)
			imap_printf(s, " MODSEQ (%lld)", (long long)f->modseq);
		imap_write(s, ")\r\n", 3);
		if (f->modseq > s->sel.highestmodseq)
			s->sel.highestmodseq = f->modseq;
		free(f->kw);
	}
	/* update contexts: the messages whose flags changed, by others (told
	 * above) or by this session's own STORE/FETCH */
	uint32_t *re = NULL;
	size_t nre = 0;
	if (s->ncontexts && (nfu || p->nrecheck)) {
		re = malloc((nfu + p->nrecheck) * sizeof *re);
		for (size_t i = 0; re && i < nfu; i++)
			re[nre++] = fu[i].uid;
		for (size_t i = 0; re && i < p->nrecheck; i++)
			if (imap_view_seq(s, p->recheck[i]))
				re[nre++] = p->recheck[i];
	}
	p->nrecheck = 0;
	if (nre) {
		qsort(re, nre, sizeof *re, cmp_u32);
		size_t w = 0;
		for (size_t i = 0; i < nre; i++)
			if (!w || re[w - 1] != re[i])
				re[w++] = re[i];
		imap_search_contexts_recheck(s, re, w);
	}
	free(re);
	free(fu);
}
