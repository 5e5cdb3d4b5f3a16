/* selfsigned: the certificate for the no-configuration case (see the
 * comment at the top of selfsigned.c for what it contains and why). */
#ifndef TERN_TLS_SELFSIGNED_H
#define TERN_TLS_SELFSIGNED_H

#include <stddef.h>

/* Make sure <dir>/selfsigned.crt and <dir>/selfsigned.key exist
 * (generating them atomically if either is missing), for hostname (NULL
 * or not a plain host name: "localhost"). Returns 0 or -1 with err. */
int tls_selfsigned_ensure(const char *dir, const char *hostname, char *err, size_t errlen);

#endif
