/* email_render_date: an RFC 5322 Date: value (§3.3, with the obsolete
 * forms of §4.3) as the RFC 3339 date-time JMAP's sentAt and asDate want,
 * keeping the offset it was written with.
 *
 * Why here and not shared with proto/imap/dates.c: the protocols do not
 * include each other, and IMAP wants a day or a UTC time, not the text
 * with its original offset. */
#include "proto/jmap/email_render_int.h"
#include "mime/header.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct cursor {
	const char *s;
	size_t i, n;
};

/* Skip white space and (nested) comments. */
static void skip_cfws(struct cursor *c)
{
	c->i = mime_skip_cfws(c->s, c->n, c->i);
}

/* Up to max digits: their value, or -1 when there is none. */
static int number(struct cursor *c, int max, int *ndigits)
{
	int v = 0, k = 0;
	while (c->i < c->n && k < max && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
		v = v * 10 + (c->s[c->i] - '0');
		c->i++;
		k++;
	}
	if (ndigits)
		*ndigits = k;
	return k ? v : -1;
}

static size_t word_len(const struct cursor *c)
{
	size_t k = 0;
	while (c->i + k < c->n) {
		char ch = c->s[c->i + k];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
			break;
		k++;
	}
	return k;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

/* Obsolete zone names (RFC 5322 §4.3); military letters mean -0000. */
static bool zone_name(const char *w, size_t l, int *minutes)
{
	static const struct {
		const char *n;
		int h;
	} z[] = {{"ut", 0},   {"gmt", 0},  {"utc", 0},  {"est", -5}, {"edt", -4}, {"cst", -6},
	         {"cdt", -5}, {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7}};
	for (size_t i = 0; i < sizeof(z) / sizeof(z[0]); i++)
		if (strlen(z[i].n) == l && strncasecmp(z[i].n, w, l) == 0) {
			*minutes = z[i].h * 60;
			return true;
		}
	if (l == 1 && ((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z'))) {
		*minutes = 0;
		return true;
	}
	return false;
}

static int days_in(int month, int year)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : d[month - 1];
}

bool er_date_rfc3339(const char *v, size_t len, char *out, size_t outlen)
{
	struct cursor c = {v, 0, len};
	skip_cfws(&c);
	/* [day-of-week ","] */
	size_t wl = word_len(&c);
	if (wl >= 3) {
		c.i += wl;
		skip_cfws(&c);
		if (c.i < c.n && c.s[c.i] == ',')
			c.i++;
		skip_cfws(&c);
	}
	int day = number(&c, 2, NULL);
	skip_cfws(&c);
	wl = word_len(&c);
	int month = 0;
	for (int m = 0; m < 12 && wl >= 3; m++)
		if (strncasecmp(c.s + c.i, months[m], 3) == 0)
			month = m + 1;
	if (day < 1 || month == 0 || wl != 3)
		return false;
	c.i += wl;
	skip_cfws(&c);
	int yd;
	int year = number(&c, 4, &yd);
	if (year < 0 || yd < 2)
		return false;
	if (yd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (yd == 3)
		year += 1900;
	if (year < 1900 || day > days_in(month, year))
		return false;
	skip_cfws(&c);
	int hour = number(&c, 2, NULL), min = -1, sec = 0;
	skip_cfws(&c);
	if (c.i < c.n && c.s[c.i] == ':') {
		c.i++;
		skip_cfws(&c);
		min = number(&c, 2, NULL);
	}
	skip_cfws(&c);
	if (c.i < c.n && c.s[c.i] == ':') {
		c.i++;
		skip_cfws(&c);
		sec = number(&c, 2, NULL);
	}
	if (hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
		return false;
	skip_cfws(&c);
	int off = 0;
	if (c.i < c.n && (c.s[c.i] == '+' || c.s[c.i] == '-')) {
		int sign = c.s[c.i] == '-' ? -1 : 1;
		c.i++;
		int nd;
		int z = number(&c, 4, &nd);
		if (nd != 4 || z % 100 > 59)
			return false;
		off = sign * ((z / 100) * 60 + z % 100);
	} else {
		wl = word_len(&c);
		if (!wl || !zone_name(c.s + c.i, wl, &off))
			return false; /* RFC 5322 requires a zone */
		c.i += wl;
	}
	skip_cfws(&c);
	if (c.i != c.n)
		return false; /* trailing text: not a date */
	int n;
	if (off == 0) {
		n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day, hour,
		             min, sec > 59 ? 59 : sec);
	} else {
		int a = off < 0 ? -off : off;
		n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", year, month,
		             day, hour, min, sec > 59 ? 59 : sec, off < 0 ? '-' : '+', a / 60,
		             a % 60);
	}
	return n > 0 && (size_t)n < outlen;
}
