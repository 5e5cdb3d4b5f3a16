/* sort_keys: SORT and THREAD keys of a message (see sort_keys.h). */
#include "proto/imap/sort_keys.h"
#include "proto/imap/dates.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "lib/buf.h"
#include "store/msg_index.h"
#include "mime/body_lists.h"
#include "mime/mime.h"

int imap_collate_key(const char *s, size_t len, size_t max, struct buf *out)
{
	if (len == 0)
		return 0;
	const uint8_t *u8 = (const uint8_t *)s;
	if (u8_check(u8, len) != NULL) /* not UTF-8: the octets themselves */
		return buf_add(out, s, len < max ? len : max);
	size_t n32 = 0, nd = 0, n8 = 0;
	uint32_t *u = u8_to_u32(u8, len, NULL, &n32);
	if (!u)
		return -ENOMEM;
	for (size_t i = 0; i < n32; i++)
		u[i] = uc_totitle(u[i]);
	uint32_t *d = u32_normalize(UNINORM_NFKD, u, n32, NULL, &nd);
	free(u);
	if (!d)
		return -ENOMEM;
	uint8_t *o = u32_to_u8(d, nd, NULL, &n8);
	free(d);
	if (!o)
		return -ENOMEM;
	int r = buf_add(out, o, n8 < max ? n8 : max);
	free(o);
	return r;
}

/* ---- base subject (RFC 5256 §2.1) ---- */

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool prefix_ci(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && strncasecmp(s, p, n) == 0;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP: its length at s, or 0. */
static size_t blob_len(const char *s, size_t len)
{
	if (len == 0 || s[0] != '[')
		return 0;
	size_t i = 1;
	while (i < len && s[i] != ']' && s[i] != '[' && s[i] != '\0')
		i++;
	if (i >= len || s[i] != ']')
		return 0;
	i++;
	while (i < len && wsp(s[i]))
		i++;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static size_t refwd_len(const char *s, size_t len)
{
	size_t i;
	if (prefix_ci(s, len, "re"))
		i = 2;
	else if (prefix_ci(s, len, "fwd"))
		i = 3;
	else if (prefix_ci(s, len, "fw"))
		i = 2;
	else
		return 0;
	while (i < len && wsp(s[i]))
		i++;
	i += blob_len(s + i, len - i);
	return i < len && s[i] == ':' ? i + 1 : 0;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP */
static size_t leader_len(const char *s, size_t len, bool *reply)
{
	if (len && wsp(s[0]))
		return 1;
	size_t i = 0, b;
	while ((b = blob_len(s + i, len - i)) > 0)
		i += b;
	size_t r = refwd_len(s + i, len - i);
	if (!r)
		return 0;
	*reply = true;
	return i + r;
}

void imap_base_subject(const char *s, size_t len, size_t *start, size_t *outlen, bool *reply)
{
	size_t a = 0, e = len;
	*reply = false;
	for (;;) {
		/* (2) trailers: "(fwd)" and WSP */
		for (;;) {
			if (e > a && wsp(s[e - 1]))
				e--;
			else if (e - a >= 5 && strncasecmp(s + e - 5, "(fwd)", 5) == 0) {
				e -= 5;
				*reply = true;
			} else
				break;
		}
		/* (3)-(5) leaders and blobs */
		for (bool again = true; again;) {
			again = false;
			size_t l;
			while (a < e && (l = leader_len(s + a, e - a, reply)) > 0) {
				a += l;
				again = true;
			}
			size_t b = blob_len(s + a, e - a);
			if (b > 0) {
				/* only if a non-empty subj-base remains */
				size_t k = a + b;
				while (k < e && wsp(s[k]))
					k++;
				if (k < e) {
					a += b;
					again = true;
				}
			}
		}
		/* (6) "[fwd:" ... "]" */
		if (e - a >= 6 && prefix_ci(s + a, e - a, "[fwd:") && s[e - 1] == ']') {
			a += 5;
			e -= 1;
			*reply = true;
			continue;
		}
		break;
	}
	*start = a;
	*outlen = e - a;
}

int imap_base_subject_of(const char *raw, size_t len, struct buf *out, bool *reply)
{
	struct buf dec = {0}, sp = {0};
	int r = mime_decode_header_value(raw, len, &dec);
	/* (1) tabs and line breaks to space, runs of spaces to one */
	for (size_t i = 0; r == 0 && i < dec.len; i++) {
		char c = dec.data[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && sp.len && sp.data[sp.len - 1] == ' ')
			continue;
		r = buf_addc(&sp, c);
	}
	*reply = false;
	if (r == 0 && sp.len) {
		size_t st, n;
		imap_base_subject(sp.data, sp.len, &st, &n, reply);
		r = buf_add(out, sp.data + st, n);
	}
	buf_free(&dec);
	buf_free(&sp);
	return r;
}

/* ---- Message-IDs ---- */

bool imap_msgid_next(const char *v, size_t len, size_t *pos, char *out, size_t cap)
{
	size_t i = *pos;
	while (i < len) {
		while (i < len && v[i] != '<')
			i++;
		if (i >= len)
			break;
		size_t j = i + 1, w = 0;
		bool ok = true, at = false, quoted = false;
		for (; j < len; j++) {
			char c = v[j];
			if (c == '\\' && quoted && j + 1 < len) {
				c = v[++j];
			} else if (c == '"') {
				quoted = !quoted;
				continue;
			} else if (!quoted && c == '>') {
				break;
			} else if (!quoted && c == '<') {
				ok = false;
				break;
			}
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			    (unsigned char)c < 0x21 || c == 0x7f) {
				if (quoted)
					continue; /* folded quoted text */
				ok = false;
				continue;
			}
			at |= c == '@';
			if (w + 1 >= cap)
				ok = false;
			else
				out[w++] = c;
		}
		if (j >= len) { /* no closing '>' */
			*pos = len;
			return false;
		}
		i = j + 1;
		if (ok && at && w > 0) {
			out[w] = '\0';
			*pos = i;
			return true;
		}
	}
	*pos = len;
	return false;
}

/* The references of RFC 5256 §3: References' valid ids, or else the first
 * valid id of In-Reply-To. Space-separated; at most IMAP_SORT_REFS_MAX
 * bytes, dropping the oldest ids. */
static int refs_of(const struct mime_message *m, struct buf *out)
{
	const char *v;
	size_t vl, pos = 0;
	char id[IMAP_SORT_KEY_MAX + 1];
	struct buf all = {0};
	int r = 0;
	if (mime_header_get(m, m->root, "references", &v, &vl))
		while (r == 0 && imap_msgid_next(v, vl, &pos, id, sizeof id)) {
			if (all.len)
				r = buf_addc(&all, ' ');
			if (r == 0)
				r = buf_adds(&all, id);
		}
	pos = 0;
	if (r == 0 && all.len == 0 && mime_header_get(m, m->root, "in-reply-to", &v, &vl) &&
	    imap_msgid_next(v, vl, &pos, id, sizeof id))
		r = buf_adds(&all, id);
	size_t st = 0;
	while (all.len - st > IMAP_SORT_REFS_MAX) {
		const char *sp = memchr(all.data + st, ' ', all.len - st);
		st = sp ? (size_t)(sp - all.data) + 1 : all.len;
	}
	if (r == 0 && all.len > st) /* all.data is NULL without references */
		r = buf_add(out, all.data + st, all.len - st);
	buf_free(&all);
	return r;
}

/* ---- addresses ---- */

/* The first address of field (a group's members, not its name; a list
 * with only a group name gives that name as the mailbox). */
static const struct mime_address *first_address(const struct mime_address *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].mailbox && a[i].host)
			return &a[i];
	return n && a[0].mailbox ? &a[0] : NULL;
}

/* The collation key of the first address's mailbox (display false) or its
 * RFC 5957 display value (display true). */
static int address_key(const struct mime_message *m, const char *field, bool display,
                       struct buf *out)
{
	const char *v;
	size_t vl, n = 0;
	struct mime_address *a = NULL;
	if (!mime_header_get(m, m->root, field, &v, &vl))
		return 0;
	int r = mime_addresses_parse(v, vl, &a, &n);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	const struct mime_address *f = first_address(a, n);
	struct buf t = {0};
	if (f && display && f->name && *f->name)
		r = mime_decode_header_value(f->name, strlen(f->name), &t);
	if (r == 0 && f && t.len == 0 && f->mailbox) {
		r = buf_adds(&t, f->mailbox);
		if (r == 0 && display && f->host) {
			r = buf_addc(&t, '@');
			if (r == 0)
				r = buf_adds(&t, f->host);
		}
	}
	if (r == 0)
		r = imap_collate_key(t.data, t.len, IMAP_SORT_KEY_MAX, out);
	buf_free(&t);
	mime_addresses_free(&a, n);
	return r;
}

/* ---- the record ---- */

/* A field: 2 bytes of length (little-endian), then the bytes. */
static int put_field(struct buf *out, const char *p, size_t len)
{
	unsigned char h[2] = {(unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
	int r = buf_add(out, h, 2);
	return r == 0 && len ? buf_add(out, p, len) : r;
}

int imap_sort_record(const struct mime_message *m, bool whole, struct buf *out)
{
	const char *v;
	size_t vl;
	unsigned flags = 0;
	int64_t t = 0;
	if (mime_header_get(m, m->root, "date", &v, &vl) && imap_parse_rfc5322_time(v, vl, &t) == 0)
		flags |= IMAP_SORT_HAS_DATE;
	struct buf f[IMAP_SF_COUNT] = {{0}};
	int r = 0;
	bool reply = false;
	if (mime_header_get(m, m->root, "subject", &v, &vl)) {
		struct buf base = {0};
		r = imap_base_subject_of(v, vl, &base, &reply);
		if (r == 0)
			r = imap_collate_key(base.data, base.len, IMAP_SORT_KEY_MAX,
			                     &f[IMAP_SF_SUBJECT]);
		buf_free(&base);
	}
	if (reply)
		flags |= IMAP_SORT_REPLY;
	if (r == 0 && whole) {
		int a = mime_has_attachment(m);
		if (a < 0)
			r = a;
		else if (a)
			flags |= IMAP_SORT_HAS_ATTACHMENT;
	}
	if (r == 0)
		r = address_key(m, "from", false, &f[IMAP_SF_FROM]);
	if (r == 0)
		r = address_key(m, "to", false, &f[IMAP_SF_TO]);
	if (r == 0)
		r = address_key(m, "cc", false, &f[IMAP_SF_CC]);
	if (r == 0)
		r = address_key(m, "from", true, &f[IMAP_SF_DISPLAYFROM]);
	if (r == 0)
		r = address_key(m, "to", true, &f[IMAP_SF_DISPLAYTO]);
	if (r == 0 && mime_header_get(m, m->root, "message-id", &v, &vl)) {
		char id[IMAP_SORT_KEY_MAX + 1];
		size_t pos = 0;
		if (imap_msgid_next(v, vl, &pos, id, sizeof id))
			r = buf_adds(&f[IMAP_SF_MSGID], id);
	}
	if (r == 0)
		r = refs_of(m, &f[IMAP_SF_REFS]);
	unsigned char head[9];
	head[0] = (unsigned char)flags;
	uint64_t ut = (uint64_t)t;
	for (int i = 0; i < 8; i++)
		head[1 + i] = (unsigned char)(ut >> (8 * i));
	if (r == 0)
		r = buf_add(out, head, sizeof head);
	for (int i = 0; r == 0 && i < IMAP_SF_COUNT; i++)
		r = put_field(out, f[i].data, f[i].len);
	for (int i = 0; i < IMAP_SF_COUNT; i++)
		buf_free(&f[i]);
	return r;
}

int imap_sort_record_parse(const void *rec, size_t len, struct imap_sort_info *out)
{
	const unsigned char *p = rec;
	if (!p || len < 9)
		return -EINVAL;
	out->flags = p[0];
	uint64_t ut = 0;
	for (int i = 0; i < 8; i++)
		ut |= (uint64_t)p[1 + i] << (8 * i);
	out->sent_time = (int64_t)ut;
	size_t o = 9;
	for (int i = 0; i < IMAP_SF_COUNT; i++) {
		if (len - o < 2)
			return -EINVAL;
		size_t n = p[o] | (size_t)p[o + 1] << 8;
		o += 2;
		if (len - o < n)
			return -EINVAL;
		out->f[i].p = (const char *)p + o;
		out->f[i].len = n;
		o += n;
	}
	return 0;
}

_Static_assert(IMAP_SORT_HAS_ATTACHMENT == STORE_SORT_HAS_ATTACHMENT,
               "the bit JMAP reads from the stored record");
