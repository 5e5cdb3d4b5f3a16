/* sasl: the server side of SASL PLAIN (RFC 4616) and LOGIN
 * (draft-murchison-sasl-login), shared by SMTP AUTH, IMAP AUTHENTICATE and
 * POP3 AUTH.
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
 * Secrets live only in the struct; sasl_clear() wipes them and must be
 * called when the exchange ends, however it ends. */
#ifndef TERN_SASL_H
#define TERN_SASL_H

#include <stdbool.h>
#include <stddef.h>

#define SASL_USER_MAX 320
#define SASL_PASS_MAX 512
#define SASL_CHALLENGE_MAX 64

enum sasl_mech { SASL_MECH_NONE = 0, SASL_MECH_PLAIN, SASL_MECH_LOGIN };

enum sasl_status {
	SASL_CHALLENGE = 1,  /* send s->challenge, then feed the answer to sasl_step() */
	SASL_DONE = 0,       /* s->user and s->pass are ready to check */
	SASL_CANCELLED = -1, /* the client sent "*" */
	SASL_EBASE64 = -2,   /* the response is not valid base64 */
	SASL_EPROTO = -3,    /* decoded, but malformed (missing NULs, too long, NUL in a name) */
	SASL_EAUTHZID = -4,  /* PLAIN asked to act as another identity: refused */
};

struct sasl {
	enum sasl_mech mech;
	int step;
	char challenge[SASL_CHALLENGE_MAX]; /* base64, NUL-terminated */
	char user[SASL_USER_MAX + 1];
	char pass[SASL_PASS_MAX + 1];
};

/* "PLAIN" / "LOGIN" in any case; SASL_MECH_NONE if unknown. */
enum sasl_mech sasl_mech_parse(const char *name, size_t len);
/* The mechanism list to advertise: "PLAIN LOGIN". */
const char *sasl_mech_list(void);

/* Begin an exchange. initial is the initial response as sent (base64, "="
 * for an empty one) or NULL if the client sent none. */
enum sasl_status sasl_start(struct sasl *s, enum sasl_mech mech, const char *initial, size_t len);
/* Feed the next client response line (base64 or "*"). */
enum sasl_status sasl_step(struct sasl *s, const char *resp, size_t len);
/* Forget everything, secrets first. */
void sasl_clear(struct sasl *s);

/* RFC 4648 base64 (standard alphabet, padding required, no whitespace).
 * Returns the decoded length, or -1 if invalid or longer than outcap. */
long sasl_base64_decode(const char *in, size_t len, unsigned char *out, size_t outcap);
/* Returns the encoded length (NUL-terminated), or -1 if outcap is too small. */
long sasl_base64_encode(const unsigned char *in, size_t len, char *out, size_t outcap);

#endif
