/* test_imap_metadata_entry: METADATA entry names (RFC 5464 §3.2) checked
 * and folded, and their match against an entry and a DEPTH
 * (proto/imap/metadata_entry.c). */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <string.h>

#include "check.h"

static const char *fold(const char *name, bool prefix)
{
	static char out[IMAP_METADATA_ENTRY_MAX + 1];
	ssize_t n = imap_metadata_entry(name, strlen(name), out, sizeof out, prefix);
	return n < 0 ? NULL : out;
}

int main(void)
{
	static const char *const good[] = {
	    "/private/comment", "/shared/comment",       "/Shared/Comment",
	    "/private/a/b/c",   "/shared/vendor/tern/x", "/private/vendor/vendor.dovecot/a/b",
	    "/shared/a b",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK(fold(good[i], false) != NULL, "%s accepted", good[i]);
	CHECK(strcmp(fold("/Shared/Comment", false), "/shared/comment") == 0, "folded");

	static const char *const bad[] = {
	    "",
	    "/",
	    "private/comment",
	    "/private",
	    "/shared",
	    "/other/comment",
	    "/private/comment/",
	    "/private//comment",
	    "/private/com*ent",
	    "/private/com%ent",
	    "/private/caf\xc3\xa9",
	    "/private/a\tb",
	    "/private/a\x7f",
	    "/shared/vendor",
	    "/shared/vendor/tern",
	    "/privatex/a",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(fold(bad[i], false) == NULL, "%s refused", bad[i]);
	/* what GETMETADATA may look below */
	CHECK(fold("/private", true) && fold("/SHARED", true) && fold("/shared/vendor", true),
	      "prefixes for GETMETADATA");
	CHECK(!fold("/privatex", true) && !fold("/", true) && !fold("/shared/", true),
	      "not prefixes");
	char big[IMAP_METADATA_ENTRY_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "/shared/", 8);
	char out[sizeof big + 1];
	CHECK(imap_metadata_entry(big, strlen(big), out, sizeof out, false) == -EINVAL, "too long");
	CHECK(imap_metadata_entry(big, IMAP_METADATA_ENTRY_MAX, out, sizeof out, false) ==
	          IMAP_METADATA_ENTRY_MAX,
	      "longest");

	CHECK(imap_metadata_match("/a", 0, "/a"), "itself");
	CHECK(!imap_metadata_match("/a", 0, "/a/b"), "depth 0");
	CHECK(imap_metadata_match("/a", 1, "/a/b"), "child");
	CHECK(!imap_metadata_match("/a", 1, "/a/b/c"), "grandchild at depth 1");
	CHECK(imap_metadata_match("/a", -1, "/a/b/c"), "grandchild at infinity");
	CHECK(!imap_metadata_match("/a", -1, "/ab"), "a sibling with the same start");
	return check_report("test_imap_metadata_entry");
}
