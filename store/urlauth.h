/* urlauth: the mailbox access keys of URLAUTH (RFC 4467 2.3), one per
 * mailbox, which sign the IMAP URLs GENURLAUTH hands out (mailurl/). A
 * key is made the first time a URL of its mailbox is authorised, replaced
 * by RESETKEY (which revokes every URL made with the old one), and goes
 * with its mailbox. The key is a secret: only the server reads it. */
#ifndef TERN_STORE_URLAUTH_H
#define TERN_STORE_URLAUTH_H

#include <stdbool.h>
#include <stdint.h>

#define STORE_URLAUTH_KEY_LEN 32

struct store_rd;
struct store_tx;

/* 1 (key filled), 0 (the mailbox has no key), or a negative errno. */
int store_urlauth_key_get(struct store_rd *rd, int64_t mailbox_id,
                          uint8_t key[STORE_URLAUTH_KEY_LEN]);

/* A job. With mailbox_id: reset ? replace the mailbox's key by key : keep
 * the mailbox's key if it has one, else store key; either way key ends as
 * the stored one. Without (0) and reset: remove every key of account_id's
 * mailboxes. -ENOENT: no such mailbox of that account. */
struct store_urlauth_key_req {
	int64_t account_id;
	int64_t mailbox_id;
	bool reset;
	uint8_t key[STORE_URLAUTH_KEY_LEN];
};
int store_urlauth_key_job(struct store_tx *tx, void *arg);

#endif
