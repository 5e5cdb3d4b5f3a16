/* auth_results: format our Authentication-Results field (RFC 8601) and
 * recognise incoming ones that claim our authserv-id (section 5). Kept
 * apart from the session so that the exact bytes are unit-tested. */
#include "mailauth/auth_results.h"
#include "mime/header.h"

#include <string.h>
#include <strings.h>

/* RFC 2045 token characters (RFC 8601 value = token / quoted-string). */
static bool token_char(unsigned char c)
{
	if (c <= 32 || c >= 127)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A pvalue: as it is when it is a token (or local@domain with token
 * parts when allow_at), else a quoted-string; control characters are
 * dropped, they have no place in a header field. */
static int add_value(struct buf *out, const char *v, bool allow_at)
{
	size_t n = strlen(v), ats = 0;
	bool plain = n > 0;
	for (size_t i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '@' && allow_at && i > 0 && i + 1 < n && ++ats == 1)
			continue;
		/* '.' and '-' are token characters already; '/' '=' '+' of
		 * base64 are not all: header.b gets quoted. */
		plain = token_char(c);
	}
	if (plain)
		return buf_add(out, v, n);
	if (buf_addc(out, '"') < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 32 || c == 127)
			continue;
		if ((c == '"' || c == '\\') && buf_addc(out, '\\') < 0)
			return -1;
		if (buf_addc(out, (char)c) < 0)
			return -1;
	}
	return buf_addc(out, '"');
}

/* ";\r\n\t" before every method result but the first, which follows the
 * authserv-id. */
static int next_method(struct buf *out)
{
	return buf_adds(out, ";\r\n\t");
}

static int add_spf(const struct auth_results *ar, struct buf *out)
{
	bool mail = ar->spf_mail_from && ar->spf_mail_from[0];
	if (next_method(out) < 0 || buf_printf(out, "spf=%s ", spf_result_name(ar->spf)) < 0)
		return -1;
	if (mail)
		return buf_adds(out, "smtp.mailfrom=") < 0
		           ? -1
		           : add_value(out, ar->spf_mail_from, true);
	if (buf_adds(out, "smtp.helo=") < 0)
		return -1;
	return add_value(out, ar->spf_helo && ar->spf_helo[0] ? ar->spf_helo : "unknown", false);
}

static int add_dkim(const struct dkim_sig_result *r, struct buf *out)
{
	if (next_method(out) < 0 || buf_printf(out, "dkim=%s", dkim_result_name(r->result)) < 0)
		return -1;
	if (r->result != DKIM_PASS && r->reason && r->reason[0]) {
		if (buf_adds(out, " reason=") < 0 || add_value(out, r->reason, false) < 0)
			return -1;
	}
	if (r->domain[0] &&
	    (buf_adds(out, " header.d=") < 0 || add_value(out, r->domain, false) < 0))
		return -1;
	if (r->selector[0] &&
	    (buf_adds(out, " header.s=") < 0 || add_value(out, r->selector, false) < 0))
		return -1;
	if (r->b[0] && (buf_adds(out, " header.b=") < 0 || add_value(out, r->b, false) < 0))
		return -1;
	return 0;
}

/* RFC 7489 11.2's words (RFC 9989 keeps them), here so that the field does not wait on dmarc.c. */
static const char *dmarc_word(enum dmarc_result r)
{
	static const char *const words[] = {
	    [DMARC_NONE] = "none",           [DMARC_PASS] = "pass",           [DMARC_FAIL] = "fail",
	    [DMARC_TEMPERROR] = "temperror", [DMARC_PERMERROR] = "permerror",
	};
	return (unsigned)r < sizeof words / sizeof words[0] ? words[r] : "none";
}

static int add_arc(const struct auth_results *ar, struct buf *out)
{
	const char *word = ar->arc == ARC_PASS ? "pass" : ar->arc == ARC_FAIL ? "fail" : "none";
	if (next_method(out) < 0 || buf_printf(out, "arc=%s", word) < 0)
		return -1;
	if (ar->arc == ARC_PASS && ar->arc_oldest_pass > 1 &&
	    buf_printf(out, " header.oldest-pass=%u", ar->arc_oldest_pass) < 0)
		return -1;
	if (ar->arc != ARC_NONE && ar->arc != ARC_PENDING && ar->arc_remote_ip &&
	    ar->arc_remote_ip[0] &&
	    (buf_adds(out, " smtp.remote-ip=") < 0 || add_value(out, ar->arc_remote_ip, false) < 0))
		return -1;
	return 0;
}

/* " (text)": a comment (RFC 5322 ccontent), quoting what must be. */
static int add_comment(struct buf *out, const char *text)
{
	if (buf_adds(out, " (") < 0)
		return -1;
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 32 || c == 127)
			continue;
		if ((c == '(' || c == ')' || c == '\\') && buf_addc(out, '\\') < 0)
			return -1;
		if (buf_addc(out, (char)c) < 0)
			return -1;
	}
	return buf_addc(out, ')');
}

static int add_dmarc(const struct auth_results *ar, struct buf *out)
{
	if (next_method(out) < 0 || buf_printf(out, "dmarc=%s", dmarc_word(ar->dmarc)) < 0)
		return -1;
	if (ar->dmarc_comment && ar->dmarc_comment[0] && add_comment(out, ar->dmarc_comment) < 0)
		return -1;
	if (ar->dmarc_from && ar->dmarc_from[0] &&
	    (buf_adds(out, " header.from=") < 0 || add_value(out, ar->dmarc_from, false) < 0))
		return -1;
	if (ar->dmarc_policy && ar->dmarc_policy[0] &&
	    (buf_adds(out, " policy.dmarc=") < 0 || add_value(out, ar->dmarc_policy, false) < 0))
		return -1;
	return 0;
}

int auth_results_format(const struct auth_results *ar, struct buf *out)
{
	if (buf_adds(out, "Authentication-Results: ") < 0 ||
	    add_value(out, ar->authserv_id && ar->authserv_id[0] ? ar->authserv_id : "localhost",
	              false) < 0)
		return -1;
	bool any = false;
	if (ar->spf_checked) {
		if (add_spf(ar, out) < 0)
			return -1;
		any = true;
	}
	if (ar->dkim_checked) {
		size_t n = ar->ndkim < AUTH_RESULTS_MAX_DKIM ? ar->ndkim : AUTH_RESULTS_MAX_DKIM;
		for (size_t i = 0; i < n; i++)
			if (ar->dkim[i] && add_dkim(ar->dkim[i], out) < 0)
				return -1;
		if (n == 0 && (next_method(out) < 0 || buf_adds(out, "dkim=none") < 0))
			return -1;
		any = true;
	}
	if (ar->arc_checked) {
		if (add_arc(ar, out) < 0)
			return -1;
		any = true;
	}
	if (ar->dmarc_checked) {
		if (add_dmarc(ar, out) < 0)
			return -1;
		any = true;
	}
	if (!any && buf_adds(out, "; none") < 0)
		return -1;
	return buf_adds(out, "\r\n");
}

bool auth_results_is_ours(const char *value, size_t len, const char *id)
{
	char got[256];
	size_t n = 0, i = mime_skip_cfws(value, len, 0);
	if (!id || !id[0])
		return false;
	if (i < len && value[i] == '"') {
		for (i++; i < len && value[i] != '"'; i++) {
			if (value[i] == '\\' && i + 1 < len)
				i++;
			if (value[i] == '\r' || value[i] == '\n')
				continue;
			if (n + 1 >= sizeof got)
				return false;
			got[n++] = value[i];
		}
	} else {
		/* authserv-id is a value: a token; '@' and '/' appear in
		 * the wild (and '.' is a token character), so the id runs
		 * to the first blank, ';' or comment. */
		for (; i < len && value[i] != ';' && value[i] != '(' && value[i] != ' ' &&
		       value[i] != '\t' && value[i] != '\r' && value[i] != '\n';
		     i++) {
			if (n + 1 >= sizeof got)
				return false;
			got[n++] = value[i];
		}
	}
	got[n] = '\0';
	return n > 0 && strcasecmp(got, id) == 0;
}
