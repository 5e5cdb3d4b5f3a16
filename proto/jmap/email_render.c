/* email_render: Email/get's content properties (RFC 8621 §4.1-4.2) from
 * a message's bytes: the arguments that choose them, and the top level
 * that parses the message once and asks the header and body files for
 * each property. See email_render.h for the contract and
 * email_render_int.h for how the work is split. */
#include "proto/jmap/email_render.h"
#include "proto/jmap/email_render_int.h"

#include <errno.h>
#include <string.h>

/* §4.2: what Email/get returns when properties is null. */
static const char *const default_properties[] = {
    "id",        "blobId",    "threadId",    "mailboxIds", "keywords",      "size",    "receivedAt",
    "messageId", "inReplyTo", "references",  "sender",     "from",          "to",      "cc",
    "bcc",       "replyTo",   "subject",     "sentAt",     "hasAttachment", "preview", "bodyValues",
    "textBody",  "htmlBody",  "attachments",
};

/* The metadata properties: the caller's (email_get.c), known here only to
 * accept them. */
static const char *const metadata_properties[] = {
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
};

/* Convenience properties: a header field in one form (§4.1.2-4.1.3). */
static const struct {
	const char *prop;
	const char *header; /* the equivalent "header:..." property */
} header_shortcuts[] = {
    {"messageId", "header:Message-ID:asMessageIds"},
    {"inReplyTo", "header:In-Reply-To:asMessageIds"},
    {"references", "header:References:asMessageIds"},
    {"sender", "header:Sender:asAddresses"},
    {"from", "header:From:asAddresses"},
    {"to", "header:To:asAddresses"},
    {"cc", "header:Cc:asAddresses"},
    {"bcc", "header:Bcc:asAddresses"},
    {"replyTo", "header:Reply-To:asAddresses"},
    {"subject", "header:Subject:asText"},
    {"sentAt", "header:Date:asDate"},
};

static const char *const body_properties[] = {
    "headers",  "bodyStructure", "bodyValues",    "textBody",
    "htmlBody", "attachments",   "hasAttachment", "preview",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static const char *shortcut(const char *prop)
{
	for (size_t i = 0; i < COUNT(header_shortcuts); i++)
		if (strcmp(header_shortcuts[i].prop, prop) == 0)
			return header_shortcuts[i].header;
	return NULL;
}

static bool email_property_known(const char *p)
{
	struct er_header_spec spec;
	return in_list(metadata_properties, COUNT(metadata_properties), p) || shortcut(p) ||
	       in_list(body_properties, COUNT(body_properties), p) ||
	       er_header_spec_parse(p, &spec) == 1;
}

static int check_names(const json_t *list, bool (*known)(const char *), const char **why,
                       const char *not_array, const char *unknown)
{
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list)) {
		*why = not_array;
		return -1;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *s = json_string_value(json_array_get(list, i));
		if (!s || !known(s)) {
			*why = unknown;
			return -1;
		}
	}
	return 0;
}

static int get_bool(const json_t *args, const char *key, bool *out, const char **why)
{
	const json_t *v = args ? json_object_get(args, key) : NULL;
	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		*why =
		    "fetchTextBodyValues, fetchHTMLBodyValues and fetchAllBodyValues are booleans";
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int jmap_email_opts_parse(const json_t *args, const json_t *properties, struct jmap_email_opts *o,
                          const char **why)
{
	memset(o, 0, sizeof(*o));
	if (check_names(properties, email_property_known, why, "properties must be an array",
	                "properties names an unknown Email property") < 0)
		return -1;
	o->properties = json_is_array(properties) ? properties : NULL;
	const json_t *bp = args ? json_object_get(args, "bodyProperties") : NULL;
	if (check_names(bp, er_body_property_known, why, "bodyProperties must be an array",
	                "bodyProperties names an unknown EmailBodyPart property") < 0)
		return -1;
	o->body_properties = json_is_array(bp) ? bp : NULL;
	if (get_bool(args, "fetchTextBodyValues", &o->fetch_text_body_values, why) < 0 ||
	    get_bool(args, "fetchHTMLBodyValues", &o->fetch_html_body_values, why) < 0 ||
	    get_bool(args, "fetchAllBodyValues", &o->fetch_all_body_values, why) < 0)
		return -1;
	const json_t *max = args ? json_object_get(args, "maxBodyValueBytes") : NULL;
	if (max && !json_is_null(max)) {
		/* RFC 8620 UnsignedInt: 0 .. 2^53-1 */
		if (!json_is_integer(max) || json_integer_value(max) < 0 ||
		    json_integer_value(max) > 9007199254740991LL) {
			*why = "maxBodyValueBytes must be an unsigned integer";
			return -1;
		}
		o->max_body_value_bytes = (size_t)json_integer_value(max);
	}
	return 0;
}

/* ---- rendering ------------------------------------------------------------ */

struct render {
	json_t *obj;
	const struct mime_message *m;
	const struct jmap_email_opts *o;
	long long msgid;
	struct er_tree tree;
	bool have_tree;
};

static int tree(struct render *r)
{
	if (r->have_tree)
		return 0;
	int e = er_tree_build(r->m, &r->tree);
	r->have_tree = true; /* freed whether or not it was finished */
	return e;
}

static json_t *preview(const struct mime_message *m)
{
	struct buf b = {0};
	json_t *j = NULL;
	if (mime_preview(m, &b) == 0)
		j = er_json_string(b.data ? b.data : "", b.len);
	buf_free(&b);
	return j;
}

/* The value of one content property; JSON null for a metadata one (never
 * added) is not asked for here. NULL: -ENOMEM. */
static json_t *property(struct render *r, const char *prop)
{
	const struct mime_part *root = r->m->root;
	const char *h = shortcut(prop);
	struct er_header_spec spec;
	if (er_header_spec_parse(h ? h : prop, &spec) == 1)
		return er_header_value(r->m->raw, root->hdr_start, root->body_start, &spec);
	if (strcmp(prop, "headers") == 0)
		return er_header_list(r->m->raw, root->hdr_start, root->body_start);
	if (strcmp(prop, "preview") == 0)
		return preview(r->m);
	if (tree(r) < 0)
		return NULL;
	const json_t *bp = r->o->body_properties;
	if (strcmp(prop, "bodyStructure") == 0)
		return er_body_structure(&r->tree, bp, r->msgid);
	if (strcmp(prop, "textBody") == 0)
		return er_body_list(&r->tree, ER_TEXT_BODY, bp, r->msgid);
	if (strcmp(prop, "htmlBody") == 0)
		return er_body_list(&r->tree, ER_HTML_BODY, bp, r->msgid);
	if (strcmp(prop, "attachments") == 0)
		return er_body_list(&r->tree, ER_ATTACHMENTS, bp, r->msgid);
	if (strcmp(prop, "hasAttachment") == 0) {
		int a = er_has_attachment(&r->tree);
		return a < 0 ? NULL : json_boolean(a);
	}
	if (strcmp(prop, "bodyValues") == 0)
		return er_body_values(&r->tree, r->o->fetch_text_body_values,
		                      r->o->fetch_html_body_values, r->o->fetch_all_body_values,
		                      r->o->max_body_value_bytes);
	return json_null();
}

int jmap_email_render(json_t *obj, const char *raw, size_t len, int64_t message_id,
                      const struct jmap_email_opts *o)
{
	struct mime_message *m = NULL;
	if (mime_parse(raw, len, &m) < 0)
		return -ENOMEM;
	struct render r = {.obj = obj, .m = m, .o = o, .msgid = (long long)message_id};
	const json_t *props = o->properties;
	size_t n = props ? json_array_size(props) : COUNT(default_properties);
	int e = 0;
	for (size_t i = 0; i < n && e == 0; i++) {
		const char *prop =
		    props ? json_string_value(json_array_get(props, i)) : default_properties[i];
		if (!prop || in_list(metadata_properties, COUNT(metadata_properties), prop))
			continue;
		json_t *v = property(&r, prop);
		if (!v || json_object_set_new(obj, prop, v) < 0)
			e = -ENOMEM;
	}
	if (r.have_tree)
		er_tree_free(&r.tree);
	mime_free(&m);
	return e;
}
