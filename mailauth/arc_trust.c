/* arc_trust: may a DMARC failure be overridden by an ARC chain (arc.h)?
 *
 * RFC 8617 §7.2: a receiver may trust what a sealer it knows recorded
 * before the message was changed on the way (a mailing list, a
 * forwarder). The chain must pass, so every seal verifies; then the
 * oldest instance sealed by a configured sealer domain is the one that
 * saw the message closest to its origin, and its AAR must say dmarc=pass
 * (or, if it has no dmarc result, some dkim=pass or spf=pass).
 *
 * The AAR is read with a small RFC 8601 resinfo scanner: the payload is
 * split at ';' outside comments and quoted strings, and each part's
 * "method[/version] = result" is taken. */
#include "mailauth/arc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* Skips whitespace and (nested) comments. */
static const char *skip_cfws(const char *p, const char *end)
{
	for (;;) {
		while (p < end && ws(*p))
			p++;
		if (p == end || *p != '(')
			return p;
		int depth = 0;
		for (; p < end; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

/* Scans the payload for method's results: each one found goes to match
 * (lowercased into out); the scan stops when match returns true. */
static bool scan(const char *payload, size_t len, const char *method, char *out, size_t outlen,
                 bool (*match)(const char *result, const void *arg), const void *arg)
{
	const char *p = payload, *end = payload + len;
	bool first = true; /* the authserv-id part */
	size_t mlen = strlen(method);
	while (p < end) {
		/* one part: up to ';' outside comments and quotes */
		const char *start = p;
		int depth = 0;
		bool quoted = false;
		for (; p < end; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (quoted)
				quoted = *p != '"';
			else if (*p == '"')
				quoted = true;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && depth > 0)
				depth--;
			else if (*p == ';' && depth == 0)
				break;
		}
		const char *part_end = p;
		if (p < end)
			p++;
		if (first) {
			first = false;
			continue;
		}
		const char *q = skip_cfws(start, part_end), *m = q;
		while (q < part_end && token_char(*q))
			q++;
		size_t n = (size_t)(q - m);
		if (q < part_end && *q == '/') { /* method version */
			q++;
			while (q < part_end && token_char(*q))
				q++;
		}
		q = skip_cfws(q, part_end);
		if (q == part_end || *q != '=' || n != mlen || strncasecmp(m, method, n) != 0)
			continue;
		q = skip_cfws(q + 1, part_end);
		const char *r = q;
		while (q < part_end && token_char(*q))
			q++;
		if (q == r || (size_t)(q - r) >= outlen)
			continue;
		for (size_t i = 0; i < (size_t)(q - r); i++)
			out[i] = r[i] >= 'A' && r[i] <= 'Z' ? (char)(r[i] + 32) : r[i];
		out[q - r] = '\0';
		if (match(out, arg))
			return true;
	}
	return false;
}

static bool any(const char *result, const void *arg)
{
	return true;
}

static bool equals(const char *result, const void *arg)
{
	return strcmp(result, arg) == 0;
}

bool arc_aar_method_result(const char *payload, size_t len, const char *method, char *out,
                           size_t outlen)
{
	return scan(payload, len, method, out, outlen, any, NULL);
}

/* Some result of method in the payload is pass. */
static bool has_pass(const char *payload, size_t len, const char *method)
{
	char res[32];
	return scan(payload, len, method, res, sizeof res, equals, "pass");
}

bool arc_trusted_override(const struct arc_verify *v, const char *const *sealers, size_t n,
                          unsigned *instance, const char **why)
{
	*instance = 0;
	const struct arc_result *r = arc_verify_result(v);
	if (r->status != ARC_PASS) {
		*why = "the ARC chain does not pass";
		return false;
	}
	for (unsigned i = 1; i <= r->instances; i++) {
		const struct arc_instance *in = arc_verify_instance(v, i);
		if (!in || !in->seal_ok)
			continue;
		bool trusted = false;
		for (size_t k = 0; k < n && !trusted; k++)
			trusted = strcasecmp(in->seal_domain, sealers[k]) == 0;
		if (!trusted)
			continue;
		*instance = i;
		char res[32];
		if (arc_aar_method_result(in->aar, in->aar_len, "dmarc", res, sizeof res)) {
			bool pass = has_pass(in->aar, in->aar_len, "dmarc");
			*why = pass
			           ? "a trusted sealer saw dmarc=pass"
			           : "the oldest trusted sealer saw a dmarc result other than pass";
			return pass;
		}
		if (has_pass(in->aar, in->aar_len, "dkim") ||
		    has_pass(in->aar, in->aar_len, "spf")) {
			*why = "a trusted sealer saw dkim=pass or spf=pass";
			return true;
		}
		*why = "the oldest trusted sealer saw no passing dmarc, dkim or spf";
		return false;
	}
	*why = "no instance sealed by a trusted sealer";
	return false;
}

int arc_sealers_parse(char *list, const char **out, size_t max, char *why, size_t whylen)
{
	size_t n = 0;
	char *p = list;
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return (int)n;
		char *name = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		bool more = *p != '\0';
		*p = '\0';
		size_t len = strlen(name);
		if (len > 1 && name[len - 1] == '.')
			name[--len] = '\0';
		bool ok = len > 0 && len <= 253 && name[0] != '.' && name[0] != '-';
		for (size_t i = 0; ok && i < len; i++) {
			unsigned char c = (unsigned char)name[i];
			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			     (c == '.' && name[i + 1] != '.');
		}
		if (!ok) {
			snprintf(why, whylen, "\"%.64s\" is not a domain name", name);
			return -1;
		}
		if (n == max) {
			snprintf(why, whylen, "more than %zu sealers", max);
			return -1;
		}
		out[n++] = name;
		if (more)
			p++;
	}
}
