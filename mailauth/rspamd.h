/* rspamd: the pure half of asking rspamd about a message (its HTTP
 * protocol, /checkv2): the request's envelope header lines, and the
 * action read from the JSON reply. proto/smtp/rspamd_check.c sends the
 * request on the loop and applies the action.
 *
 * rspamd takes the envelope in request headers (IP, Helo, From, Rcpt once
 * per recipient, Queue-Id, User when authenticated, Hostname when the
 * client's name is verified); every value here is one line with no control
 * characters, and the whole head stays under the HTTP client's 8 KiB: the
 * recipients that would not fit are left out (rspamd still sees To:). */
#ifndef TERN_MAILAUTH_RSPAMD_H
#define TERN_MAILAUTH_RSPAMD_H

#include <stdbool.h>
#include <stddef.h>

#define RSPAMD_HEADERS_MAX 6144

/* Order of severity; "no action" is the mildest. */
enum rspamd_action {
	RSPAMD_NO_ACTION = 0,
	RSPAMD_GREYLIST,
	RSPAMD_ADD_HEADER,
	RSPAMD_REWRITE_SUBJECT,
	RSPAMD_SOFT_REJECT,
	RSPAMD_REJECT,
	RSPAMD_UNKNOWN, /* no or an unknown action: treated as an error */
};

struct rspamd_envelope {
	const char *ip;
	const char *helo;      /* may be "" */
	const char *hostname;  /* FCrDNS-verified name or NULL */
	const char *mail_from; /* "" for the null path */
	const char *const *rcpts;
	size_t nrcpts;
	const char *queue_id;
	const char *user; /* authenticated user or NULL */
};

/* The header lines ("Name: value\r\n"...) for env. Returns the length
 * (0 if even the fixed part does not fit in cap). */
size_t rspamd_request_headers(const struct rspamd_envelope *env, char *out, size_t cap);

struct rspamd_result {
	enum rspamd_action action;
	double score, required_score;
	char subject[512]; /* rewrite subject: the new subject, "" if none */
};

/* Read rspamd's JSON reply. 0, or -1 when it is not JSON with a known
 * "action" (out->action is then RSPAMD_UNKNOWN). */
int rspamd_parse_reply(const char *body, size_t len, struct rspamd_result *out);
enum rspamd_action rspamd_action_parse(const char *name);
const char *rspamd_action_name(enum rspamd_action a);

#endif
