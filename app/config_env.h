/* config_env: the common keys from TERN_* environment variables, for a
 * container image (or a service manager) that configures tern without a
 * file.
 *
 *   TERN_DOMAIN      server.domain
 *   TERN_HOSTNAME    server.hostname
 *   TERN_DATA_DIR    server.data_dir; also where tern.toml is looked for
 *   TERN_LOG_LEVEL   server.log_level (debug | info | warn | error)
 *   TERN_LISTEN      the [[listen]] list: "NAME=HOST:PORT ..." separated by
 *                    spaces or commas; NAME says protocol and TLS:
 *                    smtp, submission, pop3, imap, sieve (STARTTLS), submissions,
 *                    pop3s, imaps, https (implicit TLS), http (none)
 *
 * The order is: the embedded default, then these variables, then the
 * config file (--config, $TERN_CONFIG, else $TERN_DATA_DIR/tern.toml when
 * it exists). So the variables are defaults that a file overrides key by
 * key (a file's [[listen]] entries replace the whole list): an image can
 * set them and a user's tern.toml still has the last word. A variable
 * that is set must be valid: an empty or malformed one is an error, never
 * silently the default. */
#ifndef TERN_CONFIG_ENV_H
#define TERN_CONFIG_ENV_H

#include <stddef.h>

#include "app/config.h"

/* Where TERN_DATA_DIR's config file is: <dir>/tern.toml. */
#define CONFIG_ENV_FILE "tern.toml"

/* getenv(), or a test's table. */
typedef char *(*config_env_get_fn)(const char *name);

/* Apply the variables that are set over cfg; their names go to
 * cfg->env_vars, comma-separated. 0, or -1 with err ("TERN_LISTEN: ..."). */
int config_env_apply(struct config *cfg, config_env_get_fn get, char *err, size_t errlen);

/* <TERN_DATA_DIR>/tern.toml into buf when TERN_DATA_DIR is set and that
 * file exists; else NULL. */
const char *config_env_file(config_env_get_fn get, char *buf, size_t len);

/* Log where the configuration came from, and say so when every listener
 * is on a loopback address (the embedded default): only this machine can
 * connect then. `tern serve` calls it once at start. */
void config_env_log(const struct config *cfg);

#endif
