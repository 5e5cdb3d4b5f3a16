/* index: what IMAP works out once per message and the store keeps
 * (store/msg_index.h): ENVELOPE, BODY and BODYSTRUCTURE, the decoded
 * header, the day of its Date: field, the PREVIEW text, and the text
 * SEARCH looks in.
 *
 * imap_index_message() is the store's indexer (registered with
 * imap_index_register()); it runs on the writer thread, so it is pure: it
 * parses the bytes it is given and touches nothing shared. FETCH and
 * SEARCH use the same functions on the loop for a message the indexer has
 * not reached yet. */
#include "proto/imap/index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "mime/mime.h"
#include "proto/imap/dates.h"
#include "proto/imap/render.h"
#include "proto/imap/sort_keys.h"
#include "lib/log.h"
#include "store/mail.h"
#include "store/msg_index.h"
/* The day of the Date: field, IMAP_NO_DAY if none or unparsable. */
static int64_t sent_day_of(const struct mime_message *m)
{
	const char *v;
	size_t vl;
	int64_t day;
	if (mime_header_get(m, m->root, "date", &v, &vl) &&
	    imap_parse_rfc5322_day(v, vl, &day) == 0)
		return day;
	return IMAP_NO_DAY;
}

int imap_message_read_header(struct store_rd *rd, int64_t message_id, size_t size, char **raw,
                             size_t *rawlen, struct mime_message **mm)
{
	size_t want = size > IMAP_HEADER_PROBE ? IMAP_HEADER_PROBE : size;
	*rawlen = 0;
	for (;;) {
		char *buf = realloc(*raw, want + 1);
		if (!buf)
			return -ENOMEM;
		*raw = buf;
		size_t asked = want - *rawlen;
		ssize_t n = store_message_read(rd, message_id, *rawlen, *raw + *rawlen, asked);
		if (n < 0)
			return (int)n;
		*rawlen += (size_t)n;
		int r = mime_parse(*raw, *rawlen, mm);
		bool whole = want >= size || (size_t)n < asked;
		if (r < 0 || whole || (*mm)->root->body_start < *rawlen)
			return r;
		mime_free(mm); /* the header goes on past the prefix */
		want = want > size / 4 ? size : want * 4;
	}
}

int imap_header_info(struct store_rd *rd, int64_t message_id, char **headers, int64_t *sent_day)
{
	int64_t size = store_message_size(rd, message_id);
	if (size < 0)
		return (int)size;
	char *raw = NULL;
	size_t rawlen;
	struct mime_message *m = NULL;
	struct buf hdrs = {0};
	*headers = NULL;
	*sent_day = IMAP_NO_DAY;
	int r = imap_message_read_header(rd, message_id, (size_t)size, &raw, &rawlen, &m);
	if (r == 0)
		r = mime_header_text(m, m->root, IMAP_INDEX_TEXT_MAX, &hdrs);
	if (r == 0) {
		*sent_day = sent_day_of(m);
		if (!(*headers = buf_take(&hdrs)))
			r = -ENOMEM;
	}
	buf_free(&hdrs);
	mime_free(&m);
	free(raw);
	return r;
}

int imap_index_compute(const char *data, size_t len, bool with_text, struct store_index_data *out)
{
	struct mime_message *m = NULL;
	struct buf env = {0}, bs = {0}, body = {0}, hdrs = {0}, ht = {0}, bt = {0}, sk = {0};
	struct buf preview = {0};
	memset(out, 0, sizeof *out);
	out->sent_day = IMAP_NO_DAY;
	int r = mime_parse(data, len, &m);
	if (r == 0)
		r = imap_envelope(m, m->root, &env);
	if (r == 0)
		r = imap_bodystructure(m, true, &bs);
	if (r == 0)
		r = imap_bodystructure(m, false, &body);
	if (r == 0)
		r = mime_header_text(m, m->root, IMAP_INDEX_TEXT_MAX, &hdrs);
	if (r == 0)
		r = imap_sort_record(m, true, &sk);
	if (r == 0)
		r = mime_preview(m, &preview);
	if (r == 0 && with_text)
		r = mime_searchable_text(m, MIME_TEXT_HEADERS, IMAP_INDEX_TEXT_MAX, &ht);
	if (r == 0 && with_text)
		r = mime_searchable_text(m, MIME_TEXT_BODY, IMAP_INDEX_TEXT_MAX, &bt);
	if (r == 0) {
		out->sent_day = sent_day_of(m);
		out->envelope = buf_take(&env);
		out->bodystructure = buf_take(&bs);
		out->body = buf_take(&body);
		out->headers = buf_take(&hdrs);
		out->sort_keys_len = sk.len;
		out->sort_keys = buf_take(&sk);
		out->preview = buf_take(&preview);
		if (!out->envelope || !out->bodystructure || !out->body || !out->headers ||
		    !out->sort_keys || !out->preview)
			r = -ENOMEM;
		if (with_text && r == 0 && !(out->hdr_text = buf_take(&ht)))
			r = -ENOMEM;
		if (with_text && r == 0 && !(out->body_text = buf_take(&bt)))
			r = -ENOMEM;
	}
	if (r < 0)
		store_index_data_free(out);
	buf_free(&env);
	buf_free(&bs);
	buf_free(&body);
	buf_free(&hdrs);
	buf_free(&ht);
	buf_free(&bt);
	buf_free(&sk);
	buf_free(&preview);
	mime_free(&m);
	return r;
}

int imap_sort_record_read(struct store_rd *rd, int64_t message_id, struct buf *out)
{
	int64_t size = store_message_size(rd, message_id);
	if (size < 0)
		return (int)size;
	char *raw = NULL;
	size_t rawlen;
	struct mime_message *m = NULL;
	int r = imap_message_read_header(rd, message_id, (size_t)size, &raw, &rawlen, &m);
	if (r == 0)
		r = imap_sort_record(m, false, out);
	mime_free(&m);
	free(raw);
	return r;
}

static int imap_index_message(const char *data, size_t len, struct store_index_data *out)
{
	return imap_index_compute(data, len, true, out);
}

void imap_index_register(struct store *store)
{
	if (store_set_indexer(store, imap_index_message, IMAP_INDEX_VERSION) < 0)
		log_warn("imap event=index_upgrade_failed note=old_rows_kept");
}

_Static_assert(IMAP_NO_DAY == STORE_NO_DAY, "one marker for a message without a date");
