/* main: the `tern` command line.
 *
 *   tern quickstart | serve | check-config | domain | user | alias | queue | token | webhook |
 *   sieve | contacts | acme | dkim | version
 *
 * Admin commands open the same SQLite store as the running server (WAL lets
 * both work at once) and write through store_exec(). Passwords come from a
 * prompt on the terminal, or one line on stdin with --password-stdin; never
 * from argv, where `ps` would show them. Errors go to stderr, exit non-zero,
 * and say what to do next. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/auth.h"
#include "app/cli.h"
#include "app/config.h"
#include "app/config_env.h"
#include "lib/log.h"
#include "app/serve.h"

static const char usage_main[] =
    "tern — a complete mail server in one binary\n"
    "\n"
    "usage: tern [--config FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  quickstart ADDRESS        set up: config, domain, account, DKIM, DNS records\n"
    "  serve                     run the server (SMTP, submission, POP3, IMAP)\n"
    "  check-config              load and check the configuration, then exit\n"
    "  domain add|list|del|dns   manage the domains tern receives mail for\n"
    "  user add|list|passwd|quota|del\n"
    "                            manage accounts\n"
    "  alias add|list|del        manage aliases, including catch-all @domain\n"
    "  queue list|show|retry|delete|bounce\n"
    "                            inspect and manage the outbound queue\n"
    "  token create|list|revoke  API tokens (the admin API: /api/admin/)\n"
    "  webhook add|list|delete|queue|retry\n"
    "                            delivery webhooks of an account or domain\n"
    "  sieve list|put|get|activate|delete\n"
    "                            an account's Sieve scripts, run at delivery\n"
    "  contacts import|export|list\n"
    "                            an account's address books, from and to .vcf files\n"
    "  acme revoke DOMAIN        revoke an ACME certificate and delete it\n"
    "  dkim keygen|list|retire   DKIM keys per domain\n"
    "  tlsrpt show [--day D] [--domain D] [--json]\n"
    "                            TLS-RPT counters of outbound sessions (RFC 8460)\n"
    "  backup FILE               a consistent copy of the store, while it serves\n"
    "  restore FILE              install a backup (the server must be stopped)\n"
    "  verify                    check the store's integrity and invariants\n"
    "  export ACCOUNT --format maildir|mbox DIR\n"
    "                            write an account's mail as Maildir or mbox\n"
    "  import ACCOUNT --format maildir|mbox|dovecot PATH\n"
    "                            add mail from a Maildir, mbox or Dovecot Maildir\n"
    "  spf check IP FROM HELO    evaluate SPF for a client, as the mx listener would\n"
    "  dmarc check --from DOMAIN [--spf RESULT:DOMAIN] [--dkim RESULT:DOMAIN]...\n"
    "                            evaluate DMARC for a From domain\n"
    "  health                    is the running server answering? (exit 0/1)\n"
    "  log level LEVEL           change the running server's log level\n"
    "  stats [--json]            count domains, accounts, messages, bytes, queue\n"
    "  version                   print the version\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   configuration file (default: $TERN_CONFIG, else\n"
    "                      $TERN_DATA_DIR/tern.toml if it exists, else the\n"
    "                      embedded default: loopback ports, ./tern-data)\n"
    "\n"
    "environment: TERN_DOMAIN, TERN_HOSTNAME, TERN_DATA_DIR, TERN_LOG_LEVEL and\n"
    "TERN_LISTEN (\"imaps=0.0.0.0:993 smtp=0.0.0.0:25 ...\") set those keys under\n"
    "the config file: a file's keys win.\n"
    "  -h, --help          this help; `tern COMMAND --help` for a command\n";

static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* The embedded default, the TERN_* variables over it, then the file
 * (app/config_env.h). */
static int load_config(const char *path, struct config *cfg)
{
	config_defaults(cfg);
	char err[1024], found[600];
	if (config_env_apply(cfg, getenv, err, sizeof err) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		return -1;
	}
	if (!path || !*path)
		path = config_env_file(getenv, found, sizeof found);
	if (!path)
		return 0;
	if (config_load_file(cfg, path, err, sizeof err) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		fprintf(stderr,
		        "tern: fix the configuration (see config.example.toml), then run "
		        "`tern check-config --config %s`\n",
		        path);
		return -1;
	}
	return 0;
}

static void print_key(void *ud, const char *section, const char *key, const char *type,
                      const char *def)
{
	printf("%s.%s %s %s\n", section, key, type, def);
}

static int cmd_check_config(struct config *cfg, int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		printf("usage: tern [--config FILE] check-config [--keys]\n\n"
		       "Loads the configuration and reports the first error with its file,\n"
		       "line and key. --keys lists every known key with its type and default.\n");
		return 0;
	}
	if (argc > 0 && strcmp(argv[0], "--keys") == 0) {
		config_each_key(print_key, NULL);
		return 0;
	}
	printf("configuration ok: %s\n", cfg->path[0] ? cfg->path : "(embedded default)");
	if (cfg->env_vars[0])
		printf("  from the environment: %s (a file's keys win)\n", cfg->env_vars);
	for (size_t i = 0; i < cfg->nlisten; i++)
		printf("  listen %-10s %-22s tls=%s\n",
		       config_protocol_name(cfg->listen[i].protocol), cfg->listen[i].address,
		       config_tls_name(cfg->listen[i].tls));
	printf("  data_dir %s, domain %s, hostname %s\n", cfg->data_dir, cfg->domain,
	       cfg->hostname);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_path = getenv("TERN_CONFIG");
	int i = 1;
	for (; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)) {
			if (i + 1 >= argc) {
				fprintf(stderr, "tern: %s needs a file name\n", argv[i]);
				return 2;
			}
			config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_main, stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "tern: unknown option %s\n\n%s", argv[i], usage_main);
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "tern: no command given\n\n%s", usage_main);
		return 2;
	}
	const char *cmd = argv[i++];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;

	/* Options may also follow the command: `tern serve --config x`. */
	for (int j = 0; j < sub_argc; j++) {
		if ((strcmp(sub_argv[j], "-c") == 0 || strcmp(sub_argv[j], "--config") == 0) &&
		    j + 1 < sub_argc) {
			config_path = sub_argv[j + 1];
			memmove(&sub_argv[j], &sub_argv[j + 2],
			        sizeof(char *) * (size_t)(sub_argc - j - 2));
			sub_argc -= 2;
			j--;
		}
	}

	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("tern %s\n", TERN_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}

	if (strcmp(cmd, "quickstart") == 0) { /* writes the config it may find missing */
		log_set_level(LOG_WARN);
		return cli_quickstart(config_path, sub_argc, sub_argv);
	}

	struct config cfg;
	if (strcmp(cmd, "serve") == 0) {
		if (wants_help(sub_argc, sub_argv)) {
			printf(
			    "usage: tern [--config FILE] serve\n\n"
			    "Runs every listener of the configuration on one event loop.\n"
			    "With no configuration: SMTP 127.0.0.1:2525, submission 2587 "
			    "(STARTTLS)\n"
			    "and 2465 (TLS), POP3 2110/2995, IMAP 2143/2993, data in ./tern-data,\n"
			    "domain localhost, a self-signed certificate made on first start.\n"
			    "SIGTERM/SIGINT stop gracefully; SIGHUP reloads certificates.\n");
			return 0;
		}
		if (sub_argc > 0) {
			fprintf(stderr,
			        "tern serve: unexpected argument '%s' (see tern serve --help)\n",
			        sub_argv[0]);
			return 2;
		}
		if (load_config(config_path, &cfg) < 0)
			return 1;
		int level = log_level_parse(cfg.log_level);
		log_set_level(level < 0 ? LOG_INFO : (enum log_level)level);
		int format = log_format_parse(cfg.log_format);
		log_set_format(format < 0 ? LOG_FORMAT_LOGFMT : (enum log_format)format);
		return serve_run(&cfg);
	}
	if (strcmp(cmd, "check-config") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cmd_check_config(NULL, sub_argc, sub_argv);
		if (sub_argc > 0 && strcmp(sub_argv[0], "--keys") == 0)
			return cmd_check_config(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		return cmd_check_config(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "domain") == 0 || strcmp(cmd, "user") == 0 || strcmp(cmd, "alias") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_admin(NULL, cmd, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_admin(&cfg, cmd, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "queue") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_queue(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_queue(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "token") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_token(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_token(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "webhook") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_webhook(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_webhook(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "sieve") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_sieve(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_sieve(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "contacts") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_contacts(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_contacts(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "acme") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_acme(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_acme(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "dkim") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_dkim(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_dkim(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "tlsrpt") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_tlsrpt(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_tlsrpt(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "health") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_health(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		return cli_health(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0 ||
	    strcmp(cmd, "verify") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_backup(NULL, cmd, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return strcmp(cmd, "verify") == 0 ? 2 : 1;
		log_set_level(LOG_WARN);
		return cli_backup(&cfg, cmd, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "export") == 0 || strcmp(cmd, "import") == 0) {
		int (*run)(const struct config *, int, char **) =
		    cmd[0] == 'e' ? cli_export : cli_import;
		if (wants_help(sub_argc, sub_argv))
			return run(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return run(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "spf") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_spf(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_spf(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "dmarc") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_dmarc(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_dmarc(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "stats") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_stats(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		log_set_level(LOG_WARN);
		return cli_stats(&cfg, sub_argc, sub_argv);
	}
	if (strcmp(cmd, "log") == 0) {
		if (wants_help(sub_argc, sub_argv))
			return cli_log(NULL, sub_argc, sub_argv);
		if (load_config(config_path, &cfg) < 0)
			return 1;
		return cli_log(&cfg, sub_argc, sub_argv);
	}
	fprintf(stderr, "tern: unknown command '%s'\n\n%s", cmd, usage_main);
	return 2;
}
