/* dates: the date syntaxes IMAP message commands meet.
 *
 *   date       "1-Feb-1994" / "01-Feb-1994", optionally quoted (SEARCH
 *              BEFORE/ON/SINCE/SENT*): a calendar day, no time, no zone;
 *   date-time  "17-Jul-1996 02:44:25 -0700" (APPEND, INTERNALDATE);
 *   RFC 5322   "Tue, 1 Jul 2003 10:52:37 +0200" (a message's Date: field,
 *              for SENTBEFORE/SENTON/SENTSINCE, which compare the day as
 *              written, "disregarding time and timezone").
 *
 * Days are counted from 1970-01-01 (day 0) in the proleptic Gregorian
 * calendar. Pure functions, no locale, no libc time zone state.
 */
#ifndef TERN_IMAP_SEARCH_DATE_H
#define TERN_IMAP_SEARCH_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Marker for "no date" (a message without a parsable Date: field). */
#define IMAP_NO_DAY INT64_MIN

int64_t imap_days_from_civil(int64_t y, unsigned m, unsigned d);
void imap_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* IMAP date (without quotes): 0 and *day set, or -EINVAL. */
int imap_parse_date(const char *s, size_t len, int64_t *day);
/* IMAP date-time (without quotes): 0 and *t (unix seconds, UTC) set, or
 * -EINVAL. The day may be one digit with a leading space (" 1-Feb-..."). */
int imap_parse_date_time(const char *s, size_t len, int64_t *t);
/* Format unix seconds as an IMAP date-time in UTC ("+0000"), 27 bytes
 * incl. NUL, without quotes. */
void imap_format_date_time(int64_t t, char out[32]);
/* The day written in an RFC 5322 Date: value (obsolete forms tolerated:
 * two- and three-digit years, missing weekday, comments, any case).
 * 0 and *day, or -EINVAL. */
int imap_parse_rfc5322_day(const char *s, size_t len, int64_t *day);
/* The sent date of RFC 5256 §2.2: the Date: value's date and time in
 * UTC seconds (an invalid zone counts as UTC, an invalid time as
 * 00:00:00). 0 and *t, or -EINVAL when it has no valid date. */
int imap_parse_rfc5322_time(const char *s, size_t len, int64_t *t);
/* Unix seconds -> day number (UTC). */
int64_t imap_day_of(int64_t t);

#endif
