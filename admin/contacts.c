/* admin/contacts: `tern contacts import|export|list` without the printing
 * (see contacts.h).
 *
 * Why the file is read twice: contacts/vcard.c judges the whole file (a
 * bad one is refused with its line number before anything is written),
 * and each card's own text is cut from the file by its BEGIN and END
 * lines and read again alone, so the text stored is exactly the card's
 * and the two readings must agree on the number of cards. */
#include "admin/contacts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "contacts/vcard.h"
#include "store/store.h"

#define EMAIL_MAX 320

static void fmt_uuid(char out[37])
{
	unsigned char r[16];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (size_t i = 0; i < sizeof r; i++) /* never in practice */
			r[i] = (unsigned char)rand();
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	         r[13], r[14], r[15]);
}

/* p[0..n) with every bare LF made CRLF, and a last line ended: malloc'd. */
static char *to_crlf(const char *p, size_t n, size_t *out_len)
{
	size_t extra = 2;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			extra++;
	char *o = malloc(n + extra + 1);
	if (!o)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			o[k++] = '\r';
		o[k++] = p[i];
	}
	if (k > 0 && o[k - 1] == '\r') { /* a last line ended by CR alone */
		o[k++] = '\n';
	} else if (k > 0 && o[k - 1] != '\n') {
		o[k++] = '\r';
		o[k++] = '\n';
	}
	o[k] = '\0';
	*out_len = k;
	return o;
}

/* The physical line at p (< end): its length without the line end, and
 * *next the start of the next line. */
static size_t line_at(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *stop = nl ? nl : end;
	*next = nl ? nl + 1 : end;
	if (stop > p && stop[-1] == '\r')
		stop--;
	return (size_t)(stop - p);
}

static bool line_is(const char *p, size_t n, const char *what)
{
	size_t w = strlen(what);
	while (n > w && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n == w && strncasecmp(p, what, w) == 0;
}

struct slice {
	const char *p;
	size_t n;
};

/* The cards' texts in data, from a BEGIN:VCARD line to its END:VCARD
 * line: the count, or -ENOMEM. */
static int split_cards(const char *data, size_t len, struct slice **out)
{
	const char *p = data, *end = data + len, *start = NULL;
	size_t n = 0, cap = 0;
	struct slice *v = NULL;
	while (p < end) {
		const char *next;
		size_t l = line_at(p, end, &next);
		if (!start && line_is(p, l, "BEGIN:VCARD")) {
			start = p;
		} else if (start && line_is(p, l, "END:VCARD")) {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				struct slice *nv = realloc(v, cap * sizeof *v);
				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
			}
			v[n++] = (struct slice){start, (size_t)(next - start)};
			start = NULL;
		}
		p = next;
	}
	*out = v;
	return (int)n;
}

/* Insert line (with its CRLF) into the CRLF text after its VERSION line
 * (else after BEGIN). */
static char *insert_line(char *text, size_t *len, const char *line)
{
	const char *p = text, *end = text + *len, *at = NULL, *after_begin = NULL;
	while (p < end) {
		const char *next;
		size_t l = line_at(p, end, &next);
		if (!after_begin)
			after_begin = next;
		if (l > 8 && strncasecmp(p, "VERSION", 7) == 0 && (p[7] == ':' || p[7] == ';')) {
			at = next;
			while (at < end && (*at == ' ' || *at == '\t')) /* its folds */
				line_at(at, end, &at);
			break;
		}
		p = next;
	}
	if (!at)
		at = after_begin ? after_begin : end;
	size_t off = (size_t)(at - text), add = strlen(line);
	char *o = malloc(*len + add + 1);
	if (!o)
		return NULL;
	memcpy(o, text, off);
	memcpy(o + off, line, add);
	memcpy(o + off + add, text + off, *len - off);
	*len += add;
	o[*len] = '\0';
	free(text);
	return o;
}

static bool uid_ok(const char *uid)
{
	size_t n = strlen(uid);
	if (n == 0 || n > STORE_CARD_UID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)uid[i] < 0x20 || uid[i] == 0x7f)
			return false;
	return true;
}

static void card_in_free(struct admin_contacts_card *c)
{
	free(c->text);
	free(c->uid);
	for (size_t i = 0; i < c->nemails; i++)
		free(c->emails[i]);
	free(c->emails);
}

/* Fill c from the card's text (one vCard, already read whole once):
 * 0, or -ENOMEM; a card the store cannot take gets c->why. */
static int card_prepare(const struct slice *s, const struct vcard *card,
                        struct admin_contacts_card *c)
{
	memset(c, 0, sizeof *c);
	c->text = to_crlf(s->p, s->n, &c->len);
	if (!c->text)
		return -ENOMEM;
	const struct vcard_prop *uid = vcard_get(card, "UID");
	if (uid && !uid->value[0]) { /* a UID line, empty: not ours to fill */
		c->uid = strdup("");
		c->why = "its UID is empty";
		return c->uid ? 0 : -ENOMEM;
	}
	if (uid) {
		c->uid = strdup(uid->value);
		if (!c->uid)
			return -ENOMEM;
		if (!uid_ok(c->uid))
			c->why = "its UID is longer than 255 bytes or holds control characters";
	} else {
		char uuid[37], line[64];
		fmt_uuid(uuid);
		snprintf(line, sizeof line, "UID:urn:uuid:%s\r\n", uuid);
		c->uid = malloc(48);
		if (!c->uid)
			return -ENOMEM;
		snprintf(c->uid, 48, "urn:uuid:%s", uuid);
		char *t = insert_line(c->text, &c->len, line);
		if (!t)
			return -ENOMEM;
		c->text = t;
	}
	if (c->len > STORE_CARD_MAX)
		c->why = "it is larger than 256 KiB";
	for (size_t i = 0; i < card->nprops; i++) {
		const struct vcard_prop *p = &card->props[i];
		if (strcmp(p->name, "EMAIL") != 0)
			continue;
		char *e = vcard_text(p->value);
		if (!e)
			return -ENOMEM;
		size_t n = strlen(e);
		bool ok = n > 0 && n <= EMAIL_MAX;
		for (size_t k = 0; ok && k < n; k++)
			if ((unsigned char)e[k] < 0x20 || e[k] == 0x7f)
				ok = false;
		if (!ok) { /* not an address to index; the card keeps it */
			free(e);
			continue;
		}
		char **ne = realloc(c->emails, (c->nemails + 1) * sizeof *ne);
		if (!ne) {
			free(e);
			return -ENOMEM;
		}
		c->emails = ne;
		c->emails[c->nemails++] = e;
	}
	return 0;
}

static int by_uid(const void *a, const void *b, void *cards)
{
	const struct admin_contacts_card *v = cards;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int d = strcmp(v[i].uid, v[j].uid);
	return d ? d : (i < j ? -1 : i > j);
}

/* A later card with the UID of an earlier one is refused. */
static void refuse_duplicates(struct admin_contacts_card *cards, size_t n)
{
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	if (!idx) /* then the store refuses the second: its "<uid>.vcf" is
	           * taken, so it gets another href, and the UID is -EEXIST */
		return;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof *idx, by_uid, cards);
	for (size_t i = 1; i < n; i++)
		if (strcmp(cards[idx[i]].uid, cards[idx[i - 1]].uid) == 0 && !cards[idx[i]].why)
			cards[idx[i]].why = "its UID is that of an earlier card of the file";
	free(idx);
}

/* ---- the job ---- */

struct known {
	char *uid, *href;
};

struct import_job {
	int64_t account_id;
	const char *book;
	struct admin_contacts_card *cards;
	size_t n;
	struct admin_contacts_import *out;
	/* the book's live cards before the import, by uid */
	struct known *known;
	size_t nknown, capknown;
	/* one put, for store_tx_try */
	int64_t book_id;
	const char *href;
	const struct admin_contacts_card *card;
};

static int known_cb(void *ud, const struct store_card *c)
{
	struct import_job *j = ud;
	if (j->nknown == j->capknown) {
		size_t cap = j->capknown ? 2 * j->capknown : 64;
		struct known *nk = realloc(j->known, cap * sizeof *nk);
		if (!nk)
			return -ENOMEM;
		j->known = nk;
		j->capknown = cap;
	}
	char *u = strdup(c->uid), *h = strdup(c->href);
	if (!u || !h) {
		free(u);
		free(h);
		return -ENOMEM;
	}
	j->known[j->nknown++] = (struct known){u, h};
	return 0;
}

static int known_cmp(const void *a, const void *b)
{
	return strcmp(((const struct known *)a)->uid, ((const struct known *)b)->uid);
}

static void known_free(struct import_job *j)
{
	for (size_t i = 0; i < j->nknown; i++) {
		free(j->known[i].uid);
		free(j->known[i].href);
	}
	free(j->known);
	j->known = NULL;
	j->nknown = j->capknown = 0;
}

static int put_one(struct store_tx *tx, void *arg)
{
	struct import_job *j = arg;
	const struct admin_contacts_card *c = j->card;
	return store_card_put(tx, j->account_id, j->book_id, j->href, c->uid, c->text, c->len,
	                      (const char *const *)c->emails, c->nemails, -1, NULL, NULL);
}

static int exists_cb(void *ud, const struct store_card *c)
{
	(void)ud;
	(void)c;
	return 0;
}

/* A new card's href: "<uid>.vcf" when the UID is safe for a path and the
 * name is free, else "<uuid>.vcf". */
static int new_href(struct import_job *j, struct store_tx *tx, const char *uid, char *out,
                    size_t len)
{
	const char *u = uid;
	if (strncasecmp(u, "urn:uuid:", 9) == 0)
		u += 9;
	size_t n = strlen(u);
	bool safe = n > 0 && n <= 200;
	for (size_t i = 0; safe && i < n; i++) {
		char ch = u[i];
		safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
	}
	if (safe && u[0] != '.') {
		snprintf(out, len, "%s.vcf", u);
		int rc = store_card_get(store_tx_reader(tx), j->account_id, j->book_id, out, 0,
		                        exists_cb, NULL);
		if (rc <= 0)
			return rc;
	}
	char uuid[37];
	fmt_uuid(uuid);
	snprintf(out, len, "%s.vcf", uuid);
	return 0;
}

static void refuse(struct admin_contacts_import *out, size_t index, const char *uid,
                   const char *why)
{
	struct admin_contacts_refusal *r = &out->refusals[out->refused++];
	r->index = index + 1;
	snprintf(r->uid, sizeof r->uid, "%s", uid ? uid : "");
	snprintf(r->why, sizeof r->why, "%s", why);
}

static int import_run(struct store_tx *tx, void *arg)
{
	struct import_job *j = arg;
	struct admin_contacts_import *out = j->out;
	out->imported = out->replaced = out->refused = 0;
	out->book_created = false;
	known_free(j);
	int rc = store_addressbook_ensure(tx, j->account_id);
	if (rc < 0)
		return rc;
	struct store_addressbook b;
	rc = store_addressbook_get(store_tx_reader(tx), j->account_id, 0, j->book,
	                           j->book ? NULL : "default", &b);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (!j->book)
			return -ENOENT;
		if ((rc = store_addressbook_create(tx, j->account_id, j->book, &b.id)) < 0) {
			if (rc == -EINVAL)
				snprintf(out->err, sizeof out->err,
				         "a book name has no control characters");
			else if (rc == -ENOSPC)
				snprintf(out->err, sizeof out->err,
				         "the account has %d books already",
				         STORE_ADDRESSBOOKS_MAX);
			return rc == -ENOSPC ? -EINVAL : rc;
		}
		out->book_created = true;
	}
	j->book_id = out->book_id = b.id;
	if ((rc = store_card_list(store_tx_reader(tx), j->account_id, b.id, false, known_cb, j)) <
	    0)
		return rc;
	if (j->nknown)
		qsort(j->known, j->nknown, sizeof *j->known, known_cmp);
	for (size_t i = 0; i < j->n; i++) {
		const struct admin_contacts_card *c = &j->cards[i];
		if (c->why) {
			refuse(out, i, c->uid, c->why);
			continue;
		}
		struct known key = {.uid = c->uid}, *k = NULL;
		if (j->nknown)
			k = bsearch(&key, j->known, j->nknown, sizeof *j->known, known_cmp);
		char href[STORE_CARD_HREF_MAX + 1];
		if (k)
			snprintf(href, sizeof href, "%s", k->href);
		else if ((rc = new_href(j, tx, c->uid, href, sizeof href)) < 0)
			return rc;
		j->href = href;
		j->card = c;
		rc = store_tx_try(tx, put_one, j);
		if (rc == -ENOSPC)
			refuse(out, i, c->uid, "the account has the most cards it may have");
		else if (rc == -EINVAL || rc == -EEXIST)
			refuse(out, i, c->uid, "the store refused it (size, UID or href)");
		else if (rc < 0)
			return rc;
		else if (k)
			out->replaced++;
		else
			out->imported++;
	}
	return 0;
}

void admin_contacts_cards_free(struct admin_contacts_card *cards, size_t n)
{
	for (size_t i = 0; cards && i < n; i++)
		card_in_free(&cards[i]);
	free(cards);
}

int admin_contacts_parse(const char *data, size_t len, struct admin_contacts_card **out,
                         size_t *nout, char *err, size_t errlen)
{
	*out = NULL;
	*nout = 0;
	struct vcard_list all;
	int rc = vcard_parse(data, len, &all, err, errlen);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	size_t n = all.n;
	vcard_list_free(&all);
	if (n == 0) {
		snprintf(err, errlen, "no vCard in the file");
		return -EINVAL;
	}
	struct slice *slices = NULL;
	int ns = split_cards(data, len, &slices);
	if (ns < 0)
		return ns;
	if ((size_t)ns != n) {
		snprintf(err, errlen, "%zu vCards read but %d BEGIN:VCARD/END:VCARD pairs found", n,
		         ns);
		free(slices);
		return -EINVAL;
	}
	struct admin_contacts_card *cards = calloc(n, sizeof *cards);
	rc = cards ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct vcard_list one;
		char why[200];
		rc = vcard_parse(slices[i].p, slices[i].n, &one, why, sizeof why);
		if (rc == 0 && one.n != 1) {
			rc = -EINVAL;
			snprintf(why, sizeof why, "%zu vCards in it", one.n);
		}
		if (rc == 0)
			rc = card_prepare(&slices[i], &one.cards[0], &cards[i]);
		else if (rc != -ENOMEM)
			snprintf(err, errlen, "card %zu cannot be read alone: %s", i + 1, why);
		vcard_list_free(&one);
	}
	free(slices);
	if (rc < 0) {
		admin_contacts_cards_free(cards, n);
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	refuse_duplicates(cards, n);
	*out = cards;
	*nout = n;
	return 0;
}

int admin_contacts_import(struct store *s, int64_t account_id, const char *book, const char *data,
                          size_t len, struct admin_contacts_import *out)
{
	memset(out, 0, sizeof *out);
	if (book && (!book[0] || strlen(book) > STORE_ADDRESSBOOK_NAME_MAX)) {
		snprintf(out->err, sizeof out->err, "a book name has 1 to %d bytes",
		         STORE_ADDRESSBOOK_NAME_MAX);
		return -EINVAL;
	}
	struct admin_contacts_card *cards;
	size_t n;
	int rc = admin_contacts_parse(data, len, &cards, &n, out->err, sizeof out->err);
	if (rc < 0)
		return rc;
	out->cards = n;
	out->refusals = calloc(n, sizeof *out->refusals);
	if (!out->refusals) {
		admin_contacts_cards_free(cards, n);
		return -ENOMEM;
	}
	struct import_job j = {
	    .account_id = account_id, .book = book, .cards = cards, .n = n, .out = out};
	rc = store_exec(s, import_run, &j);
	known_free(&j);
	admin_contacts_cards_free(cards, n);
	return rc;
}

void admin_contacts_import_free(struct admin_contacts_import *r)
{
	free(r->refusals);
	r->refusals = NULL;
}

/* ---- export and list ---- */

struct export_ctx {
	int (*write)(void *ud, const char *p, size_t n);
	void *ud;
	int count;
};

static int export_cb(void *ud, const struct store_card *c)
{
	struct export_ctx *x = ud;
	size_t n;
	char *t = to_crlf(c->vcard, c->len, &n);
	if (!t)
		return -ENOMEM;
	int rc = x->write(x->ud, t, n);
	free(t);
	if (rc < 0)
		return rc;
	x->count++;
	return 0;
}

int admin_contacts_export(struct store_rd *rd, int64_t account_id, int64_t book_id,
                          int (*write)(void *ud, const char *p, size_t n), void *ud)
{
	struct export_ctx x = {write, ud, 0};
	int rc = store_card_list(rd, account_id, book_id, true, export_cb, &x);
	return rc < 0 ? rc : x.count;
}

static int count_cb(void *ud, const struct store_card *c)
{
	(void)c;
	(*(size_t *)ud)++;
	return 0;
}

struct books_ctx {
	struct store_rd *rd;
	int64_t account_id;
	int (*cb)(void *ud, const struct store_addressbook *b, size_t cards);
	void *ud;
};

static int book_cb(void *ud, const struct store_addressbook *b)
{
	struct books_ctx *x = ud;
	size_t n = 0;
	int rc = store_card_list(x->rd, x->account_id, b->id, false, count_cb, &n);
	return rc < 0 ? rc : x->cb(x->ud, b, n);
}

int admin_contacts_books(struct store_rd *rd, int64_t account_id,
                         int (*cb)(void *ud, const struct store_addressbook *b, size_t cards),
                         void *ud)
{
	struct books_ctx x = {rd, account_id, cb, ud};
	return store_addressbook_list(rd, account_id, book_cb, &x);
}
