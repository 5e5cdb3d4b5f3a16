/* csr: the certificate signing request sent to finalize an order: the
 * first domain as CN, every domain as a DNS subjectAltName, signed with
 * the certificate's own key (ECDSA P-256, SHA-256). */
#ifndef TERN_ACME_CSR_H
#define TERN_ACME_CSR_H

#include <stddef.h>

#include <mbedtls/pk.h>

#define ACME_MAX_DOMAINS 32

/* DER into out; *len its length (at the start of out). 0 or -1. */
int acme_csr_make(mbedtls_pk_context *key, char *const *domains, size_t ndomains,
                  unsigned char *out, size_t outlen, size_t *len);

#endif
