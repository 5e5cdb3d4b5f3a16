/* errors: why an admin op failed, in words.
 *
 * The CLI's words are the ones `tern` has always printed (tests and
 * scripts read them); they name the command that helps. The API's are the
 * same facts without the commands, for an "error" field. */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* What kind of entry an op is about, for "no such ...". */
static const char *entry_word(enum admin_kind kind)
{
	switch (kind) {
	case ADMIN_DOMAIN_ADD:
	case ADMIN_DOMAIN_DEL:
		return "domain";
	case ADMIN_USER_ADD:
	case ADMIN_USER_PASSWD:
	case ADMIN_USER_DEL:
	case ADMIN_USER_QUOTA:
		return "user";
	case ADMIN_DKIM_ADD:
	case ADMIN_DKIM_RETIRE:
		return "DKIM key";
	case ADMIN_ALIAS_ADD:
	case ADMIN_ALIAS_DEL:
		return "alias";
	case ADMIN_QUEUE_RETRY:
	case ADMIN_QUEUE_DELETE:
	case ADMIN_QUEUE_BOUNCE:
		return "queue entry";
	case ADMIN_WEBHOOK_ADD:
	case ADMIN_WEBHOOK_DEL:
		return "webhook";
	case ADMIN_WEBHOOK_RETRY:
		return "undelivered webhook event";
	default:
		return "token";
	}
}

static const char *cli_words(const struct admin_op *op, int rc, char *buf, size_t len)
{
	const char *at = strrchr(op->a, '@');
	switch (-rc) {
	case EEXIST:
		if (op->kind == ADMIN_DKIM_ADD)
			return "the domain has a key with that selector (live or retired); "
			       "choose another with --selector";
		return "it already exists";
	case ENOENT:
		if (op->kind == ADMIN_DKIM_RETIRE)
			return "no live key with that selector (see: tern dkim list)";
		if (op->kind == ADMIN_TOKEN_CREATE) {
			snprintf(buf, len, "no %s %s (see: tern %s list)",
			         op->owner_is_domain ? "domain" : "account", op->owner,
			         op->owner_is_domain ? "domain" : "user");
			return buf;
		}
		if (op->kind == ADMIN_USER_ADD || op->kind == ADMIN_ALIAS_ADD ||
		    op->kind == ADMIN_DKIM_ADD) {
			snprintf(buf, len,
			         "its domain is not local; add it first with: tern domain add %s",
			         at ? at + 1 : op->a);
			return buf;
		}
		return "no such entry (see the list subcommand)";
	case ENOTEMPTY:
		return "it still has accounts; delete them first with: tern user del ADDRESS";
	case EINVAL:
		return op->kind == ADMIN_DKIM_ADD ? "malformed selector"
		                                  : "malformed name or address";
	default:
		return strerror(-rc);
	}
}

static const char *api_words(const struct admin_op *op, int rc, char *buf, size_t len)
{
	const char *at = strrchr(op->a, '@');
	bool by_id = (op->kind >= ADMIN_QUEUE_RETRY && op->kind <= ADMIN_TOKEN_TOUCH) ||
	             op->kind == ADMIN_WEBHOOK_DEL || op->kind == ADMIN_WEBHOOK_RETRY;
	bool dkim = op->kind == ADMIN_DKIM_ADD || op->kind == ADMIN_DKIM_RETIRE;
	switch (-rc) {
	case EEXIST:
		if (dkim)
			snprintf(buf, len, "%s has a key with selector %s (live or retired)", op->a,
			         op->b);
		else
			snprintf(buf, len, "%s already exists", op->a);
		break;
	case ENOENT:
		if (op->kind == ADMIN_DKIM_RETIRE)
			snprintf(buf, len, "no live DKIM key %s for %s", op->b, op->a);
		else if (op->kind == ADMIN_TOKEN_CREATE || op->kind == ADMIN_WEBHOOK_ADD)
			snprintf(buf, len, "no %s %s", op->owner_is_domain ? "domain" : "account",
			         op->owner);
		else if (op->kind == ADMIN_USER_ADD || op->kind == ADMIN_ALIAS_ADD ||
		         op->kind == ADMIN_DKIM_ADD)
			snprintf(buf, len, "the domain %s is not local; add it first",
			         at ? at + 1 : op->a);
		else if (by_id)
			snprintf(buf, len, "no %s %lld", entry_word(op->kind), (long long)op->id);
		else
			snprintf(buf, len, "no %s %s", entry_word(op->kind), op->a);
		break;
	case ENOTEMPTY:
		snprintf(buf, len, "the domain %s still has accounts; delete them first", op->a);
		break;
	case EINVAL:
		snprintf(buf, len, "%s",
		         op->kind == ADMIN_TOKEN_CREATE
		             ? "unknown scope, or an owner (--account/--domain) where the scope "
		               "needs one and has none, or the other way round"
		         : op->kind == ADMIN_DKIM_ADD    ? "malformed selector"
		         : op->kind == ADMIN_USER_QUOTA  ? "the quota must be 0 or more bytes"
		         : op->kind == ADMIN_WEBHOOK_ADD ? "a field of the webhook is too long"
		                                         : "malformed name or address");
		break;
	case ENAMETOOLONG:
		snprintf(buf, len, "name or address too long");
		break;
	default:
		snprintf(buf, len, "%s", strerror(-rc));
	}
	return buf;
}

const char *admin_op_error(const struct admin_op *op, int rc, bool for_cli, char *buf, size_t len)
{
	return for_cli ? cli_words(op, rc, buf, len) : api_words(op, rc, buf, len);
}
