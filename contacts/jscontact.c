/* jscontact: see jscontact.h. Reading walks the vCard's properties once,
 * converting what it knows into the Card and keeping the rest in
 * vCardProps; JSPROPs are applied last, over what was converted. Writing
 * builds the properties in an arena, writes them, reads them back, and
 * adds a JSPROP for every property the read-back Card does not hold
 * exactly as given. */
#include "contacts/jscontact.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/buf.h"

#define PTR_MAX_DEPTH 8

/* ---- small helpers ---- */

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static bool token_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* Component i of a structured value split further at unescaped ','. The
 * values, decoded, appended to arr as strings. -1 out of memory. */
static int split_values(const char *value, size_t i, json_t *kind_arr, const char *kind)
{
	const char *s = value;
	for (size_t k = 0; k < i; k++) {
		while (*s && *s != ';')
			s += s[0] == '\\' && s[1] ? 2 : 1;
		if (!*s)
			return 0;
		s++;
	}
	for (;;) {
		const char *e = s;
		while (*e && *e != ';' && *e != ',')
			e += e[0] == '\\' && e[1] ? 2 : 1;
		if (e > s) {
			char *raw = strndup(s, (size_t)(e - s));
			char *txt = raw ? vcard_text(raw) : NULL;
			free(raw);
			if (!txt)
				return -1;
			json_t *o = json_pack("{s:s, s:s}", "kind", kind, "value", txt);
			free(txt);
			if (!o || json_array_append_new(kind_arr, o) < 0)
				return -1;
		}
		if (*e != ',')
			return 0;
		s = e + 1;
	}
}

/* ---- vCard -> Card ---- */

struct meta {
	json_t *contexts, *features, *extra; /* objects; extra: vCardParams */
	long pref;
	const char *prop_id, *label, *cc, *value_type, *service;
};

static const struct {
	const char *type, *feature;
} tel_features[] = {{"voice", "voice"}, {"fax", "fax"},
                    {"cell", "mobile"}, {"video", "video"},
                    {"pager", "pager"}, {"textphone", "textphone"},
                    {"text", "text"},   {"main-number", "main-number"}};

static int extra_add(json_t *extra, const char *name, const char *value)
{
	char *k = lower_dup(name);
	if (!k)
		return -1;
	json_t *old = json_object_get(extra, k);
	int rc;
	if (!old) {
		rc = json_object_set_new(extra, k, json_string(value));
	} else if (json_is_string(old)) {
		json_t *arr = json_pack("[O, s]", old, value);
		rc = arr ? json_object_set_new(extra, k, arr) : -1;
	} else {
		rc = json_array_append_new(old, json_string(value));
	}
	free(k);
	return rc;
}

static void meta_free(struct meta *m)
{
	json_decref(m->contexts);
	json_decref(m->features);
	json_decref(m->extra);
}

/* Reads p's parameters: the converted ones into m, the rest (and the
 * group) into m->extra. with_features: TEL's types. -1 out of memory. */
static int meta_read(const struct vcard_prop *p, bool with_features, struct meta *m)
{
	memset(m, 0, sizeof *m);
	m->contexts = json_object();
	m->features = json_object();
	m->extra = json_object();
	if (!m->contexts || !m->features || !m->extra)
		return -1;
	if (p->group && extra_add(m->extra, "group", p->group) < 0)
		return -1;
	for (size_t i = 0; i < p->nparams; i++) {
		const struct vcard_param *pa = &p->params[i];
		const char *n = pa->name;
		if (strcasecmp(n, "TYPE") == 0) {
			for (size_t v = 0; v < pa->nvalues; v++) {
				/* a quoted "work,voice" is one value holding a list */
				char *list = strdup(pa->values[v]), *save = NULL;
				if (!list)
					return -1;
				for (char *t = strtok_r(list, ",", &save); t;
				     t = strtok_r(NULL, ",", &save)) {
					int rc = 0;
					if (strcasecmp(t, "work") == 0) {
						rc = json_object_set_new(m->contexts, "work",
						                         json_true());
					} else if (strcasecmp(t, "home") == 0) {
						rc = json_object_set_new(m->contexts, "private",
						                         json_true());
					} else {
						size_t f = 0, nf = sizeof tel_features /
						                   sizeof tel_features[0];
						while (with_features && f < nf &&
						       strcasecmp(t, tel_features[f].type) != 0)
							f++;
						if (with_features && f < nf)
							rc = json_object_set_new(
							    m->features, tel_features[f].feature,
							    json_true());
						else
							rc = extra_add(m->extra, "type", t);
					}
					if (rc < 0) {
						free(list);
						return -1;
					}
				}
				free(list);
			}
			continue;
		}
		const char *v0 = pa->nvalues ? pa->values[0] : "";
		if (pa->nvalues == 1 && strcasecmp(n, "PREF") == 0) {
			char *end;
			long pref = strtol(v0, &end, 10);
			if (*v0 && !*end && pref >= 1 && pref <= 100 && v0[0] != '0' &&
			    m->pref == 0) {
				m->pref = pref;
				continue;
			}
		} else if (pa->nvalues == 1 && strcasecmp(n, "PROP-ID") == 0 && !m->prop_id &&
		           *v0 && strlen(v0) <= 255) {
			m->prop_id = v0;
			continue;
		} else if (pa->nvalues == 1 && strcasecmp(n, "LABEL") == 0 && !m->label) {
			m->label = v0;
			continue;
		} else if (pa->nvalues == 1 && strcasecmp(n, "CC") == 0 && !m->cc) {
			m->cc = v0;
			continue;
		} else if (pa->nvalues == 1 && strcasecmp(n, "VALUE") == 0 && !m->value_type) {
			m->value_type = v0;
			continue;
		} else if (pa->nvalues == 1 && strcasecmp(n, "SERVICE-TYPE") == 0 && !m->service) {
			m->service = v0;
			continue;
		}
		for (size_t v = 0; v < pa->nvalues; v++)
			if (extra_add(m->extra, n, pa->values[v]) < 0)
				return -1;
	}
	return 0;
}

/* Puts contexts, features (under fname), pref and vCardParams into the
 * entry o. -1 out of memory. */
static int meta_apply(json_t *o, struct meta *m, const char *fname)
{
	if (json_object_size(m->contexts) && json_object_set(o, "contexts", m->contexts) < 0)
		return -1;
	if (fname && json_object_size(m->features) && json_object_set(o, fname, m->features) < 0)
		return -1;
	if (m->pref && json_object_set_new(o, "pref", json_integer(m->pref)) < 0)
		return -1;
	if (json_object_size(m->extra) && json_object_set(o, "vCardParams", m->extra) < 0)
		return -1;
	return 0;
}

/* Adds entry o under its id (PROP-ID, else prefix + a counter) to the
 * map card[mapname]. Steals o. -1 out of memory. */
static int map_add(json_t *card, const char *mapname, const char *prefix, const char *prop_id,
                   json_t *o)
{
	json_t *map = json_object_get(card, mapname);
	if (!map) {
		map = json_object();
		if (!map || json_object_set_new(card, mapname, map) < 0) {
			json_decref(o);
			return -1;
		}
	}
	char id[300];
	if (prop_id && !json_object_get(map, prop_id)) {
		snprintf(id, sizeof id, "%s", prop_id);
	} else {
		size_t n = json_object_size(map) + 1;
		do
			snprintf(id, sizeof id, "%s%zu", prefix, n++);
		while (json_object_get(map, id));
	}
	return json_object_set_new(map, id, o);
}

/* A text value decoded into a new JSON string. */
static json_t *text_json(const char *value)
{
	char *t = vcard_text(value);
	json_t *s = t ? json_string(t) : NULL;
	free(t);
	return s;
}

/* "19531015", "1953-10-15", "--1015", "--10-15", "1953", "1953-10" as a
 * PartialDate; NULL when not one (a time, a text value). */
static json_t *partial_date(const char *v)
{
	int y = 0, m = 0, d = 0;
	char tail;
	size_t n = strlen(v);
	if (n == 8 && sscanf(v, "%4d%2d%2d%c", &y, &m, &d, &tail) == 3) {
	} else if (n == 10 && sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
	} else if (n == 6 && sscanf(v, "--%2d%2d%c", &m, &d, &tail) == 2) {
	} else if (n == 7 && sscanf(v, "--%2d-%2d%c", &m, &d, &tail) == 2) {
	} else if (n == 4 && sscanf(v, "%4d%c", &y, &tail) == 1) {
	} else if (n == 7 && sscanf(v, "%4d-%2d%c", &y, &m, &tail) == 2) {
	} else {
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]) && v[i] != '-')
			return NULL;
	if (m < 0 || m > 12 || d < 0 || d > 31 || (d && !m))
		return NULL;
	json_t *o = json_pack("{s:s}", "@type", "PartialDate");
	if (o && y)
		json_object_set_new(o, "year", json_integer(y));
	if (o && m)
		json_object_set_new(o, "month", json_integer(m));
	if (o && d)
		json_object_set_new(o, "day", json_integer(d));
	return o;
}

/* "20220203T040506Z" as "2022-02-03T04:05:06Z"; false when not that. */
static bool timestamp_from_vcard(const char *v, char out[21])
{
	if (strlen(v) != 16 || v[8] != 'T' || v[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)v[i]))
			return false;
	snprintf(out, 21, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", v, v + 4, v + 6, v + 9, v + 11, v + 13);
	return true;
}

static bool timestamp_to_vcard(const char *v, char out[17])
{
	if (strlen(v) != 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' ||
	    v[16] != ':' || v[19] != 'Z')
		return false;
	for (int i = 0; i < 19; i++)
		if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
		    !isdigit((unsigned char)v[i]))
			return false;
	snprintf(out, 17, "%.4s%.2s%.2sT%.2s%.2s%.2sZ", v, v + 5, v + 8, v + 11, v + 14, v + 17);
	return true;
}

static bool no_params(const struct vcard_prop *p)
{
	return p->nparams == 0 && !p->group;
}

static json_t *name_obj(json_t *card)
{
	json_t *n = json_object_get(card, "name");
	if (!n) {
		n = json_object();
		if (!n || json_object_set_new(card, "name", n) < 0)
			return NULL;
	}
	return n;
}

/* The jCard form of p for vCardProps. */
static json_t *jcard_prop(const struct vcard_prop *p)
{
	char *name = lower_dup(p->name);
	json_t *params = json_object();
	const char *type = "unknown";
	bool ok = name && params;
	if (ok && p->group)
		ok = json_object_set_new(params, "group", json_string(p->group)) == 0;
	for (size_t i = 0; ok && i < p->nparams; i++) {
		const struct vcard_param *pa = &p->params[i];
		if (strcasecmp(pa->name, "VALUE") == 0 && pa->nvalues == 1 &&
		    strcmp(type, "unknown") == 0 && strcasecmp(pa->values[0], "unknown") != 0) {
			type = pa->values[0];
			continue;
		}
		for (size_t v = 0; ok && v < pa->nvalues; v++)
			ok = extra_add(params, pa->name, pa->values[v]) == 0;
	}
	char *ltype = ok ? lower_dup(type) : NULL;
	json_t *o = ltype ? json_pack("[s, O, s, s]", name, params, ltype, p->value) : NULL;
	free(name);
	free(ltype);
	json_decref(params);
	return o;
}

/* One JSON Pointer (RFC 6901) segment decoded into out; false when bad. */
static bool ptr_segment(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '~') {
			if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
				return false;
			ch = s[++i] == '0' ? '~' : '/';
		}
		if (o + 1 >= outlen)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	return o > 0;
}

/* Sets value (stolen) at the pointer ptr under card, making the objects
 * on the way; false (value freed) when the path crosses a non-object. */
static bool ptr_set(json_t *card, const char *ptr, json_t *value)
{
	json_t *at = card;
	char seg[256];
	for (int depth = 0; depth < PTR_MAX_DEPTH; depth++) {
		const char *slash = strchr(ptr, '/');
		size_t n = slash ? (size_t)(slash - ptr) : strlen(ptr);
		if (!ptr_segment(ptr, n, seg, sizeof seg) || !json_is_object(at))
			break;
		if (!slash) {
			if (depth == 0 &&
			    (strcmp(seg, "@type") == 0 || strcmp(seg, "version") == 0 ||
			     strcmp(seg, "vCardProps") == 0))
				break;
			return json_object_set_new(at, seg, value) == 0;
		}
		json_t *next = json_object_get(at, seg);
		if (!next) {
			next = json_object();
			if (!next || json_object_set_new(at, seg, next) < 0)
				break;
		}
		at = next;
		ptr = slash + 1;
	}
	json_decref(value);
	return false;
}

/* Converts one property into card: 1 converted, 0 not (vCardProps), -1
 * out of memory. */
static int convert(json_t *card, const struct vcard_prop *p, bool *seen_fn, bool *seen_n)
{
	const char *n = p->name;
	if (strcmp(n, "UID") == 0 || strcmp(n, "KIND") == 0) {
		const char *key = n[0] == 'U' ? "uid" : "kind";
		if (!no_params(p) || json_object_get(card, key))
			return 0;
		json_t *v = text_json(p->value);
		if (v && n[0] == 'K') {
			char *l = lower_dup(json_string_value(v));
			json_decref(v);
			v = l ? json_string(l) : NULL;
			free(l);
			if (v && strcmp(p->value, json_string_value(v)) != 0) {
				json_decref(v);
				return 0; /* KIND:Individual would come back lower-cased */
			}
		}
		return v && json_object_set_new(card, key, v) == 0 ? 1 : -1;
	}
	if (strcmp(n, "FN") == 0) {
		if (!no_params(p) || *seen_fn)
			return 0;
		*seen_fn = true;
		if (!*p->value)
			return 1; /* an empty FN says nothing; one is written back */
		json_t *nm = name_obj(card), *v = text_json(p->value);
		return nm && v && json_object_set_new(nm, "full", v) == 0 ? 1 : -1;
	}
	if (strcmp(n, "N") == 0) {
		if (!no_params(p) || *seen_n)
			return 0;
		*seen_n = true;
		static const char *const kinds[] = {"surname",    "given",    "given2",    "title",
		                                    "credential", "surname2", "generation"};
		json_t *comps = json_array();
		for (size_t i = 0; comps && i < 7; i++)
			if (split_values(p->value, i, comps, kinds[i]) < 0) {
				json_decref(comps);
				return -1;
			}
		/* more than seven components: not N as RFC 6350/9554 know it */
		bool over = false;
		size_t semis = 0;
		for (const char *s = p->value; *s; s += s[0] == '\\' && s[1] ? 2 : 1)
			if (*s == ';' && ++semis >= 7)
				over = true;
		if (over || !comps) {
			json_decref(comps);
			return comps ? 0 : -1;
		}
		json_t *nm = name_obj(card);
		return nm && json_object_set_new(nm, "components", comps) == 0 ? 1 : -1;
	}
	if (strcmp(n, "REV") == 0 || strcmp(n, "CREATED") == 0) {
		const char *key = n[0] == 'R' ? "updated" : "created";
		char ts[21];
		if (!no_params(p) || json_object_get(card, key) ||
		    !timestamp_from_vcard(p->value, ts))
			return 0;
		return json_object_set_new(card, key, json_string(ts)) == 0 ? 1 : -1;
	}
	if (strcmp(n, "BDAY") == 0 || strcmp(n, "ANNIVERSARY") == 0 ||
	    strcmp(n, "DEATHDATE") == 0) {
		json_t *date = partial_date(p->value);
		if (!date)
			return 0;
		struct meta m;
		int mr = meta_read(p, false, &m);
		if (mr < 0 || json_object_size(m.contexts) || m.value_type) {
			meta_free(&m);
			json_decref(date);
			return mr < 0 ? -1 : 0;
		}
		const char *kind = n[0] == 'B' ? "birth" : n[0] == 'A' ? "wedding" : "death";
		json_t *o = json_pack("{s:s, s:o}", "kind", kind, "date", date);
		int rc = o && meta_apply(o, &m, NULL) == 0 ? 0 : -1;
		if (rc == 0)
			rc = map_add(card, "anniversaries", "k", m.prop_id, o);
		else
			json_decref(o);
		meta_free(&m);
		return rc < 0 ? -1 : 1;
	}
	/* the multi-valued properties: one map entry each */
	static const struct {
		const char *prop, *map, *prefix, *key, *features;
		bool structured;
	} multi[] = {
	    {"NICKNAME", "nicknames", "k", "name", NULL, false},
	    {"EMAIL", "emails", "e", "address", NULL, false},
	    {"TEL", "phones", "p", "number", "features", false},
	    {"ADR", "addresses", "a", NULL, NULL, true},
	    {"ORG", "organizations", "o", NULL, NULL, true},
	    {"TITLE", "titles", "t", "name", NULL, false},
	    {"ROLE", "titles", "t", "name", NULL, false},
	    {"NOTE", "notes", "n", "note", NULL, false},
	    {"URL", "links", "l", "uri", NULL, false},
	    {"IMPP", "onlineServices", "s", "uri", NULL, false},
	};
	size_t k = 0, nm = sizeof multi / sizeof multi[0];
	while (k < nm && strcmp(n, multi[k].prop) != 0)
		k++;
	if (k == nm)
		return 0;
	struct meta m;
	if (meta_read(p, multi[k].features != NULL, &m) < 0) {
		meta_free(&m);
		return -1;
	}
	json_t *o = json_object();
	int rc = o ? 0 : -1;
	if (m.value_type) {
		/* TEL, URL and IMPP are URIs; TEL may be text. Any other VALUE
		 * stays a parameter. */
		if (strcasecmp(m.value_type, "uri") != 0 ||
		    (strcmp(n, "TEL") && strcmp(n, "URL") && strcmp(n, "IMPP")))
			rc = rc < 0 ? rc : extra_add(m.extra, "value", m.value_type);
	}
	if (rc == 0 && strcmp(n, "ADR") == 0) {
		static const char *const kinds[] = {"postOfficeBox", "apartment", "name",
		                                    "locality",      "region",    "postcode",
		                                    "country"};
		json_t *comps = json_array();
		for (size_t i = 0; comps && i < 7 && rc == 0; i++)
			rc = split_values(p->value, i, comps, kinds[i]);
		rc = !comps ? -1 : rc;
		if (rc == 0 && json_object_set_new(o, "components", comps) < 0)
			rc = -1;
		else if (rc < 0)
			json_decref(comps);
		if (rc == 0 && m.label)
			rc = json_object_set_new(o, "full", json_string(m.label));
		if (rc == 0 && m.cc)
			rc = json_object_set_new(o, "countryCode", json_string(m.cc));
	} else if (rc == 0 && strcmp(n, "ORG") == 0) {
		char *first = vcard_component(p->value, 0);
		rc = first && json_object_set_new(o, "name", json_string(first)) == 0 ? 0 : -1;
		free(first);
		json_t *units = json_array();
		size_t semis = 0;
		for (const char *s = p->value; *s; s += s[0] == '\\' && s[1] ? 2 : 1)
			semis += *s == ';';
		rc = units ? rc : -1;
		for (size_t i = 1; rc == 0 && i <= semis && i < VCARD_MAX_VALUES; i++) {
			char *u = vcard_component(p->value, i);
			json_t *uo = u ? json_pack("{s:s}", "name", u) : NULL;
			free(u);
			rc = uo && json_array_append_new(units, uo) == 0 ? 0 : -1;
		}
		if (rc == 0 && json_array_size(units))
			rc = json_object_set(o, "units", units);
		json_decref(units);
	} else if (rc == 0) {
		json_t *v = text_json(p->value);
		rc = v && json_object_set_new(o, multi[k].key, v) == 0 ? 0 : -1;
		if (rc == 0 && strcmp(n, "TITLE") == 0)
			rc = json_object_set_new(o, "kind", json_string("title"));
		if (rc == 0 && strcmp(n, "ROLE") == 0)
			rc = json_object_set_new(o, "kind", json_string("role"));
		if (rc == 0 && m.service)
			rc = json_object_set_new(o, "service", json_string(m.service));
	}
	if (rc == 0)
		rc = meta_apply(o, &m, multi[k].features);
	if (rc == 0)
		rc = map_add(card, multi[k].map, multi[k].prefix, m.prop_id, o);
	else
		json_decref(o);
	meta_free(&m);
	return rc < 0 ? -1 : 1;
}

json_t *jscontact_from_vcard(const struct vcard *v)
{
	json_t *card = json_pack("{s:s, s:s}", "@type", "Card", "version", "1.0");
	json_t *props = json_array();
	bool seen_fn = false, seen_n = false, ok = card && props;
	for (size_t i = 0; ok && i < v->nprops; i++) {
		const struct vcard_prop *p = &v->props[i];
		if (strcmp(p->name, "JSPROP") == 0)
			continue;
		int rc = convert(card, p, &seen_fn, &seen_n);
		if (rc < 0)
			ok = false;
		else if (rc == 0)
			ok = json_array_append_new(props, jcard_prop(p)) == 0;
	}
	/* JSPROPs last: they say what the conversion could not */
	for (size_t i = 0; ok && i < v->nprops; i++) {
		const struct vcard_prop *p = &v->props[i];
		if (strcmp(p->name, "JSPROP") != 0)
			continue;
		const char *ptr = vcard_param(p, "JSPTR");
		char *txt = vcard_text(p->value);
		json_t *val = txt && ptr && p->nparams == 1 && !p->group
		                  ? json_loads(txt, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL)
		                  : NULL;
		free(txt);
		if (!val || !ptr_set(card, ptr, val))
			ok = json_array_append_new(props, jcard_prop(p)) == 0;
	}
	if (ok && json_array_size(props))
		ok = json_object_set(card, "vCardProps", props) == 0;
	json_decref(props);
	if (!ok) {
		json_decref(card);
		return NULL;
	}
	return card;
}

json_t *jscontact_from_text(const char *text, size_t len)
{
	struct vcard_list l;
	char err[128];
	if (vcard_parse(text, len, &l, err, sizeof err) < 0)
		return NULL;
	json_t *card = l.n ? jscontact_from_vcard(&l.cards[0]) : NULL;
	vcard_list_free(&l);
	return card;
}

/* ---- Card -> vCard ---- */

struct builder {
	struct arena a;
	struct vcard_prop *props;
	size_t n, cap;
	bool oom;
	const char *bad; /* the Card property that is not valid */
	const char *cur; /* the Card property being written */
};

struct pbuild {
	struct vcard_param params[VCARD_MAX_PARAMS];
	size_t n;
	const char *group;
};

static char *adup(struct builder *b, const char *s)
{
	char *d = arena_strndup(&b->a, s, strlen(s));
	if (!d)
		b->oom = true;
	return d;
}

static void param_add(struct builder *b, struct pbuild *pb, const char *name, const char *value)
{
	for (size_t i = 0; i < pb->n; i++) {
		struct vcard_param *pa = &pb->params[i];
		if (strcasecmp(pa->name, name) != 0)
			continue;
		if (pa->nvalues >= VCARD_MAX_VALUES) {
			b->bad = b->bad ? b->bad : "vCardParams";
			return;
		}
		const char **vv = arena_alloc(&b->a, (pa->nvalues + 1) * sizeof *vv);
		if (!vv) {
			b->oom = true;
			return;
		}
		if (pa->nvalues)
			memcpy(vv, pa->values, pa->nvalues * sizeof *vv);
		vv[pa->nvalues++] = adup(b, value);
		pa->values = vv;
		return;
	}
	if (pb->n >= VCARD_MAX_PARAMS) {
		b->bad = b->bad ? b->bad : "vCardParams";
		return;
	}
	const char **vv = arena_alloc(&b->a, sizeof *vv);
	char *up = adup(b, name);
	if (!vv || !up) {
		b->oom = true;
		return;
	}
	for (char *c = up; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	vv[0] = adup(b, value);
	pb->params[pb->n++] = (struct vcard_param){.name = up, .values = vv, .nvalues = 1};
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return true;
	return false;
}

/* Adds a property whose value is already escaped (taken as is). A
 * control character (RFC 6350 §3.3) anywhere makes the Card invalid. */
static void prop_raw(struct builder *b, struct pbuild *pb, const char *name, const char *value)
{
	if (b->oom)
		return;
	bool control = has_control(value) || (pb && pb->group && has_control(pb->group));
	for (size_t i = 0; pb && i < pb->n; i++)
		for (size_t v = 0; v < pb->params[i].nvalues; v++)
			control = control || has_control(pb->params[i].values[v]);
	if (control) {
		b->bad = b->bad ? b->bad : (b->cur ? b->cur : name);
		return;
	}
	if (b->n >= VCARD_MAX_PROPS) {
		b->bad = b->bad ? b->bad : "vCardProps";
		return;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct vcard_prop *np = arena_alloc(&b->a, cap * sizeof *np);
		if (!np) {
			b->oom = true;
			return;
		}
		if (b->n)
			memcpy(np, b->props, b->n * sizeof *np);
		b->props = np;
		b->cap = cap;
	}
	struct vcard_prop *p = &b->props[b->n];
	memset(p, 0, sizeof *p);
	p->name = adup(b, name);
	p->value = adup(b, value);
	if (pb && pb->n) {
		struct vcard_param *pp = arena_alloc(&b->a, pb->n * sizeof *pp);
		if (!pp) {
			b->oom = true;
			return;
		}
		memcpy(pp, pb->params, pb->n * sizeof *pp);
		p->params = pp;
		p->nparams = pb->n;
	}
	if (pb && pb->group)
		p->group = adup(b, pb->group);
	b->n++;
}

static void prop_text(struct builder *b, struct pbuild *pb, const char *name, const char *text)
{
	char *esc = vcard_escape_text(text);
	if (!esc) {
		b->oom = true;
		return;
	}
	prop_raw(b, pb, name, esc);
	free(esc);
}

static void invalid(struct builder *b, const char *prop)
{
	if (!b->bad)
		b->bad = prop;
}

/* A string parameter value a vCard can carry: no control characters. */
static bool param_value_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

/* vCardParams of an entry into pb (a "group" becomes the group). */
static void params_from_json(struct builder *b, struct pbuild *pb, json_t *vp, const char *prop)
{
	if (!vp)
		return;
	if (!json_is_object(vp)) {
		invalid(b, prop);
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(vp, k, v)
	{
		if (!token_ok(k)) {
			invalid(b, prop);
			return;
		}
		if (strcasecmp(k, "group") == 0) {
			if (!json_is_string(v) || !token_ok(json_string_value(v))) {
				invalid(b, prop);
				return;
			}
			pb->group = json_string_value(v);
			continue;
		}
		if (json_is_string(v)) {
			if (!param_value_ok(json_string_value(v))) {
				invalid(b, prop);
				return;
			}
			param_add(b, pb, k, json_string_value(v));
			continue;
		}
		if (!json_is_array(v) || json_array_size(v) == 0) {
			invalid(b, prop);
			return;
		}
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) || !param_value_ok(json_string_value(e))) {
				invalid(b, prop);
				return;
			}
			param_add(b, pb, k, json_string_value(e));
		}
	}
}

/* The common parts of an entry: PROP-ID, contexts, features, pref. */
static void entry_params(struct builder *b, struct pbuild *pb, const char *id, json_t *o,
                         const char *fname, const char *prop)
{
	memset(pb, 0, sizeof *pb);
	if (param_value_ok(id))
		param_add(b, pb, "PROP-ID", id);
	json_t *ctx = json_object_get(o, "contexts");
	if (ctx) {
		if (!json_is_object(ctx)) {
			invalid(b, prop);
			return;
		}
		const char *k;
		json_t *v;
		json_object_foreach(ctx, k, v)
		{
			if (!json_is_true(v)) {
				invalid(b, prop);
				return;
			}
			if (strcmp(k, "work") == 0)
				param_add(b, pb, "TYPE", "work");
			else if (strcmp(k, "private") == 0)
				param_add(b, pb, "TYPE", "home");
			/* other contexts: said by the JSPROP the check adds */
		}
	}
	json_t *feat = fname ? json_object_get(o, fname) : NULL;
	if (feat) {
		if (!json_is_object(feat)) {
			invalid(b, prop);
			return;
		}
		const char *k;
		json_t *v;
		json_object_foreach(feat, k, v)
		{
			if (!json_is_true(v)) {
				invalid(b, prop);
				return;
			}
			for (size_t f = 0; f < sizeof tel_features / sizeof tel_features[0]; f++)
				if (strcmp(k, tel_features[f].feature) == 0)
					param_add(b, pb, "TYPE", tel_features[f].type);
		}
	}
	json_t *pref = json_object_get(o, "pref");
	if (pref) {
		if (!json_is_integer(pref) || json_integer_value(pref) < 1 ||
		    json_integer_value(pref) > 100) {
			invalid(b, prop);
			return;
		}
		char s[8];
		snprintf(s, sizeof s, "%d", (int)json_integer_value(pref));
		param_add(b, pb, "PREF", s);
	}
	params_from_json(b, pb, json_object_get(o, "vCardParams"), prop);
}

/* The value of o[key] when a string, else NULL (invalid when required). */
static const char *str_of(struct builder *b, json_t *o, const char *key, bool required,
                          const char *prop)
{
	json_t *v = json_object_get(o, key);
	if (json_is_string(v))
		return json_string_value(v);
	if (v || required)
		invalid(b, prop);
	return NULL;
}

/* Values of components of kind into one structured component: each
 * escaped, joined with ','. */
static char *component_join(json_t *comps, const char *kind)
{
	struct buf out = {0};
	size_t i;
	json_t *c;
	bool first = true;
	json_array_foreach(comps, i, c)
	{
		const char *k = json_string_value(json_object_get(c, "kind"));
		const char *v = json_string_value(json_object_get(c, "value"));
		if (!k || !v || strcmp(k, kind) != 0)
			continue;
		char *esc = vcard_escape_text(v);
		if (!esc || (!first && buf_addc(&out, ',') < 0) ||
		    buf_add(&out, esc, strlen(esc)) < 0) {
			free(esc);
			buf_free(&out);
			return NULL;
		}
		free(esc);
		first = false;
	}
	if (buf_addc(&out, '\0') < 0) {
		buf_free(&out);
		return NULL;
	}
	return out.data;
}

/* N or ADR from components: the kinds in slot order, ';'-joined. */
static char *structured(json_t *comps, const char *const *kinds, size_t n)
{
	struct buf out = {0};
	for (size_t i = 0; i < n; i++) {
		char *part = component_join(comps, kinds[i]);
		if (!part || (i && buf_addc(&out, ';') < 0) ||
		    buf_add(&out, part, strlen(part)) < 0) {
			free(part);
			buf_free(&out);
			return NULL;
		}
		free(part);
	}
	/* a trailing run of empty extensions is dropped (N has 5, ADR 7) */
	if (buf_addc(&out, '\0') < 0) {
		buf_free(&out);
		return NULL;
	}
	return out.data;
}

static bool components_ok(json_t *comps)
{
	if (!json_is_array(comps))
		return false;
	size_t i;
	json_t *c;
	json_array_foreach(comps, i, c)
	{
		if (!json_is_object(c) || !json_is_string(json_object_get(c, "kind")) ||
		    !json_is_string(json_object_get(c, "value")))
			return false;
	}
	return true;
}

static void write_name(struct builder *b, json_t *name)
{
	const char *full = NULL;
	if (name) {
		if (!json_is_object(name)) {
			invalid(b, "name");
			return;
		}
		full = str_of(b, name, "full", false, "name");
		json_t *comps = json_object_get(name, "components");
		if (comps) {
			static const char *const kinds[] = {"surname",   "given",      "given2",
			                                    "title",     "credential", "surname2",
			                                    "generation"};
			if (!components_ok(comps)) {
				invalid(b, "name");
				return;
			}
			char *v = structured(comps, kinds, 7);
			if (!v) {
				b->oom = true;
				return;
			}
			/* RFC 6350 N has five components; RFC 9554's two more only
			 * when used */
			size_t len = strlen(v);
			for (int extra = 0; extra < 2 && len && v[len - 1] == ';'; extra++)
				v[--len] = '\0';
			prop_raw(b, NULL, "N", v);
			free(v);
		}
	}
	prop_text(b, NULL, "FN", full ? full : "");
}

static void write_date(struct builder *b, struct pbuild *pb, const char *prop, json_t *date)
{
	json_t *y = json_object_get(date, "year"), *m = json_object_get(date, "month"),
	       *d = json_object_get(date, "day");
	const char *type = json_string_value(json_object_get(date, "@type"));
	if (!json_is_object(date) || (type && strcmp(type, "PartialDate") != 0) ||
	    (y &&
	     (!json_is_integer(y) || json_integer_value(y) < 1 || json_integer_value(y) > 9999)) ||
	    (m &&
	     (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 12)) ||
	    (d && (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 31 ||
	           !m))) {
		invalid(b, "anniversaries");
		return;
	}
	char v[16];
	if (y && m && d)
		snprintf(v, sizeof v, "%04d%02d%02d", (int)json_integer_value(y),
		         (int)json_integer_value(m), (int)json_integer_value(d));
	else if (y && m)
		snprintf(v, sizeof v, "%04d-%02d", (int)json_integer_value(y),
		         (int)json_integer_value(m));
	else if (y)
		snprintf(v, sizeof v, "%04d", (int)json_integer_value(y));
	else if (m && d)
		snprintf(v, sizeof v, "--%02d%02d", (int)json_integer_value(m),
		         (int)json_integer_value(d));
	else {
		invalid(b, "anniversaries");
		return;
	}
	prop_raw(b, pb, prop, v);
}

/* RFC 9553 §1.4.1: an Id is 1-255 characters of base64url. */
static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 255)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* One entry of a map property. */
static void write_entry(struct builder *b, const char *map, const char *id, json_t *o)
{
	struct pbuild pb;
	if (!json_is_object(o) || !id_ok(id)) {
		invalid(b, map);
		return;
	}
	if (strcmp(map, "emails") == 0) {
		const char *a = str_of(b, o, "address", true, map);
		entry_params(b, &pb, id, o, NULL, map);
		if (a)
			prop_text(b, &pb, "EMAIL", a);
	} else if (strcmp(map, "phones") == 0) {
		const char *num = str_of(b, o, "number", true, map);
		entry_params(b, &pb, id, o, "features", map);
		if (num && strncasecmp(num, "tel:", 4) == 0) {
			param_add(b, &pb, "VALUE", "uri");
			prop_raw(b, &pb, "TEL", num);
		} else if (num) {
			prop_text(b, &pb, "TEL", num);
		}
	} else if (strcmp(map, "nicknames") == 0) {
		const char *nm = str_of(b, o, "name", true, map);
		entry_params(b, &pb, id, o, NULL, map);
		if (nm)
			prop_text(b, &pb, "NICKNAME", nm);
	} else if (strcmp(map, "notes") == 0) {
		const char *nt = str_of(b, o, "note", true, map);
		entry_params(b, &pb, id, o, NULL, map);
		if (nt)
			prop_text(b, &pb, "NOTE", nt);
	} else if (strcmp(map, "titles") == 0) {
		const char *nm = str_of(b, o, "name", true, map);
		const char *kind = str_of(b, o, "kind", false, map);
		entry_params(b, &pb, id, o, NULL, map);
		if (nm)
			prop_text(b, &pb, kind && strcmp(kind, "role") == 0 ? "ROLE" : "TITLE", nm);
	} else if (strcmp(map, "links") == 0 || strcmp(map, "onlineServices") == 0) {
		const char *uri = str_of(b, o, "uri", strcmp(map, "links") == 0, map);
		const char *svc = str_of(b, o, "service", false, map);
		entry_params(b, &pb, id, o, NULL, map);
		if (svc && param_value_ok(svc))
			param_add(b, &pb, "SERVICE-TYPE", svc);
		if (uri && !strchr(uri, '\n') && !strchr(uri, '\r'))
			prop_raw(b, &pb, map[0] == 'l' ? "URL" : "IMPP", uri);
	} else if (strcmp(map, "addresses") == 0) {
		static const char *const kinds[] = {"postOfficeBox", "apartment", "name",
		                                    "locality",      "region",    "postcode",
		                                    "country"};
		json_t *comps = json_object_get(o, "components");
		const char *full = str_of(b, o, "full", false, map);
		const char *cc = str_of(b, o, "countryCode", false, map);
		if (comps && !components_ok(comps)) {
			invalid(b, map);
			return;
		}
		entry_params(b, &pb, id, o, NULL, map);
		if (full && param_value_ok(full))
			param_add(b, &pb, "LABEL", full);
		if (cc && param_value_ok(cc))
			param_add(b, &pb, "CC", cc);
		json_t *none = comps ? NULL : json_array();
		char *v = structured(comps ? comps : none, kinds, 7);
		json_decref(none);
		if (!v) {
			b->oom = true;
			return;
		}
		prop_raw(b, &pb, "ADR", v);
		free(v);
	} else if (strcmp(map, "organizations") == 0) {
		const char *nm = str_of(b, o, "name", false, map);
		json_t *units = json_object_get(o, "units");
		if (units && !json_is_array(units)) {
			invalid(b, map);
			return;
		}
		entry_params(b, &pb, id, o, NULL, map);
		char *first = vcard_escape_text(nm ? nm : "");
		struct buf v = {0};
		bool ok = first && buf_add(&v, first, strlen(first)) == 0;
		free(first);
		size_t i;
		json_t *u;
		json_array_foreach(units, i, u)
		{
			const char *un = json_string_value(json_object_get(u, "name"));
			char *esc = vcard_escape_text(un ? un : "");
			ok = ok && esc && buf_addc(&v, ';') == 0 &&
			     buf_add(&v, esc, strlen(esc)) == 0;
			free(esc);
		}
		if (ok && buf_addc(&v, '\0') == 0)
			prop_raw(b, &pb, "ORG", v.data);
		else
			b->oom = true;
		buf_free(&v);
	} else if (strcmp(map, "anniversaries") == 0) {
		const char *kind = str_of(b, o, "kind", true, map);
		entry_params(b, &pb, id, o, NULL, map);
		const char *prop = !kind                          ? NULL
		                   : strcmp(kind, "birth") == 0   ? "BDAY"
		                   : strcmp(kind, "wedding") == 0 ? "ANNIVERSARY"
		                   : strcmp(kind, "death") == 0   ? "DEATHDATE"
		                                                  : NULL;
		if (prop)
			write_date(b, &pb, prop, json_object_get(o, "date"));
	}
}

static const char *const maps[] = {"nicknames",     "emails",        "phones", "addresses",
                                   "organizations", "titles",        "notes",  "anniversaries",
                                   "links",         "onlineServices"};

static void write_vcard_props(struct builder *b, json_t *list)
{
	if (!json_is_array(list)) {
		invalid(b, "vCardProps");
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *name = json_string_value(json_array_get(e, 0));
		json_t *params = json_array_get(e, 1);
		const char *type = json_string_value(json_array_get(e, 2));
		const char *value = json_string_value(json_array_get(e, 3));
		if (!json_is_array(e) || json_array_size(e) != 4 || !token_ok(name) ||
		    !json_is_object(params) || !type || !value || strpbrk(value, "\r\n") ||
		    strcasecmp(name, "BEGIN") == 0 || strcasecmp(name, "END") == 0 ||
		    strcasecmp(name, "VERSION") == 0 ||
		    (strcmp(type, "unknown") && !token_ok(type))) {
			invalid(b, "vCardProps");
			return;
		}
		struct pbuild pb;
		memset(&pb, 0, sizeof pb);
		if (strcmp(type, "unknown") != 0)
			param_add(b, &pb, "VALUE", type);
		params_from_json(b, &pb, params, "vCardProps");
		char *up = strdup(name);
		if (!up) {
			b->oom = true;
			return;
		}
		for (char *c = up; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		prop_raw(b, &pb, up, value);
		free(up);
	}
}

/* The Card's properties as vCard properties into b (without JSPROPs). */
static void build(struct builder *b, const json_t *card)
{
	const char *type = json_string_value(json_object_get(card, "@type"));
	json_t *version = json_object_get(card, "version");
	if (!json_is_object(card)) {
		invalid(b, "@type");
		return;
	}
	if ((json_object_get(card, "@type") && (!type || strcmp(type, "Card") != 0)))
		invalid(b, "@type");
	if (version && (!json_is_string(version) || strcmp(json_string_value(version), "1.0") != 0))
		invalid(b, "version"); /* RFC 9553 knows 1.0 only */
	b->cur = "uid";
	const char *uid = str_of(b, (json_t *)card, "uid", false, "uid");
	if (uid)
		prop_text(b, NULL, "UID", uid);
	b->cur = "kind";
	const char *kind = str_of(b, (json_t *)card, "kind", false, "kind");
	if (kind && token_ok(kind))
		prop_raw(b, NULL, "KIND", kind);
	b->cur = "name";
	write_name(b, json_object_get(card, "name"));
	for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++) {
		json_t *map = json_object_get(card, maps[m]);
		if (!map)
			continue;
		b->cur = maps[m];
		if (!json_is_object(map)) {
			invalid(b, maps[m]);
			continue;
		}
		const char *id;
		json_t *o;
		json_object_foreach(map, id, o)
		{
			write_entry(b, maps[m], id, o);
		}
	}
	static const char *const stamps[][2] = {{"updated", "REV"}, {"created", "CREATED"}};
	for (size_t i = 0; i < 2; i++) {
		const char *ts = str_of(b, (json_t *)card, stamps[i][0], false, stamps[i][0]);
		char v[17];
		b->cur = stamps[i][0];
		if (ts && timestamp_to_vcard(ts, v))
			prop_raw(b, NULL, stamps[i][1], v);
	}
	json_t *vp = json_object_get(card, "vCardProps");
	b->cur = "vCardProps";
	if (vp)
		write_vcard_props(b, vp);
}

/* RFC 6901: '~' as ~0, '/' as ~1. */
static int ptr_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		int rc = *s == '~'   ? buf_add(out, "~0", 2)
		         : *s == '/' ? buf_add(out, "~1", 2)
		                     : buf_addc(out, *s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void add_jsprop(struct builder *b, const char *key, const char *sub, json_t *value)
{
	struct buf ptr = {0};
	char *js =
	    json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	b->cur = key;
	bool ok = js && ptr_escape(&ptr, key) == 0 &&
	          (!sub || (buf_addc(&ptr, '/') == 0 && ptr_escape(&ptr, sub) == 0)) &&
	          buf_addc(&ptr, '\0') == 0;
	if (ok && !param_value_ok(ptr.data)) {
		invalid(b, key); /* a key with a line break cannot be a parameter */
	} else if (ok) {
		struct pbuild pb;
		memset(&pb, 0, sizeof pb);
		param_add(b, &pb, "JSPTR", ptr.data);
		prop_text(b, &pb, "JSPROP", js);
	} else {
		b->oom = true;
	}
	free(js);
	buf_free(&ptr);
}

static bool is_map(const char *k)
{
	for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
		if (strcmp(maps[m], k) == 0)
			return true;
	return false;
}

int jscontact_to_vcard(const json_t *card, char **out, size_t *len, const char **bad)
{
	*out = NULL;
	*bad = NULL;
	struct builder b = {0};
	build(&b, card);
	if (b.oom || b.bad) {
		*bad = b.bad;
		arena_reset(&b.a);
		return b.oom ? -ENOMEM : -EINVAL;
	}
	/* read back, and say in JSPROPs whatever did not come back */
	struct vcard v = {.version = 40, .props = b.props, .nprops = b.n};
	size_t l0;
	char *first = vcard_write(&v, 1, &l0);
	json_t *back = first ? jscontact_from_text(first, l0) : NULL;
	free(first);
	if (!back) {
		arena_reset(&b.a);
		return -ENOMEM;
	}
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)card, k, val)
	{
		json_t *got = json_object_get(back, k);
		if (json_equal(val, got) || strcmp(k, "vCardProps") == 0)
			continue;
		if (strcmp(k, "@type") == 0 || strcmp(k, "version") == 0)
			continue; /* checked; every vCard reads as Card 1.0 */
		if (!*k) {
			invalid(&b, "");
			break;
		}
		if (is_map(k) && json_is_object(got)) {
			const char *id;
			json_t *e;
			json_object_foreach(val, id, e)
			{
				if (!json_equal(e, json_object_get(got, id)))
					add_jsprop(&b, k, id, e);
			}
			continue;
		}
		add_jsprop(&b, k, NULL, val);
	}
	json_decref(back);
	if (b.oom || b.bad) {
		*bad = b.bad;
		arena_reset(&b.a);
		return b.oom ? -ENOMEM : -EINVAL;
	}
	v.props = b.props;
	v.nprops = b.n;
	*out = vcard_write(&v, 1, len);
	arena_reset(&b.a);
	return *out ? 0 : -ENOMEM;
}
