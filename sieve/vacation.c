/* vacation: what RFC 5230 lets an engine decide from the message alone.
 *
 * No response (§4.5, §4.6, RFC 3834 §2): to the null sender; to the user
 * (own addresses, the recipient); to senders that are daemons or list
 * software (MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request); to
 * mail marked Auto-Submitted (other than "no"), Precedence bulk, list or
 * junk, or carrying a List-* field (RFC 2369, 2919); and to mail whose
 * To, Cc, Bcc or Resent-* fields name none of the user's addresses nor
 * the script's :addresses (so Bcc'd list copies get no answer).
 *
 * Whether this sender was answered within :days is not here: that needs
 * memory across runs, which the caller keeps (sieve/sieve.h). The handle
 * that memory is keyed by defaults (§4.2) to a digest of the response's
 * parameters: a script that changes its text answers everyone again. */
#include "sieve/sieve_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool field_is(const struct sieve_field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

/* The value trimmed of white space, compared case-insensitively. */
static bool value_is(const struct sieve_field *f, const char *want)
{
	const char *v = f->value;
	size_t n = f->value_len;
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	size_t wl = strlen(want);
	return n >= wl && strncasecmp(v, want, wl) == 0 &&
	       (n == wl || v[wl] == ';' || v[wl] == ' ' || v[wl] == '(');
}

static bool same_address(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

struct mine {
	const struct sieve_message *msg;
	const struct sieve_strlist *extra;
	bool found;
};

static bool is_mine(const struct mine *m, const char *addr)
{
	if (same_address(addr, m->msg->envelope_to))
		return true;
	for (size_t i = 0; i < m->msg->n_own_addresses; i++)
		if (same_address(addr, m->msg->own_addresses[i]))
			return true;
	for (size_t i = 0; m->extra && i < m->extra->n; i++)
		if (same_address(addr, m->extra->s[i]))
			return true;
	return false;
}

static int recipient_cb(void *ud, const char *local, const char *domain)
{
	struct mine *m = ud;
	char addr[512];
	snprintf(addr, sizeof addr, "%s@%s", local, domain ? domain : "");
	if (is_mine(m, addr)) {
		m->found = true;
		return 1;
	}
	return 0;
}

const char *sieve_vacation_refusal(const struct sieve_message *msg, const struct sieve_headers *h,
                                   const struct sieve_strlist *extra)
{
	const char *from = msg->envelope_from ? msg->envelope_from : "";
	if (!from[0] || strcmp(from, "<>") == 0)
		return "null sender";
	struct mine m = {.msg = msg, .extra = extra};
	if (is_mine(&m, from))
		return "sender is the user";
	const char *at = strrchr(from, '@');
	size_t llen = at ? (size_t)(at - from) : strlen(from);
	static const char *const daemons[] = {"mailer-daemon", "listserv", "majordomo"};
	for (size_t i = 0; i < sizeof daemons / sizeof daemons[0]; i++)
		if (llen == strlen(daemons[i]) && strncasecmp(from, daemons[i], llen) == 0)
			return "sender is a daemon";
	if ((llen >= 6 && strncasecmp(from, "owner-", 6) == 0) ||
	    (llen >= 8 && strncasecmp(from + llen - 8, "-request", 8) == 0))
		return "sender is a list";
	static const char *const list_fields[] = {"List-Id",          "List-Help", "List-Subscribe",
	                                          "List-Unsubscribe", "List-Post", "List-Owner",
	                                          "List-Archive"};
	static const char *const recipient_fields[] = {"To",        "Cc",        "Bcc",
	                                               "Resent-To", "Resent-Cc", "Resent-Bcc"};
	for (size_t i = 0; i < h->n; i++) {
		const struct sieve_field *f = &h->f[i];
		if (field_is(f, "Auto-Submitted") && !value_is(f, "no"))
			return "auto-submitted";
		if (field_is(f, "Precedence") &&
		    (value_is(f, "bulk") || value_is(f, "list") || value_is(f, "junk")))
			return "bulk precedence";
		for (size_t k = 0; k < sizeof list_fields / sizeof list_fields[0]; k++)
			if (field_is(f, list_fields[k]))
				return "mailing list";
	}
	for (size_t i = 0; i < h->n && !m.found; i++)
		for (size_t k = 0; k < sizeof recipient_fields / sizeof recipient_fields[0]; k++)
			if (field_is(&h->f[i], recipient_fields[k]))
				sieve_header_addresses(&h->f[i], recipient_cb, &m);
	if (!m.found)
		return "not addressed to the user";
	return NULL;
}

int sieve_vacation_handle(const char *subject, const char *from, bool mime, const char *reason,
                          struct buf *out)
{
	/* FNV-1a, 64 bits, over the parameters with a separator each. */
	uint64_t hsh = 0xcbf29ce484222325u;
	const char *parts[] = {subject ? subject : "", from ? from : "", mime ? "mime" : "",
	                       reason};
	for (size_t p = 0; p < 4; p++) {
		for (const char *c = parts[p];; c++) {
			hsh ^= (unsigned char)*c;
			hsh *= 0x100000001b3u;
			if (!*c)
				break;
		}
	}
	buf_reset(out);
	return buf_printf(out, "auto-%016llx", (unsigned long long)hsh);
}
