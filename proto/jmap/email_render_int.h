/* email_render_int: what the email_render_*.c files share and nothing
 * outside proto/jmap/email_render*.c uses. The renderer is split by job:
 * email_render.c (Email/get's arguments and the top level),
 * email_render_header.c (header fields in their parsed forms),
 * email_render_date.c (RFC 5322 dates as RFC 3339),
 * email_render_body.c (the part tree, §4.1.4's body lists, body values,
 * downloads) and email_render_snippet.c (SearchSnippet). */
#ifndef TERN_JMAP_EMAIL_RENDER_INT_H
#define TERN_JMAP_EMAIL_RENDER_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mime/mime.h"

/* A JSON string of s[0..len): kept if it is UTF-8 without NUL, else read
 * as UTF-8 where it is and Windows-1252 where it is not (mime_to_utf8), so
 * that no byte a sender wrote can make jansson refuse it. NULL: -ENOMEM. */
json_t *er_json_string(const char *s, size_t len);
/* A JSON string of a C string, or JSON null for NULL. */
json_t *er_json_string_or_null(const char *s);

/* ---- header fields (email_render_header.c) ----------------------------- */

/* The parsed forms of RFC 8621 §4.1.2. */
enum er_form { ER_RAW, ER_TEXT, ER_ADDRESSES, ER_GROUPED, ER_MSGIDS, ER_DATE, ER_URLS };

/* "header:Name[:asForm][:all]", parsed. name points into the property. */
struct er_header_spec {
	const char *name;
	size_t name_len;
	enum er_form form;
	bool all;
};

/* 1: prop is such a property and the form applies to the field;
 * 0: prop does not start with "header:"; -1: it does but is not valid. */
int er_header_spec_parse(const char *prop, struct er_header_spec *spec);

/* The value spec asks for, from the header fields in raw[start..end) (a
 * message's or a part's header). NULL: -ENOMEM. */
json_t *er_header_value(const char *raw, size_t start, size_t end,
                        const struct er_header_spec *spec);
/* Every field of raw[start..end) as [{name, value}], value raw. */
json_t *er_header_list(const char *raw, size_t start, size_t end);

/* An RFC 5322 date-time (obsolete forms tolerated) as RFC 3339 with the
 * offset it was written with ("2014-10-30T06:12:00-07:00"; "Z" for +0000
 * and -0000) into out (at least 26 bytes). false if it does not parse. */
bool er_date_rfc3339(const char *v, size_t len, char *out, size_t outlen);

/* ---- body parts (email_render_body.c) ---------------------------------- */

/* One part of the body structure (RFC 8621 §4.1.4), without descending into
 * message/rfc822 or message/global. Parts are stored breadth first: the
 * subparts of a multipart are nodes[first_child .. first_child+nkids). */
struct er_node {
	const struct mime_part *p;
	char *path;    /* IMAP part number ("" for a multipart root) */
	char *part_id; /* NULL for multipart/ * */
	char *type;    /* "type/subtype", lower case */
	char *name;    /* decoded file name, NULL if none */
	size_t first_child, nkids;
	size_t size; /* decoded size, once sized */
	bool sized;
	json_t *json; /* built by er_body_structure */
};

struct er_tree {
	const struct mime_message *m;
	struct er_node *nodes;
	size_t n;
	/* §4.1.4's lists: indices into nodes */
	size_t *text, *html, *att;
	size_t ntext, nhtml, natt;
};

/* 0 or -ENOMEM. */
int er_tree_build(const struct mime_message *m, struct er_tree *t);
void er_tree_free(struct er_tree *t);

/* Property values. body_properties NULL: the default list. NULL: -ENOMEM. */
json_t *er_body_structure(struct er_tree *t, const json_t *body_properties, long long msgid);
enum er_list { ER_TEXT_BODY, ER_HTML_BODY, ER_ATTACHMENTS };
json_t *er_body_list(struct er_tree *t, enum er_list which, const json_t *body_properties,
                     long long msgid);
/* 1 or 0; -ENOMEM. */
int er_has_attachment(struct er_tree *t);
json_t *er_body_values(struct er_tree *t, bool text, bool html, bool all, size_t max_bytes);
/* Is name a property of EmailBodyPart this implementation knows? */
bool er_body_property_known(const char *name);

#endif
