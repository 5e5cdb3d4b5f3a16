/* sender: may this account send as that address?
 *
 * A submitter who logged in sends only as itself: the envelope sender
 * (SMTP's MAIL FROM, JMAP's envelope mailFrom) and every address of the
 * one header From: field must be the account's own address or one of its
 * aliases (store_address_owned_by). Checked on the loop thread's read
 * connection. */
#ifndef TERN_DELIVER_SENDER_H
#define TERN_DELIVER_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "deliver/status.h"

struct store;

/* The longest address checked; a longer one is DELIVER_NOT_OWNED. The same
 * bound as an SMTP path (RFC 5321 4.5.3.1.3, 256 with "<" and ">"). */
#define DELIVER_SENDER_MAX 256

/* Is addr (len bytes, not NUL-terminated) owned by account_id?
 * DELIVER_OK, DELIVER_NOT_OWNED (also for "" and for one too long) or
 * DELIVER_STORE_FAIL (no store, a read error). */
enum deliver_status deliver_sender_owned(struct store *store, int64_t account_id, const char *addr,
                                         size_t len);

/* The message's header From: exactly one field, with at least one usable
 * address, each owned by account_id. DELIVER_OK, DELIVER_NOT_OWNED with
 * *why a detail text ("Header From: not owned by authenticated user",
 * "More than one From: header", ...), or DELIVER_STORE_FAIL (*why NULL). */
enum deliver_status deliver_header_from_check(struct store *store, int64_t account_id,
                                              const char *msg, size_t len, const char **why);

#endif
