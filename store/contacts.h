/* contacts: an account's address books and their cards (schema 22).
 *
 * One model for three clients: CardDAV (RFC 6352, proto/http), JMAP for
 * Contacts (RFC 9610, proto/jmap) and `tern contacts import|export`. A
 * card is kept as the vCard text the client wrote (contacts/vcard.c reads
 * it; the store knows no vCard), with what the others need beside it:
 *
 *   - `href`: the card's resource name in its address book, unique there
 *     ("<uid>.vcf" when the server names it; a CardDAV PUT chooses it);
 *   - `uid`: the vCard's UID, unique per address book (RFC 6352 5.1);
 *   - `modseq`: one counter per account for all its contacts, bumped by
 *     every change. It is the ETag (RFC 4918 8.6: "\"<modseq>\""), the
 *     CardDAV sync-token of an address book and the JMAP state string:
 *     what changed since N is every card and tombstone with modseq > N;
 *   - `emails`: the card's addresses in lower case, given by the caller,
 *     for "is this address known" (collected addresses) and autocomplete.
 *
 * A deleted card leaves a tombstone (deleted = true, no text) so that a
 * sync (RFC 6578, JMAP /changes) can report it; tombstones older than a
 * sync window may be purged, after which an older token gets "too old"
 * (store_contacts_oldest_modseq).
 *
 * Each account gets two books on first use (store_addressbook_ensure):
 * "Contacts" (role "default") and "Collected Addresses" (role
 * "collected"), which store_contacts_collect fills from the recipients of
 * mail the account sends, as Thunderbird does.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_CONTACTS_H
#define TERN_STORE_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_ADDRESSBOOK_NAME_MAX 255
#define STORE_CARD_HREF_MAX 255
#define STORE_CARD_UID_MAX 255
#define STORE_CARD_MAX (256 * 1024) /* bytes of one vCard */
#define STORE_ADDRESSBOOKS_MAX 100  /* per account */
#define STORE_CARDS_MAX 100000      /* per account */
/* Tombstones an account keeps for the syncs: past this many, the oldest
 * go, and a sync from before them must start over (valid-sync-token,
 * cannotCalculateChanges). */
#define STORE_CARD_TOMBSTONES_MAX 2000

struct store_addressbook {
	int64_t id;
	char name[STORE_ADDRESSBOOK_NAME_MAX + 1];
	char role[16];  /* "default", "collected" or "" */
	int64_t modseq; /* the highest modseq of its cards and tombstones, and at
	                 * least the account's oldest (so that a book's sync
	                 * token never falls below what a sync may start from) */
};

struct store_card {
	int64_t id; /* unique in the store; stable for the card's life */
	int64_t addressbook_id;
	const char *href;
	const char *uid;
	int64_t modseq;
	bool deleted;      /* a tombstone: vcard NULL */
	const char *vcard; /* NULL when not asked for, or a tombstone */
	size_t len;
};

/* Create the default and collected books of an account that has none.
 * 0, or -ENOENT (no account). Idempotent. */
int store_addressbook_ensure(struct store_tx *tx, int64_t account_id);
/* A new book: 0 (*id set), -EINVAL (bad name), -EEXIST (name taken),
 * -ENOSPC (STORE_ADDRESSBOOKS_MAX). */
int store_addressbook_create(struct store_tx *tx, int64_t account_id, const char *name,
                             int64_t *id);
/* 0, -ENOENT, -EEXIST, -EINVAL. */
int store_addressbook_rename(struct store_tx *tx, int64_t account_id, int64_t id, const char *name);
/* A book and its cards (tombstones left for each card): 0, -ENOENT, or
 * -EBUSY for the default book. */
int store_addressbook_destroy(struct store_tx *tx, int64_t account_id, int64_t id);
/* The account's books, by id; cb returning < 0 stops with that value. */
int store_addressbook_list(struct store_rd *rd, int64_t account_id,
                           int (*cb)(void *ud, const struct store_addressbook *b), void *ud);
/* One book by id or (id 0) by name or (both absent) by role: 1, 0, < 0. */
int store_addressbook_get(struct store_rd *rd, int64_t account_id, int64_t id, const char *name,
                          const char *role, struct store_addressbook *out);

/* Create or replace the card `href` of a book.
 * if_match: -1 any, 0 only if no live card has this href (If-None-Match:
 * *), else only if the live card's modseq equals it (If-Match).
 * emails: its addresses (any case; kept lower-cased).
 * 0 (*out_modseq, *out_id set), -ENOENT (no such book), -EEXIST (another
 * card of the book has this uid, or if_match 0 and href exists),
 * -ESTALE (if_match not met), -EINVAL (href, uid or size out of bounds),
 * -ENOSPC (STORE_CARDS_MAX). */
int store_card_put(struct store_tx *tx, int64_t account_id, int64_t book_id, const char *href,
                   const char *uid, const char *vcard, size_t len, const char *const *emails,
                   size_t nemails, int64_t if_match, int64_t *out_id, int64_t *out_modseq);
/* Delete a card, leaving a tombstone. if_match as above (-1: any).
 * 0, -ENOENT, -ESTALE. */
int store_card_delete(struct store_tx *tx, int64_t account_id, int64_t book_id, const char *href,
                      int64_t if_match);
/* Move a live card to another book of the account (JMAP addressBookIds):
 * 0, -ENOENT, -EEXIST (the uid or href is taken there). */
int store_card_move(struct store_tx *tx, int64_t account_id, int64_t card_id, int64_t to_book);

/* One live card by href (book_id and href) or by id (card_id, book_id 0):
 * 1 and cb called once, 0 none, < 0. The strings live until cb returns. */
int store_card_get(struct store_rd *rd, int64_t account_id, int64_t book_id, const char *href,
                   int64_t card_id, int (*cb)(void *ud, const struct store_card *c), void *ud);
/* The live cards of a book (book_id 0: of every book), by id; with_data:
 * with their text. cb returning < 0 stops with that value. */
int store_card_list(struct store_rd *rd, int64_t account_id, int64_t book_id, bool with_data,
                    int (*cb)(void *ud, const struct store_card *c), void *ud);
/* Cards and tombstones with modseq > since, by modseq (book_id 0: all
 * books), no text. */
int store_card_changes(struct store_rd *rd, int64_t account_id, int64_t book_id, int64_t since,
                       int (*cb)(void *ud, const struct store_card *c), void *ud);
/* The account's contacts modseq (0 before any change): >= 0, or < 0. */
int64_t store_contacts_modseq(struct store_rd *rd, int64_t account_id);
/* The lowest modseq a sync may start from (older tombstones were purged). */
int64_t store_contacts_oldest_modseq(struct store_rd *rd, int64_t account_id);
/* Live cards with an address or name starting with prefix (any case), at
 * most limit, for autocomplete; cb gets the card with its text. */
int store_card_search(struct store_rd *rd, int64_t account_id, const char *prefix, size_t limit,
                      int (*cb)(void *ud, const struct store_card *c), void *ud);

/* Collected addresses: when no live card of the account has `email`, add
 * one to the collected book (ensured), a vCard 4.0 with FN (name, or the
 * address) and EMAIL, built here as the store's one piece of vCard text.
 * 1 added, 0 known already, < 0. */
int store_contacts_collect(struct store_tx *tx, int64_t account_id, const char *name,
                           const char *email);

#endif
