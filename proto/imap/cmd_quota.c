/* cmd_quota: GETQUOTA, GETQUOTAROOT, SETQUOTA (RFC 9208), STORAGE only,
 * and the account's quota that APPEND, COPY and MOVE pass to their store
 * jobs (imap_account_quota).
 *
 * An account has one quota (accounts.quota_bytes, 0 = unlimited) over all
 * its mailboxes, so there is one quota root, "". An account without a
 * quota has no root at all. Quotas are set by the administrator (tern
 * user ...), so SETQUOTA is refused. */
#include "proto/imap/imap_int.h"

#include <stdio.h>
#include <string.h>

#include "store/accounts.h"
#include "store/mailboxes.h"
#include "store/entries.h"
#include "store/mail.h"

/* The account's quota in bytes (0 = none). */
uint64_t imap_account_quota(struct imap_session *s)
{
	struct store_account a;
	if (store_account_get(imap_reader(s), s->account_id, &a) != 1 || a.quota_bytes <= 0)
		return 0;
	return (uint64_t)a.quota_bytes;
}

/* 1 quota (used/limit in KiB), 0 none, negative. */
static int quota(struct imap_session *s, uint64_t *used_kb, uint64_t *limit_kb)
{
	struct store_account a;
	int rc = store_account_get(imap_reader(s), s->account_id, &a);
	if (rc <= 0)
		return rc;
	if (a.quota_bytes <= 0)
		return 0;
	int64_t used = store_account_usage(imap_reader(s), s->account_id);
	if (used < 0)
		return (int)used;
	*used_kb = ((uint64_t)used + 1023) / 1024;
	*limit_kb = ((uint64_t)a.quota_bytes + 1023) / 1024;
	return 1;
}

enum imap_cmd_result imap_cmd_getquotaroot(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *name;
	size_t len;
	char buf[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 1 || !imap_arg_astring(&cmd->args[0], &name, &len)) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: GETQUOTAROOT mailbox");
		return IMAP_DONE;
	}
	int64_t id;
	if (imap_mailbox_name_decode(s, name, len, buf, sizeof buf, false) < 0 ||
	    store_mailbox_find(imap_reader(s), s->account_id, buf, &id) != 1) {
		imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
		return IMAP_DONE;
	}
	uint64_t used = 0, limit = 0;
	int rc = quota(s, &used, &limit);
	if (rc < 0) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	imap_write(s, "* QUOTAROOT ", 12);
	imap_write_mailbox(s, buf);
	if (rc == 1) {
		imap_write(s, " \"\"\r\n", 5);
		imap_untagged(s, "QUOTA \"\" (STORAGE %llu %llu)", (unsigned long long)used,
		              (unsigned long long)limit);
	} else {
		imap_write(s, "\r\n", 2);
	}
	imap_tagged(s, cmd, "OK", NULL, "GETQUOTAROOT completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_getquota(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *root;
	size_t len;
	if (cmd->nargs != 1 || !imap_arg_astring(&cmd->args[0], &root, &len)) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: GETQUOTA root");
		return IMAP_DONE;
	}
	uint64_t used = 0, limit = 0;
	int rc = len == 0 ? quota(s, &used, &limit) : 0;
	if (rc < 0) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	if (rc == 0) {
		imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such quota root");
		return IMAP_DONE;
	}
	imap_untagged(s, "QUOTA \"\" (STORAGE %llu %llu)", (unsigned long long)used,
	              (unsigned long long)limit);
	imap_tagged(s, cmd, "OK", NULL, "GETQUOTA completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_setquota(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_tagged(s, cmd, "NO", "NOPERM", "Quotas are set by the administrator");
	return IMAP_DONE;
}
