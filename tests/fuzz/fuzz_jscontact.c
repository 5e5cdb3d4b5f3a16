/* fuzz_jscontact: arbitrary bytes through contacts/jscontact.c both ways.
 * The input is read as a vCard (as a CardDAV PUT or an import brings
 * one) and, when it is not one, as a JSON Card (as a JMAP ContactCard/set
 * brings one).
 *
 * Beyond crashes and leaks, the promise of jscontact.h: a Card the writer
 * takes comes back whole (Card -> vCard -> Card is the same Card), and a
 * vCard's Card written and read again is the same Card (vCardProps
 * compared by number: they come back normalised). */
#include "contacts/jscontact.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void card_round_trip(json_t *card)
{
	char *text = NULL;
	size_t len = 0;
	const char *bad = NULL;
	int rc = jscontact_to_vcard(card, &text, &len, &bad);
	if (rc == -EINVAL && !bad)
		__builtin_trap();
	if (rc == 0) {
		json_t *back = jscontact_from_text(text, len);
		if (!back)
			__builtin_trap();
		/* what the Card lacked, the reader adds: @type and version */
		json_t *want = json_deep_copy(card);
		if (!json_object_get(want, "@type"))
			json_object_set_new(want, "@type", json_string("Card"));
		if (!json_object_get(want, "version"))
			json_object_set_new(want, "version", json_string("1.0"));
		/* vCardProps come back normalised (names and types in lower
		 * case, a one-value array as a string): their number only */
		if (json_array_size(json_object_get(want, "vCardProps")) !=
		    json_array_size(json_object_get(back, "vCardProps")))
			__builtin_trap();
		json_object_del(want, "vCardProps");
		json_object_del(back, "vCardProps");
		if (!json_equal(want, back))
			__builtin_trap();
		json_decref(want);
		json_decref(back);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	json_t *card = jscontact_from_text((const char *)data, size);
	if (card) {
		card_round_trip(card);
		json_decref(card);
		return 0;
	}
	json_error_t e;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (json_is_object(j))
		card_round_trip(j);
	json_decref(j);
	return 0;
}
