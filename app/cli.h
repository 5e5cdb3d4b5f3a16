#ifndef TERN_CLI_H
#define TERN_CLI_H
#include "app/config.h"

#include <stddef.h>
#include <stdint.h>

/* A unix time as "2026-12-06T08:00:00Z" (UTC), "-" for none (<= 0). */
void cli_fmt_time(int64_t t, char *out, size_t len);
/* `tern domain|user|alias ...`; cfg NULL prints the command's help. */
int cli_admin(const struct config *cfg, const char *cmd, int argc, char **argv);
/* `tern queue ...`; cfg NULL prints its help. */
int cli_queue(const struct config *cfg, int argc, char **argv);
/* `tern token ...`; cfg NULL prints its help. */
int cli_token(const struct config *cfg, int argc, char **argv);
/* `tern acme revoke DOMAIN`; cfg NULL prints its help. */
int cli_acme(const struct config *cfg, int argc, char **argv);
#endif
