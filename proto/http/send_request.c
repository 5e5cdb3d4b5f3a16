/* send_request: POST /api/v1/send's JSON to an envelope and a message.
 *
 * Why it translates rather than writes: a built request becomes a JMAP
 * Email/set create object (from/to/cc as EmailAddress objects, text and
 * html as bodyValues, attachments as blobs this file hands the builder
 * from the decoded base64, extra fields as header:Name properties), and
 * proto/jmap/email_build.c writes the bytes: one MIME writer, whose rules
 * (encoded words, RFC 2231 file names, alternative/mixed shapes) are
 * already tested and fuzzed. Bcc never reaches the builder: it is only in
 * the envelope, as submission's Bcc handling leaves it.
 *
 * Everything here is bounded before it costs: the nesting is counted on
 * the raw bytes before jansson parses them, and recipients, attachments,
 * header fields and the message's size have their limits. A refusal is a
 * struct send_error with the SMTP reply submission would give. */
#include "proto/http/send_request.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base64.h"
#include "proto/jmap/email_build.h"

#define ADDR_MAX 254 /* RFC 5321 4.5.3.1.3's path less its brackets */

struct attachment {
	struct buf data;
	char type[128];
	char name[256];
};

struct pctx {
	const struct send_limits *lim;
	struct send_request *out;
	struct send_error *err;
	struct attachment *att;
	size_t natt;
};

static int refuse(struct send_error *e, int http, const char *code, const char *smtp,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int refuse(struct send_error *e, int http, const char *code, const char *smtp,
                  const char *fmt, ...)
{
	e->http = http;
	e->code = code;
	e->smtp = smtp;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return 1;
}

#define SMTP_SYNTAX "501 5.5.4 Invalid request"
#define SMTP_TOO_BIG "552 5.3.4 Message size exceeds fixed limit"
#define SMTP_TOO_MANY "452 4.5.3 Too many recipients"
#define SMTP_NO_RCPTS "554 5.5.0 No recipients have been specified"
#define SMTP_RCPT_SYNTAX "501 5.1.3 Bad recipient address syntax"
#define SMTP_FROM_SYNTAX "501 5.1.7 Bad sender address syntax"
#define SMTP_BAD_CONTENT "554 5.6.0 Message content rejected"

/* A malformed request: 400 invalid_request. */
#define bad(p, ...) refuse((p)->err, 400, "invalid_request", SMTP_SYNTAX, __VA_ARGS__)

/* The deepest nesting of objects and arrays, read off the bytes (strings
 * skipped), so that jansson never recurses deeper than we allow. */
static int json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return max;
}

/* An address we pass on: local@domain, printable ASCII without the
 * characters that would end or split a path or a header field. */
static bool address_ok(const char *a)
{
	size_t n = strlen(a);
	const char *at = strrchr(a, '@');
	if (n == 0 || n > ADDR_MAX || !at || at == a || !at[1])
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == ',' || c == ';' ||
		    c == '(' || c == ')' || c == '[' || c == ']' || c == '\\')
			return false;
	}
	return true;
}

/* "a@b" or {"email": "a@b", "name": "..."}: the address, or NULL. */
static const char *address_of(json_t *v, json_t **name)
{
	*name = NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (!json_is_object(v))
		return NULL;
	const char *key;
	json_t *m;
	json_object_foreach(v, key, m)
	{
		if (strcmp(key, "email") && strcmp(key, "name"))
			return NULL;
	}
	*name = json_object_get(v, "name");
	if (*name && !json_is_string(*name) && !json_is_null(*name))
		return NULL;
	return json_string_value(json_object_get(v, "email"));
}

/* One more envelope recipient (copied). */
static int add_rcpt(struct pctx *p, const char *addr)
{
	if (p->out->nrcpts >= p->lim->max_rcpts)
		return refuse(p->err, 422, "too_many_recipients", SMTP_TOO_MANY,
		              "at most %zu recipients", p->lim->max_rcpts);
	char **r = realloc(p->out->rcpts, (p->out->nrcpts + 1) * sizeof *r);
	if (!r)
		return -ENOMEM;
	p->out->rcpts = r;
	if (!(r[p->out->nrcpts] = strdup(addr)))
		return -ENOMEM;
	p->out->nrcpts++;
	return 0;
}

/* to/cc/bcc: an array of addresses; each goes to the envelope when
 * envelope_too, and (but for bcc) into *list for the builder. */
static int read_list(struct pctx *p, json_t *doc, const char *prop, bool envelope_too,
                     json_t **list)
{
	json_t *v = json_object_get(doc, prop);
	*list = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(p, "%s is an array of addresses", prop);
	if (json_array_size(v) > p->lim->max_rcpts)
		return refuse(p->err, 422, "too_many_recipients", SMTP_TOO_MANY,
		              "at most %zu recipients", p->lim->max_rcpts);
	if (!(*list = json_array()))
		return -ENOMEM;
	size_t i;
	json_t *one;
	json_array_foreach(v, i, one)
	{
		json_t *name;
		const char *a = address_of(one, &name);
		if (!a || !address_ok(a))
			return refuse(p->err, 400, "invalid_recipient", SMTP_RCPT_SYNTAX,
			              "%s[%zu] is not an address", prop, i);
		int r = envelope_too ? add_rcpt(p, a) : 0;
		if (r)
			return r;
		json_t *o = json_pack("{s:s}", "email", a);
		if (!o || (name && json_is_string(name) && json_object_set(o, "name", name) < 0) ||
		    json_array_append_new(*list, o) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* RFC 4648 base64, whitespace ignored (a client may wrap its lines),
 * padding optional; appended to out. 0, 1 invalid, or -ENOMEM. */
static int base64_decode(const char *in, size_t len, struct buf *out)
{
	unsigned acc = 0;
	int bits = 0;
	bool pad = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		int v = base64_value(c, '/');
		if (v < 0 || pad)
			return 1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			char byte = (char)((acc >> bits) & 0xff);
			if (buf_add(out, &byte, 1) < 0)
				return -ENOMEM;
		}
	}
	return bits >= 6 ? 1 : 0; /* one lone character is not base64 */
}

/* The builder's blob reader: "aN" is attachment N. */
static int read_attachment(void *ud, const char *blob_id, struct buf *out, char *type,
                           size_t typelen, char *name, size_t namelen)
{
	struct pctx *p = ud;
	char *end;
	if (blob_id[0] != 'a')
		return 0;
	unsigned long n = strtoul(blob_id + 1, &end, 10);
	if (*end || n >= p->natt)
		return 0;
	if (buf_add(out, p->att[n].data.data ? p->att[n].data.data : "", p->att[n].data.len) < 0)
		return -ENOMEM;
	snprintf(type, typelen, "%s", p->att[n].type);
	snprintf(name, namelen, "%s", p->att[n].name);
	return 1;
}

static bool media_type_ok(const char *t)
{
	const char *slash = strchr(t, '/');
	if (!slash || slash == t || !slash[1] || strlen(t) >= 128)
		return false;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		      (*t >= '0' && *t <= '9') || strchr("/!#$&^_.+-", *t)))
			return false;
	return true;
}

static int read_attachments(struct pctx *p, json_t *doc, json_t *create)
{
	json_t *v = json_object_get(doc, "attachments");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(p, "%s is an array", "attachments");
	if (json_array_size(v) > SEND_MAX_ATTACHMENTS)
		return refuse(p->err, 422, "too_many_attachments", SMTP_BAD_CONTENT,
		              "at most %d attachments", SEND_MAX_ATTACHMENTS);
	p->att = calloc(json_array_size(v) + 1, sizeof *p->att);
	json_t *parts = json_array();
	if (!p->att || !parts || json_object_set_new(create, "attachments", parts) < 0)
		return -ENOMEM;
	size_t i, total = 0;
	json_t *one;
	json_array_foreach(v, i, one)
	{
		const char *key;
		json_t *m;
		if (!json_is_object(one))
			return bad(p, "%s: each attachment is an object", "attachments");
		json_object_foreach(one, key, m)
		{
			if (strcmp(key, "filename") && strcmp(key, "content_type") &&
			    strcmp(key, "content"))
				return bad(p, "an attachment has no member %s", key);
		}
		json_t *fn = json_object_get(one, "filename"),
		       *ct = json_object_get(one, "content_type");
		json_t *c = json_object_get(one, "content");
		if ((fn && !json_is_string(fn)) || (ct && !json_is_string(ct)) ||
		    !json_is_string(c))
			return bad(p,
			           "%s: filename and content_type are strings, content a "
			           "base64 string",
			           "attachments");
		struct attachment *a = &p->att[p->natt++];
		const char *type = ct ? json_string_value(ct) : "application/octet-stream";
		if (!media_type_ok(type))
			return bad(p, "%s: content_type is not a media type", "attachments");
		if (fn && strlen(json_string_value(fn)) >= sizeof a->name)
			return bad(p, "%s: the file name is too long", "attachments");
		snprintf(a->type, sizeof a->type, "%s", type);
		snprintf(a->name, sizeof a->name, "%s", fn ? json_string_value(fn) : "");
		int r = base64_decode(json_string_value(c), json_string_length(c), &a->data);
		if (r < 0)
			return r;
		if (r)
			return bad(p, "%s: content is not base64", "attachments");
		total += a->data.len;
		if (p->lim->max_size && total > p->lim->max_size)
			return refuse(p->err, 413, "message_too_large", SMTP_TOO_BIG,
			              "the attachments pass the message size limit (%zu bytes)",
			              p->lim->max_size);
		char blob[32];
		snprintf(blob, sizeof blob, "a%zu", i);
		json_t *part = json_pack("{s:s, s:s, s:s}", "blobId", blob, "type", a->type,
		                         "disposition", "attachment");
		if (!part ||
		    (a->name[0] && json_object_set_new(part, "name", json_string(a->name))) ||
		    json_array_append_new(parts, part) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Header fields a sender may add besides the ones the request sets: the
 * X- ones, and these. Anything that would change routing, MIME structure
 * or who the mail is from is left to the request's own members. */
static const char *const extra_fields[] = {
    "Reply-To",       "In-Reply-To",      "References",
    "List-Id",        "List-Unsubscribe", "List-Unsubscribe-Post",
    "Auto-Submitted", "Precedence",       "Keywords",
    "Comments",
};

static bool field_allowed(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 76)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return false;
	if (n > 2 && !strncasecmp(name, "X-", 2))
		return true;
	for (size_t i = 0; i < sizeof extra_fields / sizeof extra_fields[0]; i++)
		if (!strcasecmp(name, extra_fields[i]))
			return true;
	return false;
}

static int read_headers(struct pctx *p, json_t *doc, json_t *create)
{
	json_t *v = json_object_get(doc, "headers");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(p, "%s is an object of field names and values", "headers");
	if (json_object_size(v) > SEND_MAX_HEADERS)
		return refuse(p->err, 422, "too_many_headers", SMTP_BAD_CONTENT,
		              "at most %d extra header fields", SEND_MAX_HEADERS);
	const char *key;
	json_t *m;
	json_object_foreach(v, key, m)
	{
		if (!field_allowed(key))
			return refuse(p->err, 422, "header_not_allowed", SMTP_BAD_CONTENT,
			              "the header field %.80s may not be set here (X-* and a few "
			              "others may)",
			              key);
		const char *val = json_string_value(m);
		if (!val || strchr(val, '\r') || strchr(val, '\n') || strlen(val) > 900)
			return bad(p, "headers.%.80s is a string of one line", key);
		bool ascii = true;
		for (const char *c = val; *c; c++)
			ascii &= (unsigned char)*c < 0x80;
		char prop[128];
		snprintf(prop, sizeof prop, "header:%s%s", key, ascii ? "" : ":asText");
		if (json_object_get(create, prop))
			return bad(p, "headers.%.80s is given twice", key);
		if (json_object_set_new(create, prop, json_string(val)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* envelope {from, to}: required with raw, optional otherwise. */
static int read_envelope(struct pctx *p, json_t *env)
{
	const char *key;
	json_t *m;
	if (!json_is_object(env))
		return bad(p, "%s is an object {from, to}", "envelope");
	json_object_foreach(env, key, m)
	{
		if (strcmp(key, "from") && strcmp(key, "to"))
			return bad(p, "envelope has no member %s", key);
	}
	const char *from = json_string_value(json_object_get(env, "from"));
	if (!from || !address_ok(from))
		return refuse(p->err, 400, "invalid_sender", SMTP_FROM_SYNTAX,
		              "envelope.from is not an address");
	if (!(p->out->mail_from = strdup(from)))
		return -ENOMEM;
	json_t *to = json_object_get(env, "to");
	if (!json_is_array(to))
		return bad(p, "%s is an array of addresses", "envelope.to");
	size_t i;
	json_t *one;
	json_array_foreach(to, i, one)
	{
		const char *a = json_string_value(one);
		if (!a || !address_ok(a))
			return refuse(p->err, 400, "invalid_recipient", SMTP_RCPT_SYNTAX,
			              "envelope.to[%zu] is not an address", i);
		int r = add_rcpt(p, a);
		if (r)
			return r;
	}
	return 0;
}

static int too_big(struct pctx *p)
{
	return refuse(p->err, 413, "message_too_large", SMTP_TOO_BIG,
	              "the message passes the size limit (%zu bytes)", p->lim->max_size);
}

/* The raw message's Message-ID, or one of ours put on top; bare LF made
 * CRLF on the way. */
static int take_raw(struct pctx *p, const char *s, size_t len)
{
	struct buf *o = &p->out->msg;
	if (len == 0)
		return refuse(p->err, 422, "invalid_message", SMTP_BAD_CONTENT,
		              "the message is empty");
	/* the header section: find Message-ID */
	const char *id = NULL;
	size_t idlen = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;
		size_t ll = end - i;
		if (ll && s[end - 1] == '\r')
			ll--;
		if (ll == 0)
			break;
		if (ll > 11 && !strncasecmp(s + i, "Message-ID:", 11)) {
			id = s + i + 11;
			idlen = ll - 11;
			while (idlen && (*id == ' ' || *id == '\t')) {
				id++;
				idlen--;
			}
			while (idlen && (id[idlen - 1] == ' ' || id[idlen - 1] == '\t'))
				idlen--;
		}
		i = end + 1;
	}
	if (id && idlen && idlen < sizeof p->out->message_id) {
		memcpy(p->out->message_id, id, idlen);
		p->out->message_id[idlen] = '\0';
	} else {
		snprintf(p->out->message_id, sizeof p->out->message_id, "<%s@%s>", p->lim->unique,
		         p->lim->hostname);
		if (buf_printf(o, "Message-ID: %s\r\n", p->out->message_id) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0')
			return refuse(p->err, 422, "invalid_message", SMTP_BAD_CONTENT,
			              "the message has a NUL byte");
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r') && buf_add(o, "\r", 1) < 0)
			return -ENOMEM;
		if (buf_add(o, s + i, 1) < 0)
			return -ENOMEM;
		if (p->lim->max_size && o->len > p->lim->max_size)
			return too_big(p);
	}
	if (o->len < 2 || memcmp(o->data + o->len - 2, "\r\n", 2) != 0)
		if (buf_adds(o, "\r\n") < 0)
			return -ENOMEM;
	return 0;
}

static int parse_raw(struct pctx *p, json_t *doc)
{
	const char *key;
	json_t *m;
	json_object_foreach(doc, key, m)
	{
		if (strcmp(key, "raw") && strcmp(key, "raw_base64") && strcmp(key, "envelope"))
			return bad(
			    p, "with raw, %s is not allowed (the message carries its header)", key);
	}
	json_t *raw = json_object_get(doc, "raw"), *b64 = json_object_get(doc, "raw_base64");
	json_t *env = json_object_get(doc, "envelope");
	if (raw && b64)
		return bad(p, "%s: raw or raw_base64, not both", "raw");
	if (!env)
		return bad(p, "%s is required with raw", "envelope");
	int r = read_envelope(p, env);
	if (r)
		return r;
	if (raw) {
		if (!json_is_string(raw))
			return bad(p, "%s is a string", "raw");
		return take_raw(p, json_string_value(raw), json_string_length(raw));
	}
	if (!json_is_string(b64))
		return bad(p, "%s is a string", "raw_base64");
	struct buf dec = {0};
	r = base64_decode(json_string_value(b64), json_string_length(b64), &dec);
	if (r == 0 && p->lim->max_size && dec.len > p->lim->max_size)
		r = too_big(p);
	else if (r == 0)
		r = take_raw(p, dec.data ? dec.data : "", dec.len);
	else if (r == 1)
		r = bad(p, "%s is not base64", "raw_base64");
	buf_free(&dec);
	return r;
}

static const char *const built_members[] = {
    "from", "to", "cc", "bcc", "subject", "text", "html", "attachments", "headers", "envelope",
};

static int parse_built(struct pctx *p, json_t *doc, json_t *create)
{
	const char *key;
	json_t *m;
	json_object_foreach(doc, key, m)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof built_members / sizeof built_members[0]; i++)
			known |= !strcmp(key, built_members[i]);
		if (!known)
			return bad(p, "no member %s", key);
	}
	json_t *name;
	const char *from = address_of(json_object_get(doc, "from"), &name);
	if (!from || !address_ok(from))
		return refuse(p->err, 400, "invalid_sender", SMTP_FROM_SYNTAX,
		              "from is an address or {name, email}");
	json_t *fo = json_pack("{s:s}", "email", from);
	if (!fo || (name && json_is_string(name) && json_object_set(fo, "name", name) < 0) ||
	    json_object_set_new(create, "from", json_pack("[o]", fo)) < 0)
		return -ENOMEM;
	json_t *env = json_object_get(doc, "envelope");
	int r = env ? read_envelope(p, env) : 0;
	if (r)
		return r;
	if (!env && !(p->out->mail_from = strdup(from)))
		return -ENOMEM;
	static const char *const lists[] = {"to", "cc", "bcc"};
	for (size_t i = 0; i < 3; i++) {
		json_t *list;
		r = read_list(p, doc, lists[i], !env, &list);
		if (r == 0 && json_array_size(list) && i < 2)
			r = json_object_set_new(create, lists[i], list) < 0 ? -ENOMEM : 0;
		else
			json_decref(list);
		if (r)
			return r;
	}
	if (p->out->nrcpts == 0) /* before any work on the body */
		return refuse(p->err, 422, "no_recipients", SMTP_NO_RCPTS, "no recipients");
	json_t *subject = json_object_get(doc, "subject");
	if (subject && !json_is_string(subject))
		return bad(p, "%s is a string", "subject");
	if (subject && json_object_set(create, "subject", subject) < 0)
		return -ENOMEM;
	json_t *text = json_object_get(doc, "text"), *html = json_object_get(doc, "html");
	if ((text && !json_is_string(text)) || (html && !json_is_string(html)))
		return bad(p, "%s: text and html are strings", "text");
	json_t *values = json_object();
	if (!values || json_object_set_new(create, "bodyValues", values) < 0)
		return -ENOMEM;
	if (text && (json_object_set_new(values, "t", json_pack("{s:O}", "value", text)) < 0 ||
	             json_object_set_new(
	                 create, "textBody",
	                 json_pack("[{s:s, s:s}]", "partId", "t", "type", "text/plain")) < 0))
		return -ENOMEM;
	if (html && (json_object_set_new(values, "h", json_pack("{s:O}", "value", html)) < 0 ||
	             json_object_set_new(
	                 create, "htmlBody",
	                 json_pack("[{s:s, s:s}]", "partId", "h", "type", "text/html")) < 0))
		return -ENOMEM;
	if ((r = read_attachments(p, doc, create)) || (r = read_headers(p, doc, create)))
		return r;
	snprintf(p->out->message_id, sizeof p->out->message_id, "<%s@%s>", p->lim->unique,
	         p->lim->hostname);
	char id[600];
	snprintf(id, sizeof id, "%s@%s", p->lim->unique, p->lim->hostname);
	if (json_object_set_new(create, "messageId", json_pack("[s]", id)) < 0)
		return -ENOMEM;
	struct email_build_env benv = {.now = p->lim->now,
	                               .unique = p->lim->unique,
	                               .hostname = p->lim->hostname,
	                               .blob = read_attachment,
	                               .blob_ud = p,
	                               .max_size = p->lim->max_size};
	const char *prop = NULL, *why = NULL;
	r = email_build(create, &benv, &p->out->msg, &prop, &why);
	if (r < 0)
		return r;
	if (r == EMAIL_BUILD_TOO_LARGE)
		return too_big(p);
	if (r)
		return refuse(p->err, 422, "invalid_message", SMTP_BAD_CONTENT, "%s%s%s",
		              prop && *prop ? prop : "the message", ": ", why ? why : "not valid");
	return 0;
}

int send_request_parse(const char *body, size_t len, const struct send_limits *lim,
                       struct send_request *out, struct send_error *err)
{
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	struct pctx p = {.lim = lim, .out = out, .err = err};
	if (json_depth(body, len) > SEND_MAX_DEPTH)
		return refuse(err, 400, "invalid_request", SMTP_SYNTAX,
		              "the JSON is nested deeper than %d", SEND_MAX_DEPTH);
	json_error_t je;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return refuse(err, 400, "invalid_json", SMTP_SYNTAX, "not JSON: %s", je.text);
	int r;
	json_t *create = NULL;
	if (!json_is_object(doc)) {
		r = bad(&p, "%s", "the request is a JSON object");
	} else if (json_object_get(doc, "raw") || json_object_get(doc, "raw_base64")) {
		r = parse_raw(&p, doc);
	} else if (!(create = json_object())) {
		r = -ENOMEM;
	} else {
		r = parse_built(&p, doc, create);
	}
	if (r == 0 && out->nrcpts == 0)
		r = refuse(err, 422, "no_recipients", SMTP_NO_RCPTS, "no recipients");
	json_decref(create);
	json_decref(doc);
	for (size_t i = 0; i < p.natt; i++)
		buf_free(&p.att[i].data);
	free(p.att);
	return r;
}

void send_request_free(struct send_request *r)
{
	free(r->mail_from);
	for (size_t i = 0; i < r->nrcpts; i++)
		free(r->rcpts[i]);
	free(r->rcpts);
	buf_free(&r->msg);
	memset(r, 0, sizeof *r);
}
