/* admin/contacts: what `tern contacts import|export|list` does to an
 * account's address books (store/contacts.h), without printing.
 *
 * Import reads a .vcf (one or many vCards, 4.0 or 3.0) with
 * contacts/vcard.c and keeps each card's own text (its lines as written,
 * line endings made CRLF), so that what a phone wrote comes back as it
 * was. A card without a UID gets "urn:uuid:<random>", and that UID line is
 * added to its text after VERSION. A card whose UID is already in the book
 * replaces that card (same href); a new card's href is "<uid>.vcf" when
 * the UID is made of safe characters, else "<random uuid>.vcf". A file
 * that does not read as vCards is refused whole (nothing imported); a
 * card the store cannot keep (too large, UID too long, the UID twice in
 * the file, the account full) is refused alone, with why. All of it is one
 * transaction. */
#ifndef TERN_ADMIN_CONTACTS_H
#define TERN_ADMIN_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/contacts.h"

struct store;
struct store_rd;

struct admin_contacts_refusal {
	size_t index; /* 1-based, in the file's order */
	char uid[64]; /* the card's UID, cut short; "" when it had none */
	char why[128];
};

struct admin_contacts_import {
	size_t cards; /* in the file */
	size_t imported, replaced, refused;
	struct admin_contacts_refusal *refusals; /* refused of them, malloc'd */
	int64_t book_id;
	bool book_created;
	char err[256]; /* why the whole file was refused */
};

/* One card of a file as the import stores it. */
struct admin_contacts_card {
	char *text; /* the card's own lines, CRLF; the UID line added when it had none */
	size_t len;
	char *uid;
	char **emails; /* its EMAIL values, decoded (for store_card_put) */
	size_t nemails;
	const char *why; /* the store could not keep it: why (static), else NULL */
};

/* The cards of data[0..len), without a store (the first half of
 * admin_contacts_import): 0 (*cards, *n set; at least one card),
 * -EINVAL (why in err), -ENOMEM. Free with admin_contacts_cards_free. */
int admin_contacts_parse(const char *data, size_t len, struct admin_contacts_card **cards,
                         size_t *n, char *err, size_t errlen);
void admin_contacts_cards_free(struct admin_contacts_card *cards, size_t n);

/* Import data[0..len) into the account's book `book` (NULL: the default
 * book; made when missing, as are the default and collected books).
 * 0 (counts in *out), -EINVAL (the file: why in out->err, nothing
 * changed), -ENOENT (no account), or another negative errno (nothing
 * changed). Free out with admin_contacts_import_free(). */
int admin_contacts_import(struct store *s, int64_t account_id, const char *book, const char *data,
                          size_t len, struct admin_contacts_import *out);
void admin_contacts_import_free(struct admin_contacts_import *r);

/* Write the live cards of a book (book_id 0: of every book) through
 * write, each card's text with its line endings made CRLF. The count of
 * cards (>= 0), or write's negative value, or a negative errno. */
int admin_contacts_export(struct store_rd *rd, int64_t account_id, int64_t book_id,
                          int (*write)(void *ud, const char *p, size_t n), void *ud);

/* The account's books, each with its count of live cards; cb < 0 stops. */
int admin_contacts_books(struct store_rd *rd, int64_t account_id,
                         int (*cb)(void *ud, const struct store_addressbook *b, size_t cards),
                         void *ud);

#endif
