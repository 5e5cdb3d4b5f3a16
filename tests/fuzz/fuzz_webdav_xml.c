/* fuzz_webdav_xml: a WebDAV request body (webdav_xml.c) on arbitrary
 * bytes: it is read or refused, never overrun; what is read keeps the
 * bounds (depth, elements, text, attributes) and every string is
 * NUL-terminated at its length; and each node's text written back by
 * the escaping writer carries no markup. The tree then goes through the
 * addressbook-query filter (carddav_filter.c) against a fixed vCard:
 * checked or refused, and a checked one is matched without a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "contacts/vcard.h"
#include "proto/http/carddav_int.h"
#include "proto/http/webdav_xml.h"

static const char CARD[] = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u1\r\nFN:Ada Lovelace\r\n"
                           "EMAIL:ada@example.org\r\nEMAIL:ADA@work.example\r\nEND:VCARD\r\n";

static size_t walk(const struct wdx_node *n, size_t depth, struct buf *out)
{
	if (depth > WDX_MAX_DEPTH || n->text_len > WDX_MAX_TEXT || n->nattrs > WDX_MAX_ATTRS ||
	    strlen(n->text) != n->text_len || !n->ns || !n->name || !*n->name)
		abort();
	buf_reset(out);
	if (wdx_escape(out, n->text, n->text_len) == 0)
		for (size_t i = 0; i < out->len; i++)
			if (out->data[i] == '<' || out->data[i] == '>' || out->data[i] == '"')
				abort();
	size_t count = 1;
	for (const struct wdx_node *c = n->first; c; c = c->next) {
		if (c->parent != n)
			abort();
		count += walk(c, depth + 1, out);
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vcard_list card;
	static bool have_card;
	if (!have_card) {
		char err[80];
		if (vcard_parse(CARD, sizeof CARD - 1, &card, err, sizeof err) != 0)
			abort();
		have_card = true;
	}
	struct wdx_doc doc;
	char err[160];
	int rc = wdx_parse((const char *)data, size, &doc, err, sizeof err);
	if (rc == 0) {
		struct buf out = {0};
		if (!doc.root || walk(doc.root, 1, &out) > WDX_MAX_NODES)
			abort();
		buf_free(&out);
		const char *cond;
		if (dav_filter_check(doc.root, &cond) == 0)
			(void)dav_filter_match(doc.root, &card.cards[0]);
		else if (!cond)
			abort();
	} else if (doc.root || strnlen(err, sizeof err) == 0) {
		abort();
	}
	wdx_free(&doc);
	return 0;
}
