/* contacts: address books and cards in SQL (see contacts.h; schema 22).
 *
 * Why tombstones are rows of `cards` and not a log: a card's id, href and
 * book are what both syncs report, and a deleted card keeps them. A
 * deletion marks the row (deleted 1) and drops its text and addresses;
 * a move to another book updates the row (the card keeps its id, JMAP's
 * view) and leaves a new tombstone row in the old book (deleted 2), which
 * only that book's sync reports (CardDAV's view: the href went away).
 * Putting a card at an href that has tombstones makes a new row (a new
 * id); a book's changes report an href once, live if it is, else as its
 * newest tombstone.
 *
 * Every change takes the next value of the account's counter
 * (contacts_state.modseq), so each card and tombstone has a modseq of its
 * own and "what changed since N" is a range of an index. The same row
 * counts the live cards (STORE_CARDS_MAX) without a count(*) per put.
 *
 * Tombstones do not pile up forever: a change that makes one trims the
 * account's to the newest STORE_CARD_TOMBSTONES_MAX (walking the partial
 * index cards_tombstones, so that costs that many index entries, not the
 * account's cards), and records the newest purged modseq as
 * contacts_state.oldest_modseq. A sync token below it cannot say what was
 * deleted and is refused; clients then sync from scratch, as RFC 6578
 * §3.2 and RFC 8620 §5.2 (cannotCalculateChanges) expect. No clock is
 * involved, so a burst of deletes purges early: that costs a resync, never
 * a wrong answer.
 *
 * The store knows no vCard, with two small exceptions kept here: the FN
 * of a card is read (one unfolded line) for autocomplete by name, and
 * store_contacts_collect writes the one card it makes.
 *
 * Bounds: book names and hrefs 1-255 bytes without control characters
 * (an href also without '/'), uids 1-255 bytes without control
 * characters, a card 1 byte to STORE_CARD_MAX, at most CARD_EMAILS_MAX
 * addresses of at most CARD_EMAIL_MAX bytes each (empty ones are not
 * indexed). */
#include "store/contacts.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CARD_EMAILS_MAX 1000
#define CARD_EMAIL_MAX 320
#define CARD_FN_MAX 1024

#define DELETED_LIVE 0
#define DELETED_GONE 1  /* deleted: every view reports it */
#define DELETED_MOVED 2 /* moved away: only its old book's changes report it */

static bool text_ok(const char *s, size_t max, bool slash_ok)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (!slash_ok && c == '/'))
			return false;
	}
	return true;
}

static void lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int account_exists(sqlite3 *db, int64_t account_id)
{
	int64_t n = store_scalar(db, "SELECT count(*) FROM accounts WHERE id = ?1", account_id);
	return n < 0 ? (int)n : n > 0;
}

/* The next modseq of the account, with the live card count moved by
 * delta: > 0, or a negative errno. */
static int64_t bump(sqlite3 *db, int64_t account_id, int delta)
{
	sqlite3_stmt *st;
	int rc =
	    store_prep_cached(db, &st,
	                      "INSERT INTO contacts_state(account_id, modseq, cards) "
	                      "VALUES(?1, 1, max(?2, 0)) ON CONFLICT(account_id) DO UPDATE SET "
	                      "modseq = modseq + 1, cards = max(cards + ?2, 0) "
	                      "RETURNING modseq");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int(st, 2, delta);
	rc = sqlite3_step(st);
	int64_t modseq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : store_errno(rc);
	store_release(st);
	return modseq;
}

static int64_t live_cards(sqlite3 *db, int64_t account_id)
{
	int64_t n =
	    store_scalar(db, "SELECT cards FROM contacts_state WHERE account_id = ?1", account_id);
	return n == -ENOENT ? 0 : n;
}

/* ---- address books ---- */

static bool book_name_ok(const char *name)
{
	return text_ok(name, STORE_ADDRESSBOOK_NAME_MAX, true);
}

/* 1 if the account has a book with this name (other than except_id). */
static int name_taken(sqlite3 *db, int64_t account_id, const char *name, int64_t except_id)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "SELECT 1 FROM addressbooks WHERE account_id = ?1 AND name = ?2 "
	                           "AND id != ?3");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, except_id);
	rc = sqlite3_step(st);
	store_release(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int book_insert(sqlite3 *db, int64_t account_id, const char *name, const char *role,
                       int64_t *id)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "INSERT INTO addressbooks(account_id, name, role, created) "
	                           "VALUES(?1, ?2, ?3, ?4)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, store_now());
	rc = store_step_done(st);
	store_release(st);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(db);
	return rc;
}

/* The book of a role, made when missing (named `name`, or "name N" when a
 * book of the account already has that name). */
static int ensure_role(sqlite3 *db, int64_t account_id, const char *role, const char *name)
{
	int64_t n =
	    store_scalar(db,
	                 role[0] == 'd' ? "SELECT count(*) FROM addressbooks WHERE account_id = ?1 "
	                                  "AND role = 'default'"
	                                : "SELECT count(*) FROM addressbooks WHERE account_id = ?1 "
	                                  "AND role = 'collected'",
	                 account_id);
	if (n != 0)
		return n < 0 ? (int)n : 0;
	char candidate[STORE_ADDRESSBOOK_NAME_MAX + 1];
	for (int i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(candidate, sizeof candidate, "%s", name);
		else
			snprintf(candidate, sizeof candidate, "%s %d", name, i);
		int rc = name_taken(db, account_id, candidate, 0);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return book_insert(db, account_id, candidate, role, NULL);
	}
	return -EEXIST;
}

int store_addressbook_ensure(struct store_tx *tx, int64_t account_id)
{
	sqlite3 *db = tx->rd.db;
	int rc = account_exists(db, account_id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	rc = ensure_role(db, account_id, "default", "Contacts");
	return rc < 0 ? rc : ensure_role(db, account_id, "collected", "Collected Addresses");
}

int store_addressbook_create(struct store_tx *tx, int64_t account_id, const char *name, int64_t *id)
{
	sqlite3 *db = tx->rd.db;
	if (!book_name_ok(name))
		return -EINVAL;
	int rc = account_exists(db, account_id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	int64_t n =
	    store_scalar(db, "SELECT count(*) FROM addressbooks WHERE account_id = ?1", account_id);
	if (n < 0)
		return (int)n;
	if (n >= STORE_ADDRESSBOOKS_MAX)
		return -ENOSPC;
	rc = name_taken(db, account_id, name, 0);
	if (rc != 0)
		return rc < 0 ? rc : -EEXIST;
	return book_insert(db, account_id, name, "", id);
}

/* The role of the account's book id into role (16 bytes): 1, 0 (none), < 0. */
static int book_role(sqlite3 *db, int64_t account_id, int64_t id, char *role)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(
	    db, &st, "SELECT role FROM addressbooks WHERE id = ?1 AND account_id = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, account_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && role) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(role, 16, "%s", t ? (const char *)t : "");
	}
	store_release(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_addressbook_rename(struct store_tx *tx, int64_t account_id, int64_t id, const char *name)
{
	sqlite3 *db = tx->rd.db;
	if (!book_name_ok(name))
		return -EINVAL;
	int rc = book_role(db, account_id, id, NULL);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	rc = name_taken(db, account_id, name, id);
	if (rc != 0)
		return rc < 0 ? rc : -EEXIST;
	sqlite3_stmt *st;
	rc = store_prep_cached(db, &st, "UPDATE addressbooks SET name = ?2 WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

/* Make the live card id a tombstone (deleted 1) with a new modseq. */
static int card_bury(sqlite3 *db, int64_t account_id, int64_t card_id)
{
	int64_t modseq = bump(db, account_id, -1);
	if (modseq < 0)
		return (int)modseq;
	int rc = store_run_ids(db,
	                       "UPDATE cards SET deleted = 1, vcard = NULL, fn = '', modseq = ?2 "
	                       "WHERE id = ?1",
	                       card_id, modseq);
	return rc < 0 ? rc
	              : store_run_ids(db, "DELETE FROM card_emails WHERE card_id = ?1", card_id, 0);
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* Keep the account's newest STORE_CARD_TOMBSTONES_MAX tombstones (see the
 * top of the file). */
static int tombstones_trim(sqlite3 *db, int64_t account_id)
{
	int64_t cut =
	    store_scalar(db,
	                 "SELECT modseq FROM cards WHERE account_id = ?1 AND deleted != 0 "
	                 "ORDER BY modseq DESC LIMIT 1 OFFSET " STR(STORE_CARD_TOMBSTONES_MAX),
	                 account_id);
	if (cut == -ENOENT)
		return 0;
	if (cut < 0)
		return (int)cut;
	int rc = store_run_ids(db,
	                       "DELETE FROM cards WHERE account_id = ?1 AND deleted != 0 AND "
	                       "modseq <= ?2",
	                       account_id, cut);
	return rc < 0 ? rc
	              : store_run_ids(db,
	                              "UPDATE contacts_state SET oldest_modseq = "
	                              "max(oldest_modseq, ?2) WHERE account_id = ?1",
	                              account_id, cut);
}

int store_addressbook_destroy(struct store_tx *tx, int64_t account_id, int64_t id)
{
	sqlite3 *db = tx->rd.db;
	char role[16];
	int rc = book_role(db, account_id, id, role);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if (strcmp(role, "default") == 0)
		return -EBUSY;
	/* one card at a time: each tombstone gets a modseq of its own. The
	 * query starts over each time (the buried card leaves it). */
	for (;;) {
		int64_t card = store_scalar(db,
		                            "SELECT id FROM cards WHERE addressbook_id = ?1 "
		                            "AND deleted = 0 ORDER BY id LIMIT 1",
		                            id);
		if (card == -ENOENT)
			break;
		if (card < 0)
			return (int)card;
		if ((rc = card_bury(db, account_id, card)) < 0)
			return rc;
	}
	sqlite3_stmt *st;
	rc = store_prep_cached(db, &st, "DELETE FROM addressbooks WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = store_step_done(st);
	store_release(st);
	return rc < 0 ? rc : tombstones_trim(db, account_id);
}

#define BOOK_COLS                                                                                  \
	"b.id, b.name, b.role, max((SELECT coalesce(max(c.modseq), 0) FROM cards c "               \
	"WHERE c.addressbook_id = b.id), coalesce((SELECT s.oldest_modseq FROM contacts_state s "  \
	"WHERE s.account_id = b.account_id), 0))"

static void book_row(sqlite3_stmt *st, struct store_addressbook *b)
{
	memset(b, 0, sizeof *b);
	b->id = sqlite3_column_int64(st, 0);
	const unsigned char *t = sqlite3_column_text(st, 1);
	snprintf(b->name, sizeof b->name, "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(st, 2);
	snprintf(b->role, sizeof b->role, "%s", t ? (const char *)t : "");
	b->modseq = sqlite3_column_int64(st, 3);
}

int store_addressbook_list(struct store_rd *rd, int64_t account_id,
                           int (*cb)(void *ud, const struct store_addressbook *b), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT " BOOK_COLS " FROM addressbooks b "
	                           "WHERE b.account_id = ?1 ORDER BY b.id");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_addressbook b;
		book_row(st, &b);
		if ((ret = cb(ud, &b)) < 0)
			break;
		ret = 0;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret;
}

int store_addressbook_get(struct store_rd *rd, int64_t account_id, int64_t id, const char *name,
                          const char *role, struct store_addressbook *out)
{
	if (!id && !name && !role)
		return -EINVAL;
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           id     ? "SELECT " BOOK_COLS " FROM addressbooks b "
	                                    "WHERE b.account_id = ?1 AND b.id = ?2"
	                           : name ? "SELECT " BOOK_COLS " FROM addressbooks b "
	                                    "WHERE b.account_id = ?1 AND b.name = ?3"
	                                  : "SELECT " BOOK_COLS " FROM addressbooks b "
	                                    "WHERE b.account_id = ?1 AND b.role = ?3 AND ?3 != ''");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	if (id)
		sqlite3_bind_int64(st, 2, id);
	else
		sqlite3_bind_text(st, 3, name ? name : role, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out)
		book_row(st, out);
	store_release(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* ---- cards ---- */

/* Drop a last UTF-8 sequence that was cut short. */
static void utf8_trim(char *s, size_t n)
{
	size_t i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < want)
		s[i - 1] = '\0';
}

/* The value of the card's first FN property (unfolded, the common escapes
 * undone, at most CARD_FN_MAX - 1 bytes), or "". */
static void card_fn(const char *v, size_t len, char *out)
{
	char line[CARD_FN_MAX + 64];
	size_t i = 0;
	out[0] = '\0';
	while (i < len) {
		size_t n = 0;
		while (i < len) {
			if (v[i] == '\r' && i + 1 < len && v[i + 1] == '\n')
				i += 2;
			else if (v[i] == '\n')
				i++;
			else {
				if (n < sizeof line - 1)
					line[n++] = v[i];
				i++;
				continue;
			}
			if (i < len && (v[i] == ' ' || v[i] == '\t')) {
				i++; /* a folded line goes on */
				continue;
			}
			break;
		}
		line[n] = '\0';
		const char *p = line;
		const char *dot = strchr(p, '.'), *colon = strchr(p, ':');
		if (dot && colon && dot < colon && dot < p + strcspn(p, ";:"))
			p = dot + 1; /* a group: "item1.FN:" */
		if (!((p[0] == 'F' || p[0] == 'f') && (p[1] == 'N' || p[1] == 'n') &&
		      (p[2] == ':' || p[2] == ';')))
			continue;
		bool quoted = false;
		for (p += 2; *p && (quoted || *p != ':'); p++)
			if (*p == '"')
				quoted = !quoted;
		if (*p != ':')
			continue;
		size_t o = 0;
		for (p++; *p && o < CARD_FN_MAX - 1; p++) {
			char c = *p;
			if (c == '\\' && p[1]) {
				c = *++p;
				if (c == 'n' || c == 'N')
					c = ' ';
			}
			out[o++] = c;
		}
		out[o] = '\0';
		utf8_trim(out, o);
		return;
	}
}

static bool emails_ok(const char *const *emails, size_t n)
{
	if (n > CARD_EMAILS_MAX || (n && !emails))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!emails[i])
			return false;
		if (emails[i][0] && !text_ok(emails[i], CARD_EMAIL_MAX, true))
			return false;
	}
	return true;
}

static int emails_set(sqlite3 *db, int64_t account_id, int64_t card_id, const char *const *emails,
                      size_t n)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, "DELETE FROM card_emails WHERE card_id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, card_id);
	rc = store_step_done(st);
	store_release(st);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char lower[CARD_EMAIL_MAX + 1];
		if (!emails[i][0])
			continue;
		snprintf(lower, sizeof lower, "%s", emails[i]);
		lower_ascii(lower);
		rc = store_prep_cached(
		    db, &st,
		    "INSERT OR IGNORE INTO card_emails(card_id, account_id, email) "
		    "VALUES(?1, ?2, ?3)");
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, card_id);
		sqlite3_bind_int64(st, 2, account_id);
		sqlite3_bind_text(st, 3, lower, -1, SQLITE_STATIC);
		rc = store_step_done(st);
		store_release(st);
	}
	return rc;
}

/* The live card of a book at href, or (href NULL) with uid: 1 (*id and
 * *modseq set), 0, < 0. */
static int live_card(sqlite3 *db, int64_t book_id, const char *href, const char *uid, int64_t *id,
                     int64_t *modseq)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           href ? "SELECT id, modseq FROM cards WHERE addressbook_id = ?1 "
	                                  "AND href = ?2 AND deleted = 0"
	                                : "SELECT id, modseq FROM cards WHERE addressbook_id = ?1 "
	                                  "AND uid = ?2 AND deleted = 0");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, book_id);
	sqlite3_bind_text(st, 2, href ? href : uid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (id)
			*id = sqlite3_column_int64(st, 0);
		if (modseq)
			*modseq = sqlite3_column_int64(st, 1);
	}
	store_release(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_card_put(struct store_tx *tx, int64_t account_id, int64_t book_id, const char *href,
                   const char *uid, const char *vcard, size_t len, const char *const *emails,
                   size_t nemails, int64_t if_match, int64_t *out_id, int64_t *out_modseq)
{
	sqlite3 *db = tx->rd.db;
	if (!text_ok(href, STORE_CARD_HREF_MAX, false) || !text_ok(uid, STORE_CARD_UID_MAX, true) ||
	    !vcard || len == 0 || len > STORE_CARD_MAX || !emails_ok(emails, nemails) ||
	    if_match < -1)
		return -EINVAL;
	int rc = book_role(db, account_id, book_id, NULL);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	int64_t id = 0, modseq = 0, other = 0;
	int exists = live_card(db, book_id, href, NULL, &id, &modseq);
	if (exists < 0)
		return exists;
	if (if_match == 0 && exists)
		return -EEXIST;
	if (if_match > 0 && (!exists || modseq != if_match))
		return -ESTALE;
	rc = live_card(db, book_id, NULL, uid, &other, NULL);
	if (rc < 0)
		return rc;
	if (rc && (!exists || other != id))
		return -EEXIST;
	if (!exists) {
		int64_t n = live_cards(db, account_id);
		if (n < 0)
			return (int)n;
		if (n >= STORE_CARDS_MAX)
			return -ENOSPC;
	}
	char *fn = malloc(CARD_FN_MAX);
	if (!fn)
		return -ENOMEM;
	card_fn(vcard, len, fn);
	modseq = bump(db, account_id, exists ? 0 : 1);
	if (modseq < 0) {
		free(fn);
		return (int)modseq;
	}
	sqlite3_stmt *st;
	rc = store_prep_cached(db, &st,
	                       exists
	                           ? "UPDATE cards SET uid = ?4, modseq = ?5, fn = ?6, vcard = ?7 "
	                             "WHERE id = ?8"
	                           : "INSERT INTO cards(account_id, addressbook_id, href, uid, "
	                             "modseq, fn, vcard) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (rc < 0) {
		free(fn);
		return rc;
	}
	if (exists) {
		sqlite3_bind_int64(st, 8, id);
	} else {
		sqlite3_bind_int64(st, 1, account_id);
		sqlite3_bind_int64(st, 2, book_id);
		sqlite3_bind_text(st, 3, href, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 4, uid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, modseq);
	sqlite3_bind_text(st, 6, fn, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 7, vcard, len, SQLITE_STATIC);
	rc = store_step_done(st);
	store_release(st);
	free(fn);
	if (rc < 0)
		return rc;
	if (!exists)
		id = sqlite3_last_insert_rowid(db);
	rc = emails_set(db, account_id, id, emails, nemails);
	if (rc < 0)
		return rc;
	if (out_id)
		*out_id = id;
	if (out_modseq)
		*out_modseq = modseq;
	return 0;
}

int store_card_delete(struct store_tx *tx, int64_t account_id, int64_t book_id, const char *href,
                      int64_t if_match)
{
	sqlite3 *db = tx->rd.db;
	if (!href)
		return -ENOENT;
	int rc = book_role(db, account_id, book_id, NULL);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	int64_t id, modseq;
	rc = live_card(db, book_id, href, NULL, &id, &modseq);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if (if_match == 0 || (if_match > 0 && modseq != if_match))
		return -ESTALE;
	rc = card_bury(db, account_id, id);
	return rc < 0 ? rc : tombstones_trim(db, account_id);
}

int store_card_move(struct store_tx *tx, int64_t account_id, int64_t card_id, int64_t to_book)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "SELECT addressbook_id, href, uid FROM cards WHERE id = ?1 AND "
	                           "account_id = ?2 AND deleted = 0");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, card_id);
	sqlite3_bind_int64(st, 2, account_id);
	rc = sqlite3_step(st);
	int64_t from = 0;
	char href[STORE_CARD_HREF_MAX + 1] = "", uid[STORE_CARD_UID_MAX + 1] = "";
	if (rc == SQLITE_ROW) {
		from = sqlite3_column_int64(st, 0);
		snprintf(href, sizeof href, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(uid, sizeof uid, "%s", (const char *)sqlite3_column_text(st, 2));
	}
	store_release(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	rc = book_role(db, account_id, to_book, NULL);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if (from == to_book)
		return 0;
	if ((rc = live_card(db, to_book, href, NULL, NULL, NULL)) != 0 ||
	    (rc = live_card(db, to_book, NULL, uid, NULL, NULL)) != 0)
		return rc < 0 ? rc : -EEXIST;
	/* the old book's tombstone, then the card in its new book */
	int64_t modseq = bump(db, account_id, 0);
	if (modseq < 0)
		return (int)modseq;
	rc = store_prep_cached(db, &st,
	                       "INSERT INTO cards(account_id, addressbook_id, href, uid, modseq, "
	                       "deleted) VALUES(?1, ?2, ?3, ?4, ?5, 2)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_text(st, 3, href, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, uid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, modseq);
	rc = store_step_done(st);
	store_release(st);
	if (rc < 0)
		return rc;
	if ((modseq = bump(db, account_id, 0)) < 0)
		return (int)modseq;
	rc = store_prep_cached(db, &st,
	                       "UPDATE cards SET addressbook_id = ?2, modseq = ?3 WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, card_id);
	sqlite3_bind_int64(st, 2, to_book);
	sqlite3_bind_int64(st, 3, modseq);
	rc = store_step_done(st);
	store_release(st);
	return rc < 0 ? rc : tombstones_trim(db, account_id);
}

/* Columns 0-7 of every card query: id, book, href, uid, modseq, deleted,
 * length, and the text (or NULL). */
static void card_row(sqlite3_stmt *st, struct store_card *c)
{
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(st, 0);
	c->addressbook_id = sqlite3_column_int64(st, 1);
	c->href = (const char *)sqlite3_column_text(st, 2);
	c->uid = (const char *)sqlite3_column_text(st, 3);
	c->modseq = sqlite3_column_int64(st, 4);
	c->deleted = sqlite3_column_int(st, 5) != DELETED_LIVE;
	c->len = (size_t)sqlite3_column_int64(st, 6);
	if (!c->deleted && sqlite3_column_type(st, 7) != SQLITE_NULL) {
		c->vcard = sqlite3_column_blob(st, 7);
		c->len = (size_t)sqlite3_column_bytes(st, 7);
		if (!c->vcard)
			c->vcard = "";
	}
	if (!c->href)
		c->href = "";
	if (!c->uid)
		c->uid = "";
}

/* Step st, calling cb for each row; counts the rows into *rows when not
 * NULL. cb < 0 stops with that value. */
static int card_rows(sqlite3_stmt *st, int (*cb)(void *ud, const struct store_card *c), void *ud,
                     int *rows)
{
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_card c;
		card_row(st, &c);
		if (rows)
			(*rows)++;
		if ((ret = cb(ud, &c)) < 0)
			break;
		ret = 0;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret;
}

#define CARD_COLS "c.id, c.addressbook_id, c.href, c.uid, c.modseq, c.deleted, length(c.vcard), "

int store_card_get(struct store_rd *rd, int64_t account_id, int64_t book_id, const char *href,
                   int64_t card_id, int (*cb)(void *ud, const struct store_card *c), void *ud)
{
	if (book_id ? !href : !card_id)
		return 0;
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           book_id ? "SELECT " CARD_COLS "c.vcard FROM cards c "
	                                     "WHERE c.addressbook_id = ?2 AND c.href = ?3 "
	                                     "AND c.deleted = 0 AND c.account_id = ?1"
	                                   : "SELECT " CARD_COLS "c.vcard FROM cards c "
	                                     "WHERE c.id = ?2 AND c.deleted = 0 "
	                                     "AND c.account_id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, book_id ? book_id : card_id);
	if (book_id)
		sqlite3_bind_text(st, 3, href, -1, SQLITE_STATIC);
	int rows = 0;
	rc = card_rows(st, cb, ud, &rows);
	return rc < 0 ? rc : rows > 0;
}

int store_card_list(struct store_rd *rd, int64_t account_id, int64_t book_id, bool with_data,
                    int (*cb)(void *ud, const struct store_card *c), void *ud)
{
	sqlite3_stmt *st;
	int rc;
	if (book_id)
		rc = store_prep_cached(rd->db, &st,
		                       with_data ? "SELECT " CARD_COLS "c.vcard FROM cards c "
		                                   "WHERE c.addressbook_id = ?2 AND c.deleted = 0 "
		                                   "AND c.account_id = ?1 ORDER BY c.id"
		                                 : "SELECT " CARD_COLS "NULL FROM cards c "
		                                   "WHERE c.addressbook_id = ?2 AND c.deleted = 0 "
		                                   "AND c.account_id = ?1 ORDER BY c.id");
	else
		rc = store_prep_cached(rd->db, &st,
		                       with_data ? "SELECT " CARD_COLS "c.vcard FROM cards c "
		                                   "WHERE c.account_id = ?1 AND c.deleted = 0 "
		                                   "ORDER BY c.id"
		                                 : "SELECT " CARD_COLS "NULL FROM cards c "
		                                   "WHERE c.account_id = ?1 AND c.deleted = 0 "
		                                   "ORDER BY c.id");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	if (book_id)
		sqlite3_bind_int64(st, 2, book_id);
	return card_rows(st, cb, ud, NULL);
}

int store_card_changes(struct store_rd *rd, int64_t account_id, int64_t book_id, int64_t since,
                       int (*cb)(void *ud, const struct store_card *c), void *ud)
{
	sqlite3_stmt *st;
	int rc;
	if (book_id)
		/* an href once: live if it is, else its newest tombstone */
		rc = store_prep_cached(
		    rd->db, &st,
		    "SELECT " CARD_COLS "NULL FROM cards c "
		    "WHERE c.addressbook_id = ?2 AND c.modseq > ?3 "
		    "AND c.account_id = ?1 AND (c.deleted = 0 OR NOT EXISTS("
		    "SELECT 1 FROM cards o WHERE o.addressbook_id = c.addressbook_id "
		    "AND o.href = c.href AND (o.deleted = 0 OR o.modseq > c.modseq)))"
		    " ORDER BY c.modseq");
	else
		rc = store_prep_cached(
		    rd->db, &st,
		    "SELECT " CARD_COLS "NULL FROM cards c "
		    "WHERE c.account_id = ?1 AND c.modseq > ?3 AND c.deleted != 2 "
		    "ORDER BY c.modseq");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	if (book_id)
		sqlite3_bind_int64(st, 2, book_id);
	sqlite3_bind_int64(st, 3, since);
	return card_rows(st, cb, ud, NULL);
}

int64_t store_contacts_modseq(struct store_rd *rd, int64_t account_id)
{
	int64_t m = store_scalar(rd->db, "SELECT modseq FROM contacts_state WHERE account_id = ?1",
	                         account_id);
	return m == -ENOENT ? 0 : m;
}

int64_t store_contacts_oldest_modseq(struct store_rd *rd, int64_t account_id)
{
	int64_t m = store_scalar(
	    rd->db, "SELECT oldest_modseq FROM contacts_state WHERE account_id = ?1", account_id);
	return m == -ENOENT ? 0 : m;
}

int store_card_search(struct store_rd *rd, int64_t account_id, const char *prefix, size_t limit,
                      int (*cb)(void *ud, const struct store_card *c), void *ud)
{
	if (!prefix || limit == 0)
		return 0;
	size_t n = strlen(prefix);
	if (n > CARD_EMAIL_MAX)
		return 0;
	/* the addresses: a range of the index (lower-cased, like them) */
	char lower[CARD_EMAIL_MAX + 8], upper[CARD_EMAIL_MAX + 8];
	snprintf(lower, sizeof lower, "%s", prefix);
	lower_ascii(lower);
	memcpy(upper, lower, n);
	memcpy(upper + n, "\xf4\x8f\xbf\xbf", 5); /* above any UTF-8 that follows */
	/* the name: LIKE (ASCII case-insensitive) at its start or a word's */
	char like[2 * CARD_EMAIL_MAX + 4], word[2 * CARD_EMAIL_MAX + 8];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (prefix[i] == '%' || prefix[i] == '_' || prefix[i] == '\\')
			like[o++] = '\\';
		like[o++] = prefix[i];
	}
	like[o++] = '%';
	like[o] = '\0';
	snprintf(word, sizeof word, "%% %s", like);
	sqlite3_stmt *st;
	int rc = store_prep_cached(
	    rd->db, &st,
	    "SELECT " CARD_COLS "c.vcard FROM cards c WHERE c.id IN ("
	    "SELECT card_id FROM card_emails WHERE account_id = ?1 AND email >= ?2 AND email < ?3 "
	    "UNION SELECT id FROM cards WHERE account_id = ?1 AND deleted = 0 AND "
	    "(fn LIKE ?4 ESCAPE '\\' OR fn LIKE ?5 ESCAPE '\\')) AND c.deleted = 0 "
	    "ORDER BY c.id LIMIT ?6");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, lower, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, upper, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, like, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, word, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, limit > INT32_MAX ? INT32_MAX : (int64_t)limit);
	return card_rows(st, cb, ud, NULL);
}

/* ---- collected addresses ---- */

/* Append s to the card being built as a property value (RFC 6350 3.4's
 * escapes; control characters dropped). */
static size_t put_value(char *out, size_t o, size_t cap, const char *s)
{
	for (; *s && o + 2 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '\\' || c == ',' || c == ';')
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

/* Append the content line `text` folded at 75 octets (RFC 6350 3.2),
 * never inside a UTF-8 sequence, with its CRLF. */
static size_t put_line(char *out, size_t o, size_t cap, const char *text)
{
	size_t col = 0;
	for (const char *p = text; *p;) {
		size_t seq = 1;
		unsigned char c = (unsigned char)*p;
		if (c >= 0xC0)
			while (seq < 4 && ((unsigned char)p[seq] & 0xC0) == 0x80)
				seq++;
		if (col + seq > 75) {
			if (o + 3 >= cap)
				break;
			memcpy(out + o, "\r\n ", 3);
			o += 3;
			col = 1;
		}
		if (o + seq + 2 >= cap)
			break;
		memcpy(out + o, p, seq);
		o += seq;
		col += seq;
		p += seq;
	}
	memcpy(out + o, "\r\n", 3);
	return o + 2;
}

int store_contacts_collect(struct store_tx *tx, int64_t account_id, const char *name,
                           const char *email)
{
	sqlite3 *db = tx->rd.db;
	if (!text_ok(email, CARD_EMAIL_MAX, true) || !strchr(email, '@') || strchr(email, ' '))
		return -EINVAL;
	char lower[CARD_EMAIL_MAX + 1];
	snprintf(lower, sizeof lower, "%s", email);
	lower_ascii(lower);
	sqlite3_stmt *st;
	int rc = store_prep_cached(
	    db, &st, "SELECT 1 FROM card_emails WHERE account_id = ?1 AND email = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, lower, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_release(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_errno(rc);
	if ((rc = store_addressbook_ensure(tx, account_id)) < 0)
		return rc;
	struct store_addressbook book;
	rc = store_addressbook_get(&tx->rd, account_id, 0, NULL, "collected", &book);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;

	unsigned char r[16];
	sqlite3_randomness(sizeof r, r);
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
	char uuid[37], uid[48], href[48];
	snprintf(uuid, sizeof uuid,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
	         r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
	         r[15]);
	snprintf(uid, sizeof uid, "urn:uuid:%s", uuid);
	snprintf(href, sizeof href, "%s.vcf", uuid);

	/* FN: the display name without control characters, at most 255 bytes */
	char fn[STORE_ADDRESSBOOK_NAME_MAX + 1] = "";
	size_t fl = 0;
	for (const char *p = name ? name : ""; *p && fl < sizeof fn - 1; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			fn[fl++] = *p;
	fn[fl] = '\0';
	utf8_trim(fn, fl);
	while (fl > 0 && fn[fl - 1] == ' ')
		fn[--fl] = '\0';
	if (!fn[0])
		snprintf(fn, sizeof fn, "%s", email);

	size_t cap = 2048, o = 0;
	char *card = malloc(cap), line[1024];
	if (!card)
		return -ENOMEM;
	o = put_line(card, o, cap, "BEGIN:VCARD");
	o = put_line(card, o, cap, "VERSION:4.0");
	snprintf(line, sizeof line, "UID:%s", uid);
	o = put_line(card, o, cap, line);
	put_value(line, 3, sizeof line, fn);
	memcpy(line, "FN:", 3);
	o = put_line(card, o, cap, line);
	put_value(line, 6, sizeof line, email);
	memcpy(line, "EMAIL:", 6);
	o = put_line(card, o, cap, line);
	o = put_line(card, o, cap, "END:VCARD");

	const char *emails[1] = {email};
	rc = store_card_put(tx, account_id, book.id, href, uid, card, o, emails, 1, 0, NULL, NULL);
	free(card);
	return rc < 0 ? rc : 1;
}
