/* collect: an account's "collected addresses" (store_contacts_collect,
 * store/contacts.h) filled from the mail it sends, as Thunderbird does.
 *
 * Whatever the submitter (SMTP submission, JMAP EmailSubmission, the HTTP
 * send API: each sets deliver_job_req.collect_account_id), the addresses
 * are those of the message's To, Cc and Bcc fields, with their display
 * names, and the envelope recipients as given (a Bcc that is not in the
 * header), but never the envelope sender itself. They are read on the
 * loop when the job is built, and written in the job's own transaction,
 * each in a savepoint of its own: an address that cannot be collected is
 * logged and never fails the submission. */
#ifndef TERN_DELIVER_COLLECT_H
#define TERN_DELIVER_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "deliver/rcpt.h"

struct store_tx;
struct deliver_collect;

/* At most this many addresses of one message are collected. */
#define DELIVER_COLLECT_MAX 100

/* The addresses of msg[0..len) (its header) and rcpts to collect for the
 * account, or NULL when there is none (or no memory: logged). Loop. */
struct deliver_collect *deliver_collect_prepare(int64_t account_id, const char *mail_from,
                                                const char *msg, size_t len,
                                                const struct deliver_rcpt *rcpts, size_t nrcpts);
/* Writer thread, in the job's transaction: collect them. Never fails. */
void deliver_collect_run(struct store_tx *tx, const struct deliver_collect *c);
void deliver_collect_free(struct deliver_collect *c);
/* What prepare found: the count, and address i (i < count). */
size_t deliver_collect_count(const struct deliver_collect *c);
const char *deliver_collect_address(const struct deliver_collect *c, size_t i);

#endif
