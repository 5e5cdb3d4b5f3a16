#ifndef TERN_CLI_H
#define TERN_CLI_H
#include "app/config.h"

#include <stddef.h>
#include <stdint.h>

/* A unix time as "2026-12-06T08:00:00Z" (UTC), "-" for none (<= 0). */
void cli_fmt_time(int64_t t, char *out, size_t len);
/* A size in bytes as "500M", "2G", "1536K" when it divides evenly, else
 * bytes ("1000"). */
void cli_fmt_size(int64_t bytes, char *out, size_t len);
/* `tern export|import ACCOUNT [--mailbox M] --format F PLACE`: the
 * arguments both take. On a usage error prints it (with usage) and
 * returns 2; else 0, with mailbox NULL when not given. PLACE is called
 * place_name ("DIR", "PATH") in the messages. */
struct cli_transfer_args {
	const char *account, *mailbox, *format, *place;
};
int cli_transfer_args(const char *cmd, const char *usage, const char *place_name, int argc,
                      char **argv, struct cli_transfer_args *out);
/* "500M", "2G", "1048576", "0", "none": bytes (K, M, G, T are powers of
 * 1024; a trailing B is allowed). 0, or -1 when s is not a size. */
int cli_parse_size(const char *s, int64_t *out);
/* The file at path ("-": standard input) whole, NUL-terminated, into *out
 * (malloc'd; *len its size), refused with a message naming `tern cmd` when
 * unreadable or larger than max bytes. 0 or -1. */
int cli_read_input(const char *cmd, const char *path, size_t max, char **out, size_t *len);
/* The store opened (*st) and the account with that address found: 0, or
 * -1 with the store closed and a message naming `tern group cmd`. */
struct store;
int cli_open_account(const struct config *cfg, const char *group, const char *cmd,
                     const char *address, struct store **st, int64_t *account_id);
struct store_rd;
/* `tern domain dns NAME`: the records to publish, as zone-file lines. */
int cli_domain_dns(const struct config *cfg, struct store_rd *rd, const char *domain);
/* `tern dkim ...`; cfg NULL prints its help. */
int cli_dkim(const struct config *cfg, int argc, char **argv);
/* `tern domain|user|alias ...`; cfg NULL prints the command's help. */
int cli_admin(const struct config *cfg, const char *cmd, int argc, char **argv);
/* `tern queue ...`; cfg NULL prints its help. */
int cli_queue(const struct config *cfg, int argc, char **argv);
/* `tern token ...`; cfg NULL prints its help. */
int cli_token(const struct config *cfg, int argc, char **argv);
/* `tern webhook ...` (cli_webhook.c); cfg NULL prints its help. */
int cli_webhook(const struct config *cfg, int argc, char **argv);
/* `tern sieve ...` (cli_sieve.c); cfg NULL prints its help. */
int cli_sieve(const struct config *cfg, int argc, char **argv);
/* `tern contacts ...` (cli_contacts.c); cfg NULL prints its help. */
int cli_contacts(const struct config *cfg, int argc, char **argv);
/* `tern quickstart ADDRESS ...`: config_path is --config or $TERN_CONFIG
 * (NULL: DATA_DIR/tern.toml). */
int cli_quickstart(const char *config_path, int argc, char **argv);
/* `tern spf check IP MAIL_FROM HELO`; cfg NULL prints its help. */
int cli_spf(const struct config *cfg, int argc, char **argv);
/* `tern dmarc check --from DOMAIN [--spf R:D] [--dkim R:D]...`; cfg NULL prints its help. */
int cli_dmarc(const struct config *cfg, int argc, char **argv);
/* `tern acme revoke DOMAIN`; cfg NULL prints its help. */
int cli_acme(const struct config *cfg, int argc, char **argv);
/* `tern health`: 0 when the running server answers, else 1; cfg NULL
 * prints its help. */
int cli_health(const struct config *cfg, int argc, char **argv);
/* `tern backup|restore|verify ...` (cli_backup.c, cli_verify.c); cfg NULL
 * prints the command's help. */
int cli_backup(const struct config *cfg, const char *cmd, int argc, char **argv);
int cli_verify(const struct config *cfg, int argc, char **argv);
/* `tern export ...` and `tern import ...` (cli_export.c, cli_import.c);
 * cfg NULL prints the command's help. */
int cli_export(const struct config *cfg, int argc, char **argv);
int cli_import(const struct config *cfg, int argc, char **argv);
/* `tern log level LEVEL`; cfg NULL prints its help. */
int cli_log(const struct config *cfg, int argc, char **argv);
/* `tern tlsrpt show [--day D] [--domain D] [--json]`; cfg NULL prints its help. */
int cli_tlsrpt(const struct config *cfg, int argc, char **argv);
/* `tern stats [--json]`; cfg NULL prints its help. */
int cli_stats(const struct config *cfg, int argc, char **argv);
#endif
