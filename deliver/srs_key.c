/* srs_key: the SRS secret's one copy in the process (srs_key.h). */
#include "deliver/srs_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/file.h"
#include "tls/rng.h"

#define SECRET_MAX 256

static unsigned char secret[SECRET_MAX];
static struct srs_key key;
static bool loaded;

void srs_key_set(const unsigned char *s, size_t len)
{
	explicit_bzero(secret, sizeof secret);
	loaded = s && len;
	if (!loaded)
		return;
	if (len > sizeof secret)
		len = sizeof secret;
	memcpy(secret, s, len);
	key = (struct srs_key){secret, len};
}

const struct srs_key *srs_key_get(void)
{
	return loaded ? &key : NULL;
}

/* Read the file's secret; -ENOENT when there is none yet. */
static int read_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
		return -1;
	}
	unsigned char buf[SECRET_MAX];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < 16) {
		snprintf(err, errlen, "%s: too short to be an SRS secret (delete it to make one)",
		         path);
		explicit_bzero(buf, sizeof buf);
		return -1;
	}
	srs_key_set(buf, (size_t)n);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

int srs_key_load(const char *configured, const char *data_dir, char *err, size_t errlen)
{
	if (configured && configured[0]) {
		srs_key_set((const unsigned char *)configured, strlen(configured));
		return 0;
	}
	char path[600];
	snprintf(path, sizeof path, "%s/srs.secret", data_dir);
	int rc = read_file(path, err, errlen);
	if (rc != -ENOENT)
		return rc;
	unsigned char rnd[32];
	char text[2 * sizeof rnd + 2];
	void *ctx = tls_rng_ctx();
	if (!ctx || tls_rng(ctx, rnd, sizeof rnd) != 0) {
		snprintf(err, errlen, "no randomness for the SRS secret");
		return -1;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(text + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof rnd);
	size_t len = strlen(text);
	text[len++] = '\n';
	rc = file_write_atomic(path, text, len, 0600, err, errlen);
	if (rc == 0)
		srs_key_set((const unsigned char *)text, len - 1);
	explicit_bzero(text, sizeof text);
	return rc;
}
