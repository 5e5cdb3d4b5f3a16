/* mta_sts_policy: the MTA-STS TXT record and policy file parsers and the
 * MX pattern match (mta_sts_policy.h).
 *
 * Why pure and in mailauth/: both texts are attacker-controlled input from
 * DNS and HTTPS; keeping them free of I/O lets the unit tests and the
 * fuzzer reach every branch, and the relay only asks "which mode, does
 * this MX match". */
#include "mailauth/mta_sts_policy.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const char *mta_sts_mode_name(enum mta_sts_mode m)
{
	return m == MTA_STS_ENFORCE ? "enforce" : m == MTA_STS_TESTING ? "testing" : "none";
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int mta_sts_parse_txt(const char *txt, size_t len, char id[MTA_STS_ID_MAX + 1])
{
	/* sts-text-record = sts-version 1*(*WSP ";" *WSP sts-field) [";"]:
	 * v=STSv1 must come first; id is required; other fields ignored. */
	size_t i = 0;
	bool first = true, have_id = false;
	id[0] = '\0';
	while (i < len) {
		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && txt[i] != ';')
			i++;
		size_t end = i;
		if (i < len)
			i++; /* the ';' */
		while (end > start && is_wsp(txt[end - 1]))
			end--;
		const char *f = txt + start;
		size_t fl = end - start;
		if (first) {
			if (fl != 7 || memcmp(f, "v=STSv1", 7) != 0)
				return -1;
			first = false;
			continue;
		}
		if (fl == 0)
			continue;
		const char *eq = memchr(f, '=', fl);
		if (!eq || eq == f)
			return -1;
		size_t nl = (size_t)(eq - f);
		const char *v = eq + 1;
		size_t vl = fl - nl - 1;
		if (nl == 2 && memcmp(f, "id", 2) == 0) {
			if (have_id || vl == 0 || vl > MTA_STS_ID_MAX)
				return -1;
			for (size_t k = 0; k < vl; k++)
				if (!isalnum((unsigned char)v[k]))
					return -1;
			memcpy(id, v, vl);
			id[vl] = '\0';
			have_id = true;
		} else {
			/* sts-ext-name: ALPHA/DIGIT then ALPHA/DIGIT/"_"/"-"/"." */
			for (size_t k = 0; k < nl; k++)
				if (!isalnum((unsigned char)f[k]) &&
				    (k == 0 || (f[k] != '_' && f[k] != '-' && f[k] != '.')))
					return -1;
		}
	}
	return !first && have_id ? 0 : -1;
}

/* A host name or "*." + host name: labels of letters, digits, '-', '_'
 * (seen in the wild), 1..63 bytes, 1..253 in all. Lowered into out. */
static bool copy_pattern(const char *v, size_t vl, char out[256])
{
	if (vl > 0 && v[vl - 1] == '.')
		vl--;
	if (vl == 0 || vl > 253)
		return false;
	size_t k = 0, label = 0;
	if (vl > 2 && v[0] == '*' && v[1] == '.') {
		out[0] = '*';
		out[1] = '.';
		k = 2;
	}
	size_t o = k;
	for (; k < vl; k++) {
		unsigned char c = (unsigned char)v[k];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[o++] = (char)tolower(c);
	}
	if (label == 0)
		return false;
	out[o] = '\0';
	return true;
}

int mta_sts_parse_policy(const char *text, size_t len, struct mta_sts_policy *out, const char **why)
{
	memset(out, 0, sizeof *out);
	*why = NULL;
	if (len > MTA_STS_MAX_POLICY) {
		*why = "policy too large";
		return -1;
	}
	bool have_version = false, have_mode = false, have_age = false;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && text[i] != '\n')
			i++;
		size_t end = i;
		if (i < len)
			i++;
		if (end > start && text[end - 1] == '\r')
			end--;
		const char *l = text + start;
		size_t ll = end - start;
		if (ll == 0)
			continue;
		const char *colon = memchr(l, ':', ll);
		if (!colon) {
			*why = "a line without a colon";
			return -1;
		}
		size_t kl = (size_t)(colon - l);
		const char *v = colon + 1;
		size_t vl = ll - kl - 1;
		while (vl > 0 && is_wsp(*v))
			v++, vl--;
		while (vl > 0 && is_wsp(v[vl - 1]))
			vl--;
		if (kl == 7 && memcmp(l, "version", 7) == 0) {
			if (have_version || vl != 5 || memcmp(v, "STSv1", 5) != 0) {
				*why = "bad version";
				return -1;
			}
			have_version = true;
		} else if (kl == 4 && memcmp(l, "mode", 4) == 0) {
			if (have_mode) {
				*why = "mode twice";
				return -1;
			}
			if (vl == 7 && memcmp(v, "enforce", 7) == 0)
				out->mode = MTA_STS_ENFORCE;
			else if (vl == 7 && memcmp(v, "testing", 7) == 0)
				out->mode = MTA_STS_TESTING;
			else if (vl == 4 && memcmp(v, "none", 4) == 0)
				out->mode = MTA_STS_NONE;
			else {
				*why = "bad mode";
				return -1;
			}
			have_mode = true;
		} else if (kl == 7 && memcmp(l, "max_age", 7) == 0) {
			/* 1*10DIGIT, capped at one year */
			if (have_age || vl == 0 || vl > 10) {
				*why = "bad max_age";
				return -1;
			}
			long a = 0;
			for (size_t k = 0; k < vl; k++) {
				if (!isdigit((unsigned char)v[k])) {
					*why = "bad max_age";
					return -1;
				}
				if (a <= MTA_STS_MAX_AGE)
					a = a * 10 + (v[k] - '0');
			}
			out->max_age = a > MTA_STS_MAX_AGE ? MTA_STS_MAX_AGE : a;
			have_age = true;
		} else if (kl == 2 && memcmp(l, "mx", 2) == 0) {
			if (out->nmx >= MTA_STS_MAX_MX)
				continue; /* bounded: the rest is not kept */
			if (!copy_pattern(v, vl, out->mx[out->nmx])) {
				*why = "bad mx pattern";
				return -1;
			}
			out->nmx++;
		}
		/* other keys: ignored (RFC 8461 3.2 extension fields) */
	}
	if (!have_version || !have_mode || !have_age) {
		*why = !have_version ? "no version" : !have_mode ? "no mode" : "no max_age";
		return -1;
	}
	if (out->mode != MTA_STS_NONE && out->nmx == 0) {
		*why = "no mx";
		return -1;
	}
	return 0;
}

bool mta_sts_mx_matches(const struct mta_sts_policy *p, const char *host)
{
	size_t hl = strlen(host);
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (hl == 0)
		return false;
	for (size_t i = 0; i < p->nmx; i++) {
		const char *pat = p->mx[i];
		size_t pl = strlen(pat);
		if (pat[0] == '*') {
			/* "*.example.com" matches "mx.example.com", not
			 * "example.com" nor "a.b.example.com". */
			const char *suffix = pat + 1; /* ".example.com" */
			size_t sl = pl - 1;
			if (hl <= sl || strncasecmp(host + hl - sl, suffix, sl) != 0)
				continue;
			if (memchr(host, '.', hl - sl) != NULL)
				continue;
			return true;
		}
		if (pl == hl && strncasecmp(host, pat, hl) == 0)
			return true;
	}
	return false;
}
