/* email_render_body: the body of an Email (RFC 8621 §4.1.4): the part
 * tree as EmailBodyPart objects, the textBody/htmlBody/attachments lists,
 * body values, and a part's decoded bytes for a download.
 *
 * The tree comes from mime_parse() and is walked without descending into
 * message/rfc822 or message/global (an attached message is one part, a
 * leaf). Nodes are laid out breadth first by a loop over the array itself,
 * so building them and their JSON needs no recursion. §4.1.4's
 * parseStructure() and the hasAttachment rule live in mime/body_lists.h,
 * which the message index uses too (Email/query's hasAttachment), so
 * Email/get and Email/query agree by construction.
 *
 * partId is the IMAP part number (RFC 9051 §6.4.5, mime/section.h), so that
 * a blob "B<msgid>.<partId>" is found again with imap_part_find(). A
 * multipart has no partId and no blob (§4.1.4: null for multipart/ *). */
#include "proto/jmap/email_render_int.h"
#include "proto/jmap/email_render.h"
#include "mime/body_lists.h"
#include "mime/section.h"
#include "lib/base64.h"
#include "lib/utf8.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const default_body_properties[] = {
    "partId",  "blobId",      "size", "name",     "type",
    "charset", "disposition", "cid",  "language", "location",
};

static const char *const body_properties_known[] = {
    "partId",  "blobId",      "size", "headers",  "name",     "type",
    "charset", "disposition", "cid",  "language", "location", "subParts",
};

bool er_body_property_known(const char *name)
{
	for (size_t i = 0; i < sizeof(body_properties_known) / sizeof(body_properties_known[0]);
	     i++)
		if (strcmp(name, body_properties_known[i]) == 0)
			return true;
	struct er_header_spec spec;
	return er_header_spec_parse(name, &spec) == 1;
}

static bool is_multipart(const struct mime_part *p)
{
	return (p->flags & MIME_PART_MULTIPART) != 0;
}

int er_tree_build(const struct mime_message *m, struct er_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->m = m;
	size_t cap = (size_t)m->nparts + 1;
	t->nodes = calloc(cap, sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	t->nodes[0].p = m->root;
	t->nodes[0].path = strdup("");
	t->n = 1;
	for (size_t i = 0; i < t->n; i++) {
		struct er_node *nd = &t->nodes[i];
		const struct mime_part *p = nd->p;
		if (!nd->path)
			return -ENOMEM;
		size_t tl = strlen(p->ltype) + strlen(p->lsubtype) + 2;
		nd->type = malloc(tl);
		if (!nd->type)
			return -ENOMEM;
		snprintf(nd->type, tl, "%s/%s", p->ltype, p->lsubtype);
		const char *name = mime_part_filename(p);
		if (name && !(nd->name = strdup(name)))
			return -ENOMEM;
		if (!is_multipart(p)) {
			nd->part_id = strdup(nd->path[0] ? nd->path : "1");
			if (!nd->part_id)
				return -ENOMEM;
			continue;
		}
		nd->first_child = t->n;
		unsigned k = 0;
		for (const struct mime_part *c = p->children; c; c = c->next) {
			if (t->n >= cap)
				break; /* cannot happen: nparts counts every part */
			struct er_node *cn = &t->nodes[t->n++];
			nd = &t->nodes[i];
			cn->p = c;
			size_t pl = strlen(nd->path) + 16;
			cn->path = malloc(pl);
			if (!cn->path)
				return -ENOMEM;
			snprintf(cn->path, pl, nd->path[0] ? "%s.%u" : "%s%u", nd->path, ++k);
			nd->nkids++;
		}
	}
	return 0;
}

void er_tree_free(struct er_tree *t)
{
	for (size_t i = 0; t->nodes && i < t->n; i++) {
		free(t->nodes[i].path);
		free(t->nodes[i].part_id);
		free(t->nodes[i].type);
		free(t->nodes[i].name);
		json_decref(t->nodes[i].json);
	}
	free(t->nodes);
	free(t->text);
	free(t->html);
	free(t->att);
	memset(t, 0, sizeof(*t));
}

/* ---- §4.1.4 ---------------------------------------------------------------- */

struct part_index {
	const struct mime_part *p;
	size_t i;
};

static int cmp_part_index(const void *a, const void *b)
{
	const struct part_index *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

/* One list of mime_body_lists() as indices into t->nodes. Every part of
 * a list is a node: the lists and the tree walk the same children and
 * neither enters an attached message. */
static int list_indices(const struct part_index *map, size_t n, const struct mime_part **parts,
                        size_t nparts, size_t **out)
{
	if (!(*out = calloc(nparts ? nparts : 1, sizeof **out)))
		return -ENOMEM;
	for (size_t k = 0; k < nparts; k++) {
		struct part_index key = {parts[k], 0};
		const struct part_index *hit = bsearch(&key, map, n, sizeof *map, cmp_part_index);
		if (!hit)
			return -EINVAL; /* cannot happen, see above */
		(*out)[k] = hit->i;
	}
	return 0;
}

/* textBody, htmlBody and attachments: mime/body_lists.h's, the same
 * lists the message index's has-attachment bit comes from. */
static int body_lists(struct er_tree *t)
{
	if (t->text || t->html || t->att)
		return 0;
	struct mime_body_lists l;
	int r = mime_body_lists(t->m, &l);
	if (r < 0)
		return r;
	struct part_index *map = malloc((t->n ? t->n : 1) * sizeof *map);
	if (!map)
		r = -ENOMEM;
	for (size_t i = 0; map && i < t->n; i++)
		map[i] = (struct part_index){t->nodes[i].p, i};
	if (map)
		qsort(map, t->n, sizeof *map, cmp_part_index);
	if (r == 0)
		r = list_indices(map, t->n, l.text, l.ntext, &t->text);
	if (r == 0)
		r = list_indices(map, t->n, l.html, l.nhtml, &t->html);
	if (r == 0)
		r = list_indices(map, t->n, l.att, l.natt, &t->att);
	if (r == 0) {
		t->ntext = l.ntext, t->nhtml = l.nhtml, t->natt = l.natt;
	} else {
		/* not computed: the next call tries again */
		free(t->text), free(t->html), free(t->att);
		t->text = t->html = t->att = NULL;
	}
	free(map);
	mime_body_lists_free(&l);
	return r;
}

/* ---- EmailBodyPart ---------------------------------------------------- */

/* Bytes the download of p gives: mime_decode_body()'s output size. base64
 * is decoded in pieces so that a big attachment costs no big buffer. */
static int decoded_size(const struct mime_message *m, const struct mime_part *p, size_t *size)
{
	enum mime_encoding enc = mime_part_encoding(p);
	if (enc != MIME_ENC_BASE64 && enc != MIME_ENC_QP) {
		*size = p->size;
		return 0;
	}
	struct buf b = {0};
	int r = 0;
	*size = 0;
	if (enc == MIME_ENC_QP) {
		r = mime_decode_qp(m->raw + p->body_start, p->size, &b);
		*size = b.len;
	} else {
		struct mime_b64_state st = {0};
		for (size_t off = 0; off < p->size && r == 0; off += 65536) {
			size_t n = p->size - off < 65536 ? p->size - off : 65536;
			buf_reset(&b);
			r = mime_decode_base64_run(&st, m->raw + p->body_start + off, n, &b);
			*size += b.len;
		}
	}
	buf_free(&b);
	return r;
}

static json_t *languages(const struct mime_part *p)
{
	if (!p->nlanguages)
		return json_null();
	json_t *a = json_array();
	for (unsigned i = 0; a && i < p->nlanguages; i++)
		if (json_array_append_new(a, er_json_string_or_null(p->languages[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Content-ID without the angle brackets. */
static json_t *content_id(const struct mime_part *p)
{
	if (!p->id)
		return json_null();
	const char *s = p->id;
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		s++, n -= 2;
	return er_json_string(s, n);
}

static json_t *lowercase_or_null(const char *s)
{
	if (!s)
		return json_null();
	char *l = strdup(s);
	if (!l)
		return NULL;
	for (char *c = l; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	json_t *j = er_json_string(l, strlen(l));
	free(l);
	return j;
}

static json_t *part_property(const struct er_tree *t, struct er_node *nd, const char *prop,
                             long long msgid)
{
	const struct mime_part *p = nd->p;
	if (strcmp(prop, "partId") == 0)
		return er_json_string_or_null(nd->part_id);
	if (strcmp(prop, "blobId") == 0) {
		if (!nd->part_id)
			return json_null();
		char id[512];
		int n = snprintf(id, sizeof id, "B%lld.%s", msgid, nd->part_id);
		return n > 0 && (size_t)n < sizeof id ? json_string(id) : json_null();
	}
	if (strcmp(prop, "size") == 0) {
		/* a part is in bodyStructure and in a list: decode it once */
		if (!nd->sized) {
			nd->size = p->size;
			if (!is_multipart(p) && decoded_size(t->m, p, &nd->size) < 0)
				return NULL;
			nd->sized = true;
		}
		return json_integer((json_int_t)nd->size);
	}
	if (strcmp(prop, "headers") == 0)
		return er_header_list(t->m->raw, p->hdr_start, p->body_start);
	if (strcmp(prop, "name") == 0)
		return er_json_string_or_null(nd->name);
	if (strcmp(prop, "type") == 0)
		return er_json_string_or_null(nd->type);
	if (strcmp(prop, "charset") == 0) {
		const char *cs = mime_part_param(p, "charset");
		if (cs)
			return er_json_string_or_null(cs);
		return strcmp(p->ltype, "text") == 0 ? json_string("us-ascii") : json_null();
	}
	if (strcmp(prop, "disposition") == 0)
		return lowercase_or_null(p->disposition);
	if (strcmp(prop, "cid") == 0)
		return content_id(p);
	if (strcmp(prop, "language") == 0)
		return languages(p);
	if (strcmp(prop, "location") == 0)
		return er_json_string_or_null(p->location);
	struct er_header_spec spec;
	if (er_header_spec_parse(prop, &spec) == 1)
		return er_header_value(t->m->raw, p->hdr_start, p->body_start, &spec);
	return json_null();
}

/* A new EmailBodyPart object for node i (subParts not filled in). */
static json_t *part_json(const struct er_tree *t, size_t i, const json_t *props, long long msgid)
{
	json_t *o = json_object();
	size_t n = props ? json_array_size(props)
	                 : sizeof(default_body_properties) / sizeof(default_body_properties[0]);
	for (size_t k = 0; o && k < n; k++) {
		const char *prop = props ? json_string_value(json_array_get(props, k))
		                         : default_body_properties[k];
		if (!prop)
			continue;
		if (strcmp(prop, "subParts") == 0)
			continue; /* er_body_structure's job */
		if (json_object_set_new(o, prop, part_property(t, &t->nodes[i], prop, msgid)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *er_body_structure(struct er_tree *t, const json_t *props, long long msgid)
{
	/* build every node's object, then hang each multipart's children (a
	 * range of the array, breadth first) on its subParts: no recursion */
	for (size_t i = 0; i < t->n; i++) {
		json_decref(t->nodes[i].json);
		t->nodes[i].json = part_json(t, i, props, msgid);
		if (!t->nodes[i].json)
			return NULL;
		if (!is_multipart(t->nodes[i].p))
			continue;
		/* §4.1.4: bodyStructure shows the tree, so a multipart always
		 * has its subParts there */
		json_t *sub = json_array();
		if (!sub || json_object_set_new(t->nodes[i].json, "subParts", sub) < 0)
			return NULL;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct er_node *nd = &t->nodes[i];
		if (!is_multipart(nd->p))
			continue;
		json_t *sub = json_object_get(nd->json, "subParts");
		for (size_t k = 0; k < nd->nkids; k++)
			if (json_array_append(sub, t->nodes[nd->first_child + k].json) < 0)
				return NULL;
	}
	return json_incref(t->nodes[0].json);
}

json_t *er_body_list(struct er_tree *t, enum er_list which, const json_t *props, long long msgid)
{
	if (body_lists(t) < 0)
		return NULL;
	const size_t *idx = which == ER_TEXT_BODY   ? t->text
	                    : which == ER_HTML_BODY ? t->html
	                                            : t->att;
	size_t n = which == ER_TEXT_BODY ? t->ntext : which == ER_HTML_BODY ? t->nhtml : t->natt;
	json_t *a = json_array();
	for (size_t k = 0; a && k < n; k++) {
		json_t *o = part_json(t, idx[k], props, msgid);
		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int er_has_attachment(struct er_tree *t)
{
	if (body_lists(t) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < t->natt; k++)
		if (mime_part_counts_as_attachment(t->nodes[t->att[k]].p))
			return 1;
	return 0;
}

/* ---- body values --------------------------------------------------------- */

/* Is this base64 body broken: a character outside the alphabet, data after
 * the padding, or a length that is not whole groups? */
static bool base64_broken(const char *s, size_t n)
{
	size_t count = 0;
	bool padding = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			padding = true;
			count++;
			continue;
		}
		if (padding || base64_value(c, '/') < 0)
			return true;
		count++;
	}
	return count % 4 != 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Is this quoted-printable body broken: an "=" that is neither "=XX" nor a
 * soft line break? */
static bool qp_broken(const char *s, size_t n)
{
	for (const char *e = memchr(s, '=', n); e;
	     e = memchr(e + 1, '=', n - (size_t)(e + 1 - s))) {
		size_t left = n - (size_t)(e - s) - 1;
		if (left >= 2 && hexval(e[1]) >= 0 && hexval(e[2]) >= 0)
			continue;
		size_t k = 1;
		while (k <= left && (e[k] == ' ' || e[k] == '\t'))
			k++;
		if (k > left || e[k] == '\n' || (e[k] == '\r' && k < left && e[k + 1] == '\n'))
			continue;
		return true;
	}
	return false;
}

static size_t count_replacements(const char *s, size_t n)
{
	size_t c = 0;
	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), "\xef\xbf\xbd", 3)); p += 3)
		c++;
	return c;
}

/* Does mime_to_utf8() know this charset, or does it fall back to "UTF-8,
 * else Windows-1252"? §4.1.4: an unknown charset is an encoding problem.
 * The same rules as mime/decode.c (names checked before iconv_open()
 * sees them: glibc loads gconv modules by name); mime/ does not export
 * them yet. */
static bool charset_known(const char *cs)
{
	static const char *const builtin[] = {"utf-8",          "utf8",   "us-ascii",     "ascii",
	                                      "iso-8859-1",     "latin1", "windows-1252", "cp1252",
	                                      "ks_c_5601-1987", "gb2312"};
	size_t n = strcspn(cs, "*"); /* RFC 2231 "*lang" */
	if (n == 0 || n > 40)
		return false;
	char name[48];
	for (size_t i = 0; i < n; i++) {
		char c = cs[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
		name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	name[n] = '\0';
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (strcmp(name, builtin[i]) == 0)
			return true;
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

static bool charset_is_utf8_or_ascii(const char *cs)
{
	return !cs || strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
}

/* RFC 8621 4.1.4: a body value has "any CRLF replaced with a single LF";
 * done in place (it only shortens), before maxBodyValueBytes counts. */
static void crlf_to_lf(struct buf *b)
{
	size_t w = 0;
	for (size_t r = 0; r < b->len; r++) {
		if (b->data[r] == '\r' && r + 1 < b->len && b->data[r + 1] == '\n')
			continue;
		b->data[w++] = b->data[r];
	}
	b->len = w;
}

/* The EmailBodyValue of a text part. */
static json_t *body_value(const struct mime_message *m, const struct mime_part *p, size_t max)
{
	struct buf dec = {0}, text = {0};
	bool problem = false;
	const char *body = m->raw + p->body_start;
	int r;
	switch (mime_part_encoding(p)) {
	case MIME_ENC_BASE64:
		problem = base64_broken(body, p->size);
		break;
	case MIME_ENC_QP:
		problem = qp_broken(body, p->size);
		break;
	case MIME_ENC_UNKNOWN:
		problem = true;
		break;
	default:
		break;
	}
	r = mime_decode_body(m, p, &dec);
	if (r == -EINVAL) /* an unknown transfer encoding: the bytes as they are */
		r = buf_add(&dec, body, p->size);
	const char *cs = mime_part_param(p, "charset");
	if (r == 0)
		r = mime_to_utf8(cs ? cs : "us-ascii", dec.data ? dec.data : "", dec.len, &text);
	json_t *o = NULL;
	if (r == 0) {
		if (cs && !charset_known(cs))
			problem = true;
		else if (charset_is_utf8_or_ascii(cs))
			problem |= !utf8_valid(dec.data ? dec.data : "", dec.len);
		else
			problem |= count_replacements(text.data, text.len) >
			           count_replacements(dec.data ? dec.data : "", dec.len);
		crlf_to_lf(&text);
		size_t n = text.len;
		bool truncated = false;
		if (max && n > max) {
			n = max;
			/* back to the start of a UTF-8 sequence */
			while (n > 0 && ((unsigned char)text.data[n] & 0xc0) == 0x80)
				n--;
			truncated = true;
		}
		o = json_object();
		if (o && (json_object_set_new(o, "value", er_json_string(text.data, n)) < 0 ||
		          json_object_set_new(o, "isEncodingProblem", json_boolean(problem)) < 0 ||
		          json_object_set_new(o, "isTruncated", json_boolean(truncated)) < 0)) {
			json_decref(o);
			o = NULL;
		}
	}
	buf_free(&dec);
	buf_free(&text);
	return o;
}

static int add_value(struct er_tree *t, json_t *values, size_t i, size_t max)
{
	const struct er_node *nd = &t->nodes[i];
	if (!nd->part_id || strcmp(nd->p->ltype, "text") != 0 ||
	    json_object_get(values, nd->part_id))
		return 0;
	json_t *v = body_value(t->m, nd->p, max);
	return v && json_object_set_new(values, nd->part_id, v) == 0 ? 0 : -ENOMEM;
}

json_t *er_body_values(struct er_tree *t, bool text, bool html, bool all, size_t max)
{
	if (body_lists(t) < 0)
		return NULL;
	json_t *values = json_object();
	int r = values ? 0 : -ENOMEM;
	for (size_t k = 0; all && k < t->n && r == 0; k++)
		r = add_value(t, values, k, max);
	for (size_t k = 0; text && k < t->ntext && r == 0; k++)
		r = add_value(t, values, t->text[k], max);
	for (size_t k = 0; html && k < t->nhtml && r == 0; k++)
		r = add_value(t, values, t->html[k], max);
	if (r < 0) {
		json_decref(values);
		return NULL;
	}
	return values;
}

/* ---- download -------------------------------------------------------------- */

static void copy_lower(char *dst, size_t dlen, const char *src)
{
	size_t i = 0;
	for (; dlen && src[i] && i + 1 < dlen; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
	if (dlen)
		dst[i] = '\0';
}

int jmap_email_part(const char *raw, size_t len, const char *part_id, struct buf *out, char *type,
                    size_t typelen, char *name, size_t namelen)
{
	struct mime_message *m = NULL;
	if (mime_parse(raw, len, &m) < 0)
		return -ENOMEM;
	const struct mime_part *p = imap_part_find(m, part_id, strlen(part_id));
	int r = 0;
	if (!p || is_multipart(p))
		goto done; /* a multipart has no partId, so no blob */
	r = mime_decode_body(m, p, out);
	if (r == -EINVAL)
		r = buf_add(out, raw + p->body_start, p->size);
	if (r < 0) {
		r = r == -E2BIG ? -E2BIG : -ENOMEM;
		goto done;
	}
	char t[256];
	snprintf(t, sizeof t, "%s/%s", p->ltype, p->lsubtype);
	copy_lower(type, typelen, t);
	const char *n = mime_part_filename(p);
	if (namelen) {
		snprintf(name, namelen, "%s", n ? n : "");
		/* never cut a UTF-8 sequence in two */
		size_t l = strlen(name);
		if (n && l < strlen(n)) {
			size_t j = l;
			while (j > 0 && ((unsigned char)name[j - 1] & 0xc0) == 0x80)
				j--;
			if (j > 0) {
				unsigned char lead = (unsigned char)name[j - 1];
				size_t need = lead >= 0xf0   ? 4
				              : lead >= 0xe0 ? 3
				              : lead >= 0xc0 ? 2
				                             : 1;
				if (j - 1 + need > l)
					name[j - 1] = '\0';
			}
		}
	}
	r = 1;
done:
	mime_free(&m);
	return r;
}
