/* thread: Thread/get (RFC 8621 §3; Thread/changes is in email_changes.c).
 *
 * A Thread is the messages of the account sharing a thread id (assigned
 * once when each is stored, store/threads.h), oldest receivedAt first.
 * Every thread a call asks for is read in one pass of the store
 * (store_threads_emails). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/email_common.h"
#include "proto/jmap/email_methods.h"
#include "store/emails.h"
#include "store/store.h"

/* Each message of the threads read, into by_thread["T<id>"]. */
static int add_email(void *ud, int64_t thread_id, int64_t message_id)
{
	json_t *by_thread = ud;
	char key[32];
	snprintf(key, sizeof key, "T%lld", (long long)thread_id);
	json_t *ids = json_object_get(by_thread, key);
	if (!ids && (json_object_set_new(by_thread, key, json_array()) < 0 ||
	             !(ids = json_object_get(by_thread, key))))
		return -1;
	return json_array_append_new(ids, jmap_id_json('M', message_id)) < 0 ? -1 : 0;
}

void jmap_thread_get(struct jmap_call *c)
{
	static const char *const known[] = {"id", "emailIds"};
	json_t *ids, *props;
	if (!jmap_get_args(c, &ids, &props) || !jmap_properties_known(c, props, known, 2))
		return;
	if (!ids) {
		/* A client asks for the threadIds of Emails; listing every
		 * thread of the account is refused like Email/get's "all". */
		jmap_error(c, "requestTooLarge", "Thread/get needs ids");
		return;
	}
	size_t i, nt = 0;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v)) {
			jmap_error(c, "invalidArguments", "ids must be strings");
			return;
		}
	}
	const struct jmap_account *a = c->acct;
	struct store_rd *rd = store_reader(a->store);
	char state[STORE_EMAIL_STATE_MAX];
	int64_t *tids = malloc((json_array_size(ids) + 1) * sizeof *tids);
	json_t *list = json_array(), *not_found = json_array(), *seen = json_object(),
	       *by_thread = json_object();
	const char *fail = "out of memory";
	bool begun = store_read_begin(rd);
	if (!tids || !list || !not_found || !seen || !by_thread)
		goto fail;
	json_array_foreach(ids, i, v)
	{
		int64_t t;
		if (jmap_id_parse(json_string_value(v), 'T', &t) && nt < STORE_THREADS_MAX)
			tids[nt++] = t;
	}
	if (jmap_email_state(a, state) < 0 ||
	    store_threads_emails(rd, a->account_id, tids, nt, add_email, by_thread) < 0) {
		fail = "reading the threads";
		goto fail;
	}
	json_array_foreach(ids, i, v)
	{
		const char *sid = json_string_value(v);
		if (json_object_get(seen, sid))
			continue;
		if (json_object_set_new(seen, sid, json_true()) < 0)
			goto fail;
		json_t *email_ids = json_object_get(by_thread, sid);
		json_t *obj = email_ids ? json_pack("{s:s, s:O}", "id", sid, "emailIds", email_ids)
		                        : json_string(sid);
		if (!obj || json_array_append_new(email_ids ? list : not_found, obj) < 0)
			goto fail;
	}
	json_t *res =
	    json_pack("{s:O, s:s, s:o, s:o}", "accountId", json_object_get(c->args, "accountId"),
	              "state", state, "list", list, "notFound", not_found);
	list = not_found = NULL;
	if (!res)
		goto fail;
	store_read_end(rd, begun);
	free(tids);
	json_decref(seen);
	json_decref(by_thread);
	jmap_reply(c, res);
	return;
fail:
	store_read_end(rd, begun);
	free(tids);
	json_decref(list);
	json_decref(not_found);
	json_decref(seen);
	json_decref(by_thread);
	jmap_server_fail(c, fail);
}
