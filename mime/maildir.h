/* maildir: the names and index files of a Maildir, as Dovecot writes them.
 *
 *   message file   "<time>.<unique>.<host>,S=<size>,W=<vsize>:2,<info>":
 *                  <info> is the flags in ASCII order (D draft, F flagged,
 *                  R replied, S seen, T trashed) then Dovecot's keyword
 *                  letters a..z (index 0..25 of dovecot-keywords);
 *   dovecot-uidlist  "3 V<uidvalidity> N<nextuid> G<guid>...", then one line
 *                  per message "<uid> [<ext>...] :<base name>" (the base:
 *                  the file name up to its ':');
 *   dovecot-keywords "<index> <keyword>" per line.
 *
 * Pure parsing and formatting of untrusted bytes (tests/fuzz/fuzz_mailfmt.c):
 * nothing here opens a file. The flag bits are mail.h's STORE_FLAG_* values
 * (app/ checks that they agree), which mime/ cannot include. */
#ifndef TERN_MIME_MAILDIR_H
#define TERN_MIME_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	MAIL_FLAG_SEEN = 1u << 0,
	MAIL_FLAG_ANSWERED = 1u << 1,
	MAIL_FLAG_FLAGGED = 1u << 2,
	MAIL_FLAG_DELETED = 1u << 3,
	MAIL_FLAG_DRAFT = 1u << 4,
};

/* Dovecot's keyword letters: a..z. */
#define MAILDIR_MAX_KEYWORDS 26

struct maildir_name {
	size_t base_len;   /* bytes before the ':' of the info (the whole name if none) */
	unsigned flags;    /* MAIL_FLAG_* of a ":2," info */
	uint32_t keywords; /* bit i: keyword letter 'a' + i */
	int64_t time;      /* the leading decimal number (seconds), -1 if none */
};
/* A message file's name. -1 when it cannot be one: empty, starting with
 * '.', or holding '/' or a NUL (a Maildir's dot files and the tmp names
 * other tools leave are skipped by the caller). Unknown info letters
 * (P passed, other experimental ones) are ignored. */
int maildir_name_parse(const char *name, size_t len, struct maildir_name *out);
/* "<time>.M<uid>P<pid>.tern,S=<size>,W=<vsize>:2,<flags><letters>" into out
 * (NUL-terminated); its length, or -1 when cap is too small. */
int maildir_name_format(char *out, size_t cap, int64_t time, uint32_t uid, unsigned pid,
                        uint64_t size, uint64_t vsize, unsigned flags, uint32_t keywords);

struct uidlist_header {
	unsigned version; /* 1 or 3 */
	uint32_t uidvalidity;
	uint32_t nextuid;
};
/* The first line of dovecot-uidlist (without its newline). 0, or -1 when
 * it is not a version 1 or 3 header with a non-zero UIDVALIDITY. */
int uidlist_header_parse(const char *line, size_t len, struct uidlist_header *out);

struct uidlist_entry {
	uint32_t uid;     /* > 0 */
	const char *base; /* the file's base name, inside line */
	size_t base_len;
};
/* One message line of a version's uidlist. 0, or -1 (malformed: no UID,
 * UID 0, no file name, or a name that cannot be a message file). */
int uidlist_line_parse(unsigned version, const char *line, size_t len, struct uidlist_entry *out);

/* One line of dovecot-keywords: "<index> <name>". 0 with *index and the
 * name (inside line) set, or -1 (not a line of that form, or index > 25). */
int dovecot_keywords_line_parse(const char *line, size_t len, unsigned *index, const char **name,
                                size_t *name_len);

/* Maildir++ folder names: the mailbox "A/B" is the directory ".A.B", each
 * level in IMAP's modified UTF-7 (lib/mutf7.h) as Dovecot writes it; a '.'
 * inside a level, which Maildir++ cannot hold, is written "&AC4-" (the
 * UTF-7 of '.', which a strict decoder refuses, so it is replaced first).
 * Both return the length written (out NUL-terminated) or -1: encode when
 * the name is empty, has an empty level or does not fit; decode when the
 * directory name does not start with '.', has an empty level, is not
 * valid modified UTF-7 or does not fit. */
int maildir_folder_encode(const char *name, char *out, size_t cap);
int maildir_folder_decode(const char *dir, size_t len, char *out, size_t cap);

/* Whether kw[0..len) is an IMAP keyword (RFC 9051 flag-keyword: an atom,
 * not starting with '\'), as the store keeps them. */
bool mail_keyword_valid(const char *kw, size_t len);

#endif
