/* identity: Identity/get (RFC 8621 §6): one identity per account, its
 * own address, which it may not delete. The store keeps no display name
 * or signature, so those are empty. */
#include "proto/jmap/methods.h"

#include <string.h>

void jmap_identity_get(struct jmap_call *c)
{
	json_t *ids, *want;
	if (!jmap_get_args(c, &ids, &want))
		return;
	json_t *mine = jmap_id_json('I', c->acct->account_id);
	json_t *list = json_array(), *not_found = json_array();
	bool listed = !ids;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (strcmp(json_string_value(v), json_string_value(mine)) == 0)
			listed = true;
		else
			json_array_append(not_found, v);
	}
	if (listed) {
		json_t *o = json_pack("{s:O}", "id", mine);
		if (jmap_want(want, "name"))
			json_object_set_new(o, "name", json_string(""));
		if (jmap_want(want, "email"))
			json_object_set_new(o, "email", json_string(c->acct->username));
		if (jmap_want(want, "replyTo"))
			json_object_set_new(o, "replyTo", json_null());
		if (jmap_want(want, "bcc"))
			json_object_set_new(o, "bcc", json_null());
		if (jmap_want(want, "textSignature"))
			json_object_set_new(o, "textSignature", json_string(""));
		if (jmap_want(want, "htmlSignature"))
			json_object_set_new(o, "htmlSignature", json_string(""));
		if (jmap_want(want, "mayDelete"))
			json_object_set_new(o, "mayDelete", json_false());
		json_array_append_new(list, o);
	}
	json_decref(mine);
	jmap_reply(c, json_pack("{s:O, s:s, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "state", "0", "list", list,
	                        "notFound", not_found));
}
