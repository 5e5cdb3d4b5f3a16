/* collect: the recipients of a sent message into the sender's collected
 * addresses (see collect.h). Why prepared on the loop: the header is
 * parsed there, where the message is at hand and the writer thread is not
 * kept busy; the transaction only makes the rows. */
#include "deliver/collect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "mime/header.h"
#include "mime/mime.h"
#include "store/contacts.h"
#include "store/store.h"

struct collected {
	char *email;
	char *name; /* NULL: none */
};

struct deliver_collect {
	int64_t account_id;
	struct collected v[DELIVER_COLLECT_MAX];
	size_t n;
	bool cut; /* more than DELIVER_COLLECT_MAX */
};

static bool known(const struct deliver_collect *c, const char *email, size_t len)
{
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->v[i].email) == len && strncasecmp(c->v[i].email, email, len) == 0)
			return true;
	return false;
}

/* Add email (len bytes) with name (NULL: none): 0, or -ENOMEM. */
static int add(struct deliver_collect *c, const char *mail_from, const char *email, size_t len,
               const char *name)
{
	if (len == 0 || known(c, email, len) ||
	    (mail_from && strlen(mail_from) == len && strncasecmp(mail_from, email, len) == 0))
		return 0;
	if (c->n == DELIVER_COLLECT_MAX) {
		c->cut = true;
		return 0;
	}
	char *e = strndup(email, len);
	char *nm = name && name[0] ? strdup(name) : NULL;
	if (!e || (name && name[0] && !nm)) {
		free(e);
		free(nm);
		return -ENOMEM;
	}
	c->v[c->n++] = (struct collected){e, nm};
	return 0;
}

/* The addresses of one To/Cc/Bcc field value. */
static int add_field(struct deliver_collect *c, const char *mail_from, const char *v, size_t vlen)
{
	struct mime_address *as = NULL;
	size_t n = 0;
	if (mime_addresses_parse(v, vlen, &as, &n) < 0)
		return -ENOMEM;
	int rc = 0;
	struct buf email = {0}, name = {0};
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct mime_address *a = &as[i];
		if (!a->mailbox || !a->host || !a->mailbox[0] || !a->host[0])
			continue; /* a group's start or end */
		buf_reset(&email);
		buf_reset(&name);
		rc = buf_printf(&email, "%s@%s", a->mailbox, a->host);
		if (rc == 0 && a->name && a->name[0])
			rc = mime_decode_header_value(a->name, strlen(a->name), &name);
		if (rc == 0)
			rc = buf_addc(&name, '\0');
		if (rc == 0)
			rc = add(c, mail_from, email.data, email.len, name.data);
	}
	buf_free(&email);
	buf_free(&name);
	mime_addresses_free(&as, n);
	return rc < 0 ? rc : 0;
}

static bool is_recipient_field(const char *name, size_t len)
{
	return (len == 2 && (strncasecmp(name, "to", 2) == 0 || strncasecmp(name, "cc", 2) == 0)) ||
	       (len == 3 && strncasecmp(name, "bcc", 3) == 0);
}

void deliver_collect_free(struct deliver_collect *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].email);
		free(c->v[i].name);
	}
	free(c);
}

struct deliver_collect *deliver_collect_prepare(int64_t account_id, const char *mail_from,
                                                const char *msg, size_t len,
                                                const struct deliver_rcpt *rcpts, size_t nrcpts)
{
	struct deliver_collect *c = calloc(1, sizeof *c);
	if (!c) {
		log_warn("deliver event=collect_skipped account=%lld err=%d", (long long)account_id,
		         -ENOMEM);
		return NULL;
	}
	c->account_id = account_id;
	int rc = 0;
	size_t pos = 0;
	const char *name, *value;
	size_t nlen, vlen;
	while (rc == 0 && msg && mime_header_next(msg, &pos, len, &name, &nlen, &value, &vlen) == 1)
		if (is_recipient_field(name, nlen))
			rc = add_field(c, mail_from, value, vlen);
	/* the envelope's (a forward target is not what the sender wrote) */
	for (size_t i = 0; rc == 0 && i < nrcpts; i++)
		if (!rcpts[i].forwarded && rcpts[i].addr)
			rc = add(c, mail_from, rcpts[i].addr, strlen(rcpts[i].addr), NULL);
	if (rc < 0 || c->n == 0) {
		if (rc < 0)
			log_warn("deliver event=collect_skipped account=%lld err=%d",
			         (long long)account_id, rc);
		deliver_collect_free(c);
		return NULL;
	}
	if (c->cut)
		log_info("deliver event=collect_cut account=%lld max=%d", (long long)account_id,
		         DELIVER_COLLECT_MAX);
	return c;
}

size_t deliver_collect_count(const struct deliver_collect *c)
{
	return c ? c->n : 0;
}

const char *deliver_collect_address(const struct deliver_collect *c, size_t i)
{
	return c && i < c->n ? c->v[i].email : NULL;
}

struct one {
	int64_t account_id;
	const struct collected *addr;
};

static int collect_one(struct store_tx *tx, void *arg)
{
	const struct one *o = arg;
	return store_contacts_collect(tx, o->account_id, o->addr->name, o->addr->email);
}

void deliver_collect_run(struct store_tx *tx, const struct deliver_collect *c)
{
	if (!c)
		return;
	int added = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct one o = {c->account_id, &c->v[i]};
		int rc = store_tx_try(tx, collect_one, &o);
		if (rc > 0) {
			added++;
			continue;
		}
		if (rc == 0)
			continue;
		char addr[700];
		log_kv_escape(addr, sizeof addr, c->v[i].email, strlen(c->v[i].email));
		if (rc == -EINVAL) /* not an address a card can hold */
			log_debug("deliver event=collect_refused account=%lld addr=%s",
			          (long long)c->account_id, addr);
		else
			log_warn("deliver event=collect_failed account=%lld addr=%s err=%d",
			         (long long)c->account_id, addr, rc);
	}
	if (added)
		log_info("deliver event=collected account=%lld added=%d", (long long)c->account_id,
		         added);
}
