/* objectid: RFC 8474 object identifiers (objectid.h). */
#include "proto/imap/objectid.h"

bool imap_objectid_valid(const char *s, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int64_t imap_objectid_number(const char *s, size_t n, char prefix)
{
	/* case-sensitive (RFC 8474 §7); no leading zero, at most 18 digits */
	if (n < 2 || n > 19 || s[0] != prefix || s[1] == '0')
		return -1;
	int64_t v = 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}
