/* cmd_status: STATUS (RFC 9051 §6.3.11) with SIZE (RFC 8438),
 * HIGHESTMODSEQ (RFC 7162), APPENDLIMIT (RFC 7889), MAILBOXID (RFC 8474), and the same
 * "* STATUS" line for LIST's RETURN (STATUS ...) (RFC 5819, cmd_list.c).
 * A read: it uses the loop's read connection directly. */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdio.h>

#include "proto/imap/imap.h"
#include "store/mailboxes.h"

#define ST_MESSAGES 0x001u
#define ST_UIDNEXT 0x002u
#define ST_UIDVALIDITY 0x004u
#define ST_UNSEEN 0x008u
#define ST_DELETED 0x010u
#define ST_SIZE 0x020u
#define ST_HIGHESTMODSEQ 0x040u
#define ST_RECENT 0x080u
#define ST_APPENDLIMIT 0x100u
#define ST_MAILBOXID 0x200u
/* A list of status items ("(MESSAGES UNSEEN)") as ST_* bits. 0 or -EINVAL. */
int imap_status_items(const struct imap_arg *l, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} items[] = {{"MESSAGES", ST_MESSAGES},
	             {"UIDNEXT", ST_UIDNEXT},
	             {"UIDVALIDITY", ST_UIDVALIDITY},
	             {"UNSEEN", ST_UNSEEN},
	             {"DELETED", ST_DELETED},
	             {"SIZE", ST_SIZE},
	             {"HIGHESTMODSEQ", ST_HIGHESTMODSEQ},
	             {"RECENT", ST_RECENT},
	             {"APPENDLIMIT", ST_APPENDLIMIT},
	             {"MAILBOXID", ST_MAILBOXID}};
	if (l->type != IMAP_ARG_LIST || l->nlist == 0)
		return -EINVAL;
	*out = 0;
	for (size_t i = 0; i < l->nlist; i++) {
		size_t k;
		for (k = 0; k < sizeof items / sizeof items[0]; k++)
			if (imap_arg_is_atom(&l->list[i], items[k].name))
				break;
		if (k == sizeof items / sizeof items[0])
			return -EINVAL;
		*out |= items[k].bit;
	}
	return 0;
}

/* "* STATUS name (...)". Returns 0 or negative (nothing written). */
int imap_write_status(struct imap_session *s, const char *name, int64_t id, unsigned items)
{
	struct store_mailbox mb;
	struct store_mailbox_counts st = {0};
	int rc = store_mailbox_get(imap_reader(s), id, &mb);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((items & (ST_MESSAGES | ST_UNSEEN | ST_DELETED | ST_SIZE)) &&
	    (rc = store_mailbox_counts(imap_reader(s), id, &st)) < 0)
		return rc;
	if (items & ST_HIGHESTMODSEQ)
		imap_condstore_enable(s);
	char buf[512];
	size_t w = 0;
#define ADD(...) w += (size_t)snprintf(buf + w, sizeof buf - w, __VA_ARGS__)
	if (items & ST_MESSAGES)
		ADD(" MESSAGES %u", st.messages);
	if (items & ST_RECENT)
		ADD(" RECENT %lld", (long long)imap_recent_status(s, id));
	if (items & ST_UIDNEXT)
		ADD(" UIDNEXT %u", mb.uidnext);
	if (items & ST_UIDVALIDITY)
		ADD(" UIDVALIDITY %u", mb.uidvalidity);
	if (items & ST_UNSEEN)
		ADD(" UNSEEN %u", st.unseen);
	if (items & ST_DELETED)
		ADD(" DELETED %u", st.deleted);
	if (items & ST_SIZE)
		ADD(" SIZE %llu", (unsigned long long)st.size);
	if (items & ST_HIGHESTMODSEQ)
		ADD(" HIGHESTMODSEQ %lld", (long long)mb.highestmodseq);
	if (items & ST_APPENDLIMIT)
		ADD(" APPENDLIMIT %lld", (long long)s->cfg->max_literal);
	if (items & ST_MAILBOXID) /* objectid.h */
		ADD(" MAILBOXID (F%u)", mb.uidvalidity);
#undef ADD
	imap_write(s, "* STATUS ", 9);
	imap_write_mailbox(s, name);
	imap_printf(s, " (%s)\r\n", w ? buf + 1 : "");
	return 0;
}

enum imap_cmd_result imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd)
{
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	unsigned items;
	if (cmd->nargs != 2 || imap_status_items(&cmd->args[1], &items) < 0) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: STATUS mailbox (items)");
		return IMAP_DONE;
	}
	if (!imap_arg_mailbox(s, cmd, 0, name, sizeof name, false))
		return IMAP_DONE;
	int64_t id;
	int rc = store_mailbox_find(imap_reader(s), s->account_id, name, &id);
	if (rc == 1)
		rc = imap_write_status(s, name, id, items);
	else if (rc == 0)
		rc = -ENOENT;
	if (rc == -ENOENT)
		imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
	else if (rc < 0)
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
	else
		imap_tagged(s, cmd, "OK", NULL, "STATUS completed");
	return IMAP_DONE;
}
