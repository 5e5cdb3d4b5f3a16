/* thread: the THREAD algorithms of RFC 5256 (ORDEREDSUBJECT, REFERENCES)
 * over messages already found and given their sort records, and the
 * THREAD response's thread lists. Pure; no recursion (a mailbox's
 * References can nest as deep as it has messages). */
#ifndef TERN_IMAP_THREAD_H
#define TERN_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct imap_thread_msg {
	uint32_t num;     /* what the response names: sequence number or UID */
	uint32_t seq;     /* order in the mailbox (the tie-breaker) */
	int64_t date;     /* sent date (INTERNALDATE when it has none) */
	const char *subj; /* base subject's collation key */
	size_t subjlen;
	bool reply;        /* the subject was a reply or forward */
	const char *msgid; /* normalized, "" when none */
	size_t msgidlen;
	const char *refs; /* space-separated references */
	size_t refslen;
};

enum imap_thread_alg { IMAP_THREAD_ORDEREDSUBJECT, IMAP_THREAD_REFERENCES };

/* Thread msgs[0..n) (in sequence order) and append the thread lists
 * ("(1)(2 3)...", nothing for n == 0) to out. 0 or -ENOMEM. */
int imap_thread(enum imap_thread_alg alg, const struct imap_thread_msg *msgs, size_t n,
                struct buf *out);

#endif
