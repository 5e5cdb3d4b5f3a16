/* blob_read: see blob_read.h. Message blobs are read whole from the store
 * (store_message_read in slices) and, for a part, decoded through the
 * Email renderer's jmap_email_part; uploads ("U<n>") come from
 * store/uploads; a Sieve script's content ("Z...", sieve_script.h) from
 * store/sieve. */
#include "proto/jmap/blob_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/email_render.h"
#include "proto/jmap/sieve_script.h"
#include "store/emails.h"
#include "store/mail.h"
#include "store/uploads.h"

static int count_entry(void *ud, const struct store_email_entry *e)
{
	(void)ud;
	(void)e;
	return 0;
}

/* "B<msgid>" or "B<msgid>.<part>": the message id, and where the part
 * number starts (NULL for the whole message). */
static bool message_blob_id(const char *id, int64_t *msgid, const char **part)
{
	char num[24];
	const char *dot = strchr(id, '.');
	size_t n = dot ? (size_t)(dot - id) : strlen(id);
	if (n >= sizeof num)
		return false;
	memcpy(num, id, n);
	num[n] = '\0';
	if (!jmap_id_parse(num, 'B', msgid))
		return false;
	*part = NULL;
	if (dot) {
		const char *p = dot + 1;
		/* IMAP part numbers: non-zero numbers joined by dots */
		bool want_digit = true;
		for (const char *q = p; *q; q++) {
			if (*q >= '0' && *q <= '9')
				want_digit = false;
			else if (*q == '.' && !want_digit)
				want_digit = true;
			else
				return false;
		}
		if (want_digit || strlen(p) > 200)
			return false;
		*part = p;
	}
	return true;
}

static int read_message(struct store_rd *rd, int64_t msgid, struct buf *out)
{
	char chunk[65536];
	size_t off = 0;
	for (;;) {
		ssize_t got = store_message_read(rd, msgid, off, chunk, sizeof chunk);
		if (got == -ENOENT)
			return 0;
		if (got < 0)
			return (int)got;
		if (got == 0)
			return 1;
		int r = buf_add(out, chunk, (size_t)got);
		if (r < 0)
			return r;
		off += (size_t)got;
	}
}

int jmap_blob_read(struct store_rd *rd, const struct jmap_account *acct, const char *blob_id,
                   struct buf *out, char *type, size_t typelen, char *name, size_t namelen)
{
	if (typelen)
		type[0] = '\0';
	if (namelen)
		name[0] = '\0';
	int64_t msgid;
	const char *part;
	if (blob_id && blob_id[0] == 'U') {
		int64_t up;
		if (!jmap_id_parse(blob_id, 'U', &up))
			return 0;
		struct store_upload meta;
		int r = store_upload_read(rd, acct->account_id, up, &meta, out);
		if (r == 1)
			snprintf(type, typelen, "%s", meta.type);
		return r;
	}
	if (blob_id && blob_id[0] == 'Z') {
		int r = jmap_sieve_blob_read(rd, acct->account_id, blob_id, out);
		if (r == 1)
			snprintf(type, typelen, "application/sieve");
		return r;
	}
	if (!blob_id || !message_blob_id(blob_id, &msgid, &part))
		return 0;
	int r = store_email_entries(rd, acct->account_id, msgid, count_entry, NULL);
	if (r <= 0)
		return r;
	if (!part) {
		r = read_message(rd, msgid, out);
		if (r == 1)
			snprintf(type, typelen, "message/rfc822");
		return r;
	}
	struct buf whole = {0};
	r = read_message(rd, msgid, &whole);
	if (r == 1)
		r = jmap_email_part(whole.data, whole.len, part, out, type, typelen, name, namelen);
	buf_free(&whole);
	return r;
}
