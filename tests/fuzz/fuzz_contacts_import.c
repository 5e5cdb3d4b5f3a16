/* fuzz_contacts_import: arbitrary bytes as a .vcf given to `tern contacts
 * import`, through the half of it that needs no store
 * (admin_contacts_parse: the whole file read, each card's own text cut
 * out by its BEGIN/END lines, a UID line added where there is none).
 *
 * Beyond crashes and leaks: a refusal says why; what is accepted is at
 * least one card, and every card's text has CRLF line ends only, reads
 * alone as exactly one vCard, and carries the UID it is stored under
 * (but a card refused for an empty UID);
 * no more addresses than EMAIL properties. */
#include "admin/contacts.h"
#include "contacts/vcard.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_contacts_card *cards;
	size_t n;
	char err[256] = "";
	int rc = admin_contacts_parse((const char *)data, size, &cards, &n, err, sizeof err);
	if (rc < 0) {
		if (rc != -EINVAL && rc != -ENOMEM)
			__builtin_trap();
		if (!err[0])
			__builtin_trap();
		return 0;
	}
	if (n == 0)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		const struct admin_contacts_card *c = &cards[i];
		if (c->why && !c->uid)
			__builtin_trap();
		if (c->why && !c->uid[0])
			continue; /* refused for its empty UID */
		if (!c->text || c->len == 0 || !c->uid || !c->uid[0] || strlen(c->text) > c->len)
			__builtin_trap();
		for (size_t k = 0; k < c->len; k++) {
			if (c->text[k] == '\n' && (k == 0 || c->text[k - 1] != '\r'))
				__builtin_trap();
		}
		if (c->len < 2 || c->text[c->len - 2] != '\r' || c->text[c->len - 1] != '\n')
			__builtin_trap();
		struct vcard_list one;
		char e[128];
		if (vcard_parse(c->text, c->len, &one, e, sizeof e) != 0 || one.n != 1)
			__builtin_trap();
		const struct vcard_prop *uid = vcard_get(&one.cards[0], "UID");
		if (!uid || strcmp(uid->value, c->uid) != 0)
			__builtin_trap();
		size_t emails = 0;
		for (size_t k = 0; k < one.cards[0].nprops; k++)
			emails += strcmp(one.cards[0].props[k].name, "EMAIL") == 0;
		if (c->nemails > emails)
			__builtin_trap();
		vcard_list_free(&one);
	}
	admin_contacts_cards_free(cards, n);
	return 0;
}
