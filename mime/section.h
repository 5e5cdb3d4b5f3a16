/* section: IMAP section specs (RFC 9051 §6.4.5) resolved against a parsed
 * message (mime/mime.h): BODY[section] and BINARY[section] byte ranges,
 * HEADER.FIELDS subsets, and parts by number. In mime/ rather than
 * proto/imap because IMAP URLs name parts by the same sections, and
 * mailurl/ (below the protocols) cuts them for CATENATE and BURL.
 *
 * Functions return 0 or a negative errno value (-EINVAL, -ENOENT, -ENOMEM,
 * -E2BIG) and append output to a struct buf. */
#ifndef TERN_MIME_SECTION_H
#define TERN_MIME_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "mime/mime.h"

enum imap_section_kind {
	IMAP_SECTION_BODY,       /* "" or "1.2": the (part's) body, raw */
	IMAP_SECTION_HEADER,     /* HEADER: a message header incl. blank line */
	IMAP_SECTION_TEXT,       /* TEXT: a message body */
	IMAP_SECTION_MIME,       /* n.MIME: the part's MIME header */
	IMAP_SECTION_FIELDS,     /* HEADER.FIELDS (...) */
	IMAP_SECTION_FIELDS_NOT, /* HEADER.FIELDS.NOT (...) */
};

struct imap_section {
	enum imap_section_kind kind;
	const struct mime_part *part; /* the part (or message) addressed */
	size_t offset, length;        /* byte range in m->raw; for FIELDS*
	                               * the header the subset is taken from */
	const char *fields;           /* FIELDS*: the list inside (), raw */
	size_t fields_len;
};

/* Resolve an IMAP section spec (the text between [ and ], e.g. "",
 * "1.2.HEADER", "2.MIME", "TEXT", "HEADER.FIELDS (From To)"),
 * case-insensitively.  -EINVAL for bad syntax, -ENOENT for a part number
 * that does not exist.  For FIELDS kinds, produce the bytes with
 * imap_section_fetch(). */
int imap_section_find(const struct mime_message *m, const char *spec, size_t len,
                      struct imap_section *out);
/* Append the header fields of hdr[0..len) whose names are (or with negate,
 * are not) in the space-separated, possibly quoted list, in message order,
 * folded lines kept whole, then the terminating blank line "\r\n". */
int imap_header_fields(const char *hdr, size_t len, const char *fields, size_t flen, bool negate,
                       struct buf *out);
/* The bytes of a resolved section: raw ranges copied, FIELDS built. */
int imap_section_fetch(const struct mime_message *m, const struct imap_section *s, struct buf *out);
/* Find a part by its number ("1.2.3"); NULL when it does not exist.  For
 * BINARY[section], whose part is then decoded with imap_binary_decode(). */
const struct mime_part *imap_part_find(const struct mime_message *m, const char *num, size_t len);

/* ---- BINARY[section] of a big part, a piece at a time -------------------
 *
 * A chunked download asks for BINARY.PEEK[2]<0.65536>, then <65536.65536>,
 * and so on, and BINARY.SIZE[2] first. Decoding the whole part for each of
 * them made a 20 MB attachment cost a whole decode per 64 KiB. So the
 * first decode of a part also maps it: its decoded size, and checkpoints
 * where decoding can start again (a base64 decoder's state, the start of
 * a quoted-printable line) every stride of raw bytes. With the map, a
 * range is decoded from the checkpoint before it, reading only the raw
 * bytes it needs, and the size is known without decoding at all. */

/* Where decoding can start again: raw offset in the part's body, decoded
 * bytes before it, and (base64) the bits the decoder held there. */
struct imap_binary_mark {
	uint64_t raw, dec;
	uint8_t acc, bits;
};

struct imap_binary_map {
	enum mime_encoding enc;         /* IDENTITY also for a multipart or message part */
	uint64_t raw_off, raw_len;      /* the part's body in the message */
	uint64_t size;                  /* decoded size */
	struct imap_binary_mark *marks; /* ascending; marks[0] is the start */
	size_t nmarks;
};

/* At least this many raw bytes between two checkpoints (a quoted-printable
 * one runs on to the end of its line), more for a huge part: at most
 * IMAP_BINARY_MAX_MARKS of them. */
#define IMAP_BINARY_STRIDE (64u << 10)
#define IMAP_BINARY_MAX_MARKS 1024

/* Append the decoded body of part p (BINARY[section]: multipart and
 * message parts raw) to out, the bytes mime_decode_body() gives, and
 * fill map (free with imap_binary_map_free()). -EINVAL for an unknown
 * transfer encoding, -ENOMEM, -E2BIG. */
int imap_binary_decode(const struct mime_message *m, const struct mime_part *p, struct buf *out,
                       struct imap_binary_map *map);
void imap_binary_map_free(struct imap_binary_map *map);

/* Reads len bytes of the message from off into buf: the bytes read, or a
 * negative errno. */
typedef ssize_t (*imap_raw_read_fn)(void *ud, uint64_t off, char *buf, size_t len);

/* Append decoded bytes [off, off + len) (clipped to the part) of the part
 * map describes to out, reading its raw bytes with read(ud, ...) from the
 * checkpoint before off on. 0 or a negative errno. */
int imap_binary_range(const struct imap_binary_map *map, uint64_t off, uint64_t len,
                      imap_raw_read_fn read, void *ud, struct buf *out);

#endif
