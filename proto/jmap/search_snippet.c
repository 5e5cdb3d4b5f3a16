/* search_snippet: SearchSnippet/get (RFC 8621 §5).
 *
 * The terms are the strings of the filter's text, subject and body
 * conditions (those under a NOT are left out: they match where the text
 * is absent); the renderer (jmap_email_snippet) marks them in the
 * message's subject and preview. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_filter.h"
#include "proto/jmap/email_methods.h"
#include "proto/jmap/email_render.h"
#include "store/emails.h"
#include "store/store.h"

static void collect_terms(const struct jmap_filter *f, const char **terms, size_t *n)
{
	if (!f || f->kind == JMAP_F_NOT)
		return;
	for (size_t i = 0; i < f->nkids; i++)
		collect_terms(&f->kids[i], terms, n);
	if ((f->kind == JMAP_F_TEXT || f->kind == JMAP_F_SUBJECT || f->kind == JMAP_F_BODY) &&
	    *f->str && *n < JMAP_FILTER_MAX_NODES)
		terms[(*n)++] = f->str;
}

static int count_entries(void *ud, const struct store_email_entry *e)
{
	return 0;
}

void jmap_search_snippet_get(struct jmap_call *c)
{
	if (!jmap_email_account_ok(c))
		return;
	json_t *email_ids = json_object_get(c->args, "emailIds");
	if (!json_is_array(email_ids)) {
		jmap_error(c, "invalidArguments", "emailIds must be an array of ids");
		return;
	}
	if (json_array_size(email_ids) > c->acct->limits->max_objects_in_get) {
		jmap_error(c, "requestTooLarge", "more emailIds than maxObjectsInGet");
		return;
	}
	struct jmap_filter_tree t;
	const char *type = NULL, *why = NULL;
	if (jmap_filter_parse(json_object_get(c->args, "filter"), &t, &type, &why) < 0) {
		jmap_error(c, type, why);
		return;
	}
	const char *terms[JMAP_FILTER_MAX_NODES];
	size_t nterms = 0;
	collect_terms(t.root, terms, &nterms);
	const struct jmap_account *a = c->acct;
	struct store_rd *rd = store_reader(a->store);
	bool begun = store_read_begin(rd);
	json_t *list = json_array(), *not_found = json_array();
	struct buf raw = {0};
	const char *fail = "out of memory";
	size_t i;
	json_t *v;
	if (!list || !not_found)
		goto fail;
	json_array_foreach(email_ids, i, v)
	{
		const char *sid = json_string_value(v);
		int64_t mid;
		if (!sid) {
			store_read_end(rd, begun);
			json_decref(list);
			json_decref(not_found);
			jmap_filter_tree_free(&t);
			jmap_error(c, "invalidArguments", "emailIds must be an array of ids");
			return;
		}
		int n = jmap_id_parse(sid, 'M', &mid)
		            ? store_email_entries(rd, a->account_id, mid, count_entries, NULL)
		            : 0;
		if (n < 0) {
			fail = "reading a message";
			goto fail;
		}
		if (n == 0) {
			if (json_array_append_new(not_found, json_string(sid)) < 0)
				goto fail;
			continue;
		}
		json_t *obj = json_pack("{s:s}", "emailId", sid);
		int r = obj ? jmap_message_bytes(a, mid, &raw) : -ENOMEM;
		if (r == 0)
			r = jmap_email_snippet(obj, raw.data ? raw.data : "", raw.len, terms,
			                       nterms);
		if (r < 0 || json_array_append_new(list, obj) < 0) {
			if (r < 0)
				json_decref(obj);
			fail = "reading a message";
			goto fail;
		}
	}
	json_t *res =
	    json_pack("{s:O, s:o, s:o}", "accountId", json_object_get(c->args, "accountId"), "list",
	              list, "notFound", not_found);
	list = not_found = NULL;
	if (!res)
		goto fail;
	store_read_end(rd, begun);
	buf_free(&raw);
	jmap_filter_tree_free(&t);
	jmap_reply(c, res);
	return;
fail:
	store_read_end(rd, begun);
	buf_free(&raw);
	jmap_filter_tree_free(&t);
	json_decref(list);
	json_decref(not_found);
	jmap_server_fail(c, fail);
}
