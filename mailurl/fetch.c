/* fetch: an IMAP URL's bytes from the store (fetch.h). A whole message
 * is read straight into the output; a section needs the message parsed,
 * so it is read whole (bounded by max) and cut with mime/section.h. */
#include "mailurl/fetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "mime/section.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"

/* Append [off, off + len) of data (clipped; len 0 = to the end). */
static int add_range(struct buf *out, const char *data, size_t n, const struct mailurl *u)
{
	size_t off = 0, len = n;
	if (u->has_partial) {
		off = u->partial_off < n ? u->partial_off : n;
		len = n - off;
		if (u->partial_len && u->partial_len < len)
			len = u->partial_len;
	}
	return buf_add(out, data + off, len);
}

int mailurl_fetch(struct store_rd *rd, int64_t account_id, const char *mailbox,
                  const struct mailurl *u, size_t max, uint64_t *read_left, struct buf *out)
{
	int64_t mailbox_id;
	struct store_mailbox mb;
	struct store_entry e;
	char kw[8];
	if (!u->uid || !mailbox[0])
		return -ENOENT;
	int r = store_mailbox_find(rd, account_id, mailbox, &mailbox_id);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	if ((r = store_mailbox_get(rd, mailbox_id, &mb)) < 0)
		return r;
	if (u->uidvalidity && u->uidvalidity != mb.uidvalidity)
		return -ENOENT;
	if ((r = store_entry_get(rd, mailbox_id, u->uid, &e, kw, sizeof kw)) <= 0)
		return r < 0 ? r : -ENOENT;
	/* a whole message must fit; a section is cut from whatever the store
	 * accepted, and then must fit */
	if (e.size < 0 || (!u->section[0] && !u->has_partial && (uint64_t)e.size > max) ||
	    (read_left && (uint64_t)e.size > *read_left))
		return -E2BIG;
	if (read_left)
		*read_left -= (uint64_t)e.size;
	char *raw = malloc((size_t)e.size + 1);
	if (!raw)
		return -ENOMEM;
	ssize_t n = store_message_read(rd, e.message_id, 0, raw, (size_t)e.size);
	if (n < 0) {
		free(raw);
		return (int)n;
	}
	size_t before = out->len;
	if (!u->section[0]) {
		r = add_range(out, raw, (size_t)n, u);
	} else {
		struct mime_message *m = NULL;
		struct imap_section sec;
		struct buf part = {0};
		r = mime_parse(raw, (size_t)n, &m);
		if (r == 0)
			r = imap_section_find(m, u->section, strlen(u->section), &sec);
		if (r == 0)
			r = imap_section_fetch(m, &sec, &part);
		if (r == 0)
			r = add_range(out, part.data ? part.data : "", part.len, u);
		buf_free(&part);
		mime_free(&m);
	}
	free(raw);
	if (r == 0 && out->len - before > max)
		r = -E2BIG;
	return r;
}
