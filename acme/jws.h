/* jws: the ACME account key and the requests signed with it (RFC 8555
 * §6.2: JWS in flattened JSON, ES256 over P-256).
 *
 * The account key is stored as PEM and made on first use. Its public half
 * as a JWK (RFC 7517) goes into newAccount's protected header; later
 * requests name the account by its URL ("kid"). The JWK thumbprint
 * (RFC 7638) is what an http-01 key authorization ends with. */
#ifndef TERN_ACME_JWS_H
#define TERN_ACME_JWS_H

#include <stddef.h>

#include <mbedtls/pk.h>

struct acme_key {
	mbedtls_pk_context pk;
	char jwk[256];       /* canonical JSON: {"crv":"P-256","kty":"EC","x":..,"y":..} */
	char thumbprint[48]; /* base64url SHA-256 of jwk */
};

/* A fresh P-256 key in pk (initialised by the caller). 0 or mbedTLS error. */
int acme_key_generate(mbedtls_pk_context *pk);
/* Load the PEM key at path, or make one and store it there (mode 0600).
 * Fills jwk and thumbprint. 0 or -1 with err. */
int acme_key_load_or_create(struct acme_key *k, const char *path, char *err, size_t errlen);
/* Fill jwk and thumbprint from k->pk (a P-256 key). 0 or -1. */
int acme_key_describe(struct acme_key *k);
void acme_key_free(struct acme_key *k);

/* RFC 7638: base64url(SHA-256(the JWK's required members, sorted, no
 * whitespace)). jwk_json holds exactly the required members. 0 or -1. */
int acme_jwk_thumbprint(const char *jwk_json, char out[48]);

/* An ECDSA signature from DER (SEQUENCE { r, s }) to JWS's fixed-size
 * r || s (RFC 7518 §3.4). 0 or -1 on malformed input. */
int acme_ecdsa_der_to_raw(const unsigned char *der, size_t len, unsigned char out[64]);

/* The flattened JWS of payload (a JSON text, or "" for POST-as-GET) for
 * url with nonce, naming the account by kid, or by its JWK when kid is
 * NULL. A malloc'd JSON text, or NULL. */
char *acme_jws(struct acme_key *k, const char *url, const char *nonce, const char *kid,
               const char *payload);

#endif
