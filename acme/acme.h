/* acme: certificates from an ACME CA (RFC 8555), kept valid while tern
 * runs.
 *
 * Each [[tls.acme]] entry is one certificate for its domains, stored as
 * <data_dir>/acme/<first domain>.crt and .key. acme_init() reads what is
 * on disk, so the TLS server can start with it; acme_start() orders what
 * is missing, expired or no longer covers the configured names, and
 * renews each certificate at two thirds of its lifetime. A failed order
 * is retried after 1 min, doubling up to 6 h. When a certificate has been
 * stored, services.installed() is called: the app hands the new file list
 * to the TLS server, which swaps it in without dropping a connection.
 *
 * Log lines are "acme event=..."; keys are never logged. Loop thread
 * only. */
#ifndef TERN_ACME_H
#define TERN_ACME_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tls/tls.h"

enum acme_challenge_type { ACME_HTTP_01 = 0, ACME_TLS_ALPN_01 = 1 };

/* tls-alpn-01 needs mbedTLS 3.x (tls_alpn_challenge_supported()); the
 * config and acme_init() refuse it otherwise, with this message. */
#define ACME_TLS_ALPN_UNSUPPORTED                                                                  \
	"tls.acme.challenge = \"tls-alpn-01\" needs tern built with mbedTLS 3.x: mbedTLS 2.28 "    \
	"has no certificate-selection callback to pick a certificate by ALPN; use \"http-01\""

/* One [[tls.acme]] entry, as the config holds it. */
struct acme_entry_config {
	char directory[512]; /* the CA's directory URL (https) */
	char contact[256];   /* "mailto:..." or "" */
	char domains[1024];  /* comma-separated; the first names the files */
	char ca_file[512];   /* PEM to verify the CA's HTTPS with; "": system CAs */
	int challenge;       /* enum acme_challenge_type */
};

struct acme_services {
	uv_loop_t *loop;
	const char *data_dir;
	void (*installed)(void *ud); /* a new certificate is on disk */
	void *ud;
};

/* Load the account key (made on first use) and the certificates on disk.
 * entries must outlive acme_stop(). 0, or -1 with err (a bad domain list,
 * an unreadable CA file, a data folder that cannot be made). */
int acme_init(const struct acme_entry_config *entries, size_t n, const struct acme_services *svc,
              char *err, size_t errlen);
/* Start ordering and renewing (orders begin on the loop). */
void acme_start(void);
/* Stop timers and orders in flight; their handles close on the loop. */
void acme_stop(void);
/* After the loop has run the closes: free the rest. */
void acme_free(void);

/* SIGHUP: look at the files again. A certificate that is no longer
 * servable (deleted by `tern acme revoke`, replaced by hand with a bad
 * one) stops being listed by acme_certs() and is ordered at once. Returns
 * how many entries changed that way. */
size_t acme_recheck(void);

/* `tern acme revoke DOMAIN`, in the CLI's process (blocking, on the
 * default loop): revoke the certificate on disk of the entry naming
 * domain at its CA (RFC 8555 §7.6, signed with the account key, reason
 * keyCompromise) and, once the CA confirmed, delete its .crt and .key.
 * 0, or -1 with err (nothing deleted). */
int acme_revoke(const struct acme_entry_config *entries, size_t n, const char *data_dir,
                const char *domain, char *err, size_t errlen);

/* The certificates that can be served now (present, matching, not
 * expired), in configuration order. Returns how many were written. */
size_t acme_certs(struct tls_cert_spec *out, size_t max);
/* The earliest notAfter (Unix time) among them, 0 when there is none. */
int64_t acme_earliest_expiry(void);

/* Split "a.example, b.example" into names (lower-cased in buf). Returns
 * the count, or -1 for an empty list, too many names or a name that is
 * not a plain DNS name. */
int acme_split_domains(const char *list, char *buf, size_t buflen, char **names, size_t max);

#endif
