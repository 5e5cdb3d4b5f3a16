/* cli_quickstart: `tern quickstart you@example.org` — from nothing to a
 * server that can go on the Internet, in one command.
 *
 * It writes a config (app/quickstart_config.c) unless one is there, then
 * makes, in one store transaction, whatever of these is missing: the
 * domain, the account (with a random password, printed here once and
 * stored only as its hash), postmaster@domain as an alias of it (DMARC
 * and TLS-RPT reports go there) and a DKIM key pair of each kind. Then it
 * prints the DNS records (the code of `tern domain dns`) and how to start.
 *
 * Running it again changes nothing that exists: the config is kept unless
 * --force (the old one then stays as FILE.bak), the account keeps its
 * password unless --reset-password, live DKIM keys are kept; each is
 * said. The password is made and hashed before the transaction, and
 * wiped from memory once printed; it never goes to the log. */
#include "app/cli.h"
#include "app/quickstart.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin.h"
#include "auth/auth.h"
#include "auth/scram_keys.h"
#include "store/store.h"

static const char usage[] =
    "usage: tern quickstart ADDRESS [--hostname HOST] [--data-dir DIR] [--config FILE]\n"
    "                       [--force] [--reset-password] [--no-acme]\n"
    "\n"
    "Sets up tern for ADDRESS (you@example.org) in one step:\n"
    "  - writes FILE (default: DIR/tern.toml; --config, $TERN_CONFIG) with the\n"
    "    standard ports (25, 587, 465, 110, 995, 143, 993, 80, 443) on every\n"
    "    interface, HOST as [server] hostname (default: mail.DOMAIN), DIR as\n"
    "    data_dir (default: $TERN_DATA_DIR, else ./tern-data) and Let's Encrypt\n"
    "    certificates (not with --no-acme);\n"
    "  - creates the domain, the account with a random password (printed once),\n"
    "    postmaster@DOMAIN as its alias, and DKIM keys (RSA and Ed25519);\n"
    "  - prints the DNS records to publish and how to start the server.\n"
    "\n"
    "Run again, it keeps what exists and says so: the config unless --force\n"
    "(the old one is kept as FILE.bak), the password unless --reset-password.\n";

struct options {
	char *address;
	const char *hostname, *data_dir;
	bool force, reset_password, acme;
};

static int parse(int argc, char **argv, struct options *o)
{
	*o = (struct options){.acme = true};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(a, "--hostname") == 0 && has_value)
			o->hostname = argv[++i];
		else if (strcmp(a, "--data-dir") == 0 && has_value)
			o->data_dir = argv[++i];
		else if (strcmp(a, "--force") == 0)
			o->force = true;
		else if (strcmp(a, "--reset-password") == 0)
			o->reset_password = true;
		else if (strcmp(a, "--no-acme") == 0)
			o->acme = false;
		else if (a[0] != '-' && !o->address)
			o->address = argv[i];
		else {
			fprintf(stderr, "tern quickstart: unexpected argument '%s'\n\n%s", a,
			        usage);
			return -1;
		}
	}
	if (!o->address) {
		fprintf(stderr, "tern quickstart: needs the ADDRESS of the first account\n\n%s",
		        usage);
		return -1;
	}
	return 0;
}

/* ---- the store part: one transaction ---- */

struct setup {
	const char *domain;
	const char *address;
	char postmaster[STORE_ADDR_MAX];
	bool reset_password;
	struct admin_op user; /* ADD or PASSWD, with the hash, when hashed */
	bool hashed;          /* user holds a hash */
	struct admin_dkim_key *keys[2];
	size_t nkeys;
	/* what was done */
	bool domain_created, account_created, password_set, alias_created, postmaster_exists;
	int keys_created, keys_live;
};

static int count_live(void *ud, const struct store_dkim_key *k)
{
	if (!k->retired)
		(*(int *)ud)++;
	return 0;
}

static int find_alias(void *ud, const char *source, const char *target)
{
	struct setup *s = ud;
	if (strcasecmp(source, s->postmaster) == 0)
		s->postmaster_exists = true;
	return 0;
}

/* The month's default selector, or "-2", "-3"... after it when a key
 * retired this month already had it: a selector is never reused. */
struct selector_pick {
	char base[STORE_DKIM_SELECTOR_MAX - 4];
	char name[STORE_DKIM_SELECTOR_MAX];
	bool taken;
};

static int selector_taken(void *ud, const struct store_dkim_key *k)
{
	struct selector_pick *p = ud;
	p->taken |= strcmp(k->selector, p->name) == 0;
	return 0;
}

static int fresh_selector(struct store_rd *rd, const char *domain, struct selector_pick *p)
{
	for (int n = 1; n < 100; n++) {
		snprintf(p->name, sizeof p->name, n == 1 ? "%s" : "%s-%d", p->base, n);
		p->taken = false;
		int rc = admin_dkim_keys(rd, domain, selector_taken, p);
		if (rc < 0)
			return rc;
		if (!p->taken)
			return 0;
	}
	return -EEXIST;
}

static int setup_job(struct store_tx *tx, void *arg)
{
	struct setup *s = arg;
	struct store_rd *rd = store_tx_reader(tx);
	struct admin_op op;
	int rc = admin_domain_exists(rd, s->domain);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		admin_op_set(&op, ADMIN_DOMAIN_ADD, s->domain, NULL);
		if ((rc = admin_op_run(tx, &op)) < 0)
			return rc;
		s->domain_created = true;
	}
	rc = admin_user_get(rd, s->address, NULL);
	if (rc < 0)
		return rc;
	if ((rc == 0 || s->reset_password) && !s->hashed)
		return -EAGAIN; /* made meanwhile by someone else: run again */
	if (rc == 0 || s->reset_password) {
		s->user.kind = rc == 0 ? ADMIN_USER_ADD : ADMIN_USER_PASSWD;
		if ((rc = admin_op_run(tx, &s->user)) < 0)
			return rc;
		s->account_created = s->user.kind == ADMIN_USER_ADD;
		s->password_set = true;
	}
	/* postmaster@domain: an account or alias of its own, or this one's */
	s->postmaster_exists = strcasecmp(s->address, s->postmaster) == 0 ||
	                       admin_user_get(rd, s->postmaster, NULL) == 1;
	if (!s->postmaster_exists && (rc = admin_aliases(rd, find_alias, s)) < 0)
		return rc;
	if (!s->postmaster_exists) {
		admin_op_set(&op, ADMIN_ALIAS_ADD, s->postmaster, s->address);
		if ((rc = admin_op_run(tx, &op)) < 0)
			return rc;
		s->alias_created = true;
	}
	s->keys_live = 0;
	if ((rc = admin_dkim_keys(rd, s->domain, count_live, &s->keys_live)) < 0)
		return rc;
	if (s->keys_live > 0)
		return 0;
	if (s->nkeys == 0)
		return -EAGAIN;
	for (size_t i = 0; i < s->nkeys; i++) {
		struct selector_pick pick = {0};
		admin_dkim_selector(s->keys[i]->alg, (int64_t)time(NULL), pick.base,
		                    sizeof pick.base);
		if ((rc = fresh_selector(rd, s->domain, &pick)) < 0)
			return rc;
		admin_op_set(&op, ADMIN_DKIM_ADD, s->domain, pick.name);
		op.key = s->keys[i];
		if ((rc = admin_op_run(tx, &op)) < 0)
			return rc;
		s->keys_created++;
	}
	return 0;
}

/* Make what the transaction may need: the password's hash and SCRAM keys,
 * the DKIM keys. 0, or -1 (said). */
static int prepare(struct setup *s, struct store_rd *rd, char password[QUICKSTART_PASSWORD_LEN + 1])
{
	static struct admin_dkim_key keys[2]; /* 5 KiB each: not on the stack */
	char err[256];
	int have = admin_user_get(rd, s->address, NULL);
	if (have < 0) {
		fprintf(stderr, "tern quickstart: reading the store failed\n");
		return -1;
	}
	if (have == 0 || s->reset_password) {
		char hash[256];
		if (quickstart_password(password) < 0) {
			fprintf(stderr, "tern quickstart: no random numbers (getrandom)\n");
			return -1;
		}
		int rc = auth_hash_password(password, hash, sizeof hash, err, sizeof err);
		if (rc == 0 && admin_op_set(&s->user, ADMIN_USER_ADD, s->address, hash) == 0 &&
		    scram_keys_make(password, s->user.scram_sha1, s->user.scram_sha256) < 0) {
			snprintf(err, sizeof err, "making the SCRAM keys failed");
			rc = -1;
		}
		explicit_bzero(hash, sizeof hash);
		if (rc < 0) {
			fprintf(stderr, "tern quickstart: %s\n", err);
			return -1;
		}
		s->hashed = true;
	}
	int live = 0;
	if (admin_dkim_keys(rd, s->domain, count_live, &live) >= 0 && live == 0) {
		const enum admin_dkim_alg algs[2] = {ADMIN_DKIM_RSA, ADMIN_DKIM_ED25519};
		for (size_t i = 0; i < 2; i++) {
			if (admin_dkim_generate(algs[i], &keys[i], err, sizeof err) < 0) {
				fprintf(stderr, "tern quickstart: %s\n", err);
				return -1;
			}
			s->keys[s->nkeys++] = &keys[i];
		}
	}
	return 0;
}

/* ---- the summary ---- */

static int list_key(void *ud, const struct store_dkim_key *k)
{
	if (!k->retired)
		printf("%s%s (%s)", (*(int *)ud)++ ? ", " : "", k->selector, k->algorithm);
	return 0;
}

static void print_summary(const struct config *cfg, const struct options *o, bool wrote_config,
                          const struct setup *s, struct store_rd *rd, const char *password)
{
	printf("tern quickstart for %s\n\n", s->address);
	if (wrote_config)
		printf("  config    %s: written%s (ports %s on every interface)\n", cfg->path,
		       o->force ? " again (the old one is kept as .bak)" : "", quickstart_ports);
	else
		printf("  config    %s: exists, kept (--force writes a new one)\n", cfg->path);
	printf("  data      %s\n", cfg->data_dir);
	printf("  domain    %s: %s\n", s->domain, s->domain_created ? "created" : "exists, kept");
	printf("  account   %s: %s\n", s->address,
	       s->account_created ? "created (INBOX, Sent, Drafts, Trash, Junk, Archive)"
	       : s->password_set  ? "exists, new password set (--reset-password)"
	                          : "exists, kept with its password (--reset-password sets a "
	                            "new one)");
	if (s->password_set)
		printf("  password  %s\n"
		       "            (shown only now: tern keeps only its hash; change it with\n"
		       "            `tern --config %s user passwd %s`)\n",
		       password, cfg->path, s->address);
	if (strcasecmp(s->address, s->postmaster) != 0)
		printf("  alias     %s: %s\n", s->postmaster,
		       s->alias_created ? "created, delivers to the account (DMARC and TLS "
		                          "reports come there)"
		                        : "exists, kept");
	printf("  DKIM      ");
	int n = 0;
	admin_dkim_keys(rd, s->domain, list_key, &n);
	printf(": %s\n", s->keys_created ? "created" : "exist, kept");
	if (cfg->nacme > 0) {
		printf("  TLS       Let's Encrypt (ACME http-01 on port 80) for");
		for (size_t i = 0; i < cfg->nacme; i++)
			printf("%s%s",
			       i == 0               ? " "
			       : i + 1 < cfg->nacme ? ", "
			                            : " and ",
			       cfg->acme[i].domains);
		printf(",\n            once their DNS points here; self-signed until then\n");
	} else {
		printf("  TLS       self-signed: no [[tls.acme]] or [[tls.cert]] in the config\n"
		       "            (config.example.toml says how to add them)\n");
	}
	if (strcmp(cfg->domain, s->domain) != 0)
		printf("  note      the config's primary domain is %s; %s is one more domain\n",
		       cfg->domain, s->domain);
	printf("\nPublish these DNS records (zone-file lines; `tern domain dns %s` prints them "
	       "again):\n\n",
	       s->domain);
	fflush(stdout);
	cli_domain_dns(cfg, rd, s->domain);
	printf("\nStart the server:\n\n"
	       "  tern --config %s serve\n\n"
	       "  or as a systemd service: contrib/tern.service, with this config as\n"
	       "     /etc/tern/tern.toml (README, \"As a systemd service\")\n"
	       "  or in a container: this config and the data directory in the /data\n"
	       "     volume (README: docker run -p 25:25 ... -v tern-data:/data)\n\n"
	       "Then point a mail client at %s as %s with the password;\n"
	       "Thunderbird and Outlook find the servers by the autoconfig records.\n",
	       cfg->path, cfg->hostname, s->address);
}

/* ---- the command ---- */

/* The config to use: the existing file (kept unless --force), or a new
 * one for site (its text in text), to be written to path. *wrote tells
 * which. 0, or 1 (said). */
static int settle_config(struct config *cfg, const char *path, const struct options *o,
                         const struct quickstart_site *site, char *text, size_t textlen,
                         bool *wrote)
{
	char err[1024];
	*wrote = false;
	config_defaults(cfg);
	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (exists && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "tern quickstart: %s is not a file; give --config a file name\n",
		        path);
		return 1;
	}
	if (!o->force && exists) {
		if (config_load_file(cfg, path, err, sizeof err) < 0) {
			fprintf(stderr,
			        "tern quickstart: %s\n"
			        "tern quickstart: %s exists but is not a valid config: fix it, or "
			        "replace it with --force\n",
			        err, path);
			return 1;
		}
		char want[512];
		if (o->data_dir && (quickstart_absolute(cfg->data_dir, want, sizeof want) < 0 ||
		                    strcmp(want, site->data_dir) != 0)) {
			fprintf(
			    stderr,
			    "tern quickstart: %s keeps its data in %s, not %s: drop --data-dir, "
			    "or replace the config with --force\n",
			    path, cfg->data_dir, site->data_dir);
			return 1;
		}
		if (o->hostname && strcmp(o->hostname, cfg->hostname) != 0)
			fprintf(stderr,
			        "tern quickstart: %s is kept with hostname %s (not %s); --force "
			        "writes a new one\n",
			        path, cfg->hostname, o->hostname);
		return 0;
	}
	if (quickstart_config_text(site, text, textlen) < 0 ||
	    config_load_string(cfg, path, text, strlen(text), err, sizeof err) < 0) {
		fprintf(stderr, "tern quickstart: cannot make a config: %s\n", err);
		return 1;
	}
	snprintf(cfg->path, sizeof cfg->path, "%s", path);
	*wrote = true;
	return 0;
}

int cli_quickstart(const char *config_path, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
	struct options o;
	if (parse(argc, argv, &o) < 0)
		return 2;
	char *domain;
	if (!quickstart_valid_address(o.address, &domain)) {
		fprintf(stderr, "tern quickstart: '%s' is not an address like you@example.org\n",
		        o.address);
		return 2;
	}
	char hostname[256];
	snprintf(hostname, sizeof hostname, "%s%s", o.hostname ? "" : "mail.",
	         o.hostname ? o.hostname : domain);
	for (char *p = hostname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!quickstart_valid_hostname(hostname)) {
		fprintf(stderr, "tern quickstart: '%s' is not a host name like mail.example.org\n",
		        hostname);
		return 2;
	}
	char data_dir[512], path[512];
	/* In the container image TERN_DATA_DIR is /data: quickstart writes
	 * there, where `tern serve` looks for tern.toml, without a flag. */
	const char *env_dir = getenv("TERN_DATA_DIR");
	const char *dir = o.data_dir ? o.data_dir : env_dir && *env_dir ? env_dir : "tern-data";
	if (quickstart_absolute(dir, data_dir, sizeof data_dir) < 0) {
		fprintf(stderr, "tern quickstart: the data directory's path is too long\n");
		return 2;
	}
	int n =
	    config_path && *config_path
	        ? quickstart_absolute(config_path, path, sizeof path)
	        : (snprintf(path, sizeof path, "%s/tern.toml", data_dir) < (int)sizeof path ? 0
	                                                                                    : -1);
	if (n < 0) {
		fprintf(stderr, "tern quickstart: the config file's path is too long\n");
		return 2;
	}

	struct quickstart_site site = {o.address, domain, hostname, data_dir, o.acme};
	static struct config cfg;
	static char text[16384];
	bool wrote;
	int rc = settle_config(&cfg, path, &o, &site, text, sizeof text, &wrote);
	if (rc)
		return rc;

	/* The store first: a data directory that cannot be made or written
	 * fails before any file is written. */
	if (quickstart_mkdirs(cfg.data_dir, 0700) < 0) {
		fprintf(stderr, "tern quickstart: cannot create the data directory %s: %s\n",
		        cfg.data_dir, strerror(errno));
		return 1;
	}
	struct store *st;
	char err[1024];
	if (store_open(&st, cfg.data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern quickstart: cannot open the store in %s: %s\n", cfg.data_dir,
		        err);
		return 1;
	}
	if (wrote && quickstart_write_file(path, text, o.force, err, sizeof err) < 0) {
		fprintf(stderr, "tern quickstart: %s\n", err);
		store_close(&st);
		return 1;
	}

	struct setup s = {
	    .domain = domain, .address = o.address, .reset_password = o.reset_password};
	snprintf(s.postmaster, sizeof s.postmaster, "postmaster@%s", domain);
	char password[QUICKSTART_PASSWORD_LEN + 1] = "";
	rc = prepare(&s, store_reader(st), password);
	if (rc == 0) {
		rc = store_exec(st, setup_job, &s);
		if (rc == -EAGAIN)
			fprintf(stderr,
			        "tern quickstart: the store changed while this ran (another "
			        "tern command?); run it again\n");
		else if (rc < 0)
			fprintf(stderr, "tern quickstart: the store refused the changes: %s\n",
			        strerror(-rc));
	}
	for (size_t i = 0; i < s.nkeys; i++)
		admin_dkim_key_wipe(s.keys[i]);
	explicit_bzero(&s.user, sizeof s.user);
	if (rc == 0)
		print_summary(&cfg, &o, wrote, &s, store_reader(st), password);
	explicit_bzero(password, sizeof password);
	store_close(&st);
	return rc == 0 ? 0 : 1;
}
