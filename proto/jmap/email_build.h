/* email_build: an RFC 5322 / MIME message from an Email/set create
 * object (RFC 8621 §4.6). Pure: the object, the time, a unique string and
 * a way to read blobs go in, bytes (CRLF line ends) come out; nothing is
 * stored. So it is unit-tested and fuzzed without a store.
 *
 * The properties the caller handles (mailboxIds, keywords, receivedAt)
 * are skipped; the server-set ones (id, blobId, threadId, size, preview,
 * hasAttachment) and anything unknown are invalid properties. */
#ifndef TERN_JMAP_EMAIL_BUILD_H
#define TERN_JMAP_EMAIL_BUILD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* The bytes of blob_id appended to out, its media type (lowercase, "" if
 * none) and file name ("" if none): 1 found, 0 not, negative errno. */
typedef int (*email_build_blob_fn)(void *ud, const char *blob_id, struct buf *out, char *type,
                                   size_t typelen, char *name, size_t namelen);

struct email_build_env {
	int64_t now;          /* unix seconds: Date: when sentAt is missing */
	const char *unique;   /* [A-Za-z0-9]: MIME boundaries and Message-ID */
	const char *hostname; /* Message-ID's right side */
	email_build_blob_fn blob;
	void *blob_ud;
	size_t max_size; /* the message may not pass it (0: no limit) */
};

enum email_build_result {
	EMAIL_BUILD_OK = 0,
	EMAIL_BUILD_INVALID = 1,   /* invalidProperties: *prop names it */
	EMAIL_BUILD_NO_BLOB = 2,   /* blobNotFound: *prop is the blob id */
	EMAIL_BUILD_TOO_LARGE = 3, /* tooLarge */
};

/* Builds the message of create into out. Returns an email_build_result
 * or a negative errno; *prop (a static string or a key of create,
 * valid while create is) and *why say what was wrong. */
int email_build(json_t *create, const struct email_build_env *env, struct buf *out,
                const char **prop, const char **why);

#endif
