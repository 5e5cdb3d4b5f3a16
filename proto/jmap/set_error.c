/* set_error: the SetError object every /set and /import method answers
 * with, and the notCreated/notUpdated/notDestroyed maps of the answer
 * (jmap_int.h). A file of its own so that the unit tests that fake
 * args.c's functions can still link it. */
#include "proto/jmap/jmap_int.h"

json_t *jmap_set_error(const char *type, const char *description, const char *property)
{
	json_t *e = json_pack("{s:s}", "type", type);
	if (e && description)
		json_object_set_new(e, "description", json_string(description));
	if (e && property)
		json_object_set_new(e, "properties", json_pack("[s]", property));
	return e;
}

void jmap_set_failures(json_t *res, json_t *not_created, json_t *not_updated, json_t *not_destroyed)
{
	if (!res)
		return;
	if (json_object_size(not_created))
		json_object_set(res, "notCreated", not_created);
	if (json_object_size(not_updated))
		json_object_set(res, "notUpdated", not_updated);
	if (json_object_size(not_destroyed))
		json_object_set(res, "notDestroyed", not_destroyed);
}

json_t *jmap_set_response(struct jmap_call *c, const char *old_state, const char *new_state,
                          json_t *created, json_t *updated, json_t *destroyed, json_t *not_created,
                          json_t *not_updated, json_t *not_destroyed)
{
	json_t *res =
	    json_pack("{s:O, s:s, s:s, s:o, s:o, s:o}", "accountId",
	              json_object_get(c->args, "accountId"), "oldState", old_state, "newState",
	              new_state, "created", created, "updated", updated, "destroyed", destroyed);
	jmap_set_failures(res, not_created, not_updated, not_destroyed);
	return res;
}
