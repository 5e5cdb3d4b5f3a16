/* message: what a run reads of the message: its header fields, indexed
 * once, their values decoded for the header test (RFC 2047 words, RFC 5228
 * §2.7.2) and their addresses split for the address test (§5.1).
 *
 * The reading is mime/'s: the lenient header reader (what stored mail
 * gets: a broken line is skipped, not fatal), its RFC 2047 decoder and its
 * address-list parser, so a script sees a header exactly as IMAP does. */
#include "sieve/sieve_int.h"

#include "mime/header.h"
#include "mime/mime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sieve_headers_index(const char *hdr, size_t len, struct sieve_headers *h)
{
	memset(h, 0, sizeof *h);
	size_t cap = 0, pos = 0;
	struct sieve_field f;
	while (hdr && mime_header_next(hdr, &pos, len, &f.name, &f.name_len, &f.value,
	                               &f.value_len) == 1) {
		if (h->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct sieve_field *nf = realloc(h->f, ncap * sizeof *nf);
			if (!nf) {
				sieve_headers_free(h);
				return -ENOMEM;
			}
			h->f = nf;
			cap = ncap;
		}
		h->f[h->n++] = f;
	}
	return 0;
}

void sieve_headers_free(struct sieve_headers *h)
{
	free(h->f);
	h->f = NULL;
	h->n = 0;
}

int sieve_header_decoded(const struct sieve_field *f, struct buf *out)
{
	buf_reset(out);
	int r = mime_decode_header_value(f->value, f->value_len, out);
	if (r == 0 && !out->data)
		r = buf_add(out, "", 0);
	return r;
}

int sieve_header_addresses(const struct sieve_field *f,
                           int (*cb)(void *ud, const char *local, const char *domain), void *ud)
{
	struct mime_address *a;
	size_t n;
	if (mime_addresses_parse(f->value, f->value_len, &a, &n) < 0)
		return 0; /* unparsable: no addresses */
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		/* A group's start and end are entries without a host. */
		if (!a[i].mailbox || !a[i].host)
			continue;
		r = cb(ud, a[i].mailbox, a[i].host);
	}
	mime_addresses_free(&a, n);
	return r;
}

void sieve_split_address(const char *addr, struct buf *local, struct buf *domain)
{
	buf_reset(local);
	buf_reset(domain);
	const char *at = strrchr(addr, '@');
	size_t llen = at ? (size_t)(at - addr) : strlen(addr);
	buf_add(local, addr, llen);
	buf_add(domain, at ? at + 1 : "", at ? strlen(at + 1) : 0);
	buf_add(local, "", 0);
	buf_add(domain, "", 0);
}

bool sieve_address_ok(const char *a)
{
	const char *at = strrchr(a, '@');
	if (!at || at == a || !at[1] || strlen(a) > 320)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>,\"()[];:\\", *p))
			return false;
	return true;
}
