/* sieve_managed: the webmail's managed Sieve script ("webmail", written by
 * web/sieve_managed.js) read back from its first line and written anew,
 * so that JMAP's VacationResponse (vacation_response.c) changes the same
 * script the Rules and Out of office pages write.
 *
 * The script's first line is "# tern-webmail v1 " and the pages' data as
 * one line of JSON ({"rules": [...], "vacation": {...}}); the Sieve below
 * it is generated from that data alone. jmap_managed_parse is
 * sieve_managed.js's fromSieve (the same checks: rules the pages cannot
 * write are dropped, at most 200 kept, a vacation field of the wrong type
 * is its default), and jmap_managed_text is its toSieve, byte for byte:
 * for any text T the page would accept, jmap_managed_text(parse(T)) is
 * what toSieve(fromSieve(T)) gives (JSON.stringify's escapes, the same
 * require list, comments and CRLFs). A header jansson refuses where
 * JSON.parse would not (a "\u0000" or a lone surrogate in a string, a
 * number beyond a double, bytes that are not UTF-8, which the page reads
 * as U+FFFD) is "not the pages' script" here: the caller then leaves the
 * script alone. */
#ifndef TERN_JMAP_SIEVE_MANAGED_H
#define TERN_JMAP_SIEVE_MANAGED_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

#define JMAP_MANAGED_NAME "webmail"
#define JMAP_MANAGED_MARK "# tern-webmail v1 "
#define JMAP_MANAGED_MAX_RULES 200

enum jmap_managed_field { JMAP_MANAGED_FROM, JMAP_MANAGED_TO, JMAP_MANAGED_SUBJECT };
enum jmap_managed_action {
	JMAP_MANAGED_MOVE,
	JMAP_MANAGED_READ,
	JMAP_MANAGED_FORWARD,
	JMAP_MANAGED_DELETE
};

struct jmap_managed_rule {
	enum jmap_managed_field field;
	enum jmap_managed_action action;
	char *contains; /* UTF-8, not empty */
	char *target;   /* the folder (move), the address (forward), else as read */
};

struct jmap_managed {
	struct jmap_managed_rule *rules;
	size_t n_rules;
	bool enabled;
	char *subject; /* "" none */
	char *body;    /* "" none: the script says "I am away." */
	int days;      /* 1..365 */
};

/* The empty data (no rules, vacation off, 7 days): 0 or -ENOMEM. */
int jmap_managed_empty(struct jmap_managed *m);
/* The pages' data from a script's text: 1 (read into *m), 0 (not a script
 * the pages wrote; *m is the empty data) or -ENOMEM. Free *m always. */
int jmap_managed_parse(const char *text, size_t len, struct jmap_managed *m);
/* The script for m, appended to out: 0, -ENOMEM or -E2BIG. */
int jmap_managed_text(const struct jmap_managed *m, struct buf *out);
/* Replaces *field (subject or body) with a copy of s: 0 or -ENOMEM. */
int jmap_managed_set_string(char **field, const char *s);
void jmap_managed_free(struct jmap_managed *m);

#endif
