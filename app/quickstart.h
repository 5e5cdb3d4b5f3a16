/* quickstart: the parts of `tern quickstart` (app/cli_quickstart.c) that
 * are not the store's: the configuration it writes, and the files and
 * directories it makes. */
#ifndef TERN_QUICKSTART_H
#define TERN_QUICKSTART_H

#include <stdbool.h>
#include <stddef.h>

struct quickstart_site {
	const char *address;  /* the first account, user@domain */
	const char *domain;   /* its domain: [server] domain */
	const char *hostname; /* [server] hostname, the MX */
	const char *data_dir; /* absolute */
	bool acme;            /* [[tls.acme]] entries for Let's Encrypt */
};

/* The standard ports: SMTP 25, submission 587 (STARTTLS) and 465 (TLS),
 * POP3 110/995, IMAP 143/993, HTTP 80 and HTTPS 443. Listing and names
 * for the summary. */
extern const char quickstart_ports[];

/* The whole config file for site, listening on every interface. 0, or -1
 * when it does not fit in out. */
int quickstart_config_text(const struct quickstart_site *site, char *out, size_t len);

/* mkdir -p path; the last directory gets mode, those above it 0755.
 * 0, or -1 with errno. */
int quickstart_mkdirs(const char *path, unsigned mode);

/* Replace (or create) path with text: a temporary file beside it, fsync,
 * rename, fsync of the directory; an existing file is kept as path.bak
 * when backup is set. 0, or -1 with err. */
int quickstart_write_file(const char *path, const char *text, bool backup, char *err,
                          size_t errlen);

/* path made absolute against the current directory ("." and ".." parts
 * are left for the kernel). 0, or -1 (too long, no cwd). */
int quickstart_absolute(const char *path, char *out, size_t len);

/* ---- names and the password (app/quickstart_names.c) ---- */

#define QUICKSTART_PASSWORD_LEN 24

/* A random password of QUICKSTART_PASSWORD_LEN characters from the
 * kernel's CSPRNG. 0, or -1. */
int quickstart_password(char out[QUICKSTART_PASSWORD_LEN + 1]);
/* A host name of two or more labels, the last not numeric. */
bool quickstart_valid_hostname(const char *s);
/* user@domain, a dot-atom local part; lowercases the domain in place and
 * points *domain at it. */
bool quickstart_valid_address(char *addr, char **domain);

#endif
