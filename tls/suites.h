/* suites: which TLS cipher suites tern offers, by who is on the other end.
 *
 * TLS_PROFILE_CLIENTS: people's clients (submission, IMAP, POP3; HTTP when
 * it comes). A client that cannot do ECDHE with AES-GCM or ChaCha20-Poly1305
 * is a decade old; refusing it costs nothing, and everything else (CBC's
 * padding oracles, SHA-1 MACs, static-RSA key exchange without forward
 * secrecy) is what attacks have used. TLS 1.3's suites are all AEAD.
 *
 * TLS_PROFILE_MTA: other mail servers (the mx listeners, the outbound
 * relay). There TLS is opportunistic: a refused handshake means the mail
 * goes in plaintext, which is worse than any suite. So the list is wider,
 * as Postfix's default for opportunistic TLS is: also AES-CBC with SHA-256
 * or SHA-384 MACs and RSA key exchange. Never SHA-1 MACs, CCM_8 (a
 * truncated 8-byte tag) or Camellia. */
#ifndef TERN_TLS_SUITES_H
#define TERN_TLS_SUITES_H

enum tls_profile {
	TLS_PROFILE_CLIENTS = 0,
	TLS_PROFILE_MTA,
};

/* A zero-terminated list of IANA suite ids for mbedtls_ssl_conf_ciphersuites
 * (static storage), TLS 1.3's first when this mbedTLS speaks it. */
const int *tls_suites(enum tls_profile profile);

#endif
