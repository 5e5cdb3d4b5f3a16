/* fuzz_mime: arbitrary bytes through everything mime/ offers, and through
 * the IMAP renderings of its tree (proto/imap/render.c) and mime/section.c.
 *
 * Parse, then check the tree's invariants (offsets nested and in range,
 * sizes and line counts consistent with the bytes, depth and part limits),
 * write BODY/BODYSTRUCTURE/ENVELOPE and check they are well-formed IMAP,
 * resolve section specs for every part, decode every body, build the
 * searchable text, build the SORT/THREAD record (base subject, collation
 * keys, msg-ids; read back and threaded), and run the address and RFC 2047
 * parsers on the raw input.  Every walk is iterative: the tree may be MIME_MAX_DEPTH deep. */
#include "mime/mime.h"
#include "mime/msgid.h"
#include "proto/imap/render.h"
#include "mime/section.h"
#include "proto/imap/sort_keys.h"
#include "proto/imap/thread.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_wellformed(const struct buf *b)
{
	long depth = 0;
	const char *s = b->data;
	size_t n = b->len;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\')
					i++;
				if (i < n &&
				    (s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80))
					__builtin_trap();
			}
			if (i >= n)
				__builtin_trap();
		} else if (s[i] == '{') {
			char *e;
			unsigned long l = strtoul(s + i + 1, &e, 10);
			if (*e != '}' || e[1] != '\r' || e[2] != '\n')
				__builtin_trap();
			i = (size_t)(e - s) + 2 + l;
			if (i >= n)
				__builtin_trap();
		} else if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')') {
			if (--depth < 0)
				__builtin_trap();
		}
	}
	if (depth != 0)
		__builtin_trap();
}

static size_t count_lines(const char *s, size_t n)
{
	size_t l = 0;
	for (size_t i = 0; i < n; i++)
		l += s[i] == '\n';
	if (n && s[n - 1] != '\n')
		l++;
	return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *raw = (const char *)data;
	struct mime_message *m;
	if (mime_parse(raw, size, &m) < 0)
		return 0;
	if (m->nparts > MIME_MAX_PARTS + 1)
		__builtin_trap();
	struct buf b = {0};

	/* invariants, pre-order walk over parent pointers; each part's
	 * number is rebuilt to check imap_part_find() */
	unsigned seen = 0;
	const struct mime_part *p = m->root;
	while (p) {
		seen++;
		if (p->hdr_start > p->body_start || p->body_start > p->body_end ||
		    p->body_end > size || p->size != p->body_end - p->body_start ||
		    p->depth > MIME_MAX_DEPTH || !p->ltype || !p->lsubtype || !p->type ||
		    !p->subtype)
			__builtin_trap();
		if ((p->depth < 8 || p->size < 4096) &&
		    p->lines != count_lines(raw + p->body_start, p->size))
			__builtin_trap();
		if (p->parent &&
		    (p->hdr_start < p->parent->body_start || p->body_end > p->parent->body_end))
			__builtin_trap();
		if (p->message) {
			buf_reset(&b);
			if (imap_envelope(m, p->message, &b) == 0)
				check_wellformed(&b);
		}
		buf_reset(&b);
		int r = mime_decode_body(m, p, &b);
		if (r == 0 && b.len > p->size)
			__builtin_trap();
		if (p->children)
			p = p->children;
		else if (p->message)
			p = p->message;
		else {
			while (p && !p->next)
				p = p->parent;
			if (p)
				p = p->next;
		}
	}
	if (seen != m->nparts)
		__builtin_trap();

	for (int ext = 0; ext < 2; ext++) {
		buf_reset(&b);
		if (imap_bodystructure(m, ext, &b) == 0)
			check_wellformed(&b);
	}
	buf_reset(&b);
	if (imap_envelope(m, m->root, &b) == 0)
		check_wellformed(&b);

	/* the sort record: it reads back, its keys are bounded, and the
	 * message threads with a copy of itself (a duplicate Message-ID) */
	buf_reset(&b);
	if (imap_sort_record(m, true, &b) == 0) {
		struct imap_sort_info info;
		if (imap_sort_record_parse(b.data, b.len, &info) < 0)
			__builtin_trap();
		for (int f = 0; f < IMAP_SF_MSGID; f++)
			if (info.f[f].len > IMAP_SORT_KEY_MAX)
				__builtin_trap();
		if (info.f[IMAP_SF_REFS].len > IMAP_SORT_REFS_MAX + IMAP_SORT_KEY_MAX)
			__builtin_trap();
		struct imap_thread_msg tm = {
		    .num = 1,
		    .seq = 1,
		    .date = info.sent_time,
		    .subj = info.f[IMAP_SF_SUBJECT].p,
		    .subjlen = info.f[IMAP_SF_SUBJECT].len,
		    .reply = info.flags & IMAP_SORT_REPLY,
		    .msgid = info.f[IMAP_SF_MSGID].p,
		    .msgidlen = info.f[IMAP_SF_MSGID].len,
		    .refs = info.f[IMAP_SF_REFS].p,
		    .refslen = info.f[IMAP_SF_REFS].len,
		};
		struct imap_thread_msg two[2] = {tm, tm};
		two[1].num = two[1].seq = 2;
		struct buf t = {0};
		for (int alg = 0; alg < 2; alg++) {
			buf_reset(&t);
			if (imap_thread((enum imap_thread_alg)alg, two, 2, &t) == 0)
				check_wellformed(&t);
		}
		buf_free(&t);
	}

	static const char *const specs[] = {"",
	                                    "1",
	                                    "2",
	                                    "1.1",
	                                    "1.2.3",
	                                    "HEADER",
	                                    "TEXT",
	                                    "1.MIME",
	                                    "2.HEADER",
	                                    "1.TEXT",
	                                    "2.1.MIME",
	                                    "HEADER.FIELDS (From To Subject Content-Type)",
	                                    "1.HEADER.FIELDS.NOT (Received)",
	                                    "3.2.1",
	                                    "1.1.1.1"};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct imap_section s;
		if (imap_section_find(m, specs[i], strlen(specs[i]), &s) == 0) {
			if (s.offset > size || s.length > size - s.offset)
				__builtin_trap();
			buf_reset(&b);
			imap_section_fetch(m, &s, &b);
		}
	}
	/* the input's first line as a section spec */
	const char *nl = memchr(raw, '\n', size < 200 ? size : 200);
	if (nl) {
		struct imap_section s;
		if (imap_section_find(m, raw, (size_t)(nl - raw), &s) == 0) {
			buf_reset(&b);
			imap_section_fetch(m, &s, &b);
		}
	}
	buf_reset(&b);
	mime_searchable_text(m, MIME_TEXT_HEADERS | MIME_TEXT_BODY, 1 << 20, &b);
	/* RFC 8970's preview: bounded, and whole UTF-8 characters */
	buf_reset(&b);
	if (mime_preview(m, &b) == 0) {
		size_t chars = 0;
		for (size_t i = 0; i < b.len; i++)
			chars += ((unsigned char)b.data[i] & 0xc0) != 0x80;
		if (chars > MIME_PREVIEW_CHARS)
			abort();
	}
	mime_free(&m);
	/* the threading keys (mime/msgid.h): bounded whatever the header */
	struct mime_thread_ids *t = malloc(sizeof *t);
	if (t) {
		mime_thread_ids_read(raw, size, t);
		if (t->nparents > MIME_MSGID_MAX_PARENTS ||
		    (t->message_id && strlen(t->message_id) > MIME_MSGID_MAX))
			abort();
		free(t);
	}

	size_t small = size < 4096 ? size : 4096;
	struct mime_address *a;
	size_t na;
	if (mime_addresses_parse(raw, small, &a, &na) == 0)
		mime_addresses_free(&a, na);
	buf_reset(&b);
	mime_decode_header_value(raw, small, &b);
	buf_reset(&b);
	mime_to_utf8("iso-2022-jp", raw, small, &b);
	buf_reset(&b);
	mime_decode_qp(raw, small, &b);
	buf_reset(&b);
	imap_header_fields(raw, size, "from subject x-a", 16, (size & 1) != 0, &b);
	buf_free(&b);
	return 0;
}
