/* email_put: one message put into one or more of an account's mailboxes,
 * the step Email/set create and Email/import share (RFC 8621 §4.6, §4.8).
 *
 * On the loop, the Email's mailboxIds (ids or "#creation" references) and
 * keywords are checked into a struct jmap_email_put; in the writer,
 * jmap_email_put_run appends the bytes to the first mailbox as IMAP APPEND
 * does (thread keys included) and copies that entry into the others, all
 * in the caller's savepoint, so a message is in all its mailboxes or in
 * none; back on the loop, jmap_email_put_publish tells IDLE sessions. */
#ifndef TERN_JMAP_EMAIL_PUT_H
#define TERN_JMAP_EMAIL_PUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "proto/jmap/jmap_int.h"
#include "store/threads.h"

struct store_rd;
struct store_tx;

#define JMAP_EMAIL_PUT_MAILBOXES 64

struct jmap_email_put {
	int64_t account_id;
	uint64_t quota_bytes; /* 0: none */
	const char *data;     /* the message */
	size_t len;
	int64_t internal_date; /* 0: now */
	uint32_t flags;        /* STORE_FLAG_* from the system keywords */
	struct buf keywords;   /* the other keywords, space-separated (owned) */
	const struct store_thread_keys *thread;
	int64_t mailboxes[JMAP_EMAIL_PUT_MAILBOXES];
	size_t nmailboxes;
	/* what jmap_email_put_run made */
	uint32_t uids[JMAP_EMAIL_PUT_MAILBOXES];
	int64_t modseqs[JMAP_EMAIL_PUT_MAILBOXES];
	int64_t message_id, thread_id;
};

/* mailboxIds (a non-empty object of mailbox ids, or "#creation" ids, to
 * true) into p->mailboxes, duplicates once. NULL when good; else a new
 * invalidProperties SetError, or NULL with *err < 0 (the store failed). */
json_t *jmap_email_put_mailboxes(struct jmap_call *c, struct store_rd *rd, const json_t *ids,
                                 struct jmap_email_put *p, int *err);
/* keywords (absent, null, or an object of keywords to true) into p->flags
 * and p->keywords. NULL when good; else a new invalidProperties SetError,
 * or NULL with *err = -ENOMEM. */
json_t *jmap_email_put_keywords(const json_t *kws, struct jmap_email_put *p, int *err);
/* The writer's part (a store_job_fn: arg is the struct jmap_email_put).
 * 0, or a negative errno (-EDQUOT: over the quota). */
int jmap_email_put_run(struct store_tx *tx, void *arg);
/* On the loop after the commit: an EXISTS event per new entry. */
void jmap_email_put_publish(const struct jmap_email_put *p);
void jmap_email_put_free(struct jmap_email_put *p);

#endif
