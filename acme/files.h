/* files: what acme/ keeps on disk (<data_dir>/acme/), written so that a
 * crash never leaves half a file, and the checks a certificate passes
 * before tern serves it. */
#ifndef TERN_ACME_FILES_H
#define TERN_ACME_FILES_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* mkdir -p with mode 0700. 0 or -1 (errno). */
int acme_mkdir_p(const char *path);

/* A PEM chain (NUL-terminated, len without the NUL) and its key (PEM):
 * both parse, the key is the leaf's, and the leaf's names cover every one
 * of domains. Fills the leaf's validity. 0, or -1 with err. */
int acme_cert_check_pem(const char *chain, size_t len, const char *key_pem, size_t key_len,
                        char *const *domains, size_t ndomains, time_t *not_before,
                        time_t *not_after, char *err, size_t errlen);
/* The same for files on disk. -1 with err also when a file is missing. */
int acme_cert_check_files(const char *crt_path, const char *key_path, char *const *domains,
                          size_t ndomains, time_t *not_before, time_t *not_after, char *err,
                          size_t errlen);

#endif
