/* thread: Thread/get and Thread/changes (RFC 8621 §3).
 *
 * A Thread is the messages of the account sharing a thread id (assigned
 * once when each is stored, store/threads.h), oldest receivedAt first. */
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/email_common.h"
#include "proto/jmap/email_methods.h"
#include "store/emails.h"
#include "store/store.h"

void jmap_thread_get(struct jmap_call *c)
{
	json_t *ids, *props;
	if (!jmap_get_args(c, &ids, &props))
		return;
	if (!ids) {
		/* RFC 8621 §3.1: listing every thread is not something a
		 * client needs; it asks for the threadIds of Emails. */
		jmap_error(c, "requestTooLarge", "Thread/get needs ids");
		return;
	}
	const struct jmap_account *a = c->acct;
	struct store_rd *rd = store_reader(a->store);
	bool begun = store_read_begin(rd);
	char state[STORE_EMAIL_STATE_MAX];
	json_t *list = json_array(), *not_found = json_array(), *seen = json_object();
	const char *fail = "out of memory";
	if (!list || !not_found || !seen)
		goto fail;
	if (jmap_email_state(a, state) < 0) {
		fail = "reading the state";
		goto fail;
	}
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		const char *sid = json_string_value(v);
		if (!sid) {
			store_read_end(rd, begun);
			json_decref(list);
			json_decref(not_found);
			json_decref(seen);
			jmap_error(c, "invalidArguments", "ids must be strings");
			return;
		}
		if (json_object_get(seen, sid))
			continue;
		if (json_object_set_new(seen, sid, json_true()) < 0)
			goto fail;
		int64_t tid, *mids = NULL;
		size_t n = 0;
		if (jmap_id_parse(sid, 'T', &tid) &&
		    store_thread_emails(rd, a->account_id, tid, &mids, &n) < 0) {
			fail = "reading a thread";
			goto fail;
		}
		if (n == 0) {
			if (json_array_append_new(not_found, json_string(sid)) < 0)
				goto fail;
			continue;
		}
		json_t *email_ids = json_array(), *obj = NULL;
		for (size_t k = 0; email_ids && k < n; k++)
			if (json_array_append_new(email_ids, jmap_id_json('M', mids[k])) < 0) {
				json_decref(email_ids);
				email_ids = NULL;
			}
		free(mids);
		if (email_ids)
			obj = json_pack("{s:s, s:o}", "id", sid, "emailIds", email_ids);
		if (!obj || json_array_append_new(list, obj) < 0)
			goto fail;
	}
	json_t *res =
	    json_pack("{s:O, s:s, s:o, s:o}", "accountId", json_object_get(c->args, "accountId"),
	              "state", state, "list", list, "notFound", not_found);
	list = not_found = NULL;
	if (!res)
		goto fail;
	store_read_end(rd, begun);
	json_decref(seen);
	jmap_reply(c, res);
	return;
fail:
	store_read_end(rd, begun);
	json_decref(list);
	json_decref(not_found);
	json_decref(seen);
	jmap_server_fail(c, fail);
}

void jmap_thread_changes(struct jmap_call *c)
{
	jmap_changes_unchanged(c);
}
