/* email_filter: Email/query's filter and sort from JSON (see
 * email_filter.h).
 *
 * A FilterOperator ({"operator": "AND"|"OR"|"NOT", "conditions": [...]})
 * becomes a node with children; a FilterCondition with several
 * properties becomes an AND of one leaf per property (RFC 8621 §4.4.1:
 * all of them must match), with none it matches every Email. */
#include "proto/jmap/email_filter.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/jmap_int.h"
#include "proto/jmap/keywords.h"

struct parse {
	struct jmap_filter_tree *t;
	const char *type, *why;
};

static int fail(struct parse *p, const char *type, const char *why)
{
	p->type = type;
	p->why = why;
	return -1;
}

static void filter_free(struct jmap_filter *f)
{
	for (size_t i = 0; i < f->nkids; i++)
		filter_free(&f->kids[i]);
	free(f->kids);
	free(f->uidvalidity);
	free(f->str);
	free(f->name);
	memset(f, 0, sizeof *f);
}

void jmap_filter_tree_free(struct jmap_filter_tree *t)
{
	if (t->root) {
		filter_free(t->root);
		free(t->root);
	}
	memset(t, 0, sizeof *t);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

int jmap_utc_date_parse(const char *s, int64_t *out)
{
	unsigned y, mo, d, h, mi, se;
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((*p != 'Z' && *p != 'z') || p[1])
		return -1;
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || se > 60)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

static char *dup_string(const json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) > max || strlen(s) != json_string_length(v))
		return NULL;
	return strdup(s);
}

static int mailbox_id(struct parse *p, const json_t *v, uint32_t *out)
{
	int64_t n;
	if (!json_is_string(v))
		return fail(p, "invalidArguments", "a mailbox id must be a string");
	/* An id that names no mailbox matches nothing: keep 0, which no
	 * mailbox has (UIDVALIDITY is never 0). */
	*out = jmap_id_parse(json_string_value(v), 'F', &n) && n <= UINT32_MAX ? (uint32_t)n : 0;
	return 0;
}

static const struct {
	const char *name;
	enum jmap_fkind kind;
} text_conditions[] = {
    {"text", JMAP_F_TEXT}, {"from", JMAP_F_FROM},       {"to", JMAP_F_TO},     {"cc", JMAP_F_CC},
    {"bcc", JMAP_F_BCC},   {"subject", JMAP_F_SUBJECT}, {"body", JMAP_F_BODY},
};

/* One property of a FilterCondition into leaf f. */
static int leaf(struct parse *p, const char *key, const json_t *v, struct jmap_filter *f)
{
	if (++p->t->nodes > JMAP_FILTER_MAX_NODES)
		return fail(p, "unsupportedFilter", "filter too large");
	if (!strcmp(key, "inMailbox")) {
		f->kind = JMAP_F_IN_MAILBOX;
		if (!(f->uidvalidity = malloc(sizeof *f->uidvalidity)))
			return fail(p, "serverFail", "out of memory");
		f->n = 1;
		return mailbox_id(p, v, f->uidvalidity);
	}
	if (!strcmp(key, "inMailboxOtherThan")) {
		f->kind = JMAP_F_IN_MAILBOX_OTHER_THAN;
		if (!json_is_array(v))
			return fail(p, "invalidArguments", "inMailboxOtherThan must be an array");
		size_t n = json_array_size(v);
		if (n > JMAP_FILTER_MAX_MAILBOXES)
			return fail(p, "unsupportedFilter", "too many mailboxes");
		if (n && !(f->uidvalidity = calloc(n, sizeof *f->uidvalidity)))
			return fail(p, "serverFail", "out of memory");
		f->n = n;
		for (size_t i = 0; i < n; i++)
			if (mailbox_id(p, json_array_get(v, i), &f->uidvalidity[i]) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(key, "before") || !strcmp(key, "after")) {
		f->kind = key[0] == 'b' ? JMAP_F_BEFORE : JMAP_F_AFTER;
		if (!json_is_string(v) || jmap_utc_date_parse(json_string_value(v), &f->num) < 0)
			return fail(p, "invalidArguments", "before/after must be a UTCDate");
		return 0;
	}
	if (!strcmp(key, "minSize") || !strcmp(key, "maxSize")) {
		f->kind = key[1] == 'i' ? JMAP_F_MIN_SIZE : JMAP_F_MAX_SIZE;
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return fail(p, "invalidArguments",
			            "minSize/maxSize must be an UnsignedInt");
		f->num = json_integer_value(v);
		return 0;
	}
	if (!strcmp(key, "hasKeyword") || !strcmp(key, "notKeyword")) {
		f->kind = key[0] == 'h' ? JMAP_F_HAS_KEYWORD : JMAP_F_NOT_KEYWORD;
		char kw[JMAP_KEYWORD_MAX + 1];
		const char *s = json_string_value(v);
		if (!s || jmap_keyword_norm(s, kw) < 0)
			return fail(p, "invalidArguments", "not a keyword");
		if (!(f->str = strdup(kw)))
			return fail(p, "serverFail", "out of memory");
		return 0;
	}
	for (size_t i = 0; i < sizeof text_conditions / sizeof text_conditions[0]; i++) {
		if (strcmp(key, text_conditions[i].name))
			continue;
		f->kind = text_conditions[i].kind;
		if (!json_is_string(v))
			return fail(p, "invalidArguments", "a text condition must be a string");
		if (!(f->str = dup_string(v, JMAP_FILTER_MAX_TEXT)))
			return fail(p, "unsupportedFilter", "search text too long or holds NUL");
		f->text_index = p->t->ntext++;
		return 0;
	}
	if (!strcmp(key, "header")) {
		f->kind = JMAP_F_HEADER;
		size_t n = json_array_size(v);
		if (!json_is_array(v) || n < 1 || n > 2 || !json_is_string(json_array_get(v, 0)) ||
		    (n == 2 && !json_is_string(json_array_get(v, 1))))
			return fail(p, "invalidArguments",
			            "header must be [name] or [name, value]");
		if (!(f->name = dup_string(json_array_get(v, 0), 200)) || !f->name[0] ||
		    strpbrk(f->name, ": \t\r\n"))
			return fail(p, "invalidArguments", "not a header field name");
		f->str =
		    n == 2 ? dup_string(json_array_get(v, 1), JMAP_FILTER_MAX_TEXT) : strdup("");
		if (!f->str)
			return fail(p, "unsupportedFilter", "search text too long or holds NUL");
		f->text_index = p->t->ntext++;
		return 0;
	}
	if (!strcmp(key, "allInThreadHaveKeyword") || !strcmp(key, "someInThreadHaveKeyword") ||
	    !strcmp(key, "noneInThreadHaveKeyword")) {
		f->kind = key[0] == 'a'   ? JMAP_F_ALL_IN_THREAD
		          : key[0] == 's' ? JMAP_F_SOME_IN_THREAD
		                          : JMAP_F_NONE_IN_THREAD;
		char kw[JMAP_KEYWORD_MAX + 1];
		const char *s = json_string_value(v);
		if (!s || jmap_keyword_norm(s, kw) < 0)
			return fail(p, "invalidArguments", "not a keyword");
		if (!(f->str = strdup(kw)))
			return fail(p, "serverFail", "out of memory");
		f->thread_index = p->t->nthread++;
		return 0;
	}
	if (!strcmp(key, "hasAttachment")) {
		f->kind = JMAP_F_HAS_ATTACHMENT;
		if (!json_is_boolean(v))
			return fail(p, "invalidArguments", "hasAttachment must be a boolean");
		f->num = json_is_true(v);
		return 0;
	}
	return fail(p, "unsupportedFilter", "unknown filter condition");
}

static int node(struct parse *p, const json_t *j, struct jmap_filter *f, int depth)
{
	if (!json_is_object(j))
		return fail(p, "invalidArguments", "a filter must be an object");
	if (depth > JMAP_FILTER_MAX_DEPTH)
		return fail(p, "unsupportedFilter", "filter nested too deeply");
	if (++p->t->nodes > JMAP_FILTER_MAX_NODES)
		return fail(p, "unsupportedFilter", "filter too large");
	json_t *op = json_object_get(j, "operator");
	if (op) {
		const char *o = json_string_value(op);
		json_t *conds = json_object_get(j, "conditions");
		if (!o || !json_is_array(conds) || json_object_size(j) != 2)
			return fail(p, "invalidArguments",
			            "a FilterOperator has operator and conditions only");
		if (!strcmp(o, "AND"))
			f->kind = JMAP_F_AND;
		else if (!strcmp(o, "OR"))
			f->kind = JMAP_F_OR;
		else if (!strcmp(o, "NOT"))
			f->kind = JMAP_F_NOT;
		else
			return fail(p, "invalidArguments", "operator must be AND, OR or NOT");
		size_t n = json_array_size(conds);
		if (n > JMAP_FILTER_MAX_NODES)
			return fail(p, "unsupportedFilter", "filter too large");
		if (n && !(f->kids = calloc(n, sizeof *f->kids)))
			return fail(p, "serverFail", "out of memory");
		f->nkids = n;
		for (size_t i = 0; i < n; i++)
			if (node(p, json_array_get(conds, i), &f->kids[i], depth + 1) < 0)
				return -1;
		return 0;
	}
	size_t n = json_object_size(j);
	f->kind = JMAP_F_AND;
	if (n == 0)
		return 0;
	if (n > JMAP_FILTER_MAX_NODES)
		return fail(p, "unsupportedFilter", "filter too large");
	if (!(f->kids = calloc(n, sizeof *f->kids)))
		return fail(p, "serverFail", "out of memory");
	f->nkids = n;
	const char *key;
	json_t *v;
	size_t i = 0;
	json_object_foreach((json_t *)j, key, v)
	{
		if (leaf(p, key, v, &f->kids[i++]) < 0)
			return -1;
	}
	return 0;
}

int jmap_filter_parse(const json_t *j, struct jmap_filter_tree *t, const char **type,
                      const char **why)
{
	memset(t, 0, sizeof *t);
	if (!j || json_is_null(j))
		return 0;
	struct parse p = {.t = t};
	if (!(t->root = calloc(1, sizeof *t->root)) || node(&p, j, t->root, 0) < 0) {
		if (!t->root)
			fail(&p, "serverFail", "out of memory");
		jmap_filter_tree_free(t);
		*type = p.type;
		*why = p.why;
		return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	enum jmap_sort_key key;
} sort_keys[] = {
    {"receivedAt", JMAP_SORT_RECEIVED_AT},
    {"sentAt", JMAP_SORT_SENT_AT},
    {"size", JMAP_SORT_SIZE},
    {"from", JMAP_SORT_FROM},
    {"to", JMAP_SORT_TO},
    {"subject", JMAP_SORT_SUBJECT},
};

int jmap_sort_parse(const json_t *j, struct jmap_sort *out, size_t *n, const char **type,
                    const char **why)
{
	*n = 0;
	if (!j || json_is_null(j))
		return 0;
	*type = "invalidArguments";
	if (!json_is_array(j)) {
		*why = "sort must be an array";
		return -1;
	}
	if (json_array_size(j) > JMAP_SORT_MAX) {
		*type = "unsupportedSort";
		*why = "too many comparators";
		return -1;
	}
	size_t i;
	json_t *c;
	json_array_foreach(j, i, c)
	{
		const char *prop = json_string_value(json_object_get(c, "property"));
		json_t *asc = json_object_get(c, "isAscending");
		json_t *coll = json_object_get(c, "collation");
		if (!json_is_object(c) || !prop || (asc && !json_is_boolean(asc)) ||
		    (coll && !json_is_string(coll))) {
			*why = "a Comparator has a property, isAscending a boolean, collation a "
			       "string";
			return -1;
		}
		const char *cs = json_string_value(coll);
		if (cs && strcmp(cs, "i;ascii-casemap") && strcmp(cs, "i;unicode-casemap") &&
		    strcmp(cs, "i;ascii-numeric") && strcmp(cs, "i;octet")) {
			*type = "unsupportedSort";
			*why = "unknown collation";
			return -1;
		}
		size_t k = 0;
		while (k < sizeof sort_keys / sizeof sort_keys[0] &&
		       strcmp(prop, sort_keys[k].name))
			k++;
		if (k == sizeof sort_keys / sizeof sort_keys[0]) {
			*type = "unsupportedSort";
			*why = "tern sorts by receivedAt, sentAt, size, from, to and subject";
			return -1;
		}
		out[*n].key = sort_keys[k].key;
		out[*n].ascending = !asc || json_is_true(asc);
		(*n)++;
	}
	return 0;
}
