/* email_put: see email_put.h. */
#include "proto/jmap/email_put.h"

#include <errno.h>
#include <string.h>

#include "proto/jmap/keywords.h"
#include "store/emails.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/notify.h"
#include "store/store.h"

json_t *jmap_email_put_mailboxes(struct jmap_call *c, struct store_rd *rd, const json_t *ids,
                                 struct jmap_email_put *p, int *err)
{
	*err = 0;
	if (!json_is_object(ids) || json_object_size(ids) == 0)
		return jmap_set_error("invalidProperties", "an Email is in at least one mailbox",
		                      "mailboxIds");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)ids, key, v)
	{
		const char *id = jmap_created_id(c, key);
		int64_t uv, mbid = 0;
		int r = 0;
		if (!json_is_true(v))
			return jmap_set_error("invalidProperties", "mailboxIds values are true",
			                      "mailboxIds");
		if (p->nmailboxes == JMAP_EMAIL_PUT_MAILBOXES)
			return jmap_set_error("invalidProperties", "too many mailboxes",
			                      "mailboxIds");
		if (id && jmap_id_parse(id, 'F', &uv) && uv <= UINT32_MAX)
			r = store_mailbox_by_uidvalidity(rd, c->acct->account_id, (uint32_t)uv,
			                                 &mbid);
		if (r < 0) {
			*err = r;
			return NULL;
		}
		if (r == 0)
			return jmap_set_error("invalidProperties", "no such mailbox", "mailboxIds");
		bool dup = false;
		for (size_t k = 0; k < p->nmailboxes; k++)
			dup |= p->mailboxes[k] == mbid;
		if (!dup)
			p->mailboxes[p->nmailboxes++] = mbid;
	}
	return NULL;
}

json_t *jmap_email_put_keywords(const json_t *kws, struct jmap_email_put *p, int *err)
{
	*err = 0;
	if (!kws || json_is_null(kws))
		return NULL;
	if (!json_is_object(kws))
		return jmap_set_error("invalidProperties", "keywords is an object", "keywords");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)kws, key, v)
	{
		char norm[JMAP_KEYWORD_MAX + 1];
		if (!json_is_true(v) || jmap_keyword_norm(key, norm) < 0)
			return jmap_set_error("invalidProperties", "keywords map keywords to true",
			                      "keywords");
		uint32_t f = jmap_keyword_flag(norm);
		if (f) {
			p->flags |= f;
			continue;
		}
		if (p->keywords.len && store_keyword_has(p->keywords.data, norm, strlen(norm)))
			continue;
		if ((p->keywords.len && buf_addc(&p->keywords, ' ') < 0) ||
		    buf_adds(&p->keywords, norm) < 0) {
			*err = -ENOMEM;
			return NULL;
		}
	}
	return NULL;
}

int jmap_email_put_run(struct store_tx *tx, void *arg)
{
	struct jmap_email_put *p = arg;
	if (p->nmailboxes == 0)
		return -EINVAL;
	struct store_append_req q = {.account_id = p->account_id,
	                             .mailbox_id = p->mailboxes[0],
	                             .data = p->data,
	                             .len = p->len,
	                             .internal_date = p->internal_date,
	                             .flags = p->flags,
	                             .keywords = p->keywords.data ? p->keywords.data : "",
	                             .quota_bytes = p->quota_bytes,
	                             .thread = p->thread};
	int r = store_append_job(tx, &q);
	if (r < 0)
		return r;
	p->uids[0] = q.uid;
	p->modseqs[0] = q.modseq;
	struct store_entry e;
	char kw[8];
	r = store_entry_get(store_tx_reader(tx), p->mailboxes[0], q.uid, &e, kw, sizeof kw);
	if (r <= 0)
		return r < 0 ? r : -EIO;
	p->message_id = e.message_id;
	p->thread_id = e.thread_id;
	for (size_t i = 1; i < p->nmailboxes; i++) {
		struct store_copy_req cq = {.account_id = p->account_id,
		                            .src_mailbox_id = p->mailboxes[0],
		                            .dst_mailbox_id = p->mailboxes[i],
		                            .uids = &p->uids[0],
		                            .n = 1,
		                            .quota_bytes = p->quota_bytes,
		                            .new_uids = &p->uids[i],
		                            .new_modseqs = &p->modseqs[i]};
		if ((r = store_copy_job(tx, &cq)) < 0)
			return r;
		if (!p->uids[i])
			return -EIO;
	}
	return 0;
}

void jmap_email_put_publish(const struct jmap_email_put *p)
{
	for (size_t k = 0; k < p->nmailboxes; k++) {
		struct notify_event ev = {.kind = NOTIFY_EXISTS,
		                          .mailbox_id = p->mailboxes[k],
		                          .uid = p->uids[k],
		                          .modseq = p->modseqs[k],
		                          .account_id = p->account_id};
		notify_publish(&ev);
	}
}

void jmap_email_put_free(struct jmap_email_put *p)
{
	buf_free(&p->keywords);
}
