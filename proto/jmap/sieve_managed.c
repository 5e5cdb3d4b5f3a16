/* sieve_managed: web/sieve_managed.js's fromSieve and toSieve in C (see
 * sieve_managed.h for why). Each check below names the JavaScript it
 * mirrors; lengths are JavaScript's (UTF-16 code units), and JSON is
 * written as JSON.stringify writes it, so the page reads back what this
 * file writes and the bytes are the ones the page itself would write. */
#include "proto/jmap/sieve_managed.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/utf8.h"

#define JS_MAX_LENGTH 1000 /* validRule: contains and target */
#define DEFAULT_DAYS 7

static const char *const field_names[] = {"from", "to", "subject"};
static const char *const field_headers[] = {"[\"from\"]", "[\"to\", \"cc\"]", "[\"subject\"]"};
static const char *const action_names[] = {"move", "read", "forward", "delete"};

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int jmap_managed_set_string(char **field, const char *s)
{
	char *copy = dup_or_empty(s);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

void jmap_managed_free(struct jmap_managed *m)
{
	for (size_t i = 0; i < m->n_rules; i++) {
		free(m->rules[i].contains);
		free(m->rules[i].target);
	}
	free(m->rules);
	free(m->subject);
	free(m->body);
	*m = (struct jmap_managed){0};
}

int jmap_managed_empty(struct jmap_managed *m)
{
	*m = (struct jmap_managed){.days = DEFAULT_DAYS};
	m->subject = strdup("");
	m->body = strdup("");
	if (!m->subject || !m->body) {
		jmap_managed_free(m);
		return -ENOMEM;
	}
	return 0;
}

/* ---- validRule ---- */

/* A string's .length in JavaScript: UTF-16 code units (s is valid UTF-8,
 * as jansson gives it). */
static size_t js_length(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			n++;
		if ((*p & 0xf8) == 0xf0) /* four bytes: a surrogate pair */
			n++;
	}
	return n;
}

/* JavaScript's \s (ECMA-262 WhiteSpace and LineTerminator). */
static bool js_space(int32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
	       cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

/* plainAddress: /^[^\s"<>(),;:\\@]+@[^\s"<>(),;:\\@]+\.[^\s"<>(),;:\\@]+$/
 * that is, one '@' with something before it, and after it a '.' that is
 * neither the domain's first character nor its last. */
static bool plain_address(const char *a)
{
	size_t len = strlen(a), i = 0, n = 0, at = SIZE_MAX, dot = SIZE_MAX;
	while (i < len) {
		int32_t cp = utf8_decode((const unsigned char *)a, len, &i);
		if (cp < 0 || js_space(cp) || (cp < 0x80 && strchr("\"<>(),;:\\", (int)cp)))
			return false;
		if (cp == '@') {
			if (at != SIZE_MAX || n == 0)
				return false;
			at = n;
		} else if (cp == '.' && at != SIZE_MAX && n > at + 1 && dot == SIZE_MAX) {
			dot = n; /* the first one past the domain's first character */
		}
		n++;
	}
	return at != SIZE_MAX && dot != SIZE_MAX && dot + 1 < n;
}

static bool no_controls(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int name_index(const json_t *v, const char *const *names, int n)
{
	const char *s = json_string_value(v);
	for (int i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* validRule(r), and r read into out (strings borrowed from r). */
static bool valid_rule(const json_t *r, struct jmap_managed_rule *out)
{
	if (!json_is_object(r))
		return false;
	int field = name_index(json_object_get(r, "field"), field_names, 3);
	int action = name_index(json_object_get(r, "action"), action_names, 4);
	const char *contains = json_string_value(json_object_get(r, "contains"));
	const char *target = json_string_value(json_object_get(r, "target"));
	if (field < 0 || action < 0 || !contains || !contains[0] ||
	    js_length(contains) > JS_MAX_LENGTH || !target || js_length(target) > JS_MAX_LENGTH)
		return false;
	/* jansson gives a string with a NUL as shorter: refuse it here */
	if (json_string_length(json_object_get(r, "contains")) != strlen(contains) ||
	    json_string_length(json_object_get(r, "target")) != strlen(target))
		return false;
	if (action == JMAP_MANAGED_MOVE && (!target[0] || !no_controls(target)))
		return false;
	if (action == JMAP_MANAGED_FORWARD && !plain_address(target))
		return false;
	*out = (struct jmap_managed_rule){.field = (enum jmap_managed_field)field,
	                                  .action = (enum jmap_managed_action)action,
	                                  .contains = (char *)contains,
	                                  .target = (char *)target};
	return true;
}

/* ---- fromSieve ---- */

/* Number.isInteger(v) && v >= 1 && v <= 365 ? v : 7 */
static int days_of(const json_t *v)
{
	if (json_is_integer(v)) {
		json_int_t d = json_integer_value(v);
		return d >= 1 && d <= 365 ? (int)d : DEFAULT_DAYS;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		return d >= 1 && d <= 365 && d == floor(d) ? (int)d : DEFAULT_DAYS;
	}
	return DEFAULT_DAYS;
}

static int read_rules(const json_t *rules, struct jmap_managed *m)
{
	size_t n = json_array_size(rules);
	if (n == 0)
		return 0;
	size_t cap = n < JMAP_MANAGED_MAX_RULES ? n : JMAP_MANAGED_MAX_RULES;
	if (!(m->rules = calloc(cap, sizeof *m->rules)))
		return -ENOMEM;
	for (size_t i = 0; i < n && m->n_rules < cap; i++) {
		struct jmap_managed_rule r;
		if (!valid_rule(json_array_get(rules, i), &r))
			continue;
		struct jmap_managed_rule *o = &m->rules[m->n_rules];
		o->field = r.field;
		o->action = r.action;
		o->contains = strdup(r.contains);
		o->target = strdup(r.target);
		m->n_rules++; /* counted first, so that free() sees both */
		if (!o->contains || !o->target)
			return -ENOMEM;
	}
	return 0;
}

/* The string field or "" (typeof v === 'string' ? v : ''): 0 or -ENOMEM. */
static int string_or_empty(const json_t *v, char **out)
{
	const char *s = json_string_value(v);
	if (s && json_string_length(v) != strlen(s))
		s = NULL; /* not reached: jansson refuses \u0000 without JSON_ALLOW_NUL */
	return jmap_managed_set_string(out, s);
}

int jmap_managed_parse(const char *text, size_t len, struct jmap_managed *m)
{
	if (jmap_managed_empty(m) < 0)
		return -ENOMEM;
	size_t mark = strlen(JMAP_MANAGED_MARK);
	if (len < mark || memcmp(text, JMAP_MANAGED_MARK, mark) != 0)
		return 0;
	/* text.search(/\r?\n/): the first LF, less a CR before it */
	const char *lf = memchr(text, '\n', len);
	size_t end = lf ? (size_t)(lf - text) : len;
	if (lf && end > 0 && text[end - 1] == '\r')
		end--;
	if (end < mark)
		return 0; /* "# tern-webmail v1\r\n": the mark's own space is the CR */
	json_t *j = json_loadb(text + mark, end - mark, 0, NULL);
	json_t *rules = json_object_get(j, "rules");
	json_t *vacation = json_object_get(j, "vacation");
	int r = 0;
	if (json_is_object(j) && json_is_array(rules) &&
	    (json_is_object(vacation) || json_is_array(vacation))) {
		json_t *sub = json_object_get(vacation, "subject");
		json_t *body = json_object_get(vacation, "body");
		m->enabled = json_is_true(json_object_get(vacation, "enabled"));
		m->days = days_of(json_object_get(vacation, "days"));
		r = read_rules(rules, m);
		if (r == 0)
			r = string_or_empty(sub, &m->subject);
		if (r == 0)
			r = string_or_empty(body, &m->body);
		if (r == 0)
			r = 1;
	}
	json_decref(j);
	if (r != 1) {
		jmap_managed_free(m);
		if (r == 0 && jmap_managed_empty(m) < 0)
			return -ENOMEM;
	}
	return r;
}

/* ---- toSieve ---- */

/* JSON.stringify of a string (s valid UTF-8): \" \\ \b \f \n \r \t,
 * other controls as \u00xx in lower case, everything else as it is. */
static int json_quote(struct buf *b, const char *s)
{
	int r = buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++) {
		switch (*p) {
		case '"':
			r = buf_adds(b, "\\\"");
			break;
		case '\\':
			r = buf_adds(b, "\\\\");
			break;
		case '\b':
			r = buf_adds(b, "\\b");
			break;
		case '\f':
			r = buf_adds(b, "\\f");
			break;
		case '\n':
			r = buf_adds(b, "\\n");
			break;
		case '\r':
			r = buf_adds(b, "\\r");
			break;
		case '\t':
			r = buf_adds(b, "\\t");
			break;
		default:
			r = *p < 0x20 ? buf_printf(b, "\\u%04x", *p) : buf_addc(b, (char)*p);
		}
	}
	return r ? r : buf_addc(b, '"');
}

/* quote(): a Sieve quoted string, only \ and " escaped (RFC 5228 2.4.2). */
static int sieve_quote(struct buf *b, const char *s)
{
	int r = buf_addc(b, '"');
	for (const char *p = s; r == 0 && *p; p++)
		r = *p == '\\' || *p == '"' ? buf_printf(b, "\\%c", *p) : buf_addc(b, *p);
	return r ? r : buf_addc(b, '"');
}

static int header_json(const struct jmap_managed *m, int days, struct buf *b)
{
	int r = buf_adds(b, "{\"rules\":[");
	for (size_t i = 0; r == 0 && i < m->n_rules; i++) {
		const struct jmap_managed_rule *x = &m->rules[i];
		if ((r = buf_printf(b, "%s{\"field\":\"%s\",\"contains\":", i ? "," : "",
		                    field_names[x->field])) < 0 ||
		    (r = json_quote(b, x->contains)) < 0 ||
		    (r = buf_printf(b, ",\"action\":\"%s\",\"target\":", action_names[x->action])) <
		        0 ||
		    (r = json_quote(b, x->target)) < 0)
			break;
		r = buf_addc(b, '}');
	}
	if (r == 0)
		r = buf_printf(b, "],\"vacation\":{\"enabled\":%s,\"subject\":",
		               m->enabled ? "true" : "false");
	if (r == 0)
		r = json_quote(b, m->subject ? m->subject : "");
	if (r == 0)
		r = buf_adds(b, ",\"body\":");
	if (r == 0)
		r = json_quote(b, m->body ? m->body : "");
	return r ? r : buf_printf(b, ",\"days\":%d}}", days);
}

/* The rules the page would keep: validRule's, in C (a rule read by
 * jmap_managed_parse always is one; a caller's own may not be). */
static bool rule_ok(const struct jmap_managed_rule *x)
{
	if (!x->contains || !x->target || !x->contains[0] ||
	    js_length(x->contains) > JS_MAX_LENGTH || js_length(x->target) > JS_MAX_LENGTH)
		return false;
	if (x->action == JMAP_MANAGED_MOVE)
		return x->target[0] && no_controls(x->target);
	if (x->action == JMAP_MANAGED_FORWARD)
		return plain_address(x->target);
	return true;
}

int jmap_managed_text(const struct jmap_managed *m, struct buf *out)
{
	int days = m->days < 1 ? 1 : m->days > 365 ? 365 : m->days;
	struct jmap_managed kept = *m;
	kept.days = days;
	kept.rules = NULL;
	kept.n_rules = 0;
	if (m->n_rules && !(kept.rules = calloc(m->n_rules, sizeof *kept.rules)))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_rules; i++)
		if (rule_ok(&m->rules[i]))
			kept.rules[kept.n_rules++] = m->rules[i]; /* borrowed */
	/* the require list, sorted: copy, fileinto, imap4flags, mailbox, vacation */
	bool copy = false, fileinto = false, flags = false;
	for (size_t i = 0; i < kept.n_rules; i++) {
		copy |= kept.rules[i].action == JMAP_MANAGED_FORWARD;
		fileinto |= kept.rules[i].action == JMAP_MANAGED_MOVE;
		flags |= kept.rules[i].action == JMAP_MANAGED_READ;
	}
	int r = buf_adds(out, JMAP_MANAGED_MARK);
	if (r == 0)
		r = header_json(&kept, days, out);
	if (r == 0)
		r = buf_adds(out, "\r\n# Written by the webmail (Settings: Rules, Out of office): "
		                  "change it there.\r\n");
	if (r == 0 && (copy || fileinto || flags || kept.enabled)) {
		const char *sep = "";
		r = buf_adds(out, "require [");
		static const char *const names[] = {"copy", "fileinto", "imap4flags", "mailbox",
		                                    "vacation"};
		bool need[] = {copy, fileinto, flags, fileinto, kept.enabled};
		for (int i = 0; r == 0 && i < 5; i++)
			if (need[i]) {
				r = buf_printf(out, "%s\"%s\"", sep, names[i]);
				sep = ", ";
			}
		if (r == 0)
			r = buf_adds(out, "];\r\n");
	}
	if (r == 0 && kept.enabled) {
		r = buf_printf(out, "# Out of office\r\nvacation :days %d", days);
		if (r == 0 && kept.subject && kept.subject[0]) {
			r = buf_adds(out, " :subject ");
			if (r == 0)
				r = sieve_quote(out, kept.subject);
		}
		if (r == 0)
			r = buf_addc(out, ' ');
		if (r == 0)
			r = sieve_quote(out, kept.body && kept.body[0] ? kept.body : "I am away.");
		if (r == 0)
			r = buf_adds(out, ";\r\n");
	}
	for (size_t i = 0; r == 0 && i < kept.n_rules; i++) {
		const struct jmap_managed_rule *x = &kept.rules[i];
		r = buf_printf(out, "# Rule %zu\r\nif header :contains %s ", i + 1,
		               field_headers[x->field]);
		if (r == 0)
			r = sieve_quote(out, x->contains);
		if (r == 0)
			r = buf_adds(out, " {\r\n");
		if (r == 0 && x->action == JMAP_MANAGED_MOVE) {
			r = buf_adds(out, "  fileinto :create ");
			if (r == 0)
				r = sieve_quote(out, x->target);
			if (r == 0)
				r = buf_adds(out, ";\r\n  stop;\r\n");
		} else if (r == 0 && x->action == JMAP_MANAGED_READ) {
			r = buf_adds(out, "  addflag \"\\\\Seen\";\r\n");
		} else if (r == 0 && x->action == JMAP_MANAGED_FORWARD) {
			r = buf_adds(out, "  redirect :copy ");
			if (r == 0)
				r = sieve_quote(out, x->target);
			if (r == 0)
				r = buf_adds(out, ";\r\n");
		} else if (r == 0) {
			r = buf_adds(out, "  discard;\r\n  stop;\r\n");
		}
		if (r == 0)
			r = buf_adds(out, "}\r\n");
	}
	free(kept.rules);
	return r;
}
