/* email_copy: Email/copy (RFC 8621 §4.7) copies Emails from another
 * account into this one. A tern login sees exactly one account (its own:
 * the session resource lists no other), so no fromAccountId can name an
 * account this request may read: the method checks its arguments and
 * answers fromAccountNotFound (RFC 8620 §5.4), or invalidArguments when
 * fromAccountId is the account itself (it "MUST be different"). Moving
 * Emails between the account's own mailboxes is Email/set's mailboxIds. */
#include <string.h>

#include "proto/jmap/email_common.h"
#include "proto/jmap/email_methods.h"

void jmap_email_copy(struct jmap_call *c)
{
	if (!jmap_email_account_ok(c))
		return;
	json_t *from = json_object_get(c->args, "fromAccountId");
	json_t *create = json_object_get(c->args, "create");
	if (!json_is_string(from) || !json_is_object(create)) {
		jmap_error(c, "invalidArguments",
		           "fromAccountId must be a string, create an object");
		return;
	}
	int64_t id;
	if (jmap_id_parse(json_string_value(from), 'A', &id) && id == c->acct->account_id) {
		jmap_error(c, "invalidArguments", "fromAccountId must differ from accountId");
		return;
	}
	jmap_error(c, "fromAccountNotFound", NULL);
}
