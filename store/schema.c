/* schema: the migrations, and running them. `PRAGMA user_version` counts
 * the steps; they are append-only. */
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Migration i takes the schema from user_version i to i + 1. Append only:
 * never edit a step that has shipped. */
static const char *const migrations[] = {
    /* 0 -> 1: the initial schema. */
    "CREATE TABLE meta(\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE domains(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE accounts(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  domain_id INTEGER NOT NULL REFERENCES domains(id),\n"
    "  localpart TEXT NOT NULL COLLATE NOCASE,\n"
    "  address TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  password_hash TEXT NOT NULL DEFAULT '',\n"
    "  quota_bytes INTEGER NOT NULL DEFAULT 0,\n"
    "  disabled INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX accounts_domain ON accounts(domain_id);\n"
    /* An alias's source domain must be local; the target is free text (a
     * local address, or a remote one: forwarding). */
    "CREATE TABLE aliases(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,\n"
    "  target TEXT NOT NULL COLLATE NOCASE,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX aliases_domain ON aliases(domain_id);\n"
    "CREATE INDEX aliases_target ON aliases(target);\n"
    "CREATE TABLE mailboxes(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  special_use TEXT NOT NULL DEFAULT '',\n"
    "  uidvalidity INTEGER NOT NULL,\n"
    "  uidnext INTEGER NOT NULL DEFAULT 1,\n"
    "  highestmodseq INTEGER NOT NULL DEFAULT 1,\n"
    "  subscribed INTEGER NOT NULL DEFAULT 1,\n"
    "  created INTEGER NOT NULL,\n"
    "  UNIQUE(account_id, name)\n"
    ");\n"
    /* Small columns first: columns after a large BLOB would cost a walk of
     * its overflow pages on every read. */
    "CREATE TABLE messages(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  sha256 BLOB NOT NULL UNIQUE,\n"
    "  size INTEGER NOT NULL,\n"
    "  refcount INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL,\n"
    "  envelope TEXT,\n"
    "  bodystructure TEXT,\n"
    "  data BLOB NOT NULL\n"
    ");\n"
    "CREATE INDEX messages_unreferenced ON messages(id) WHERE refcount <= 0;\n"
    "CREATE TABLE mailbox_entries(\n"
    "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,\n"
    "  uid INTEGER NOT NULL,\n"
    "  message_id INTEGER NOT NULL REFERENCES messages(id),\n"
    "  flags INTEGER NOT NULL DEFAULT 0,\n"
    "  keywords TEXT NOT NULL DEFAULT '',\n"
    "  modseq INTEGER NOT NULL,\n"
    "  internal_date INTEGER NOT NULL,\n"
    "  PRIMARY KEY(mailbox_id, uid)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX mailbox_entries_message ON mailbox_entries(message_id);\n"
    "CREATE INDEX mailbox_entries_modseq ON mailbox_entries(mailbox_id, modseq);\n"
    "CREATE TABLE expunged(\n"
    "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,\n"
    "  uid INTEGER NOT NULL,\n"
    "  modseq INTEGER NOT NULL,\n"
    "  PRIMARY KEY(mailbox_id, uid)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);\n"
    "CREATE TABLE queue(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  message_id INTEGER NOT NULL REFERENCES messages(id),\n"
    "  mail_from TEXT NOT NULL,\n"
    "  rcpt TEXT NOT NULL,\n"
    "  notify TEXT,\n"
    "  orcpt TEXT,\n"
    "  ret TEXT,\n"
    "  envid TEXT,\n"
    "  next_attempt INTEGER NOT NULL,\n"
    "  attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  last_error TEXT,\n"
    "  expires INTEGER NOT NULL,\n"
    "  claimed_until INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX queue_due ON queue(next_attempt);\n"
    "CREATE INDEX queue_message ON queue(message_id);\n",
    /* 1 -> 2: what IMAP precomputes per message (store/msg_index.c):
     * ENVELOPE, BODY, BODYSTRUCTURE, the Date: day and the decoded top-level
     * header, and an FTS5 trigram index of the decoded text for SEARCH
     * BODY/TEXT (rowid = messages.id). Both go when the message goes. */
    "CREATE TABLE imap_message_info(\n"
    "  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,\n"
    "  sent_day INTEGER,\n"
    "  envelope TEXT NOT NULL,\n"
    "  body TEXT NOT NULL,\n"
    "  bodystructure TEXT NOT NULL,\n"
    "  headers TEXT NOT NULL\n"
    ");\n"
    "CREATE VIRTUAL TABLE imap_fts USING fts5(hdr, body, tokenize = 'trigram case_sensitive 0');\n"
    "CREATE TRIGGER imap_fts_gc AFTER DELETE ON messages BEGIN\n"
    "  DELETE FROM imap_fts WHERE rowid = old.id;\n"
    "END;\n",
    /* 2 -> 3: per queue row, whether its delay DSN went out (so it goes out
     * once, also across `tern queue retry`), and whether the postmaster
     * cancelled it (`tern queue bounce`: the DSN says so, not "expired").
     * Per mailbox, the highest UID some IMAP session has seen as \Recent
     * (RFC 3501 2.3.2); what exists at the upgrade counts as seen. */
    "ALTER TABLE queue ADD COLUMN delay_dsn_sent INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE queue ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;\n"
    "UPDATE mailboxes SET recent_uid = uidnext - 1;\n",
    /* 3 -> 4: meta 'directory' counts changes to what recipients resolve
     * against (domains, accounts, aliases, mailbox names), whoever makes
     * them: the server, or the CLI in another process. The loop's cache of
     * resolutions (store/rcpt_cache.c) is dropped when it moves.
     * Each entry carries its message's size: RFC822.SIZE, STATUS SIZE,
     * POP3 LIST and quotas then read mailbox_entries alone, not a page of
     * every message row. */
    "ALTER TABLE mailbox_entries ADD COLUMN size INTEGER NOT NULL DEFAULT 0;\n"
    "UPDATE mailbox_entries SET size = "
    "(SELECT m.size FROM messages m WHERE m.id = mailbox_entries.message_id);\n"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('directory', 0);\n"
/* clang-format off */
#define DIRECTORY_TRIGGER(name, event)                                      \
	"CREATE TRIGGER directory_" name " AFTER " event " BEGIN\n"          \
	"  UPDATE meta SET value = value + 1 WHERE key = 'directory';\n"     \
	"END;\n"
    DIRECTORY_TRIGGER("domain_insert", "INSERT ON domains")
    DIRECTORY_TRIGGER("domain_update", "UPDATE ON domains")
    DIRECTORY_TRIGGER("domain_delete", "DELETE ON domains")
    DIRECTORY_TRIGGER("account_insert", "INSERT ON accounts")
    DIRECTORY_TRIGGER("account_update", "UPDATE OF domain_id, localpart, address ON accounts")
    DIRECTORY_TRIGGER("account_delete", "DELETE ON accounts")
    DIRECTORY_TRIGGER("alias_insert", "INSERT ON aliases")
    DIRECTORY_TRIGGER("alias_update", "UPDATE ON aliases")
    DIRECTORY_TRIGGER("alias_delete", "DELETE ON aliases")
    DIRECTORY_TRIGGER("mailbox_insert", "INSERT ON mailboxes")
    DIRECTORY_TRIGGER("mailbox_update", "UPDATE OF account_id, name ON mailboxes")
    DIRECTORY_TRIGGER("mailbox_delete", "DELETE ON mailboxes"),
#undef DIRECTORY_TRIGGER
    /* clang-format on */
    /* 4 -> 5: messages lose their SHA-256 and the two columns nothing
     * read (IMAP's ENVELOPE and BODYSTRUCTURE live in imap_message_info).
     * Deduplicating by digest cost a UNIQUE index entry on a random page
     * with every message, a quarter of the writer's time under SMTP load,
     * and it hardly ever found anything: every delivery's bytes differ in
     * their Received: line. A delivery to many recipients still stores its
     * bytes once. SQLite cannot drop a UNIQUE column, so the table is
     * copied (migrate() runs with foreign keys off); its index and trigger
     * go with the old table and are made again. */
    "CREATE TABLE messages_v5(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  size INTEGER NOT NULL,\n"
    "  refcount INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL\n"
    ");\n"
    "INSERT INTO messages_v5(id, size, refcount, created, data)\n"
    "  SELECT id, size, refcount, created, data FROM messages;\n"
    "DROP TABLE messages;\n"
    "ALTER TABLE messages_v5 RENAME TO messages;\n"
    "CREATE INDEX messages_unreferenced ON messages(id) WHERE refcount <= 0;\n"
    "CREATE TRIGGER imap_fts_gc AFTER DELETE ON messages BEGIN\n"
    "  DELETE FROM imap_fts WHERE rowid = old.id;\n"
    "END;\n",
    /* 5 -> 6: a subscription is a name, not a mailbox's column. RFC 3501
     * §6.3.6 (RFC 9051 §6.3.7): the server must not drop a subscription
     * because its mailbox is gone, and LIST (SUBSCRIBED) shows such a name
     * with \NonExistent (RFC 5258 §3). A new mailbox is still subscribed
     * when created; DELETE leaves the name subscribed. */
    "CREATE TABLE subscriptions(\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  PRIMARY KEY(account_id, name)\n"
    ") WITHOUT ROWID;\n"
    "INSERT INTO subscriptions(account_id, name)\n"
    "  SELECT account_id, name FROM mailboxes WHERE subscribed = 1;\n"
    "ALTER TABLE mailboxes DROP COLUMN subscribed;\n",
    /* 6 -> 7: API tokens (store/tokens.c). Only the SHA-256 of a secret is
     * kept, never the secret: a copy of the database gives no one the
     * right to call the API. The scope is text so that a new scope needs
     * no migration (admin/ validates it against its list). expires 0 =
     * never; last_used 0 = not yet. */
    "CREATE TABLE tokens(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL DEFAULT '',\n"
    "  scope TEXT NOT NULL,\n"
    "  secret_sha256 BLOB NOT NULL UNIQUE,\n"
    "  created INTEGER NOT NULL,\n"
    "  last_used INTEGER NOT NULL DEFAULT 0,\n"
    "  expires INTEGER NOT NULL DEFAULT 0\n"
    ");\n",
    /* 7 -> 8: DKIM keys (store/dkim.c), per domain and selector. The
     * private key is kept for the signer (issue 16): PEM for RSA, the
     * base64 32-byte seed for Ed25519; public_key is the DNS record's p=.
     * A retired key (retired > 0) is no longer published or used; its row
     * stays so that a selector is never reused for another key. The keys
     * go with their domain. */
    "CREATE TABLE dkim_keys(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,\n"
    "  selector TEXT NOT NULL COLLATE NOCASE,\n"
    "  algorithm TEXT NOT NULL,\n"
    "  private_key TEXT NOT NULL,\n"
    "  public_key TEXT NOT NULL,\n"
    "  created INTEGER NOT NULL,\n"
    "  retired INTEGER,\n"
    "  UNIQUE(domain_id, selector)\n"
    ");\n",
    /* 8 -> 9: URLAUTH's mailbox access keys (store/urlauth.c, RFC 4467):
     * one secret per mailbox that signs the URLs GENURLAUTH hands out.
     * Made on first use, replaced by RESETKEY, gone with the mailbox. */
    "CREATE TABLE urlauth_keys(\n"
    "  mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,\n"
    "  key BLOB NOT NULL\n"
    ");\n",
    /* 9 -> 10: object ids (RFC 8474), save dates (RFC 8514), previews
     * (RFC 8970); JMAP will use the same ids.
     * EMAILID is the message row's id, so a message id must never be
     * handed out twice: SQLite gives max(id) + 1, which repeats an id once
     * the newest row is deleted. meta 'message_hw' remembers the highest
     * id ever deleted, and message_insert() starts above it.
     * THREADID: each entry's thread, assigned when the message is stored
     * (store/threads.c) from its Message-ID and references, which
     * thread_refs maps to a thread per account, for good. An entry stored
     * before (NULL) is a thread of its own, numbered like its message.
     * save_date: when the entry was put in its mailbox; NULL before this
     * step (SAVEDATE then reads the internal date). */
    "INSERT OR IGNORE INTO meta(key, value) VALUES('message_hw', 0);\n"
    "CREATE TRIGGER messages_hw AFTER DELETE ON messages\n"
    "  WHEN old.id > (SELECT value FROM meta WHERE key = 'message_hw') BEGIN\n"
    "  UPDATE meta SET value = old.id WHERE key = 'message_hw';\n"
    "END;\n"
    "ALTER TABLE mailbox_entries ADD COLUMN thread_id INTEGER;\n"
    "ALTER TABLE mailbox_entries ADD COLUMN save_date INTEGER;\n"
    "CREATE TABLE thread_refs(\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  msgid TEXT NOT NULL,\n"
    "  thread_id INTEGER NOT NULL,\n"
    "  PRIMARY KEY(account_id, msgid)\n"
    ") WITHOUT ROWID;\n"
    /* PREVIEW (RFC 8970): the indexer's text preview of the message. */
    "ALTER TABLE imap_message_info ADD COLUMN preview TEXT;\n",
    /* 10 -> 11: IMAP METADATA annotations (store/metadata.c). mailbox_id
     * NULL is the server's entry (tern has no sharing: the account's own);
     * a mailbox's entries go with it. Names in lower case. */
    "CREATE TABLE metadata(\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  value BLOB NOT NULL\n"
    ");\n"
    "CREATE UNIQUE INDEX metadata_entry ON metadata(account_id, ifnull(mailbox_id, 0), name);\n"
    "CREATE INDEX metadata_mailbox ON metadata(mailbox_id) WHERE mailbox_id IS NOT NULL;\n",
    /* 11 -> 12: the SCRAM keys of an account (auth/scram_keys.h), beside its
     * password hash: "iterations,salt,StoredKey,ServerKey" per hash
     * function, '' until a password is set or the account logs in with
     * PLAIN/LOGIN once. A password change empties them with the hash. */
    "ALTER TABLE accounts\n"
    "  ADD COLUMN scram_sha1 TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE accounts\n"
    "  ADD COLUMN scram_sha256 TEXT NOT NULL DEFAULT '';\n",
    /* 12 -> 13: IMAP's sort record per message (SORT and THREAD keys:
     * collation keys of the base subject and addresses, the sent time,
     * Message-ID and references; store/msg_index.h), made by the indexer
     * beside imap_message_info. A table of its own: a column after the
     * large texts of imap_message_info would cost a walk of their
     * overflow pages for every message a SORT reads. */
    "CREATE TABLE imap_sort_keys(\n"
    "  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,\n"
    "  keys BLOB NOT NULL\n"
    ");\n",
    /* 13 -> 14: TLS-RPT (RFC 8460) counters of the relay (store/tlsrpt.c):
     * per UTC day, policy domain (lower case), policy (type "sts" or
     * "no-policy-found", the TXT id) and result ("success" or a 4.3
     * result-type). policy_string is the policy's lines, as the report
     * gives them. Old days are pruned by the relay. */
    "CREATE TABLE tlsrpt_counts(\n"
    "  day TEXT NOT NULL,\n"
    "  policy_domain TEXT NOT NULL,\n"
    "  policy_type TEXT NOT NULL,\n"
    "  policy_id TEXT NOT NULL DEFAULT '',\n"
    "  result TEXT NOT NULL,\n"
    "  count INTEGER NOT NULL DEFAULT 0,\n"
    "  policy_string TEXT NOT NULL DEFAULT '',\n"
    "  PRIMARY KEY(day, policy_domain, policy_type, policy_id, result)\n"
    ") WITHOUT ROWID;\n",
    /* 14 -> 15: the relay's MTA-STS policy cache (store/mta_sts.c), so a
     * policy outlives a restart for its max_age (RFC 8461 5.1): the
     * policy text as fetched, its TXT id, when it expires. */
    "CREATE TABLE mta_sts_policies(\n"
    "  domain TEXT PRIMARY KEY,\n"
    "  policy_id TEXT NOT NULL,\n"
    "  policy TEXT NOT NULL,\n"
    "  expires INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n",
    /* 15 -> 16: JMAP uploads (store/uploads.c, RFC 8620 §6.1): the bytes
     * a client posted, its media type; kept a day (blob id "U<id>"). */
    "CREATE TABLE uploads(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  type TEXT NOT NULL,\n"
    "  size INTEGER NOT NULL,\n"
    "  created INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL\n"
    ");\n"
    "CREATE INDEX uploads_account ON uploads(account_id);\n"
    "CREATE INDEX uploads_created ON uploads(created);\n",
    /* 16 -> 17: an expunged row names the message (and its thread) it
     * removed, so JMAP's Email/changes and Thread/changes can tell what
     * was destroyed (store/changes.c). Older rows keep NULL: a change set
     * that needs one cannot be calculated. */
    ("ALTER TABLE expunged ADD COLUMN message_id INTEGER;\n"
     "ALTER TABLE expunged ADD COLUMN thread_id INTEGER;\n"),
    /* 17 -> 18: a mailbox's entries in arrival order, so JMAP's
     * Email/query sorted by receivedAt (the webmail's list) walks them
     * already ordered, reading three columns of this index alone rather
     * than every row of the table (store_email_dates). It covers the
     * query: the primary key's uid is in every index of a WITHOUT ROWID
     * table. */
    "CREATE INDEX mailbox_entries_date ON mailbox_entries(mailbox_id, internal_date, "
    "message_id);\n",
    /* 18 -> 19: Sieve (store/sieve.c): an account's named scripts, at most
     * one active (RFC 5804's model; a partial unique index keeps it so),
     * and vacation's memory (RFC 5230 §4.2): when a (handle, sender) pair
     * was last answered, so a sender gets one reply per :days. */
    ("CREATE TABLE sieve_scripts(\n"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  name TEXT NOT NULL,\n"
     "  script BLOB NOT NULL,\n"
     "  active INTEGER NOT NULL DEFAULT 0,\n"
     "  updated INTEGER NOT NULL,\n"
     "  PRIMARY KEY(account_id, name)\n"
     ") WITHOUT ROWID;\n"
     "CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(account_id) WHERE active;\n"
     "CREATE TABLE sieve_vacation(\n"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  handle TEXT NOT NULL,\n"
     "  sender TEXT NOT NULL COLLATE NOCASE,\n"
     "  sent_at INTEGER NOT NULL,\n"
     "  PRIMARY KEY(account_id, handle, sender)\n"
     ") WITHOUT ROWID;\n"),
    /* 19 -> 20: the sending API (proto/http/send_api.c). A "send" token
     * belongs to one account or one domain (token_owners; a table of its
     * own, not columns of tokens, so the row goes with its account or
     * domain and a send token without one is refused). And the
     * Idempotency-Key memory: per token and key, the SHA-256 of the body
     * first sent and the answer given, so a retry gets that answer and
     * sends nothing; rows older than a day are deleted as new ones come. */
    ("CREATE TABLE token_owners(\n"
     "  token_id INTEGER PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE,\n"
     "  account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  domain_id INTEGER REFERENCES domains(id) ON DELETE CASCADE,\n"
     "  CHECK((account_id IS NULL) <> (domain_id IS NULL))\n"
     ");\n"
     "CREATE INDEX token_owners_account ON token_owners(account_id);\n"
     "CREATE INDEX token_owners_domain ON token_owners(domain_id);\n"
     "CREATE TABLE send_idempotency(\n"
     "  token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,\n"
     "  key TEXT NOT NULL,\n"
     "  body_sha256 BLOB NOT NULL,\n"
     "  status INTEGER NOT NULL,\n"
     "  response TEXT NOT NULL,\n"
     "  created INTEGER NOT NULL,\n"
     "  PRIMARY KEY(token_id, key)\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX send_idempotency_created ON send_idempotency(created);\n"),
    /* 20 -> 21: delivery webhooks (store/webhooks.c, relay/webhook_runner.c).
     * A webhook belongs to one account or one domain, like a send token, and
     * goes with it. Each outcome the queue records for a sender with a
     * webhook is a webhook_events row written in the same transaction, so
     * an event is never lost; the runner POSTs the rows that are due and
     * marks them delivered (delivered_at) or, after three days, failed
     * (failed_at). */
    ("CREATE TABLE webhooks(\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  domain_id INTEGER REFERENCES domains(id) ON DELETE CASCADE,\n"
     "  url TEXT NOT NULL,\n"
     "  secret TEXT NOT NULL,\n"
     "  events TEXT NOT NULL,\n"
     "  created INTEGER NOT NULL,\n"
     "  CHECK((account_id IS NULL) <> (domain_id IS NULL))\n"
     ");\n"
     "CREATE INDEX webhooks_account ON webhooks(account_id);\n"
     "CREATE INDEX webhooks_domain ON webhooks(domain_id);\n"
     "CREATE TABLE webhook_events(\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,\n"
     "  event TEXT NOT NULL,\n"
     "  created INTEGER NOT NULL,\n"
     "  attempts INTEGER NOT NULL DEFAULT 0,\n"
     "  next_attempt INTEGER NOT NULL,\n"
     "  last_error TEXT,\n"
     "  delivered_at INTEGER,\n"
     "  failed_at INTEGER\n"
     ");\n"
     "CREATE INDEX webhook_events_webhook ON webhook_events(webhook_id);\n"
     "CREATE INDEX webhook_events_due ON webhook_events(next_attempt)\n"
     "  WHERE delivered_at IS NULL AND failed_at IS NULL;\n"),
    /* 21 -> 22: contacts (store/contacts.c). An account's address books
     * and their cards, each card the vCard text a client wrote. A card's
     * modseq comes from one counter per account (contacts_state, which
     * also counts the live cards against STORE_CARDS_MAX). A deleted card
     * stays as a tombstone (deleted 1, no text) for the syncs; a card
     * moved to another book leaves one in the old book (deleted 2, seen
     * only by that book's sync: the card itself lives on). A tombstone
     * outlives its book, so cards.addressbook_id references nothing and
     * ids are never reused (AUTOINCREMENT). card_emails: each live
     * card's addresses, lower-cased, for collected addresses and
     * autocomplete; fn: the card's FN, for autocomplete by name.
     * cards_book_href: an href's newest row, live or tombstone (a book's
     * changes name each href once). card_emails' key columns come first:
     * SQLite 3.40's integrity_check reports a NOT NULL column of a
     * WITHOUT ROWID table that precedes a key column as NULL when it is
     * not (so `tern verify` would). */
    ("CREATE TABLE addressbooks(\n"
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  name TEXT NOT NULL,\n"
     "  role TEXT NOT NULL DEFAULT '',\n"
     "  created INTEGER NOT NULL,\n"
     "  UNIQUE(account_id, name)\n"
     ");\n"
     "CREATE UNIQUE INDEX addressbooks_role ON addressbooks(account_id, role) WHERE role != '';\n"
     "CREATE TABLE cards(\n"
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  addressbook_id INTEGER NOT NULL,\n"
     "  href TEXT NOT NULL,\n"
     "  uid TEXT NOT NULL,\n"
     "  modseq INTEGER NOT NULL,\n"
     "  deleted INTEGER NOT NULL DEFAULT 0,\n"
     "  fn TEXT NOT NULL DEFAULT '',\n"
     "  vcard BLOB\n"
     ");\n"
     "CREATE UNIQUE INDEX cards_href ON cards(addressbook_id, href) WHERE deleted = 0;\n"
     "CREATE UNIQUE INDEX cards_uid ON cards(addressbook_id, uid) WHERE deleted = 0;\n"
     "CREATE INDEX cards_book_modseq ON cards(addressbook_id, modseq);\n"
     "CREATE INDEX cards_book_href ON cards(addressbook_id, href, modseq);\n"
     "CREATE INDEX cards_account_modseq ON cards(account_id, modseq);\n"
     "CREATE TABLE card_emails(\n"
     "  card_id INTEGER NOT NULL REFERENCES cards(id) ON DELETE CASCADE,\n"
     "  email TEXT NOT NULL,\n"
     "  account_id INTEGER NOT NULL,\n"
     "  PRIMARY KEY(card_id, email)\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX card_emails_email ON card_emails(account_id, email);\n"
     "CREATE TABLE contacts_state(\n"
     "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  modseq INTEGER NOT NULL DEFAULT 0,\n"
     "  oldest_modseq INTEGER NOT NULL DEFAULT 0,\n"
     "  cards INTEGER NOT NULL DEFAULT 0\n"
     ");\n"),
    /* 22 -> 23: an account's tombstones by modseq, so that trimming them
     * to the newest STORE_CARD_TOMBSTONES_MAX (store/contacts.c) walks
     * that many index entries, not every card of the account. */
    "CREATE INDEX cards_tombstones ON cards(account_id, modseq) WHERE deleted != 0;\n",
    /* 23 -> 24: a Sieve script gets an id of its own (JMAP for Sieve, RFC
     * 9661 §2: an immutable server-set id, and a name that may change).
     * The table is copied: a WITHOUT ROWID table cannot grow a rowid.
     * AUTOINCREMENT so an id is never reused (JMAP's SieveScript/changes
     * takes an id above the state's highest for a new script); the name
     * stays unique per account, one script active per account. The text
     * comes last: a listing reads the small columns without walking a
     * long script's overflow pages. The copied rows get ids in (account,
     * name) order. */
    ("CREATE TABLE sieve_scripts_24(\n"
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
     "  name TEXT NOT NULL,\n"
     "  active INTEGER NOT NULL DEFAULT 0,\n"
     "  updated INTEGER NOT NULL,\n"
     "  script BLOB NOT NULL,\n"
     "  UNIQUE(account_id, name)\n"
     ");\n"
     "INSERT INTO sieve_scripts_24(account_id, name, active, updated, script)\n"
     "  SELECT account_id, name, active, updated, script FROM sieve_scripts\n"
     "  ORDER BY account_id, name;\n"
     "DROP TABLE sieve_scripts;\n"
     "ALTER TABLE sieve_scripts_24 RENAME TO sieve_scripts;\n"
     "CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(account_id) WHERE active;\n"),
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
/* store.h's version is what backup, restore and verify compare against:
 * a migration added without it would make tern refuse its own backups. */
_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
               "STORE_SCHEMA_VERSION (store.h) must count the migrations");
static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (store_prep(db, &st, "PRAGMA user_version") < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* 0 when `PRAGMA foreign_key_check` finds no broken reference. */
static int foreign_keys_intact(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (store_prep(db, &st, "PRAGMA foreign_key_check") < 0)
		return -EIO;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? -EPROTO : store_errno(rc);
}

static int migrate_steps(sqlite3 *db, char *err, size_t errlen)
{
	int from = -1; /* the version found */
	for (;;) {
		if (store_run(db, "BEGIN IMMEDIATE") < 0) {
			snprintf(err, errlen, "store_migrate: BEGIN: %s", sqlite3_errmsg(db));
			return -EIO;
		}
		/* Read inside the transaction: another process may have migrated. */
		int v = user_version(db);
		if (v < 0 || v > NMIGRATIONS) {
			store_run(db, "ROLLBACK");
			snprintf(err, errlen,
			         v < 0 ? "cannot read schema version"
			               : "database schema version %d is newer than this tern (%d)",
			         v, NMIGRATIONS);
			return -EPROTO;
		}
		if (v == NMIGRATIONS) {
			store_run(db, "COMMIT");
			return 0;
		}
		if (from < 0)
			from = v;
		if (from > 0) /* a step may copy a table: say why the start waits */
			log_info("store event=migrating from=%d to=%d", v, v + 1);
		char *msg = NULL, bump[64];
		int rc = sqlite3_exec(db, migrations[v], NULL, NULL, &msg);
		if (rc == SQLITE_OK && foreign_keys_intact(db) < 0) {
			msg = sqlite3_mprintf("a reference is broken after the step");
			rc = SQLITE_CONSTRAINT;
		}
		if (rc == SQLITE_OK) {
			snprintf(bump, sizeof bump, "PRAGMA user_version=%d", v + 1);
			rc = sqlite3_exec(db, bump, NULL, NULL, &msg);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "store_migrate %d->%d: %s", v, v + 1,
			         msg ? msg : "?");
			sqlite3_free(msg);
			store_run(db, "ROLLBACK");
			return store_errno(rc);
		}
		log_info("store event=migrated from=%d to=%d", v, v + 1);
	}
}

/* Foreign keys are off while steps run (a step may copy a table that
 * others reference, and dropping the old one must not cascade); each step
 * must leave every reference intact, which foreign_key_check verifies
 * before its COMMIT. */
int store_migrate(sqlite3 *db, char *err, size_t errlen)
{
	store_run(db, "PRAGMA foreign_keys=OFF");
	int rc = migrate_steps(db, err, errlen);
	store_run(db, "PRAGMA foreign_keys=ON");
	return rc;
}
