/* fuzz_mime_body_lists: RFC 8621 §4.1.4's body lists and the
 * has-attachment rule (mime/body_lists.h) on arbitrary messages, the way
 * the indexer and Email/get run them on mail from anyone.
 *
 * Beyond crashes and leaks: every list holds at most one entry per part,
 * only leaf parts (never a multipart), each a part of the tree outside
 * any attached message; mime_has_attachment() answers what the lists and
 * the per-part rule say; and the sort record of the whole message carries
 * the same bit, while one made from the header alone never does. */
#include "mime/body_lists.h"
#include "mime/mime.h"
#include "proto/imap/sort_keys.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is p a node of the tree reached through multipart children alone? */
static bool in_tree(const struct mime_part *root, const struct mime_part *p)
{
	for (const struct mime_part *q = p; q; q = q->parent) {
		if (q == root)
			return true;
		if (!q->parent || !(q->parent->flags & MIME_PART_MULTIPART))
			return false;
	}
	return false;
}

static void check_list(const struct mime_message *m, const struct mime_part **v, size_t n)
{
	if (n > m->nparts)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		if (!v[i] || (v[i]->flags & MIME_PART_MULTIPART) || !in_tree(m->root, v[i]))
			__builtin_trap();
		for (size_t k = 0; k < i; k++)
			if (v[k] == v[i])
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message *m = NULL;
	if (mime_parse((const char *)data, size, &m) < 0)
		return 0;
	struct mime_body_lists l;
	if (mime_body_lists(m, &l) == 0) {
		check_list(m, l.text, l.ntext);
		check_list(m, l.html, l.nhtml);
		check_list(m, l.att, l.natt);
		bool any = false;
		for (size_t i = 0; i < l.natt; i++)
			any |= mime_part_counts_as_attachment(l.att[i]);
		int has = mime_has_attachment(m);
		if (any != mime_body_lists_have_attachment(&l) || (has >= 0 && has != any))
			__builtin_trap();
		struct buf rec = {0};
		if (has >= 0 && imap_sort_record(m, true, &rec) == 0 &&
		    (rec.len == 0 || !!(rec.data[0] & IMAP_SORT_HAS_ATTACHMENT) != has))
			__builtin_trap();
		buf_reset(&rec);
		if (imap_sort_record(m, false, &rec) == 0 &&
		    (rec.len == 0 || (rec.data[0] & IMAP_SORT_HAS_ATTACHMENT)))
			__builtin_trap();
		buf_free(&rec);
		mime_body_lists_free(&l);
	}
	mime_free(&m);
	return 0;
}
