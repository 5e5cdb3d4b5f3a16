/* snapshot: the session's view of INBOX, taken once at login.
 *
 * At login the session reads INBOX's entries once (UID, message id, size,
 * flags, MODSEQ) on the loop's read connection. Message numbers are
 * indexes into that array for the rest of the session; mail delivered
 * later is not in it and appears at the next login.
 *
 * Why a file of its own (it was the first part of maildrop.c): freeing
 * the session frees the snapshot, while the store jobs that stay in
 * maildrop.c reply and close through the session's services; in one file,
 * the jobs and those services would call each other. Taking and freeing
 * the snapshot needs nothing of the session but its fields, so it sits
 * below them.
 */
#include "proto/pop3/pop3_int.h"

#include <errno.h>
#include <stdlib.h>

#include "proto/common/env.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"

static int add_entry(void *ud, const struct store_entry *e)
{
	struct pop3_session *s = ud;
	static const uint32_t max = 0xfffffffeu;
	if (s->nmsgs == max)
		return -EOVERFLOW;
	if (s->nmsgs == s->capmsgs) {
		size_t ncap = s->capmsgs ? (size_t)s->capmsgs * 2 : 64;
		if (ncap > max)
			ncap = max;
		struct pop3_msg *p = realloc(s->msgs, ncap * sizeof *p);
		if (!p)
			return -ENOMEM;
		s->msgs = p;
		s->capmsgs = (uint32_t)ncap;
	}
	struct pop3_msg *m = &s->msgs[s->nmsgs++];
	m->uid = e->uid;
	m->message_id = e->message_id;
	m->size = e->size;
	m->modseq = e->modseq;
	m->deleted = false;
	m->seen = (e->flags & STORE_FLAG_SEEN) != 0;
	return 0;
}

int pop3_snapshot_open(struct pop3_session *s)
{
	struct store_rd *rd = store_reader(s->env->store);
	int64_t mbid;
	int rc = store_mailbox_find(rd, s->account_id, "INBOX", &mbid);
	if (rc == 0)
		return -ENOENT;
	if (rc < 0)
		return rc;
	struct store_mailbox mb;
	rc = store_mailbox_get(rd, mbid, &mb);
	if (rc == 0)
		return -ENOENT;
	if (rc < 0)
		return rc;
	s->mailbox_id = mbid;
	s->uidvalidity = mb.uidvalidity;

	if (!s->rbuf)
		s->rbuf = malloc(POP3_READ_PIECE);
	if (!s->wbuf)
		s->wbuf = malloc(2 * POP3_READ_PIECE + POP3_DOT_FINISH_MAX);
	if (!s->rbuf || !s->wbuf)
		return -ENOMEM;

	pop3_snapshot_free(s);
	rc = store_entries_list(rd, mbid, add_entry, s);
	if (rc < 0) {
		pop3_snapshot_free(s);
		return rc;
	}
	return 0;
}

void pop3_snapshot_free(struct pop3_session *s)
{
	pop3_ahead_free(s); /* it is numbered by this snapshot */
	free(s->msgs);
	s->msgs = NULL;
	s->nmsgs = s->capmsgs = 0;
}
