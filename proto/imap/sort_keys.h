/* sort_keys: what SORT and THREAD (RFC 5256, RFC 5957) compare, worked
 * out once per message: the base subject, the address keys, the sent
 * date, the Message-ID and the references.
 *
 * Strings are kept as i;unicode-casemap keys (RFC 5051): titlecased and
 * NFKD-decomposed UTF-8, so two keys compare with memcmp (then length).
 * The keys of a message travel as one packed blob ("the sort record"),
 * which the indexer stores (store/msg_index.h, imap_sort_keys) and SORT
 * reads back without parsing the message; a message not indexed yet gets
 * its record from its header on the fly (cmd_sort.c). Pure functions. */
#ifndef TERN_IMAP_SORT_KEYS_H
#define TERN_IMAP_SORT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct mime_message;

/* Fields of a sort record, in order. */
enum imap_sort_field {
	IMAP_SF_SUBJECT,     /* base subject, collation key */
	IMAP_SF_FROM,        /* addr-mailbox of the first From, collation key */
	IMAP_SF_TO,          /* ... To */
	IMAP_SF_CC,          /* ... Cc */
	IMAP_SF_DISPLAYFROM, /* RFC 5957 display value of the first From, key */
	IMAP_SF_DISPLAYTO,   /* ... To */
	IMAP_SF_MSGID,       /* normalized Message-ID, "" if none is valid */
	IMAP_SF_REFS,        /* the references (RFC 5256 §3), space-separated */
	IMAP_SF_COUNT
};

/* Bounds: a key keeps its first IMAP_SORT_KEY_MAX bytes (messages that
 * agree that far compare equal, then by sequence number); the references
 * keep the last ones that fit in IMAP_SORT_REFS_MAX bytes. */
#define IMAP_SORT_KEY_MAX 255
#define IMAP_SORT_REFS_MAX 4000

#define IMAP_SORT_HAS_DATE 0x01u /* sent_time is the Date: field's */
#define IMAP_SORT_REPLY 0x02u    /* the subject is a reply or forward */
/* Not SORT's: the message has an attachment (mime/body_lists.h's rule),
 * for JMAP's Email/query, which reads the bit from the stored record as
 * STORE_SORT_HAS_ATTACHMENT (store/msg_index.h) without including this
 * header. Only a record made from the whole message has it right: one
 * made from the header alone (imap_sort_record_read) never sets it. */
#define IMAP_SORT_HAS_ATTACHMENT 0x04u

struct imap_sort_info {
	unsigned flags;
	int64_t sent_time; /* UTC seconds, valid with IMAP_SORT_HAS_DATE */
	struct {
		const char *p;
		size_t len;
	} f[IMAP_SF_COUNT];
};

/* Append the sort record of message m to out. whole: m is the whole
 * message, not a prefix holding its header, so IMAP_SORT_HAS_ATTACHMENT
 * can be worked out. 0 or -ENOMEM. */
int imap_sort_record(const struct mime_message *m, bool whole, struct buf *out);
/* Read a record (pointers into rec). 0, or -EINVAL if it is malformed. */
int imap_sort_record_parse(const void *rec, size_t len, struct imap_sort_info *out);

/* The i;unicode-casemap key of UTF-8 text (RFC 5051): titlecase, NFKD.
 * Invalid UTF-8 is its own key (i;octet). At most max bytes appended. */
int imap_collate_key(const char *s, size_t len, size_t max, struct buf *out);
/* RFC 5256 §2.1 steps (2)-(7) on s (decoded, steps (1) done by the
 * caller or not needed): the base subject's [start, len) in s; *reply
 * tells whether a subj-refwd, "(fwd)" or "[fwd: ...]" was removed. */
void imap_base_subject(const char *s, size_t len, size_t *start, size_t *outlen, bool *reply);
/* Step (1) and the rest: a raw Subject: value (RFC 2047 words decoded,
 * whitespace collapsed) to its base subject, appended to out. */
int imap_base_subject_of(const char *raw, size_t len, struct buf *out, bool *reply);
/* The next valid msg-id of v[*pos..len), normalized (quotes, quoted pairs
 * and the angle brackets removed), into out (cap bytes with NUL); *pos
 * moves past it. false when there is none. */
bool imap_msgid_next(const char *v, size_t len, size_t *pos, char *out, size_t cap);

#endif
