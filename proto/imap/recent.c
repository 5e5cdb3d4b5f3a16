/* recent: the \Recent flag of IMAP4rev1 (RFC 3501 2.3.2). IMAP4rev2
 * dropped it, so a session that enabled IMAP4rev2 never sees it.
 *
 * A message is \Recent in exactly one session: the first that selects its
 * mailbox after it arrived, or the first one told about it while the
 * mailbox is selected. Per mailbox we keep a mark, the highest UID some
 * session has been given; claiming raises it. Sessions all run on the
 * loop thread, so an in-memory table (loaded from mailboxes.recent_uid on
 * first use) makes the claim atomic without waiting for the store; the
 * new mark is written back by a writer job that nobody waits for, so that
 * a restart does not make old messages recent again. (EXAMINE looks but
 * does not claim.)
 *
 * A session's recent messages are the range (recent_lo, recent_hi] it
 * claimed at SELECT, plus single UIDs claimed later (recent_more).
 */
#include "proto/imap/imap_int.h"
#include "proto/imap/flags.h"
#include "proto/imap/seqset.h"

#include <stdlib.h>
#include <string.h>

#include "store/entries.h"
#include "store/mailboxes.h"
#include "store/store.h"

struct mark {
	int64_t mailbox_id;
	uint32_t uid;
};

/* sorted by mailbox_id; loop thread only */
static struct mark *marks;
static size_t nmarks, capmarks;

static size_t mark_pos(int64_t mailbox_id)
{
	size_t lo = 0, hi = nmarks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (marks[mid].mailbox_id < mailbox_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mark *mark_get(struct imap_session *s, int64_t mailbox_id)
{
	size_t i = mark_pos(mailbox_id);
	if (i < nmarks && marks[i].mailbox_id == mailbox_id)
		return &marks[i];
	int64_t uid = store_recent_uid(imap_reader(s), mailbox_id);
	if (uid < 0)
		return NULL;
	if (nmarks == capmarks) {
		size_t cap = capmarks ? capmarks * 2 : 64;
		struct mark *m = realloc(marks, cap * sizeof *m);
		if (!m)
			return NULL;
		marks = m;
		capmarks = cap;
	}
	memmove(&marks[i + 1], &marks[i], (nmarks - i) * sizeof *marks);
	nmarks++;
	marks[i] = (struct mark){mailbox_id, (uint32_t)uid};
	return &marks[i];
}

static void persist_done(void *arg, int status)
{
	(void)status; /* at worst a message is recent once more after a restart */
	free(arg);
}

/* Claims the UIDs up to `upto` (when claim) and returns the mark before:
 * the caller's new recent UIDs are (returned, upto]. */
static uint32_t claim(struct imap_session *s, uint32_t upto, bool claim)
{
	struct mark *m = mark_get(s, s->sel.mailbox_id);
	if (!m)
		return upto; /* cannot tell: nothing is recent */
	uint32_t prev = m->uid;
	if (claim && upto > prev) {
		m->uid = upto;
		struct store_recent_mark *q = malloc(sizeof *q);
		if (q) {
			*q = (struct store_recent_mark){s->sel.mailbox_id, upto};
			if (store_submit_lazy(imap_store(s), store_recent_mark_job, persist_done,
			                      q) < 0)
				free(q);
		}
	}
	return prev;
}

static bool rev1(const struct imap_session *s)
{
	return !(s->enabled & IMAP_EXT_REV2);
}

void imap_recent_select(struct imap_session *s)
{
	s->sel.recent_lo = s->sel.recent_hi = 0;
	if (!rev1(s) || s->sel.uidnext <= 1)
		return;
	uint32_t top = s->sel.uidnext - 1;
	s->sel.recent_lo = claim(s, top, !s->sel.readonly);
	s->sel.recent_hi = top;
}

void imap_recent_arrived(struct imap_session *s, uint32_t uid)
{
	if (!rev1(s) || uid <= s->sel.recent_hi)
		return;
	if (claim(s, uid, !s->sel.readonly) >= uid)
		return; /* another session had it first */
	if (uid == s->sel.recent_hi + 1 && s->sel.recent_hi > 0) {
		s->sel.recent_hi = uid; /* the usual case: the range grows */
		return;
	}
	/* kept ascending for imap_is_recent (arrivals come in UID order, so
	 * this appends but for a stray late one) */
	size_t i = imap_uids_lower_bound(s->sel.recent_more, s->sel.nrecent_more, uid);
	if ((i < s->sel.nrecent_more && s->sel.recent_more[i] == uid) ||
	    !imap_uids_push(&s->sel.recent_more, &s->sel.nrecent_more, &s->sel.caprecent_more, uid))
		return;
	memmove(s->sel.recent_more + i + 1, s->sel.recent_more + i,
	        (s->sel.nrecent_more - 1 - i) * sizeof *s->sel.recent_more);
	s->sel.recent_more[i] = uid;
}

bool imap_is_recent(const struct imap_session *s, uint32_t uid)
{
	if (uid > s->sel.recent_lo && uid <= s->sel.recent_hi)
		return true;
	return imap_uids_contain(s->sel.recent_more, s->sel.nrecent_more, uid);
}

uint32_t imap_output_flags(const struct imap_session *s, uint32_t uid, uint32_t flags)
{
	return imap_is_recent(s, uid) ? flags | IMAP_FLAG_RECENT : flags;
}

uint32_t imap_recent_count(const struct imap_session *s)
{
	uint32_t n = 0;
	/* the view is sorted: the range is one run of it */
	size_t first = s->sel.recent_lo == UINT32_MAX
	                   ? s->sel.count
	                   : imap_uids_lower_bound(s->sel.uids, s->sel.count, s->sel.recent_lo + 1);
	for (; first < s->sel.count && s->sel.uids[first] <= s->sel.recent_hi; first++)
		n++;
	for (size_t i = 0; i < s->sel.nrecent_more; i++)
		n += imap_uids_contain(s->sel.uids, s->sel.count, s->sel.recent_more[i]);
	return n;
}

int64_t imap_recent_status(struct imap_session *s, int64_t mailbox_id)
{
	struct mark *m = mark_get(s, mailbox_id);
	return m ? store_entries_count_above(imap_reader(s), mailbox_id, m->uid) : 0;
}

void imap_recent_forget(int64_t mailbox_id)
{
	size_t i = mark_pos(mailbox_id);
	if (i < nmarks && marks[i].mailbox_id == mailbox_id) {
		memmove(&marks[i], &marks[i + 1], (nmarks - i - 1) * sizeof *marks);
		nmarks--;
	}
}
