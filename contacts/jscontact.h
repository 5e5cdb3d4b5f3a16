/* jscontact: a vCard (contacts/vcard.h) as a JSContact Card (RFC 9553)
 * and back, following RFC 9555's mapping, for JMAP for Contacts
 * (RFC 9610): the store keeps the vCard a client wrote, JMAP shows and
 * takes Cards.
 *
 * Converted both ways: UID uid, KIND kind, N and FN name (components,
 * full), NICKNAME nicknames, EMAIL emails, TEL phones, ADR addresses,
 * ORG organizations, TITLE and ROLE titles, NOTE notes, BDAY,
 * ANNIVERSARY and DEATHDATE anniversaries, URL links, IMPP
 * onlineServices, REV updated, CREATED created. TYPE=work/home are the
 * contexts work/private, TEL's other types its features, PREF pref,
 * PROP-ID (RFC 9554) the entry's id in its map.
 *
 * Nothing is lost either way (RFC 9555 §3.3):
 *   - a vCard property not converted goes to `vCardProps` as jCard
 *     (RFC 7095: [name, params, type, value]; the value as the file
 *     escaped it, jCard's rule for the "unknown" type), and a parameter
 *     not converted to the entry's `vCardParams`; both are written back;
 *   - a Card property (or map entry) the vCard cannot say exactly goes to
 *     a JSPROP property (RFC 9555 §3.2: JSPTR names it, the value is its
 *     JSON), which the reader puts back over what it converted. Whether a
 *     property "can be said" is checked, not guessed: the vCard written
 *     is read back and compared property by property with the Card.
 *
 * Pure: no I/O, no store; every size is bounded by the vCard reader's
 * limits or the caller's JSON. */
#ifndef TERN_CONTACTS_JSCONTACT_H
#define TERN_CONTACTS_JSCONTACT_H

#include <jansson.h>
#include <stddef.h>

#include "contacts/vcard.h"

/* The Card for a vCard: a new object, NULL only when out of memory. */
json_t *jscontact_from_vcard(const struct vcard *v);

/* The vCard 4.0 text for a Card (without JMAP's id and addressBookIds,
 * which the caller removes): 0 with *out malloc'd (*len bytes,
 * NUL-terminated); -EINVAL when a property is not what RFC 9553 says
 * (*bad names it, a top-level property), -ENOMEM. */
int jscontact_to_vcard(const json_t *card, char **out, size_t *len, const char **bad);

/* Convenience: the Card of the first vCard of text[0..len); NULL when it
 * does not parse or out of memory. */
json_t *jscontact_from_text(const char *text, size_t len);

#endif
