/* static: files under [http] static_dir, for the paths no route claims.
 *
 * What a web server must get right about files, and nothing more: a path
 * is resolved under the directory and refused if it (through a symbolic
 * link, say) leads out of it; a directory is served by its index.html or
 * not at all (no listings); a file is served with its content type, an
 * ETag, and gzip-compressed when the client accepts it (from "<name>.gz"
 * beside it when there is one, else compressed once here).
 *
 * Files are cached on the loop: a few hundred small assets are what this
 * serves (the webmail's), so each is read once and kept, with its
 * compressed copy and its tag, and checked against the file's mtime and
 * size at most once a second. Bounds: files over STATIC_MAX_FILE are 404
 * (this is not a download server), the cache holds at most
 * STATIC_MAX_ENTRIES files and STATIC_MAX_BYTES, and when full it is
 * emptied and refilled (assets are few; a hostile client asking for many
 * names gets 404s, which are not cached). */
#include "proto/http/http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATIC_MAX_FILE (8u << 20)
#define STATIC_MAX_ENTRIES 1024
#define STATIC_MAX_BYTES (64u << 20)

struct entry {
	char *asked; /* the request's path, decoded: the cache's key */
	char *path;  /* the file it resolved to */
	char *data;
	size_t len;
	char *gz;
	size_t gzlen;
	char etag[40];
	const char *type;
	time_t mtime;
	off_t size;
	time_t checked; /* when the file was last stat()ed */
};

static struct {
	struct entry *e;
	size_t n, cap;
	size_t bytes;
	char root[PATH_MAX]; /* realpath of static_dir, for the one it was made for */
	char configured[512];
} cache;

static const struct {
	const char *ext;
	const char *type;
	bool compress;
} types[] = {
    {".html", "text/html; charset=utf-8", true},
    {".htm", "text/html; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".json", "application/json", true},
    {".map", "application/json", true},
    {".svg", "image/svg+xml", true},
    {".xml", "application/xml; charset=utf-8", true},
    {".txt", "text/plain; charset=utf-8", true},
    {".webmanifest", "application/manifest+json", true},
    {".png", "image/png", false},
    {".jpg", "image/jpeg", false},
    {".jpeg", "image/jpeg", false},
    {".gif", "image/gif", false},
    {".webp", "image/webp", false},
    {".ico", "image/x-icon", true},
    {".woff", "font/woff", false},
    {".woff2", "font/woff2", false},
    {".wasm", "application/wasm", false},
};

static const char *type_of(const char *path, bool *compress)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t el = strlen(types[i].ext);
		if (n > el && strcasecmp(path + n - el, types[i].ext) == 0) {
			*compress = types[i].compress;
			return types[i].type;
		}
	}
	*compress = false;
	return "application/octet-stream";
}

static void entry_free(struct entry *e)
{
	free(e->asked);
	free(e->path);
	free(e->data);
	free(e->gz);
}

static void cache_clear(void)
{
	for (size_t i = 0; i < cache.n; i++)
		entry_free(&cache.e[i]);
	cache.n = 0;
	cache.bytes = 0;
}

/* Read a whole regular file of at most max bytes; NULL otherwise. */
static char *read_file(const char *path, size_t max, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char *buf = NULL;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (size_t)st->st_size > max)
		goto out;
	buf = malloc((size_t)st->st_size + 1);
	if (!buf)
		goto out;
	size_t got = 0;
	while (got < (size_t)st->st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st->st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != (size_t)st->st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = got;
out:
	close(fd);
	return buf;
}

static int fill(struct entry *e, const char *path, const struct stat *hint)
{
	(void)hint;
	struct stat st;
	size_t len = 0;
	char *data = read_file(path, STATIC_MAX_FILE, &len, &st);
	if (!data)
		return -1;
	bool compress;
	const char *type = type_of(path, &compress);
	char *gz = NULL;
	size_t gzlen = 0;
	char gzpath[PATH_MAX + 4];
	struct stat gst;
	snprintf(gzpath, sizeof gzpath, "%s.gz", path);
	gz = read_file(gzpath, STATIC_MAX_FILE, &gzlen, &gst);
	if (!gz && compress && len >= 512) {
		struct buf b = {0};
		if (http_gzip(&b, data, len) == 0) {
			gzlen = b.len;
			gz = buf_take(&b);
		}
		buf_free(&b);
	}
	char *asked = e->asked;
	e->asked = NULL;
	entry_free(e);
	e->asked = asked;
	e->path = strdup(path);
	e->data = data;
	e->len = len;
	e->gz = gz;
	e->gzlen = gz ? gzlen : 0;
	e->type = type;
	e->mtime = st.st_mtime;
	e->size = st.st_size;
	e->checked = time(NULL);
	/* nginx's shape: last modification and size, in hex */
	snprintf(e->etag, sizeof e->etag, "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
	         (unsigned long long)st.st_size);
	return e->path ? 0 : -1;
}

static struct entry *lookup(const char *asked)
{
	for (size_t i = 0; i < cache.n; i++)
		if (strcmp(cache.e[i].asked, asked) == 0)
			return &cache.e[i];
	return NULL;
}

/* The cached entry for the request path asked, which resolved to the file
 * at path, read or refreshed as needed; NULL if it cannot be served. */
static struct entry *get(const char *asked, const char *path)
{
	struct entry *e = lookup(asked);
	time_t now = time(NULL);
	if (e && strcmp(e->path, path) != 0) {
		cache.bytes -= e->len + e->gzlen;
		entry_free(e);
		*e = cache.e[--cache.n];
		e = NULL;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	if (e && e->mtime == st.st_mtime && e->size == st.st_size) {
		e->checked = now;
		return e;
	}
	if (!e) {
		if (cache.n == STATIC_MAX_ENTRIES ||
		    cache.bytes + (size_t)st.st_size > STATIC_MAX_BYTES)
			cache_clear();
		if (cache.n == cache.cap) {
			size_t cap = cache.cap ? cache.cap * 2 : 16;
			struct entry *ne = realloc(cache.e, cap * sizeof *ne);
			if (!ne)
				return NULL;
			cache.e = ne;
			cache.cap = cap;
		}
		e = &cache.e[cache.n];
		memset(e, 0, sizeof *e);
		if (!(e->asked = strdup(asked)) || fill(e, path, &st) < 0) {
			entry_free(e);
			return NULL;
		}
		cache.n++;
	} else {
		cache.bytes -= e->len + e->gzlen;
		if (fill(e, path, &st) < 0) {
			entry_free(e);
			*e = cache.e[--cache.n];
			return NULL;
		}
	}
	cache.bytes += e->len + e->gzlen;
	return e;
}

/* path (decoded, no dot segments) under the root, resolved through any
 * links; false if it leaves the root or does not exist. */
static bool resolve(const char *root, const char *path, char *out)
{
	char joined[PATH_MAX];
	if (snprintf(joined, sizeof joined, "%s%s", root, path) >= (int)sizeof joined)
		return false;
	if (!realpath(joined, out))
		return false;
	size_t rl = strlen(root);
	return strncmp(out, root, rl) == 0 && (out[rl] == '/' || out[rl] == '\0');
}

static bool respond(struct http_session *s, const struct entry *e);

bool http_static(struct http_session *s)
{
	const char *dir = s->ctx->settings->static_dir;
	if (!dir[0])
		return false;
	if (strcmp(cache.configured, dir) != 0) {
		cache_clear();
		if (!realpath(dir, cache.root))
			return false;
		snprintf(cache.configured, sizeof cache.configured, "%s", dir);
	}
	/* Checked within this second: served without a system call. */
	struct entry *e = lookup(s->path);
	if (e && e->checked == time(NULL))
		return respond(s, e);
	char file[PATH_MAX];
	if (!resolve(cache.root, s->path, file))
		return false;
	struct stat st;
	if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* a directory: its index.html, never a listing */
		size_t n = strlen(file);
		if (n + sizeof "/index.html" > sizeof file)
			return false;
		memcpy(file + n, "/index.html", sizeof "/index.html");
	}
	e = get(s->path, file);
	if (!e)
		return false;
	return respond(s, e);
}

static bool respond(struct http_session *s, const struct entry *e)
{
	bool html = strncmp(e->type, "text/html", 9) == 0;
	struct http_entity ent = {
	    .content_type = e->type,
	    .extra = "Cache-Control: no-cache\r\n",
	    .body = e->data,
	    .len = e->len,
	    .gz = e->gz,
	    .gzlen = e->gzlen,
	    .etag = e->etag,
	    .flags = html ? HTTP_R_HTML : 0,
	};
	http_respond_entity(s, 200, &ent);
	return true;
}
