/* carddav_filter: addressbook-query's filter (RFC 6352 §10.5) over a
 * parsed vCard, with no I/O, so that it is unit-tested on its own.
 *
 * A filter holds prop-filters joined by its test (anyof, the default, or
 * allof). A prop-filter names a property (FN, EMAIL, UID, any other) and
 * matches a card when one instance of it satisfies its text-matches
 * (joined by the prop-filter's own test), or when it has none and the
 * card has the property; is-not-defined inverts to "the card has none".
 * A text-match compares the property's decoded text value: equals,
 * contains (the default), starts-with or ends-with, negate-condition
 * inverting it. Collations: i;octet exactly, i;ascii-casemap and
 * i;unicode-casemap (the default) by ASCII case folding: non-ASCII letters
 * compare by their bytes, so "É" does not match "é" (a simplification of
 * RFC 4790's casemap). param-filter is not supported: a filter with one
 * is refused (403 CARDDAV:supported-filter) rather than matched wrongly. */
#include "proto/http/carddav_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "contacts/vcard.h"

enum match_type { MATCH_EQUALS, MATCH_CONTAINS, MATCH_STARTS, MATCH_ENDS, MATCH_BAD };

static enum match_type match_type(const struct wdx_node *tm)
{
	const char *t = wdx_attr(tm, "match-type");
	if (!t || strcmp(t, "contains") == 0)
		return MATCH_CONTAINS;
	if (strcmp(t, "equals") == 0)
		return MATCH_EQUALS;
	if (strcmp(t, "starts-with") == 0)
		return MATCH_STARTS;
	if (strcmp(t, "ends-with") == 0)
		return MATCH_ENDS;
	return MATCH_BAD;
}

/* 0 octet, 1 case-insensitive, -1 unknown. */
static int collation(const struct wdx_node *tm)
{
	const char *c = wdx_attr(tm, "collation");
	if (!c || strcmp(c, "i;unicode-casemap") == 0 || strcmp(c, "i;ascii-casemap") == 0)
		return 1;
	if (strcmp(c, "i;octet") == 0)
		return 0;
	return -1;
}

static bool test_allof(const struct wdx_node *n, bool *ok)
{
	const char *t = wdx_attr(n, "test");
	*ok = !t || strcmp(t, "anyof") == 0 || strcmp(t, "allof") == 0;
	return t && strcmp(t, "allof") == 0;
}

int dav_filter_check(const struct wdx_node *filter, const char **cond)
{
	*cond = "supported-filter";
	bool ok;
	test_allof(filter, &ok);
	if (!ok)
		return -1;
	for (const struct wdx_node *pf = filter->first; pf; pf = pf->next) {
		if (!wdx_is(pf, WDX_NS_CARDDAV, "prop-filter") || !wdx_attr(pf, "name") ||
		    !*wdx_attr(pf, "name"))
			return -1;
		test_allof(pf, &ok);
		if (!ok)
			return -1;
		for (const struct wdx_node *c = pf->first; c; c = c->next) {
			if (wdx_is(c, WDX_NS_CARDDAV, "is-not-defined"))
				continue;
			if (!wdx_is(c, WDX_NS_CARDDAV, "text-match"))
				return -1; /* param-filter, or anything else */
			const char *neg = wdx_attr(c, "negate-condition");
			if (match_type(c) == MATCH_BAD ||
			    (neg && strcmp(neg, "yes") != 0 && strcmp(neg, "no") != 0))
				return -1;
			if (collation(c) < 0) {
				*cond = "supported-collation";
				return -1;
			}
		}
	}
	return 0;
}

static bool eq(const char *a, const char *b, size_t n, bool fold)
{
	return fold ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

static bool text_matches(const struct wdx_node *tm, const char *value)
{
	const char *want = tm->text;
	size_t wl = tm->text_len, vl = strlen(value);
	bool fold = collation(tm) == 1, m = false;
	switch (match_type(tm)) {
	case MATCH_EQUALS:
		m = wl == vl && eq(value, want, vl, fold);
		break;
	case MATCH_STARTS:
		m = wl <= vl && eq(value, want, wl, fold);
		break;
	case MATCH_ENDS:
		m = wl <= vl && eq(value + vl - wl, want, wl, fold);
		break;
	case MATCH_CONTAINS:
		for (size_t i = 0; i + wl <= vl && !m; i++)
			m = eq(value + i, want, wl, fold);
		break;
	case MATCH_BAD:
		break;
	}
	const char *neg = wdx_attr(tm, "negate-condition");
	return neg && strcmp(neg, "yes") == 0 ? !m : m;
}

/* One instance of the property against the prop-filter's text-matches. */
static bool instance_matches(const struct wdx_node *pf, const struct vcard_prop *p)
{
	bool ok, allof = test_allof(pf, &ok);
	char *value = vcard_text(p->value);
	if (!value)
		return false;
	bool any = false, all = true, some = false;
	for (const struct wdx_node *tm = pf->first; tm; tm = tm->next) {
		if (!wdx_is(tm, WDX_NS_CARDDAV, "text-match"))
			continue;
		some = true;
		bool m = text_matches(tm, value);
		any = any || m;
		all = all && m;
	}
	free(value);
	return !some || (allof ? all : any);
}

static bool prop_filter_matches(const struct wdx_node *pf, const struct vcard *card)
{
	const char *name = wdx_attr(pf, "name");
	bool has = false, matched = false;
	for (size_t i = 0; i < card->nprops && !matched; i++) {
		if (strcasecmp(card->props[i].name, name) != 0)
			continue;
		has = true;
		matched = instance_matches(pf, &card->props[i]);
	}
	if (wdx_child(pf, WDX_NS_CARDDAV, "is-not-defined"))
		return !has;
	return matched;
}

bool dav_filter_match(const struct wdx_node *filter, const struct vcard *card)
{
	if (!filter || !filter->first)
		return true; /* an empty filter: every card (RFC 6352 §10.5) */
	bool ok, allof = test_allof(filter, &ok);
	for (const struct wdx_node *pf = filter->first; pf; pf = pf->next) {
		bool m = prop_filter_matches(pf, card);
		if (allof && !m)
			return false;
		if (!allof && m)
			return true;
	}
	return allof;
}
