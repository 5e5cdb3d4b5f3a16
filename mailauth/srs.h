/* srs: the Sender Rewriting Scheme, the envelope sender of mail tern
 * forwards (a Sieve redirect) rewritten so that SPF at the destination
 * checks our domain, and read back when a bounce comes home.
 *
 * The forms are libsrs2's (what Postfix's postsrsd and Stalwart send and
 * accept), with the hash in base32 as the brief asked:
 *
 *   SRS0=HHHH=TT=orig-domain=orig-local@our-domain
 *   SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@our-domain
 *
 * TT is the day (unix time / 86400) modulo 1024 in two base32 letters;
 * HHHH the first four base32 letters of HMAC-SHA256(secret, what
 * follows it, lowercased): 20 bits, enough that a forger cannot make us
 * relay to an address of his choice at any useful rate. A sender that
 * is already SRS0 at another forwarder becomes SRS1 (one level, never a
 * chain that grows per hop); SRS1 stays SRS1 with our own hash. Pure:
 * no I/O, the secret and the clock are the caller's. */
#ifndef TERN_MAILAUTH_SRS_H
#define TERN_MAILAUTH_SRS_H

#include <stddef.h>
#include <stdint.h>

#define SRS_ADDR_MAX 512 /* the longest address either way, NUL included */
/* The longest local part made or decoded (RFC 5321 4.5.3.1.1): a longer
 * SRS address would be refused on its way back, by tern's own RCPT too. */
#define SRS_LOCAL_MAX 64
#define SRS_MAX_AGE_DAYS 21
#define SRS_HASH_LEN 4

struct srs_key {
	const unsigned char *secret;
	size_t len;
};

/* Rewrite sender (local@domain, as in MAIL FROM) for forwarding by
 * our_domain at time now. 0: out holds the new sender; -EINVAL: sender is
 * not an address (the null sender is never rewritten: the caller keeps
 * <>); -ENAMETOOLONG: the result does not fit cap (or SRS_ADDR_MAX), or
 * its local part would be longer than SRS_LOCAL_MAX (the caller then
 * keeps a sender of its own). */
int srs_forward(const struct srs_key *k, const char *sender, const char *our_domain, int64_t now,
                char *out, size_t cap);

enum srs_verdict {
	SRS_NOT_SRS = 0, /* no SRS0=/SRS1= local part: an ordinary address */
	SRS_OK = 1,      /* out holds where the bounce goes */
	SRS_MALFORMED = -1,
	SRS_BAD_HASH = -2,
	SRS_EXPIRED = -3, /* SRS0 older than SRS_MAX_AGE_DAYS (or from the future) */
};

/* Read back addr (an SRS address at one of our domains: the caller
 * checks the domain) at time now: an SRS0 gives the original sender, an
 * SRS1 the SRS0 address at the first forwarder. The hash and the SRS
 * tags are compared without regard to case. */
enum srs_verdict srs_reverse(const struct srs_key *k, const char *addr, int64_t now, char *out,
                             size_t cap);

#endif
