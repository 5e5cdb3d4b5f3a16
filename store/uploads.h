/* uploads: JMAP uploads (RFC 8620 §6.1), table `uploads`: bytes a client
 * posted to the upload URL, kept for a day so that Email/import, Email/set
 * and the download URL can refer to them by blob id ("U<id>").
 *
 * An upload belongs to one account and is immutable. Uploads older than
 * STORE_UPLOAD_TTL seconds are invisible to reads and are deleted by the
 * next upload's job (so the table never holds more than a day's worth)
 * and by store_uploads_expire() (which store_open() runs when serving).
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_UPLOADS_H
#define TERN_STORE_UPLOADS_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_UPLOAD_TTL 86400 /* seconds */
#define STORE_UPLOAD_TYPE_MAX 256

/* A store job (store_submit): write one upload. The caller keeps the
 * request (and data) alive until the completion; id is set by the job. */
struct store_upload_req {
	int64_t account_id;
	const char *type; /* media type, < STORE_UPLOAD_TYPE_MAX bytes */
	const void *data;
	size_t len;
	/* refuse (-EDQUOT) when the account's live uploads plus this one would
	 * exceed max_total bytes (0: no cap) */
	uint64_t max_total;
	int64_t id; /* out */
};
/* 0, -EINVAL (bad type or account), -EDQUOT (over max_total), or negative. */
int store_upload_job(struct store_tx *tx, void *arg);

struct store_upload {
	int64_t id;
	char type[STORE_UPLOAD_TYPE_MAX];
	size_t size;
	int64_t created; /* unix seconds */
};
/* Upload id of account_id (not expired): 1 (meta filled, and its bytes
 * appended to out unless out is NULL), 0 none, or negative. */
struct buf;
int store_upload_read(struct store_rd *rd, int64_t account_id, int64_t id,
                      struct store_upload *meta, struct buf *out);
/* Upload id of account_id (not expired): 1 with meta filled (its bytes
 * are not read), 0 none, or negative. */
int store_upload_stat(struct store_rd *rd, int64_t account_id, int64_t id,
                      struct store_upload *meta);
/* Up to len bytes of upload id's data from offset into buf, read from
 * the row in place (a download streams them, store_upload_read would load
 * the whole BLOB): the bytes read, 0 at the end, -ENOENT when the upload
 * is gone, or negative. Checks no account: store_upload_stat first. */
long store_upload_read_at(struct store_rd *rd, int64_t id, uint64_t offset, void *buf, size_t len);
/* Delete uploads created before now - STORE_UPLOAD_TTL: how many, or
 * negative. */
int store_uploads_expire(struct store_tx *tx, int64_t now);

#endif
