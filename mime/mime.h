/* mime.h: parse an RFC 5322 / MIME message once, and decode what is in it.
 *
 * mime_parse() makes one pass over the raw bytes and builds a tree of parts
 * with byte offsets into the caller's buffer: where each part's header
 * starts, where its body starts and ends, its body size in octets and its
 * line count (as IMAP BODYSTRUCTURE defines them), and the Content-* fields
 * already parsed.  Everything else is computed from that tree and the same
 * raw bytes: here, decoded bodies, header values, addresses and the text
 * for SEARCH; in proto/imap/ (render.h, section.h), what IMAP sends about
 * a message (ENVELOPE, BODYSTRUCTURE, BODY[section] ranges, HEADER.FIELDS
 * subsets).  No IMAP code lives in mime/.
 *
 * The tree points into the raw message and never copies bodies: the buffer
 * passed to mime_parse() must outlive the struct mime_message.
 *
 * Shape of the tree.  Every message (the top level one and every embedded
 * message/rfc822 or message/global) is represented by a part with
 * MIME_PART_MESSAGE set: its header is the RFC 5322 header and its
 * content type is the one that header declares.  So a message part is both
 * "the message" and "its body part":
 *
 *     root (MESSAGE, multipart/mixed)
 *       child 1: text/plain
 *       child 2: message/rfc822            <- part "2"
 *         ->message (MESSAGE, text/plain)  <- the embedded message, "2.1"
 *
 * Offsets.  hdr_start is the first byte of the part's header (for a
 * multipart child: the byte after the boundary line).  body_start is the
 * byte after the blank line that ends the header (or the first line that is
 * not a header field, when a sender forgot the blank line).  body_end
 * excludes the line break that precedes a boundary delimiter (RFC 2046
 * §5.1.1: that CRLF belongs to the boundary).  size = body_end - body_start.
 * lines = number of LF bytes in the body, plus one when the body is not
 * empty and does not end with LF; this is what MimeKit and Dovecot report
 * and what the IMAP size/lines fields mean ("lines of the encoded body").
 *
 * Robustness.  Lines may end in CRLF or LF in any mix (a bare CR is data).
 * NUL and 8-bit bytes are data.  A multipart without a boundary parameter is
 * a leaf (its body is text).  A part whose closing boundary never comes ends
 * where its nearest ancestor's next boundary, or the message, ends.  Nesting
 * beyond MIME_MAX_DEPTH and parts beyond MIME_MAX_PARTS are not parsed: the
 * remaining bytes stay inside the innermost open part as an opaque body
 * (MIME_PART_OPAQUE).  The parser is iterative with an explicit stack, so no
 * message can exhaust the C stack; every later walk over the tree is
 * iterative too.  Memory is O(number of parts + header bytes).
 *
 * Re-parsing vs. storing the tree.  The parse is one memchr()-driven pass
 * that only looks closely at header lines and lines starting with "--".
 * Measured by tests/unit/test_mime.c on the 29 messages of MimeKit's
 * content-length mbox (31.5 KiB average, one of 730 KiB), -O2, idle
 * machine: 13 us per message (2.5 GB/s); BODYSTRUCTURE + ENVELOPE add
 * 11 us (50 and 40 us on a loaded machine).  So the
 * tree is not serialised: the store saves, at delivery, only the strings
 * IMAP sends as they are (ENVELOPE, BODY, BODYSTRUCTURE) and the
 * searchable text, and re-parses the raw message when a FETCH needs
 * BODY[section] or BINARY offsets; that costs less than reading the
 * message from the store does.
 *
 * Conventions: functions return 0 or a negative errno value (-ENOMEM,
 * -EINVAL, -E2BIG); output goes to a struct buf (lib/buf.h), which
 * grows on the heap and is limited to BUF_MAX bytes.  Nothing declared
 * here keeps global state: a parse may run in any thread (the libuv pool,
 * the store's writer).
 *
 * Beside this header: mime/header.h
 * (header fields from raw bytes, leniently for stored mail, strictly for
 * mail being received) and mime/spool.h (a message being received, shared
 * by SMTP DATA/BDAT and IMAP APPEND).
 */
#ifndef TERN_MIME_MIME_H
#define TERN_MIME_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

struct arena;

#define MIME_MAX_DEPTH 64    /* nested multiparts + embedded messages */
#define MIME_MAX_PARTS 10000 /* parts in one message, all levels */

/* A Content-Type or Content-Disposition parameter.  name is lower-cased,
 * RFC 2231 continuations are joined and "name*" suffixes removed; value is
 * UTF-8 (RFC 2231 charsets and RFC 2047 words in quoted values decoded).
 * wire_name/wire_value are what BODYSTRUCTURE sends, the way Dovecot 2.3
 * does: continuations joined but RFC 2231 encoding kept ("title*",
 * "us-ascii'en'This%20is"), so no 8-bit text has to be invented.  The
 * array is in BODYSTRUCTURE order, also Dovecot's: plain parameters as
 * sent, then the RFC 2231 ones sorted by name; a continuation with a
 * missing section stays split ("a*0", "a*2"). */
struct mime_param {
	const char *name;
	const char *value;
	const char *wire_name;
	const char *wire_value;
};

enum {
	MIME_PART_MESSAGE = 1 << 0,   /* has an RFC 5322 header (root or embedded) */
	MIME_PART_MULTIPART = 1 << 1, /* parsed as multipart: children below */
	MIME_PART_OPAQUE = 1 << 2,    /* depth/part limit: not parsed further */
	MIME_PART_NO_CTYPE = 1 << 3,  /* no (valid) Content-Type: defaults used */
	MIME_PART_TRUNCATED = 1 << 4, /* multipart whose close delimiter is missing */
};

struct mime_part {
	struct mime_part *parent;   /* NULL for the root */
	struct mime_part *children; /* first child of a multipart */
	struct mime_part *next;     /* next sibling */
	struct mime_part *message;  /* embedded message of message/rfc822|global */
	unsigned nchildren;
	unsigned depth;
	unsigned flags;

	size_t hdr_start; /* offsets into the raw message */
	size_t body_start;
	size_t body_end;
	size_t size; /* body_end - body_start */
	size_t lines;

	/* Content-Type: type and subtype as sent (for BODYSTRUCTURE) and
	 * lower-cased (for decisions).  Defaults: text/plain, or
	 * message/rfc822 inside multipart/digest. */
	const char *type, *subtype;
	const char *ltype, *lsubtype;
	struct mime_param *params;
	unsigned nparams;

	/* Other MIME fields, unfolded and trimmed, NULL when absent. */
	const char *id;          /* Content-ID */
	const char *description; /* Content-Description (still RFC 2047-encoded) */
	const char *encoding;    /* Content-Transfer-Encoding as sent */
	const char *md5;         /* Content-MD5 */
	const char *location;    /* Content-Location */
	const char *disposition; /* Content-Disposition type as sent */
	struct mime_param *dparams;
	unsigned ndparams;
	const char **languages; /* Content-Language tags */
	unsigned nlanguages;
};

struct mime_message {
	const char *raw; /* the caller's buffer, not owned */
	size_t len;
	struct mime_part *root;
	unsigned nparts;
	struct arena *arena; /* private */
};

/* Parse msg[0..len).  Never fails on bad input (every byte sequence is some
 * message); fails only with -ENOMEM.  *out is freed with mime_free(). */
int mime_parse(const char *msg, size_t len, struct mime_message **out);
void mime_free(struct mime_message **m);

/* First parameter called name (lower-case) of p's Content-Type, or NULL. */
const char *mime_part_param(const struct mime_part *p, const char *name);
/* Is p of this lower-case type (and subtype, unless subtype is NULL)? */
bool mime_part_is(const struct mime_part *p, const char *type, const char *subtype);

/* ---- addresses (address.c) --------------------------------------- */

/* One parsed address of an address list (RFC 5322 §3.4).  Group start:
 * mailbox = group name, host = NULL; group end: mailbox = host = NULL.
 * Strings are raw (encoded words kept), quotes and quoted-pairs removed. */
struct mime_address {
	char *name;
	char *route;
	char *mailbox;
	char *host;
};
/* Parse an address-list field value; *out is a malloc'ed array of n
 * entries, free it with mime_addresses_free().  Tolerates obsolete syntax,
 * comments (a trailing comment becomes the name when there is none), and
 * garbage (skipped).  At most 10000 addresses. */
int mime_addresses_parse(const char *v, size_t len, struct mime_address **out, size_t *n);
void mime_addresses_free(struct mime_address **a, size_t n);

/* ---- decoding (decode.c, text.c) ----------------------------------- */

enum mime_encoding {
	MIME_ENC_IDENTITY, /* 7bit, 8bit, binary, absent */
	MIME_ENC_BASE64,
	MIME_ENC_QP,
	MIME_ENC_UNKNOWN, /* x-uuencode and friends: BINARY answers NO */
};
enum mime_encoding mime_part_encoding(const struct mime_part *p);

/* Decode base64 / quoted-printable (whole buffer; output is never longer
 * than the input).  Bad characters are skipped (base64) or kept (QP). */
int mime_decode_base64(const char *in, size_t len, struct buf *out);
/* The same over input that comes in pieces: st (zeroed at the start)
 * carries the bits of a group split between two calls. */
struct mime_b64_state {
	unsigned acc; /* only the low `bits` bits matter */
	int bits;
};
int mime_decode_base64_run(struct mime_b64_state *st, const char *in, size_t len, struct buf *out);
int mime_decode_qp(const char *in, size_t len, struct buf *out);
/* The decoded body of part p (BINARY[section]).  -EINVAL for an unknown
 * transfer encoding. */
int mime_decode_body(const struct mime_message *m, const struct mime_part *p, struct buf *out);

/* Convert text in charset to UTF-8.  Unknown charsets and invalid bytes
 * never fail: valid UTF-8 is kept, other bytes are read as Windows-1252. */
int mime_to_utf8(const char *charset, const char *in, size_t len, struct buf *out);
/* Unfold a header value and decode RFC 2047 encoded words into UTF-8
 * (adjacent encoded words joined, 8-bit text kept if UTF-8). */
int mime_decode_header_value(const char *v, size_t len, struct buf *out);
/* UTF-8 text for the full-text index, at most max bytes (0: 16 MiB):
 * MIME_TEXT_HEADERS: "Name: value" lines of every message header in the
 * tree (root and embedded), encoded words decoded;
 * MIME_TEXT_BODY: the decoded, charset-converted text of every "text/..."
 * part (HTML tags, scripts and styles stripped, entities decoded).
 * SEARCH BODY wants BODY only; SEARCH TEXT both. */
enum { MIME_TEXT_HEADERS = 1, MIME_TEXT_BODY = 2 };
int mime_searchable_text(const struct mime_message *m, unsigned what, size_t max, struct buf *out);
/* The header of message/part p as UTF-8 text, appended to out: a line
 * "Name: value\n" per field, in message order, the value unfolded and its
 * encoded words decoded (mime_decode_header_value).  Stops before a field
 * once more than max bytes were appended; a field is never cut. */
int mime_header_text(const struct mime_message *m, const struct mime_part *p, size_t max,
                     struct buf *out);

/* A preview of the message (RFC 8970 §3.3), appended to out: the text of
 * its first text/plain part that is not an attachment (else of its first
 * text/html part, markup dropped), decoded to UTF-8, quoted lines ('>')
 * and the signature left out, white space collapsed, at most
 * MIME_PREVIEW_CHARS characters. Empty when the message has no such text.
 * Attached messages are not looked into. */
#define MIME_PREVIEW_CHARS 200
int mime_preview(const struct mime_message *m, struct buf *out);

/* The first field called name in the header of message/part p, raw (see
 * mime_header_next() in mime/header.h). */
bool mime_header_get(const struct mime_message *m, const struct mime_part *p, const char *name,
                     const char **value, size_t *vlen);

#endif
