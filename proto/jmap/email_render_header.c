/* email_render_header: header fields as RFC 8621 §4.1.2 parses them.
 *
 * Every form starts from the raw value mime_header_next() gives (the
 * bytes after the colon up to the line break that ends the field). asText
 * unfolds and decodes encoded words (mime_decode_header_value) and
 * normalises to NFC (libunistring's u8_normalize), the
 * address forms use mime_addresses_parse(); message ids, URLs and dates
 * are read here, each by a small loop that only moves forward.
 *
 * Which forms apply to which field is the table of §4.1.2: a field it
 * names gets its forms and asRaw, any other field every form. Without
 * ":all" the value is the last field of that name's; with it, an array
 * with one value per field, in message order. */
#include "proto/jmap/email_render_int.h"
#include "mime/header.h"
#include "lib/buf.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uninorm.h>

enum {
	F_RAW = 1 << ER_RAW,
	F_TEXT = 1 << ER_TEXT,
	F_ADDR = (1 << ER_ADDRESSES) | (1 << ER_GROUPED),
	F_IDS = 1 << ER_MSGIDS,
	F_DATE = 1 << ER_DATE,
	F_URLS = 1 << ER_URLS,
	F_ANY = F_RAW | F_TEXT | F_ADDR | F_IDS | F_DATE | F_URLS,
};

/* §4.1.2: the fields of RFC 5322, RFC 2369 and RFC 2919 and their forms. */
static const struct {
	const char *name;
	unsigned forms;
} known_fields[] = {
    {"subject", F_RAW | F_TEXT},
    {"comments", F_RAW | F_TEXT},
    {"keywords", F_RAW | F_TEXT},
    {"list-id", F_RAW | F_TEXT},
    {"from", F_RAW | F_ADDR},
    {"sender", F_RAW | F_ADDR},
    {"reply-to", F_RAW | F_ADDR},
    {"to", F_RAW | F_ADDR},
    {"cc", F_RAW | F_ADDR},
    {"bcc", F_RAW | F_ADDR},
    {"resent-from", F_RAW | F_ADDR},
    {"resent-sender", F_RAW | F_ADDR},
    {"resent-reply-to", F_RAW | F_ADDR},
    {"resent-to", F_RAW | F_ADDR},
    {"resent-cc", F_RAW | F_ADDR},
    {"resent-bcc", F_RAW | F_ADDR},
    {"message-id", F_RAW | F_IDS},
    {"in-reply-to", F_RAW | F_IDS},
    {"references", F_RAW | F_IDS},
    {"resent-message-id", F_RAW | F_IDS},
    {"date", F_RAW | F_DATE},
    {"resent-date", F_RAW | F_DATE},
    {"list-help", F_RAW | F_URLS},
    {"list-unsubscribe", F_RAW | F_URLS},
    {"list-subscribe", F_RAW | F_URLS},
    {"list-post", F_RAW | F_URLS},
    {"list-owner", F_RAW | F_URLS},
    {"list-archive", F_RAW | F_URLS},
    {"return-path", F_RAW},
    {"received", F_RAW},
};

static const char *const form_names[] = {
    [ER_RAW] = "asRaw",
    [ER_TEXT] = "asText",
    [ER_ADDRESSES] = "asAddresses",
    [ER_GROUPED] = "asGroupedAddresses",
    [ER_MSGIDS] = "asMessageIds",
    [ER_DATE] = "asDate",
    [ER_URLS] = "asURLs",
};

static unsigned forms_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
		if (strlen(known_fields[i].name) == len &&
		    strncasecmp(known_fields[i].name, name, len) == 0)
			return known_fields[i].forms;
	return F_ANY;
}

int er_header_spec_parse(const char *prop, struct er_header_spec *spec)
{
	if (strncmp(prop, "header:", 7) != 0)
		return 0;
	const char *name = prop + 7;
	size_t nl = strcspn(name, ":");
	if (nl == 0)
		return -1;
	/* RFC 5322 §2.2: a field name is printable US-ASCII without ':' */
	for (size_t i = 0; i < nl; i++)
		if ((unsigned char)name[i] <= 32 || (unsigned char)name[i] >= 127)
			return -1;
	spec->name = name;
	spec->name_len = nl;
	spec->form = ER_RAW;
	spec->all = false;
	const char *rest = name + nl;
	if (*rest == ':') {
		rest++;
		size_t fl = strcspn(rest, ":");
		bool found = false;
		for (int f = ER_RAW; f <= ER_URLS; f++) {
			if (strlen(form_names[f]) == fl && strncmp(form_names[f], rest, fl) == 0) {
				spec->form = (enum er_form)f;
				found = true;
			}
		}
		if (!found && fl == 3 && strncmp(rest, "all", 3) == 0 && rest[3] == '\0') {
			spec->all = true;
			rest += 3;
		} else if (!found) {
			return -1;
		} else {
			rest += fl;
			if (*rest == ':') {
				if (strcmp(rest, ":all") != 0)
					return -1;
				spec->all = true;
				rest += 4;
			}
		}
	}
	if (*rest != '\0')
		return -1;
	return (forms_of(spec->name, spec->name_len) & (1u << spec->form)) ? 1 : -1;
}

/* ---- JSON strings -------------------------------------------------------- */

json_t *er_json_string(const char *s, size_t len)
{
	if (len == 0)
		return json_string("");
	if (utf8_valid(s, len))
		return json_stringn(s, len);
	struct buf b = {0};
	json_t *j = NULL;
	if (mime_to_utf8("utf-8", s, len, &b) == 0)
		j = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return j;
}

json_t *er_json_string_or_null(const char *s)
{
	return s ? er_json_string(s, strlen(s)) : json_null();
}

/* ---- the forms ----------------------------------------------------------- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The raw value without the line break that ends the field. */
static size_t raw_len(const char *v, size_t len)
{
	if (len && v[len - 1] == '\n')
		len--;
	if (len && v[len - 1] == '\r')
		len--;
	return len;
}

/* §4.1.2.2: unfolded, encoded words decoded, white space trimmed, NFC. */
static json_t *as_text(const char *v, size_t len)
{
	struct buf b = {0};
	json_t *j = NULL;
	if (mime_decode_header_value(v, len, &b) == 0) {
		const char *s = b.data ? b.data : "";
		size_t n = b.len;
		while (n && is_wsp(*s))
			s++, n--;
		while (n && is_wsp(s[n - 1]))
			n--;
		uint8_t *nfc = NULL;
		size_t nfc_len = 0;
		if (n && utf8_valid(s, n))
			nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)s, n, NULL, &nfc_len);
		j = nfc ? er_json_string((const char *)nfc, nfc_len) : er_json_string(s, n);
		free(nfc);
	}
	buf_free(&b);
	return j;
}

/* A display name: encoded words decoded, white space trimmed; null when
 * there is none. */
static json_t *address_name(const char *name)
{
	if (!name)
		return json_null();
	json_t *j = as_text(name, strlen(name));
	if (j && json_string_length(j) == 0) {
		json_decref(j);
		return json_null();
	}
	return j;
}

static json_t *address_json(const struct mime_address *a)
{
	json_t *o = json_object();
	struct buf e = {0};
	int r = o ? buf_adds(&e, a->mailbox) : -ENOMEM;
	if (r == 0 && a->host[0])
		r = buf_printf(&e, "@%s", a->host);
	if (r == 0 && json_object_set_new(o, "name", address_name(a->name)) == 0 &&
	    json_object_set_new(o, "email", er_json_string(e.data ? e.data : "", e.len)) == 0) {
		buf_free(&e);
		return o;
	}
	buf_free(&e);
	json_decref(o);
	return NULL;
}

/* asAddresses (groups flattened) or asGroupedAddresses. */
static json_t *as_addresses(const char *v, size_t len, bool grouped)
{
	struct mime_address *a = NULL;
	size_t n = 0;
	if (mime_addresses_parse(v, len, &a, &n) < 0)
		return NULL;
	json_t *out = json_array();
	json_t *group = NULL; /* the open group's "addresses" */
	bool ok = out != NULL;
	for (size_t i = 0; i < n && ok; i++) {
		if (a[i].mailbox && !a[i].host) { /* group start */
			if (!grouped)
				continue;
			json_t *g = json_object();
			group = json_array();
			ok = g && group &&
			     json_object_set_new(g, "name", address_name(a[i].mailbox)) == 0 &&
			     json_object_set(g, "addresses", group) == 0 &&
			     json_array_append_new(out, g) == 0;
			if (!ok)
				json_decref(g);
			json_decref(group); /* g holds it */
			continue;
		}
		if (!a[i].mailbox) { /* group end */
			group = NULL;
			continue;
		}
		json_t *addr = address_json(&a[i]);
		if (!addr) {
			ok = false;
			break;
		}
		if (!grouped) {
			ok = json_array_append_new(out, addr) == 0;
			continue;
		}
		if (!group) { /* addresses outside a group: a group with name null */
			json_t *g = json_object();
			group = json_array();
			ok = g && group && json_object_set_new(g, "name", json_null()) == 0 &&
			     json_object_set(g, "addresses", group) == 0 &&
			     json_array_append_new(out, g) == 0;
			if (!ok)
				json_decref(g);
			json_decref(group);
			if (!ok) {
				json_decref(addr);
				break;
			}
			/* open until the next group starts */
		}
		ok = json_array_append_new(group, addr) == 0;
	}
	mime_addresses_free(&a, n);
	if (!ok) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Items between < and > (comments and white space between them skipped);
 * for asMessageIds the text inside may hold no white space and must have
 * an '@'-free-or-not id-left/id-right; an item that breaks the rules makes
 * the whole value null (§4.1.2.3), as does a value with no item. For
 * asURLs white space inside is removed (RFC 2369 §2). */
static json_t *angle_list(const char *v, size_t len, bool urls)
{
	json_t *out = json_array();
	if (!out)
		return NULL;
	size_t i = 0;
	while ((i = mime_skip_cfws(v, len, i)) < len) {
		char c = v[i];
		if (urls && c == ',') {
			i++;
			continue;
		}
		if (c != '<')
			goto bad; /* text outside <>: not a list of ids / URLs */
		const char *gt = memchr(v + i + 1, '>', len - i - 1);
		if (!gt)
			goto bad;
		const char *s = v + i + 1;
		size_t n = (size_t)(gt - s);
		struct buf b = {0};
		int r = 0;
		for (size_t k = 0; k < n && r == 0; k++) {
			if (is_wsp(s[k])) {
				if (!urls) {
					buf_free(&b);
					goto bad;
				}
				continue;
			}
			if (!urls && (s[k] == '<' || s[k] == '('))
				r = -EINVAL;
			else
				r = buf_addc(&b, s[k]);
		}
		if (r == -EINVAL || (r == 0 && b.len == 0)) {
			buf_free(&b);
			goto bad;
		}
		json_t *item = r == 0 ? er_json_string(b.data, b.len) : NULL;
		buf_free(&b);
		if (!item || json_array_append_new(out, item) < 0) {
			json_decref(out);
			return NULL;
		}
		i = (size_t)(gt - v) + 1;
	}
	if (json_array_size(out) > 0)
		return out;
bad:
	json_decref(out);
	return json_null();
}

static json_t *as_date(const char *v, size_t len)
{
	char out[40];
	return er_date_rfc3339(v, len, out, sizeof out) ? json_string(out) : json_null();
}

static json_t *form_value(enum er_form form, const char *v, size_t len)
{
	switch (form) {
	case ER_RAW:
		return er_json_string(v, raw_len(v, len));
	case ER_TEXT:
		return as_text(v, len);
	case ER_ADDRESSES:
		return as_addresses(v, len, false);
	case ER_GROUPED:
		return as_addresses(v, len, true);
	case ER_MSGIDS:
		return angle_list(v, len, false);
	case ER_DATE:
		return as_date(v, len);
	case ER_URLS:
		return angle_list(v, len, true);
	}
	return json_null();
}

json_t *er_header_value(const char *raw, size_t start, size_t end,
                        const struct er_header_spec *spec)
{
	json_t *all = spec->all ? json_array() : NULL;
	if (spec->all && !all)
		return NULL;
	const char *last = NULL;
	size_t last_len = 0;
	size_t pos = start;
	const char *name, *value;
	size_t nlen, vlen;
	while (mime_header_next(raw, &pos, end, &name, &nlen, &value, &vlen) == 1) {
		if (nlen != spec->name_len || strncasecmp(name, spec->name, nlen) != 0)
			continue;
		if (!spec->all) {
			last = value;
			last_len = vlen;
			continue;
		}
		json_t *j = form_value(spec->form, value, vlen);
		if (!j || json_array_append_new(all, j) < 0) {
			json_decref(all);
			return NULL;
		}
	}
	if (spec->all)
		return all;
	return last ? form_value(spec->form, last, last_len) : json_null();
}

json_t *er_header_list(const char *raw, size_t start, size_t end)
{
	json_t *out = json_array();
	size_t pos = start;
	const char *name, *value;
	size_t nlen, vlen;
	while (out && mime_header_next(raw, &pos, end, &name, &nlen, &value, &vlen) == 1) {
		json_t *o = json_object();
		if (!o || json_object_set_new(o, "name", er_json_string(name, nlen)) < 0 ||
		    json_object_set_new(o, "value", er_json_string(value, raw_len(value, vlen))) <
		        0 ||
		    json_array_append_new(out, o) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
