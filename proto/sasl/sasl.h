/* sasl: the server side of SASL PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login), SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256
 * (RFC 7677) with their -PLUS variants (proto/sasl/scram.c), shared by
 * SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH.
 *
 * Protocol-neutral: the caller feeds the client's base64 responses (the
 * initial response, if the protocol carries one, then one per line) and gets
 * back what to do next: send a challenge (base64, already encoded; may be
 * empty), or check the credentials now in s->user / s->pass, or report an
 * error. Framing ("334 ", "+ ") and the reply codes are the protocol's.
 *
 *     start(mech, initial?) --> CHALLENGE --step()--> CHALLENGE ... --> DONE
 *                        \-----------------------------------------> DONE
 *     any step: "*" -> CANCELLED, bad base64 -> EBASE64, bad content -> EPROTO
 *
 * DONE means: check now, with sasl_auth_check(), which answers like
 * auth_check() (auth/auth.h): PLAIN and LOGIN hand it the user and
 * password; SCRAM has checked the client's proof already, and reaches DONE
 * either at once (a wrong proof: the answer is a failure) or after sending
 * its server-final message as one more challenge, which the client answers
 * with an empty response (RFC 4954 §4, RFC 3501 §6.2.2, RFC 5034 §4: none
 * of the three carries data with the success reply).
 *
 * Secrets live only in the struct; sasl_clear() wipes them and must be
 * called when the exchange ends, however it ends. */
#ifndef TERN_SASL_H
#define TERN_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"

#define SASL_USER_MAX 320
#define SASL_PASS_MAX 512
#define SASL_CHALLENGE_MAX 64

enum sasl_mech {
	SASL_MECH_NONE = 0,
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_SCRAM_SHA1,
	SASL_MECH_SCRAM_SHA1_PLUS,
	SASL_MECH_SCRAM_SHA256,
	SASL_MECH_SCRAM_SHA256_PLUS,
};

enum sasl_status {
	SASL_CHALLENGE = 1,  /* send s->challenge, then feed the answer to sasl_step() */
	SASL_DONE = 0,       /* s->user and s->pass are ready to check */
	SASL_CANCELLED = -1, /* the client sent "*" */
	SASL_EBASE64 = -2,   /* the response is not valid base64 */
	SASL_EPROTO = -3,    /* decoded, but malformed (missing NULs, too long, NUL in a name) */
	SASL_EAUTHZID = -4,  /* PLAIN asked to act as another identity: refused */
};

/* The connection an exchange runs on, as the server side sees it. */
struct sasl_peer {
	struct auth_pool *pool; /* checks, SCRAM's keys and the throttle */
	const char *ip;         /* the client's address, for the throttle */
	/* The channel binding this connection offers (conn_channel_binding):
	 * "tls-unique" or "tls-exporter" and its data, or NULL: no -PLUS. */
	const char *cb_type;
	const unsigned char *cb;
	size_t cb_len;
};

struct scram;

struct sasl {
	enum sasl_mech mech;
	int step;
	const char *challenge; /* base64, NUL-terminated, after SASL_CHALLENGE */
	char challenge_buf[SASL_CHALLENGE_MAX];
	char user[SASL_USER_MAX + 1];
	char pass[SASL_PASS_MAX + 1];
	struct auth_pool *pool;
	char ip[48];
	struct scram *scram; /* SCRAM's state, on the heap; sasl_clear frees it */
};

/* A mechanism name in any case; SASL_MECH_NONE if unknown. */
enum sasl_mech sasl_mech_parse(const char *name, size_t len);
/* Its name as advertised ("SCRAM-SHA-256"), and as logged ("scram-sha-256"). */
const char *sasl_mech_name(enum sasl_mech mech);
const char *sasl_mech_log_name(enum sasl_mech mech);
/* Room for a channel binding's data (struct sasl_peer's cb). */
#define SASL_CB_MAX 64
/* The mechanisms to advertise, strongest first, separated by sep (" " for
 * SMTP and POP3, " AUTH=" for IMAP, which must prefix the first itself):
 * the -PLUS ones only when plus (the connection has a channel binding). */
const char *sasl_mech_list_sep(bool plus, const char *sep, char *buf, size_t len);
/* "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN". */
const char *sasl_mech_list(void);

/* Begin an exchange. initial is the initial response as sent (base64, "="
 * for an empty one) or NULL if the client sent none. peer may be NULL (unit
 * tests: SCRAM then takes sasl_scram_test_keys). */
enum sasl_status sasl_start_peer(struct sasl *s, enum sasl_mech mech, const char *initial,
                                 size_t len, const struct sasl_peer *peer);
enum sasl_status sasl_start(struct sasl *s, enum sasl_mech mech, const char *initial, size_t len);
/* Feed the next client response line (base64 or "*"). */
enum sasl_status sasl_step(struct sasl *s, const char *resp, size_t len);
/* Forget everything, secrets first. */
void sasl_clear(struct sasl *s);
/* After SASL_DONE: the check, answered through done like auth_check()'s
 * (later, on the loop; auth_cancel() applies). NULL on allocation failure. */
struct auth_req *sasl_auth_check(struct sasl *s, auth_done_fn done, void *ud);
bool sasl_is_scram(enum sasl_mech mech);

/* RFC 4648 base64 (standard alphabet, padding required, no whitespace).
 * Returns the decoded length, or -1 if invalid or longer than outcap. */
long sasl_base64_decode(const char *in, size_t len, unsigned char *out, size_t outcap);
/* Returns the encoded length (NUL-terminated), or -1 if outcap is too small. */
long sasl_base64_encode(const unsigned char *in, size_t len, char *out, size_t outcap);

#endif
