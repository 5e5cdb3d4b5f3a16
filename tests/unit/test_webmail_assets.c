/* test_webmail_assets: the front end compiled in is web/ as it is now.
 *
 * Every .html/.css/.js file under web/ (node_modules aside) must be in the
 * table byte for byte (so the build did regenerate it), with its content
 * type, a gzip copy that inflates back to the same bytes, and an ETag that
 * is the content's hash; webmail_asset_find() takes exact names only. Run
 * from the source tree (ctest's working directory). */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "proto/http/webmail_assets.h"
#include "tests/unit/check.h"

static int inflates_to(const struct webmail_asset *a)
{
	unsigned char *out = malloc(a->len + 1);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (!out || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(out);
		return 0;
	}
	z.next_in = (Bytef *)a->gz;
	z.avail_in = (uInt)a->gzlen;
	z.next_out = out;
	z.avail_out = (uInt)a->len + 1;
	int rc = inflate(&z, Z_FINISH);
	int ok = rc == Z_STREAM_END && z.total_out == a->len && memcmp(out, a->body, a->len) == 0;
	inflateEnd(&z);
	free(out);
	return ok;
}

static void expected_etag(const unsigned char *d, size_t len, char out[40])
{
	uint64_t h1 = 1469598103934665603ull, h2 = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < len; i++) {
		h1 = (h1 ^ d[i]) * 1099511628211ull;
		h2 = (h2 ^ d[i]) * 1099511628211ull;
	}
	snprintf(out, 40, "\"%016llx%016llx\"", (unsigned long long)h1, (unsigned long long)h2);
}

static int files_seen;

static void check_file(const char *path, const char *name)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		CHECK(0, "cannot read %s", path);
		return;
	}
	static unsigned char buf[1 << 21];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	const struct webmail_asset *a = webmail_asset_find(name, strlen(name));
	CHECK(a != NULL, "%s is not embedded", name);
	if (!a)
		return;
	files_seen++;
	CHECK(a->len == n && memcmp(a->body, buf, n) == 0, "%s differs from web/ (stale build?)",
	      name);
}

static void walk(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	CHECK(d != NULL, "cannot open %s", dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "node_modules") == 0)
			continue;
		char path[1024], name[512];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			char sub[512];
			snprintf(sub, sizeof sub, "%s/", name);
			walk(path, sub);
			continue;
		}
		size_t nl = strlen(name);
		bool web = (nl > 5 && strcmp(name + nl - 5, ".html") == 0) ||
		           (nl > 4 && strcmp(name + nl - 4, ".css") == 0) ||
		           (nl > 3 && strcmp(name + nl - 3, ".js") == 0);
		if (web)
			check_file(path, name);
	}
	closedir(d);
}

int main(void)
{
	CHECK_THAT(webmail_nassets >= 3);
	size_t gz_total = 0;
	for (size_t i = 0; i < webmail_nassets; i++) {
		const struct webmail_asset *a = &webmail_assets[i];
		char tag[40];
		expected_etag(a->body, a->len, tag);
		CHECK(strcmp(a->etag, tag) == 0, "%s: ETag %s, not the content's hash %s", a->name,
		      a->etag, tag);
		if (a->gz) {
			CHECK(a->gzlen < a->len, "%s: a gzip copy that is not smaller", a->name);
			CHECK(inflates_to(a), "%s: the gzip copy does not inflate to the file",
			      a->name);
		}
		gz_total += a->gz ? a->gzlen : a->len;
		CHECK(webmail_asset_find(a->name, strlen(a->name)) == a, "%s not found by name",
		      a->name);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(webmail_assets[j].name, a->name) != 0, "%s twice", a->name);
	}
	CHECK(gz_total <= 150 * 1024, "%zu bytes gzipped", gz_total);

	const struct webmail_asset *index = webmail_asset_find("index.html", 10);
	CHECK(index && strcmp(index->content_type, "text/html; charset=utf-8") == 0, "index.html");
	const struct webmail_asset *app = webmail_asset_find("app.js", 6);
	CHECK(app && strcmp(app->content_type, "text/javascript; charset=utf-8") == 0, "app.js");
	const struct webmail_asset *css = webmail_asset_find("style.css", 9);
	CHECK(css && strcmp(css->content_type, "text/css; charset=utf-8") == 0, "style.css");
	CHECK(webmail_asset_find("views/list.js", 13) != NULL, "a file in a subfolder");
	CHECK_THAT(webmail_asset_find("index.htm", 9) == NULL);
	CHECK_THAT(webmail_asset_find("index.html2", 11) == NULL);
	CHECK_THAT(webmail_asset_find("index.html", 5) == NULL);
	CHECK_THAT(webmail_asset_find("", 0) == NULL);
	CHECK_THAT(webmail_asset_find("../web/index.html", 17) == NULL);
	CHECK_THAT(webmail_asset_find("/index.html", 11) == NULL);

	walk("web", "");
	CHECK(files_seen >= 10, "only %d files of web/ checked", files_seen);
	CHECK((size_t)files_seen == webmail_nassets, "%zu embedded, %d in web/", webmail_nassets,
	      files_seen);
	return check_report("test_webmail_assets");
}
