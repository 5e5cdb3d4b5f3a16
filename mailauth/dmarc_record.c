/* dmarc_record: the DMARC Policy Record parser (RFC 9989 4.7, 4.8); the
 * rules it follows are in dmarc_record.h.
 *
 * Why one pass over ';'-separated segments instead of a generic tag-list
 * parser: the DKIM tag-list of mailauth/dkim_tags.c rejects the whole list
 * on a syntax error, while DMARC keeps the record and drops or defaults
 * only the tag that is wrong (4.8), so every tag is judged on its own. */
#include "mailauth/dmarc_record.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string view into the record. */
struct span {
	const char *p;
	size_t n;
};

static struct span trim(struct span s)
{
	while (s.n && is_wsp(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_wsp(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool span_is(struct span s, const char *word)
{
	size_t l = strlen(word);
	return s.n == l && strncasecmp(s.p, word, l) == 0;
}

static void note(struct dmarc_record *r, const char *what, struct span tag)
{
	if (r->problem[0])
		return;
	int n = (int)(tag.n > 20 ? 20 : tag.n);
	char safe[21];
	for (int i = 0; i < n; i++)
		safe[i] = (tag.p[i] >= 0x20 && tag.p[i] < 0x7f) ? tag.p[i] : '?';
	safe[n] = '\0';
	snprintf(r->problem, sizeof r->problem, "%s%s%s", what, n ? ": " : "", safe);
}

/* dmarc-value = %x20-3A / %x3C-7E (the ';' never reaches here). */
static bool value_chars_ok(struct span v)
{
	if (v.n == 0)
		return false;
	for (size_t i = 0; i < v.n; i++)
		if ((unsigned char)v.p[i] < 0x20 || (unsigned char)v.p[i] > 0x7e)
			return false;
	return true;
}

static enum dmarc_policy parse_policy(struct span v)
{
	if (span_is(v, "none"))
		return DMARC_POLICY_NONE;
	if (span_is(v, "quarantine"))
		return DMARC_POLICY_QUARANTINE;
	if (span_is(v, "reject"))
		return DMARC_POLICY_REJECT;
	return DMARC_POLICY_INVALID;
}

/* dmarc-fo; 0 when invalid. */
static unsigned parse_fo(struct span v)
{
	unsigned bits = 0;
	size_t i = 0;
	while (i <= v.n) {
		size_t start = i;
		while (i < v.n && v.p[i] != ':')
			i++;
		if (i - start != 1)
			return 0;
		unsigned bit;
		switch (v.p[start]) {
		case '0':
			bit = DMARC_FO_0;
			break;
		case '1':
			bit = DMARC_FO_1;
			break;
		case 'd':
		case 'D':
			bit = DMARC_FO_D;
			break;
		case 's':
		case 'S':
			bit = DMARC_FO_S;
			break;
		default:
			return 0;
		}
		if (bits & bit)
			return 0; /* each at most once */
		bits |= bit;
		i++; /* past ':' (or past the end) */
	}
	if ((bits & DMARC_FO_0) && (bits & DMARC_FO_1))
		return 0; /* mutually exclusive */
	return bits;
}

/* RFC 3986 URI, checked for its characters rather than its full grammar:
 * scheme ":" and at least one more character, each unreserved, reserved
 * (but for ',' and '!' which DMARC wants encoded) or a %XX escape. */
static bool uri_ok(struct span u)
{
	size_t i = 0;
	if (u.n == 0 || !is_alpha(u.p[0]))
		return false;
	while (i < u.n && (is_alpha(u.p[i]) || is_digit(u.p[i]) || u.p[i] == '+' || u.p[i] == '-' ||
	                   u.p[i] == '.'))
		i++;
	if (i >= u.n || u.p[i] != ':' || i + 1 >= u.n)
		return false;
	for (i++; i < u.n; i++) {
		char c = u.p[i];
		if (c == '%') {
			if (i + 2 >= u.n || !is_hex(u.p[i + 1]) || !is_hex(u.p[i + 2]))
				return false;
			i += 2;
			continue;
		}
		if (is_alpha(c) || is_digit(c) || strchr("-._~:/?#[]@$&'()*+=", c))
			continue;
		return false;
	}
	return true;
}

/* obs-dmarc-report-size = "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] */
static bool report_size_ok(struct span s)
{
	size_t i = 0;
	while (i < s.n && is_digit(s.p[i]))
		i++;
	if (i == 0)
		return false;
	if (i < s.n && strchr("kmgtKMGT", s.p[i]))
		i++;
	return i == s.n;
}

static void parse_uri_list(struct dmarc_record *r, struct dmarc_uri_list *list, struct span v,
                           struct span tag)
{
	list->given = true;
	size_t i = 0;
	while (i <= v.n) {
		size_t start = i;
		while (i < v.n && v.p[i] != ',')
			i++;
		struct span item = trim((struct span){v.p + start, i - start});
		i++;
		const char *bang = memchr(item.p, '!', item.n);
		struct span uri = item;
		if (bang) {
			uri.n = (size_t)(bang - item.p);
			struct span size = {bang + 1, item.n - uri.n - 1};
			if (!report_size_ok(size)) {
				note(r, "bad report size in URI list", tag);
				continue;
			}
		}
		if (!uri_ok(uri)) {
			note(r, "bad URI in list", tag);
			continue;
		}
		list->valid++;
		if (list->kept >= DMARC_MAX_URIS || r->pool_used + uri.n + 1 > sizeof r->pool)
			continue;
		list->off[list->kept++] = (uint16_t)r->pool_used;
		memcpy(r->pool + r->pool_used, uri.p, uri.n);
		r->pool[r->pool_used + uri.n] = '\0';
		r->pool_used += uri.n + 1;
	}
}

/* Bits of the tags already seen (a repeated tag is ignored). */
enum {
	SEEN_P = 1 << 0,
	SEEN_SP = 1 << 1,
	SEEN_NP = 1 << 2,
	SEEN_PSD = 1 << 3,
	SEEN_T = 1 << 4,
	SEEN_PCT = 1 << 5,
	SEEN_ADKIM = 1 << 6,
	SEEN_ASPF = 1 << 7,
	SEEN_FO = 1 << 8,
	SEEN_RUA = 1 << 9,
	SEEN_RUF = 1 << 10,
};

static const struct {
	const char *name;
	unsigned bit;
} known_tags[] = {
    {"p", SEEN_P},   {"sp", SEEN_SP},   {"np", SEEN_NP},       {"psd", SEEN_PSD},
    {"t", SEEN_T},   {"pct", SEEN_PCT}, {"adkim", SEEN_ADKIM}, {"aspf", SEEN_ASPF},
    {"fo", SEEN_FO}, {"rua", SEEN_RUA}, {"ruf", SEEN_RUF},
};

static void parse_tag(struct dmarc_record *r, struct span name, struct span v, unsigned *seen)
{
	unsigned bit = 0;
	for (size_t i = 0; i < sizeof known_tags / sizeof known_tags[0]; i++)
		if (span_is(name, known_tags[i].name))
			bit = known_tags[i].bit;
	if (!bit) {
		r->unknown_tags++; /* includes a second v= */
		return;
	}
	if (*seen & bit) {
		note(r, "repeated tag ignored", name);
		return;
	}
	*seen |= bit;
	bool chars_ok = value_chars_ok(v);
	switch (bit) {
	case SEEN_P:
	case SEEN_SP:
	case SEEN_NP: {
		enum dmarc_policy pol = chars_ok ? parse_policy(v) : DMARC_POLICY_INVALID;
		if (pol == DMARC_POLICY_INVALID)
			note(r, "invalid policy", name);
		*(bit == SEEN_P ? &r->p : bit == SEEN_SP ? &r->sp : &r->np) = pol;
		break;
	}
	case SEEN_PSD:
		if (span_is(v, "y"))
			r->psd = DMARC_PSD_Y;
		else if (span_is(v, "n"))
			r->psd = DMARC_PSD_N;
		else if (!span_is(v, "u"))
			note(r, "invalid psd", name);
		break;
	case SEEN_T:
		if (span_is(v, "y") || span_is(v, "n")) {
			r->t_given = true;
			r->t = span_is(v, "y");
		} else {
			note(r, "invalid t", name);
		}
		break;
	case SEEN_PCT: {
		int n = 0;
		bool ok = v.n >= 1 && v.n <= 3;
		for (size_t i = 0; ok && i < v.n; i++) {
			ok = is_digit(v.p[i]);
			n = n * 10 + (v.p[i] - '0');
		}
		if (ok && n <= 100)
			r->pct = n;
		else
			note(r, "invalid pct", name);
		break;
	}
	case SEEN_ADKIM:
	case SEEN_ASPF:
		if (span_is(v, "s") || span_is(v, "r"))
			*(bit == SEEN_ADKIM ? &r->adkim_strict : &r->aspf_strict) = span_is(v, "s");
		else
			note(r, "invalid alignment mode", name);
		break;
	case SEEN_FO: {
		unsigned fo = chars_ok ? parse_fo(v) : 0;
		if (fo)
			r->fo = fo;
		else
			note(r, "invalid fo", name);
		break;
	}
	case SEEN_RUA:
	case SEEN_RUF:
		if (chars_ok)
			parse_uri_list(r, bit == SEEN_RUA ? &r->rua : &r->ruf, v, name);
		else
			note(r, "invalid URI list", name);
		break;
	}
}

/* Split a segment into name and value: 1*ALPHA *WSP "=" *WSP value. */
static bool split_tag(struct span seg, struct span *name, struct span *value)
{
	size_t i = 0;
	while (i < seg.n && is_alpha(seg.p[i]))
		i++;
	*name = (struct span){seg.p, i};
	if (i == 0)
		return false;
	while (i < seg.n && is_wsp(seg.p[i]))
		i++;
	if (i >= seg.n || seg.p[i] != '=')
		return false;
	i++;
	*value = trim((struct span){seg.p + i, seg.n - i});
	return true;
}

enum dmarc_record_status dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r)
{
	memset(r, 0, sizeof *r);
	r->pct = -1;
	r->fo = DMARC_FO_0;
	unsigned seen = 0;
	bool first = true;
	size_t i = 0;
	while (i < len || first) {
		size_t start = i;
		while (i < len && txt[i] != ';')
			i++;
		struct span seg = trim((struct span){txt + start, i - start});
		i++; /* past ';' */
		struct span name, value;
		if (first) {
			/* dmarc-version = "v" equals %s"DMARC1" */
			if (!split_tag(seg, &name, &value) || !span_is(name, "v") || value.n != 6 ||
			    memcmp(value.p, "DMARC1", 6) != 0)
				return DMARC_RECORD_NOT_DMARC;
			first = false;
			continue;
		}
		if (seg.n == 0)
			continue; /* ";;" or the trailing separator */
		if (!split_tag(seg, &name, &value)) {
			note(r, "malformed tag", seg);
			continue;
		}
		parse_tag(r, name, value, &seen);
	}
	r->testing = r->t_given ? r->t : r->pct == 0;
	return DMARC_RECORD_OK;
}

const char *dmarc_record_uri(const struct dmarc_record *r, const struct dmarc_uri_list *list,
                             size_t i)
{
	return i < list->kept ? r->pool + list->off[i] : NULL;
}

bool dmarc_record_policy_valid(const struct dmarc_record *r)
{
	return r->p != DMARC_POLICY_INVALID && r->sp != DMARC_POLICY_INVALID &&
	       r->np != DMARC_POLICY_INVALID;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	case DMARC_POLICY_INVALID:
		return "invalid";
	case DMARC_POLICY_UNSET:
		break;
	}
	return "";
}
