/* first_start: the postmaster account of a fresh data directory, and
 * where its password goes (see first_start.h). */
#include "app/first_start.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "app/config.h"
#include "auth/auth.h"
#include "auth/scram_keys.h"
#include "lib/log.h"
#include "store/accounts.h"
#include "store/store.h"

struct first_start {
	const char *domain;
	char address[320];
	char password[32];
	char hash[256];
	char scram_sha1[SCRAM_KEYS_TEXT_MAX];
	char scram_sha256[SCRAM_KEYS_TEXT_MAX];
	bool created;
};

static int first_start_job(struct store_tx *tx, void *arg)
{
	struct first_start *fs = arg;
	if (store_domain_exists(store_tx_reader(tx), fs->domain) != 1) {
		int rc = store_domain_add(tx, fs->domain);
		if (rc < 0)
			return rc;
	}
	if (store_account_count(store_tx_reader(tx)) > 0)
		return 0;
	int64_t id;
	int rc = store_account_add(tx, fs->address, fs->hash, &id);
	if (rc == 0)
		rc = store_account_set_scram(tx, fs->address, NULL, fs->scram_sha1,
		                             fs->scram_sha256);
	if (rc == 0)
		fs->created = true;
	return rc;
}

/* On a terminal, once; never to the log. */
static int show_password(const struct first_start *fs)
{
	printf("\n  tern: created account %s\n  password: %s\n"
	       "  (shown only now; change it with: tern user passwd %s)\n\n",
	       fs->address, fs->password, fs->address);
	fflush(stdout);
	return 0;
}

static void password_path(const struct config *cfg, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", cfg->data_dir, FIRST_START_PASSWORD_FILE);
}

/* Without a terminal (a service manager, a container, a pipe) a printed
 * password would end up in a journal or a log collector: it goes to a
 * file only root and tern can read instead. */
static int keep_password(const struct config *cfg, const struct first_start *fs)
{
	char path[600];
	password_path(cfg, path, sizeof path);
	unlink(path); /* a stale one, from a data directory that was emptied */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_error("event=first_start_failed file=%s err=\"%s\"", path, strerror(errno));
		return -1;
	}
	char line[128];
	int n = snprintf(line, sizeof line, "%s\n", fs->password);
	bool ok = n > 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	explicit_bzero(line, sizeof line);
	if (close(fd) != 0 || !ok) {
		log_error("event=first_start_failed file=%s err=\"%s\"", path, strerror(errno));
		unlink(path);
		return -1;
	}
	log_info("event=postmaster_password account=%s file=%s hint=\"tern user passwd %s\"",
	         fs->address, path, fs->address);
	return 0;
}

bool first_start_password_changed(const struct config *cfg, const char *address)
{
	char postmaster[320], path[600];
	snprintf(postmaster, sizeof postmaster, "postmaster@%s", cfg->domain);
	if (strcasecmp(address, postmaster) != 0)
		return false;
	password_path(cfg, path, sizeof path);
	return unlink(path) == 0;
}

static void random_password(char *out, size_t len)
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char raw[64];
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(raw, 1, sizeof raw, f) != sizeof raw) {
		fprintf(stderr, "tern: cannot read /dev/urandom\n");
		exit(1);
	}
	fclose(f);
	for (size_t i = 0; i + 1 < len && i < sizeof raw; i++)
		out[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
	out[len - 1] = '\0';
}

int first_start(const struct config *cfg, struct store *store)
{
	struct first_start fs = {.domain = cfg->domain};
	struct store_rd *rd = store_reader(store);
	if (store_domain_exists(rd, fs.domain) == 1 || store_account_count(rd) > 0) {
		if (store_domain_exists(rd, fs.domain) != 1)
			log_warn(
			    "event=primary_domain_missing domain=%s hint=\"tern domain add %s\"",
			    fs.domain, fs.domain);
		return 0;
	}
	snprintf(fs.address, sizeof fs.address, "postmaster@%s", fs.domain);
	random_password(fs.password, 17);
	char err[256];
	int made = auth_hash_password(fs.password, fs.hash, sizeof fs.hash, err, sizeof err);
	if (made == 0 && scram_keys_make(fs.password, fs.scram_sha1, fs.scram_sha256) < 0) {
		snprintf(err, sizeof err, "making the SCRAM keys failed");
		made = -1;
	}
	if (made < 0) {
		log_error("event=first_start_failed err=\"%s\"", err);
		return -1;
	}
	int rc = store_exec(store, first_start_job, &fs);
	if (rc < 0) {
		log_error("event=first_start_failed err=%d", rc);
		return -1;
	}
	if (fs.created) {
		log_info("event=account_created address=%s reason=first_start", fs.address);
		rc = isatty(STDOUT_FILENO) ? show_password(&fs) : keep_password(cfg, &fs);
	}
	explicit_bzero(fs.password, sizeof fs.password);
	return rc;
}
