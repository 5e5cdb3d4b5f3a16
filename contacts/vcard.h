/* vcard: vCard 4.0 (RFC 6350) read and written, for the address book:
 * `tern contacts import|export`, and later CardDAV (RFC 6352) and JMAP
 * for Contacts, which carry vCards as they are.
 *
 * Lossless on purpose. A property keeps its group, name, parameters and
 * its value exactly as the file escaped it (`vcard_text` and
 * `vcard_component` decode on demand), so what a phone wrote comes back
 * byte for byte but for line folding and the case of names: a server that
 * rewrote vCards it does not understand would lose what clients put there
 * (X- properties, parameters of later RFCs).
 *
 * Reading (RFC 6350 §3): lines end in CRLF or a bare LF; a line that
 * starts with a space or tab continues the previous one (the fold is
 * removed, also inside a UTF-8 sequence); each vCard is BEGIN:VCARD,
 * VERSION (4.0, or 3.0 as older exports write it), properties, END:VCARD.
 * Parameter values may be quoted and comma-separated, with RFC 6868's
 * caret escapes (^n, ^^, ^') decoded. Every size is bounded (VCARD_*):
 * a file from anyone is input like any other.
 *
 * Writing: names in upper case, CRLF, lines folded before 75 octets and
 * never inside a UTF-8 sequence (§3.2), parameter values quoted when they
 * hold ':', ';' or ',' and caret-escaped. */
#ifndef TERN_CONTACTS_VCARD_H
#define TERN_CONTACTS_VCARD_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/arena.h"

#define VCARD_MAX_INPUT (16u << 20) /* bytes in one file */
#define VCARD_MAX_LINE (64u << 10)  /* an unfolded content line */
#define VCARD_MAX_PROPS 1000        /* properties in one vCard */
#define VCARD_MAX_PARAMS 32         /* parameters of one property */
#define VCARD_MAX_VALUES 64         /* values of one parameter */
#define VCARD_MAX_CARDS 100000      /* vCards in one file */

struct vcard_param {
	const char *name; /* upper case */
	const char *const *values;
	size_t nvalues;
};

struct vcard_prop {
	const char *group; /* NULL or as written */
	const char *name;  /* upper case */
	const struct vcard_param *params;
	size_t nparams;
	const char *value; /* as escaped in the file (unfolded) */
};

struct vcard {
	int version;                    /* 40 or 30 */
	const struct vcard_prop *props; /* BEGIN, VERSION and END not among them */
	size_t nprops;
};

/* The vCards of a file, all in one arena. */
struct vcard_list {
	struct arena arena;
	struct vcard *cards;
	size_t n;
};

/* Read data[0..len). 0 with *out filled, or -EINVAL with "line N: why"
 * in err (out empty), or -ENOMEM, -EFBIG (over a VCARD_* bound, said in
 * err too). */
int vcard_parse(const char *data, size_t len, struct vcard_list *out, char *err, size_t errlen);
void vcard_list_free(struct vcard_list *l);

/* The file for cards[0..n): malloc'd, *len bytes, NUL-terminated; NULL
 * on no memory. */
char *vcard_write(const struct vcard *cards, size_t n, size_t *len);

/* Whether a and b hold the same cards: versions, and each property's
 * group, name, parameters and value as read (a round trip through
 * vcard_write keeps them; a CardDAV PUT of the same card changes nothing). */
bool vcard_list_equal(const struct vcard_list *a, const struct vcard_list *b);

/* The first property named name (any case), or NULL. */
const struct vcard_prop *vcard_get(const struct vcard *c, const char *name);
/* The first value of a parameter (any case), or NULL. */
const char *vcard_param(const struct vcard_prop *p, const char *name);

/* A text value decoded (§3.4: \n or \N is a line break, \\ \, \; are the
 * character): malloc'd, NULL on no memory. */
char *vcard_text(const char *value);
/* Component i of a structured value (N, ADR: components split at ';'
 * that are not escaped), decoded as text: malloc'd ("" past the last),
 * NULL on no memory. */
char *vcard_component(const char *value, size_t i);
/* s escaped as a text value (the inverse of vcard_text): malloc'd. */
char *vcard_escape_text(const char *s);

#endif
