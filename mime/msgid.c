/* msgid: Message-ID / In-Reply-To / References as thread keys (msgid.h). */
#include "mime/msgid.h"
#include "mime/header.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Calls fn for each msg-id of v[0..n) in order ("<a@b>" -> "a@b"),
 * skipping (comments); stops when fn returns false. */
static void each_id(const char *v, size_t n, bool (*fn)(void *ud, const char *id, size_t len),
                    void *ud)
{
	size_t i = 0;
	int depth = 0;
	while (i < n) {
		char c = v[i];
		if (c == '\\' && depth > 0) {
			i += 2;
			continue;
		}
		if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (c == '<' && depth == 0) {
			size_t st = ++i;
			while (i < n && v[i] != '>' && v[i] != '<')
				i++;
			if (i >= n)
				return;
			if (v[i] == '<')
				continue; /* "<a <b>": start again at the second */
			if (!fn(ud, v + st, i - st))
				return;
		}
		i++;
	}
}

static bool id_ok(const char *id, size_t len)
{
	if (len == 0 || len > MIME_MSGID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

/* A copy of id in out->buf, or NULL when it does not fit. */
static const char *keep(struct mime_thread_ids *out, const char *id, size_t len)
{
	if (out->used + len + 1 > sizeof out->buf)
		return NULL;
	char *p = out->buf + out->used;
	memcpy(p, id, len);
	p[len] = '\0';
	out->used += len + 1;
	return p;
}

static bool known(const struct mime_thread_ids *out, const char *id, size_t len)
{
	if (out->message_id && strlen(out->message_id) == len &&
	    memcmp(out->message_id, id, len) == 0)
		return true;
	for (size_t i = 0; i < out->nparents; i++)
		if (strlen(out->parents[i]) == len && memcmp(out->parents[i], id, len) == 0)
			return true;
	return false;
}

struct first {
	const char *id;
	size_t len;
};

static bool take_first(void *ud, const char *id, size_t len)
{
	struct first *f = ud;
	if (!id_ok(id, len))
		return true;
	f->id = id;
	f->len = len;
	return false;
}

/* References: remember the last MIME_MSGID_MAX_PARENTS valid ids (a ring). */
struct refs {
	struct first ring[MIME_MSGID_MAX_PARENTS];
	size_t n; /* ids seen */
};

static bool take_ref(void *ud, const char *id, size_t len)
{
	struct refs *r = ud;
	if (id_ok(id, len))
		r->ring[r->n++ % MIME_MSGID_MAX_PARENTS] = (struct first){id, len};
	return true;
}

static void add_parent(struct mime_thread_ids *out, const char *id, size_t len)
{
	if (out->nparents >= MIME_MSGID_MAX_PARENTS || known(out, id, len))
		return;
	const char *p = keep(out, id, len);
	if (p)
		out->parents[out->nparents++] = p;
}

void mime_thread_ids_read(const char *msg, size_t len, struct mime_thread_ids *out)
{
	memset(out, 0, sizeof *out);
	struct first mid = {0}, irt = {0};
	struct refs refs = {0};
	bool have_mid = false, have_irt = false, have_refs = false;
	size_t pos = 0;
	const char *name, *value;
	size_t nlen, vlen;
	while (mime_header_next(msg, &pos, len, &name, &nlen, &value, &vlen) == 1) {
		/* the first field of each name counts (RFC 5322 allows one) */
		if (!have_mid && nlen == 10 && strncasecmp(name, "Message-ID", 10) == 0) {
			have_mid = true;
			each_id(value, vlen, take_first, &mid);
		} else if (!have_irt && nlen == 11 && strncasecmp(name, "In-Reply-To", 11) == 0) {
			have_irt = true;
			each_id(value, vlen, take_first, &irt);
		} else if (!have_refs && nlen == 10 && strncasecmp(name, "References", 10) == 0) {
			have_refs = true;
			each_id(value, vlen, take_ref, &refs);
		}
	}
	if (mid.id)
		out->message_id = keep(out, mid.id, mid.len);
	if (irt.id)
		add_parent(out, irt.id, irt.len);
	size_t kept = refs.n < MIME_MSGID_MAX_PARENTS ? refs.n : MIME_MSGID_MAX_PARENTS;
	for (size_t k = 0; k < kept; k++) {
		const struct first *f = &refs.ring[(refs.n - 1 - k) % MIME_MSGID_MAX_PARENTS];
		add_parent(out, f->id, f->len);
	}
}
