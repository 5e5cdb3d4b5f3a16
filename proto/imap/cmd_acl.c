/* cmd_acl: ACL (RFC 4314) as tern has it: read-only rights for the owner.
 *
 * tern has no shared mailboxes: an account sees its own mailboxes and
 * nothing else, and may do everything with them. So every mailbox's ACL
 * is one fixed entry, the owner (the login name) with every right
 * (IMAP_OWNER_RIGHTS), and no one else can be given any. MYRIGHTS, GETACL
 * and LISTRIGHTS say so; SETACL and DELETEACL are checked like real ones
 * (an unknown right is BAD, §3.1) and then refused with NO [CANNOT]
 * (RFC 5530: the operation violates an invariant of the server and can
 * never succeed). RFC 4314 itself gives no code for a refused SETACL, and
 * NOPERM would contradict the "a" (administer) right the owner holds.
 * LIST-MYRIGHTS (RFC 8440) is in cmd_list.c. */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/mailboxes.h"

/* Decodes argument 0 and finds the mailbox; false when it answered. */
static bool acl_mailbox(struct imap_session *s, struct imap_cmd *cmd, char *name, size_t cap)
{
	if (!imap_arg_mailbox(s, cmd, 0, name, cap, false))
		return false;
	int64_t id;
	int r = store_mailbox_find(imap_reader(s), s->account_id, name, &id);
	if (r == 1)
		return true;
	if (r == 0)
		imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
	else
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
	return false;
}

/* An identifier argument: a non-empty astring (§3: BAD otherwise). */
static bool identifier(struct imap_session *s, struct imap_cmd *cmd, size_t i, const char **id,
                       size_t *len)
{
	if (i >= cmd->nargs || !imap_arg_astring(&cmd->args[i], id, len) || *len == 0 ||
	    memchr(*id, '\0', *len)) {
		imap_tagged(s, cmd, "BAD", NULL, "Invalid identifier");
		return false;
	}
	return true;
}

static bool is_owner(const struct imap_session *s, const char *id, size_t len)
{
	return strlen(s->address) == len && strncasecmp(s->address, id, len) == 0;
}

enum imap_cmd_result imap_cmd_myrights(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 1) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: MYRIGHTS mailbox");
		return IMAP_DONE;
	}
	if (!acl_mailbox(s, cmd, name, sizeof name))
		return IMAP_DONE;
	imap_write(s, "* MYRIGHTS ", 11);
	imap_write_mailbox(s, name);
	imap_printf(s, " %s\r\n", IMAP_OWNER_RIGHTS);
	imap_tagged(s, cmd, "OK", NULL, "MYRIGHTS completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_getacl(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 1) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: GETACL mailbox");
		return IMAP_DONE;
	}
	if (!acl_mailbox(s, cmd, name, sizeof name))
		return IMAP_DONE;
	imap_write(s, "* ACL ", 6);
	imap_write_mailbox(s, name);
	imap_write(s, " ", 1);
	imap_write_astring(s, s->address, strlen(s->address));
	imap_printf(s, " %s\r\n", IMAP_OWNER_RIGHTS);
	imap_tagged(s, cmd, "OK", NULL, "GETACL completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_listrights(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	const char *id;
	size_t idlen;
	if (cmd->nargs != 2) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: LISTRIGHTS mailbox identifier");
		return IMAP_DONE;
	}
	if (!identifier(s, cmd, 1, &id, &idlen) || !acl_mailbox(s, cmd, name, sizeof name))
		return IMAP_DONE;
	/* the owner always has every right; anyone else can be given none:
	 * required rights, and no optional ones (§3.7) */
	imap_write(s, "* LISTRIGHTS ", 13);
	imap_write_mailbox(s, name);
	imap_write(s, " ", 1);
	imap_write_astring(s, id, idlen); /* as the client wrote it (§3.4) */
	imap_printf(s, " %s\r\n", is_owner(s, id, idlen) ? IMAP_OWNER_RIGHTS : "\"\"");
	imap_tagged(s, cmd, "OK", NULL, "LISTRIGHTS completed");
	return IMAP_DONE;
}

/* SETACL mailbox identifier rights, DELETEACL mailbox identifier. */
enum imap_cmd_result imap_cmd_setacl(struct imap_session *s, struct imap_cmd *cmd)
{
	bool set = strcmp(cmd->name, "SETACL") == 0;
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	const char *id, *rights;
	size_t idlen, rlen;
	if (cmd->nargs != (set ? 3u : 2u)) {
		imap_tagged(s, cmd, "BAD", NULL,
		            set ? "Usage: SETACL mailbox identifier rights"
		                : "Usage: DELETEACL mailbox identifier");
		return IMAP_DONE;
	}
	if (!identifier(s, cmd, 1, &id, &idlen))
		return IMAP_DONE;
	if (set) {
		if (!imap_arg_astring(&cmd->args[2], &rights, &rlen)) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid rights");
			return IMAP_DONE;
		}
		size_t i = rlen && (rights[0] == '+' || rights[0] == '-');
		for (; i < rlen; i++) {
			if (!rights[i] || !strchr(IMAP_OWNER_RIGHTS, rights[i])) {
				/* §3.1: an unrecognized right MUST be BAD */
				imap_tagged(s, cmd, "BAD", NULL, "Unknown right %c",
				            rights[i] > ' ' && rights[i] < 0x7f ? rights[i] : '?');
				return IMAP_DONE;
			}
		}
	}
	if (!acl_mailbox(s, cmd, name, sizeof name))
		return IMAP_DONE;
	imap_tagged(s, cmd, "NO", "CANNOT",
	            "ACLs are fixed here: the owner has every right, no one else any");
	return IMAP_DONE;
}
