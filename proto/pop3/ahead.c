/* ahead: read-ahead of small messages for RETR and TOP.
 *
 * Why: a client downloading a maildrop sends RETR 1, RETR 2, ... one at a
 * time. Each store read on its own is a read transaction, and on the
 * shared database every read transaction takes and drops a lock with two
 * fcntl() calls: a third of the system calls of a small RETR. So
 * on a RETR of a message that is not read ahead yet, the following small
 * messages of the snapshot (not deleted, up to POP3_AHEAD_BYTES in all) are
 * read in the same transaction, and the next RETRs are served from memory.
 * (Only messages up to POP3_AHEAD_MSG_MAX: for big ones the transaction is
 * a small part of the cost.)
 *
 * Message contents never change once stored, so serving them later is
 * exact; a message expunged meanwhile by IMAP is still served, as the
 * snapshot taken at login promises (RFC 1939: the maildrop is fixed for
 * the session).
 */
#include "proto/pop3/pop3_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "proto/common/env.h"
#include "store/mail.h"
#include "store/store.h"

void pop3_ahead_free(struct pop3_session *s)
{
	free(s->ahead.buf);
	memset(&s->ahead, 0, sizeof s->ahead);
}

static ssize_t copy_out(const struct pop3_ahead *a, uint32_t msgno, char *buf)
{
	uint32_t i = msgno - a->first;
	size_t len = a->off[i + 1] - a->off[i];
	memcpy(buf, a->buf + a->off[i], len);
	return (ssize_t)len;
}

/* Reads msgno and the small messages after it in one read transaction. */
static ssize_t fill(struct pop3_session *s, uint32_t msgno, char *buf)
{
	struct pop3_ahead *a = &s->ahead;
	struct store_rd *rd = store_reader(s->env->store);
	if (!a->buf && !(a->buf = malloc(POP3_AHEAD_BYTES + POP3_READ_PIECE)))
		return -EAGAIN; /* no memory for it: read the usual way */
	a->first = msgno;
	a->count = 0;
	a->off[0] = 0;
	bool txn = store_read_begin(rd);
	ssize_t first = -EAGAIN;
	for (uint32_t n = msgno; n <= s->nmsgs && a->count < POP3_AHEAD_MAX; n++) {
		const struct pop3_msg *m = &s->msgs[n - 1];
		if (n > msgno && m->deleted) {
			/* DELE'd: never retrieved again; an empty entry keeps the
			 * run consecutive. */
			a->off[a->count + 1] = a->off[a->count];
			a->count++;
			continue;
		}
		if (m->size > POP3_AHEAD_MSG_MAX ||
		    (n > msgno && a->off[a->count] >= POP3_AHEAD_BYTES))
			break;
		ssize_t got = store_message_read(rd, m->message_id, 0, a->buf + a->off[a->count],
		                                 POP3_READ_PIECE);
		if (got < 0) {
			if (n == msgno)
				first = got;
			break;
		}
		a->off[a->count + 1] = a->off[a->count] + (size_t)got;
		a->count++;
	}
	store_read_end(rd, txn);
	if (a->count > 0)
		first = copy_out(a, msgno, buf);
	return first;
}

ssize_t pop3_ahead_read(struct pop3_session *s, uint32_t msgno, char *buf)
{
	struct pop3_ahead *a = &s->ahead;
	uint32_t i = msgno - a->first;
	/* A hit only with the size of the snapshot: the entry of a message
	 * that was DELE'd when it was read ahead is empty (and RSET undeletes). */
	if (a->count && msgno >= a->first && i < a->count &&
	    a->off[i + 1] - a->off[i] == (size_t)s->msgs[msgno - 1].size)
		return copy_out(a, msgno, buf);
	if (s->msgs[msgno - 1].size > POP3_AHEAD_MSG_MAX)
		return -EAGAIN;
	return fill(s, msgno, buf);
}
