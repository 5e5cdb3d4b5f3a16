/* contact_card: JMAP for Contacts (RFC 9610): AddressBook and
 * ContactCard, over the store's address books (store/contacts.h) and
 * JSContact (contacts/jscontact.h).
 *
 * Ids: an AddressBook is "D" + its store id, a ContactCard "C" + its
 * store id (stable for the card's life, also across a move between
 * books). What the methods share is here: the books made on first use,
 * the state strings and a card as JSON. */
#ifndef TERN_JMAP_CONTACT_CARD_H
#define TERN_JMAP_CONTACT_CARD_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/jmap/jmap_int.h"

#define JMAP_CAP_CONTACTS "urn:ietf:params:jmap:contacts"

void jmap_address_book_get(struct jmap_call *c);           /* address_book.c */
void jmap_address_book_changes(struct jmap_call *c);       /* address_book.c */
void jmap_address_book_set(struct jmap_call *c);           /* address_book.c */
void jmap_contact_card_get(struct jmap_call *c);           /* contact_card.c */
void jmap_contact_card_changes(struct jmap_call *c);       /* contact_card.c */
void jmap_contact_card_query(struct jmap_call *c);         /* contact_card_query.c */
void jmap_contact_card_query_changes(struct jmap_call *c); /* contact_card_query.c */
void jmap_contact_card_set(struct jmap_call *c);           /* contact_card_set.c */

/* Whether the account's two books exist (store_addressbook_ensure): true
 * to go on; false when a job was sent to make them (the method `again`
 * runs once more from its completion) or the call was answered with an
 * error. */
bool jmap_contacts_ready(struct jmap_call *c, void (*again)(struct jmap_call *c));

/* The ContactCard state now: "c<modseq>-<highest card id>", so that
 * /changes can tell a card created since (a higher id) from one updated.
 * 0, or a negative errno. */
#define JMAP_CARD_STATE_MAX 48
int jmap_card_state(const struct jmap_account *acct, char out[JMAP_CARD_STATE_MAX]);
/* Reads a state back: true and both numbers, or false. */
bool jmap_card_state_parse(const char *s, int64_t *modseq, int64_t *max_id);

struct store_card;
/* A stored card as a ContactCard: its vCard as JSContact, with id and
 * addressBookIds. NULL only when out of memory. */
json_t *jmap_card_json(const struct store_card *sc);

#endif
