/* dates: IMAP and RFC 5322 dates (see dates.h). */
#include "proto/imap/dates.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Howard Hinnant's days_from_civil. */
int64_t imap_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void imap_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

int64_t imap_day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

static int month_of(const char *s, size_t len)
{
	if (len != 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i + 1;
	return -1;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Reads 1..max digits at s[*i]; returns the count read. */
static int digits(const char *s, size_t len, size_t *i, int max, long *v)
{
	int n = 0;
	*v = 0;
	while (*i < len && n < max && s[*i] >= '0' && s[*i] <= '9') {
		*v = *v * 10 + (s[*i] - '0');
		(*i)++;
		n++;
	}
	return n;
}

/* d[d]-Mon-yyyy at s[*i]. */
static int date_part(const char *s, size_t len, size_t *i, int64_t *day, bool space_ok)
{
	long d, y;
	if (space_ok && *i < len && s[*i] == ' ')
		(*i)++;
	if (digits(s, len, i, 2, &d) < 1 || *i >= len || s[*i] != '-')
		return -EINVAL;
	(*i)++;
	if (*i + 4 > len || s[*i + 3] != '-')
		return -EINVAL;
	int m = month_of(s + *i, 3);
	if (m < 0)
		return -EINVAL;
	*i += 4;
	if (digits(s, len, i, 4, &y) != 4)
		return -EINVAL;
	if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
		return -EINVAL;
	*day = imap_days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

int imap_parse_date(const char *s, size_t len, int64_t *day)
{
	size_t i = 0;
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	if (date_part(s, len, &i, day, false) < 0 || i != len)
		return -EINVAL;
	return 0;
}

int imap_parse_date_time(const char *s, size_t len, int64_t *t)
{
	size_t i = 0;
	int64_t day;
	long hh, mm, ss, zone;
	if (date_part(s, len, &i, &day, true) < 0)
		return -EINVAL;
	if (i >= len || s[i++] != ' ')
		return -EINVAL;
	if (digits(s, len, &i, 2, &hh) != 2 || i >= len || s[i++] != ':' ||
	    digits(s, len, &i, 2, &mm) != 2 || i >= len || s[i++] != ':' ||
	    digits(s, len, &i, 2, &ss) != 2 || i >= len || s[i++] != ' ')
		return -EINVAL;
	if (i >= len || (s[i] != '+' && s[i] != '-'))
		return -EINVAL;
	int sign = s[i++] == '-' ? -1 : 1;
	if (digits(s, len, &i, 4, &zone) != 4 || i != len)
		return -EINVAL;
	if (hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59)
		return -EINVAL;
	int64_t off = sign * ((zone / 100) * 3600 + (zone % 100) * 60);
	*t = day * 86400 + hh * 3600 + mm * 60 + ss - off;
	return 0;
}

void imap_format_date_time(int64_t t, char out[32])
{
	int64_t day = imap_day_of(t), y;
	int64_t sec = t - day * 86400;
	unsigned m, d;
	imap_civil_from_days(day, &y, &m, &d);
	snprintf(out, 32, "%02u-%s-%04lld %02d:%02d:%02d +0000", d, months[m - 1], (long long)y,
	         (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
}

int imap_parse_rfc5322_day(const char *s, size_t len, int64_t *day)
{
	/* Tokenise into words (comments dropped, ',' and '-' separate), then
	 * look for: number, month name, number (day month year), or the
	 * obsolete month day year order. */
	char w[8][16];
	size_t nw = 0, i = 0;
	int depth = 0;
	while (i < len && nw < 8) {
		char c = s[i];
		if (c == '(') {
			depth++;
			i++;
			continue;
		}
		if (c == ')') {
			if (depth > 0)
				depth--;
			i++;
			continue;
		}
		if (depth > 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' ||
		    c == '-') {
			i++;
			continue;
		}
		size_t st = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' &&
		       s[i] != ',' && s[i] != '(' && s[i] != '-')
			i++;
		size_t n = i - st < 15 ? i - st : 15;
		memcpy(w[nw], s + st, n);
		w[nw][n] = '\0';
		nw++;
	}
	for (size_t k = 0; k + 2 < nw; k++) {
		const char *a = w[k], *b = w[k + 1], *c = w[k + 2];
		long d = -1, y = -1;
		int m;
		char *end;
		if ((m = month_of(b, strlen(b))) > 0) {
			d = strtol(a, &end, 10);
			if (*end || !*a)
				continue;
			y = strtol(c, &end, 10);
			if (*end || !*c)
				continue;
		} else if ((m = month_of(a, strlen(a))) > 0) {
			d = strtol(b, &end, 10);
			if (*end || !*b)
				continue;
			y = strtol(c, &end, 10);
			if (*end || !*c)
				continue;
		} else {
			continue;
		}
		size_t ylen = strlen(c);
		if (ylen == 2)
			y += y < 50 ? 2000 : 1900;
		else if (ylen == 3)
			y += 1900;
		if (y < 1 || y > 9999 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
			return -EINVAL;
		*day = imap_days_from_civil(y, (unsigned)m, (unsigned)d);
		return 0;
	}
	return -EINVAL;
}

/* A zone after the time: "+hhmm"/"-hhmm", or an RFC 5322 §4.3 name;
 * anything else is UTC (RFC 5256 §2.2: an invalid zone is UTC). Seconds
 * east of UTC. */
static int64_t zone_offset(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 5 <= len && (s[i] == '+' || s[i] == '-')) {
		int v = 0;
		for (size_t k = 1; k <= 4; k++) {
			if (s[i + k] < '0' || s[i + k] > '9')
				return 0;
			v = v * 10 + (s[i + k] - '0');
		}
		int64_t off = (int64_t)(v / 100) * 3600 + (v % 100) * 60;
		return s[i] == '-' ? -off : off;
	}
	static const struct {
		const char *name;
		int hours;
	} names[] = {{"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
	             {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if (i + 3 <= len && strncasecmp(s + i, names[k].name, 3) == 0)
			return (int64_t)names[k].hours * 3600;
	return 0;
}

int imap_parse_rfc5322_time(const char *s, size_t len, int64_t *t)
{
	int64_t day;
	if (imap_parse_rfc5322_day(s, len, &day) < 0)
		return -EINVAL;
	*t = day * 86400;
	/* the first "h:mm[:ss]" outside a comment */
	int depth = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		if (depth || c < '0' || c > '9' || (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'))
			continue;
		unsigned part[3] = {0, 0, 0}, np = 0;
		size_t j = i;
		while (np < 3) {
			size_t st = j;
			unsigned v = 0;
			while (j < len && s[j] >= '0' && s[j] <= '9' && j - st < 2)
				v = v * 10 + (unsigned)(s[j++] - '0');
			if (j == st)
				break;
			part[np++] = v;
			if (j < len && s[j] == ':' && np < 3)
				j++;
			else
				break;
		}
		if (np < 2)
			continue;
		if (part[0] > 23 || part[1] > 59 || part[2] > 60)
			return 0; /* an invalid time is 00:00:00 (RFC 5256 §2.2) */
		*t += part[0] * 3600 + part[1] * 60 + part[2] - zone_offset(s + j, len - j);
		return 0;
	}
	return 0;
}
