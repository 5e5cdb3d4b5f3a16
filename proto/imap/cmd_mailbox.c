/* cmd_mailbox: the commands that change the mailbox list: CREATE,
 * DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 9051 §6.3.4-§6.3.8).
 *
 * Each is a store job: the command goes ASYNC and answers from the
 * completion, after COMMIT. Names are decoded by imap_arg_mailbox()
 * (mailbox_name.c's rules); the reads (SELECT, LIST, STATUS) have files
 * of their own.
 */
#include "proto/imap/imap_int.h"
#include "proto/imap/view_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/notify.h"
#include "store/mailboxes.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/entries.h"

/* job first: the store job gets this struct as its store_mailbox_req */
struct mbox_cmd {
	struct store_mailbox_req job;
	struct imap_session *s;
	int status;
	/* CREATE: the length of the shortest parent name that did not exist
	 * (0: none), so the parents it makes are told too */
	size_t missing_parent;
};

static void mbox_done(void *arg, int status)
{
	struct mbox_cmd *mc = arg;
	mc->status = status;
	imap_cmd_wake(mc->s);
}

static void mbox_ctx_free(struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (mc) {
		free(mc->job.uids);
		mc->job.uids = NULL;
	}
}

static enum imap_cmd_result submit(struct imap_session *s, struct imap_cmd *cmd,
                                   struct mbox_cmd *mc, store_job_fn fn)
{
	mc->s = s;
	mc->job.account_id = s->account_id;
	cmd->ctx = mc;
	cmd->ctx_free = mbox_ctx_free;
	if (store_submit(imap_store(s), fn, mbox_done, mc) != 0) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	cmd->step = 1;
	return IMAP_ASYNC;
}

/* Tell the account's other watchers (store/notify.h) what changed in its
 * mailbox list, after the commit. */
static void publish_list_event(struct imap_session *s, const struct mbox_cmd *mc,
                               enum notify_kind kind)
{
	bool renamed = kind == NOTIFY_MAILBOX_RENAMED;
	struct notify_event ev = {.mailbox_id = mc->job.mailbox_id,
	                          .kind = kind,
	                          .origin = s->sid,
	                          .account_id = s->account_id,
	                          .name = renamed ? mc->job.newname : mc->job.name,
	                          .old_name = renamed ? mc->job.name : NULL};
	notify_publish(&ev);
}

static void tagged_store_error(struct imap_session *s, struct imap_cmd *cmd, int status)
{
	switch (status) {
	case -ENOENT:
		imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
		break;
	case -EEXIST:
		imap_tagged(s, cmd, "NO", "ALREADYEXISTS", "Mailbox already exists");
		break;
	case -EPERM:
		imap_tagged(s, cmd, "NO", "CANNOT", "INBOX cannot be deleted");
		break;
	case -ENOTEMPTY:
		/* RFC 9051 7.1: the code for a server that keeps children. */
		imap_tagged(s, cmd, "NO", "HASCHILDREN", "Mailbox has children, delete them first");
		break;
	case -EINVAL:
		imap_tagged(s, cmd, "NO", "CANNOT", "Invalid mailbox name");
		break;
	case -EADDRINUSE: /* CREATE (USE ...), RFC 6154 §3 */
		imap_tagged(s, cmd, "NO", "USEATTR",
		            "Another mailbox already has that special use");
		break;
	case -ENOSPC:
		imap_tagged(s, cmd, "NO", "OVERQUOTA", "Disk full");
		break;
	default:
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		break;
	}
}

/* CREATE's parameter list (RFC 4466 create-param), of which tern knows
 * USE (RFC 6154 §3): "(USE (\\Drafts \\Sent))". *use gets the special
 * uses, canonical and space-separated ("" for "USE ()"). On -EINVAL, *err
 * says why and *use is NULL for a syntax error (BAD), else non-NULL for a
 * use tern cannot give (NO [USEATTR]). */
static int create_use(struct imap_cmd *cmd, const struct imap_arg *l, const char **use,
                      const char **err)
{
	/* what a mailbox here can be; \All and \Flagged would be virtual
	 * mailboxes, which tern does not have */
	static const char *const uses[] = {"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"};
	*use = NULL;
	if (l->type != IMAP_ARG_LIST || l->nlist != 2 || !imap_arg_is_atom(&l->list[0], "USE") ||
	    l->list[1].type != IMAP_ARG_LIST) {
		*err = "Unknown CREATE parameter";
		return -EINVAL;
	}
	const struct imap_arg *a = &l->list[1];
	bool have[sizeof uses / sizeof uses[0]] = {false};
	for (size_t i = 0; i < a->nlist; i++) {
		if (a->list[i].type != IMAP_ARG_ATOM || a->list[i].str[0] != '\\' ||
		    a->list[i].len < 2) {
			*err = "USE takes special-use attributes";
			return -EINVAL;
		}
	}
	char *out = imap_arena_alloc(&cmd->arena, 64);
	size_t w = 0;
	for (size_t i = 0; i < a->nlist; i++) {
		size_t k = 0;
		while (k < sizeof uses / sizeof uses[0] && !imap_arg_is_atom(&a->list[i], uses[k]))
			k++;
		if (k == sizeof uses / sizeof uses[0]) {
			*use = "";
			*err = imap_arena_printf(&cmd->arena, "%s not supported", a->list[i].str);
			return -EINVAL;
		}
		if (have[k])
			continue;
		have[k] = true;
		w += (size_t)snprintf(out + w, 64 - w, "%s%s", w ? " " : "", uses[k]);
	}
	*use = out;
	return 0;
}

enum imap_cmd_result imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0) {
			tagged_store_error(s, cmd, mc->status);
			return IMAP_DONE;
		}
		publish_list_event(s, mc, NOTIFY_MAILBOX_CREATED);
		for (size_t i = mc->missing_parent; i && mc->job.name[i]; i++) {
			if (mc->job.name[i] != '/')
				continue;
			char *parent = imap_arena_strndup(&cmd->arena, mc->job.name, i);
			struct notify_event ev = {.kind = NOTIFY_MAILBOX_CREATED,
			                          .origin = s->sid,
			                          .account_id = s->account_id,
			                          .name = parent};
			notify_publish(&ev);
		}
		/* RFC 8474 §4.1: the new mailbox's MAILBOXID (objectid.h) */
		struct store_mailbox mb;
		if (store_mailbox_get(imap_reader(s), mc->job.mailbox_id, &mb) == 1)
			imap_tagged(
			    s, cmd, "OK",
			    imap_arena_printf(&cmd->arena, "MAILBOXID (F%u)", mb.uidvalidity),
			    "CREATE completed");
		else
			imap_tagged(s, cmd, "OK", NULL, "CREATE completed");
		return IMAP_DONE;
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs < 1 || cmd->nargs > 2) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: CREATE mailbox [(USE (attributes))]");
		return IMAP_DONE;
	}
	const char *use = "", *err = NULL;
	if (cmd->nargs == 2 && create_use(cmd, &cmd->args[1], &use, &err) < 0) {
		imap_tagged(s, cmd, use ? "NO" : "BAD", use ? "USEATTR" : NULL, "%s", err);
		return IMAP_DONE;
	}
	if (!imap_arg_mailbox(s, cmd, 0, name, sizeof name, true))
		return IMAP_DONE;
	if (strcmp(name, "INBOX") == 0) {
		imap_tagged(s, cmd, "NO", "ALREADYEXISTS", "INBOX always exists");
		return IMAP_DONE;
	}
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, name, strlen(name));
	mc->job.special_use = use;
	mc->missing_parent = 0;
	for (size_t i = 1; name[i]; i++) {
		if (name[i] != '/')
			continue;
		char parent[IMAP_MAILBOX_NAME_MAX + 1];
		int64_t id;
		memcpy(parent, name, i);
		parent[i] = '\0';
		if (store_mailbox_find(imap_reader(s), s->account_id, parent, &id) == 0) {
			mc->missing_parent = i;
			break;
		}
	}
	return submit(s, cmd, mc, store_mailbox_create_job);
}

enum imap_cmd_result imap_cmd_delete(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0) {
			tagged_store_error(s, cmd, mc->status);
		} else {
			imap_recent_forget(mc->job.mailbox_id);
			imap_view_cache_forget(mc->job.mailbox_id);
			publish_list_event(s, mc, NOTIFY_MAILBOX_DELETED);
			imap_tagged(s, cmd, "OK", NULL, "DELETE completed");
		}
		return IMAP_DONE;
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 1) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: DELETE mailbox");
		return IMAP_DONE;
	}
	if (!imap_arg_mailbox(s, cmd, 0, name, sizeof name, true))
		return IMAP_DONE;
	if (s->state == IMAP_SELECTED && strcmp(name, s->sel.name) == 0) {
		imap_tagged(s, cmd, "NO", "INUSE", "Mailbox is selected; CLOSE it first");
		return IMAP_DONE;
	}
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, name, strlen(name));
	return submit(s, cmd, mc, store_mailbox_delete_job);
}

enum imap_cmd_result imap_cmd_rename(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0) {
			tagged_store_error(s, cmd, mc->status);
			return IMAP_DONE;
		}
		/* INBOX's messages moved out: tell everyone watching INBOX */
		for (size_t i = 0; i < mc->job.nuids; i++) {
			struct notify_event ev = {
			    .mailbox_id = 0, .kind = NOTIFY_EXPUNGE, .account_id = s->account_id};
			int64_t inbox;
			if (store_mailbox_find(imap_reader(s), s->account_id, "INBOX", &inbox) != 1)
				break;
			ev.mailbox_id = inbox;
			ev.uid = mc->job.uids[i];
			ev.modseq = mc->job.modseq;
			notify_publish(&ev);
		}
		if (s->state == IMAP_SELECTED && !mc->job.nuids &&
		    s->sel.mailbox_id == mc->job.mailbox_id) {
			free(s->sel.name);
			s->sel.name = strdup(mc->job.newname);
		}
		if (strcmp(mc->job.name, "INBOX") == 0) { /* INBOX stays: newname is new */
			struct mbox_cmd created = *mc;
			created.job.name = mc->job.newname;
			publish_list_event(s, &created, NOTIFY_MAILBOX_CREATED);
		} else {
			publish_list_event(s, mc, NOTIFY_MAILBOX_RENAMED);
		}
		imap_tagged(s, cmd, "OK", NULL, "RENAME completed");
		return IMAP_DONE;
	}
	char from[IMAP_MAILBOX_NAME_MAX + 1], to[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 2) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: RENAME from to");
		return IMAP_DONE;
	}
	if (!imap_arg_mailbox(s, cmd, 0, from, sizeof from, true) ||
	    !imap_arg_mailbox(s, cmd, 1, to, sizeof to, true))
		return IMAP_DONE;
	if (strcmp(to, "INBOX") == 0) {
		imap_tagged(s, cmd, "NO", "ALREADYEXISTS", "INBOX always exists");
		return IMAP_DONE;
	}
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, from, strlen(from));
	mc->job.newname = imap_arena_strndup(&cmd->arena, to, strlen(to));
	return submit(s, cmd, mc, store_mailbox_rename_job);
}

enum imap_cmd_result imap_cmd_subscribe(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mbox_cmd *mc = cmd->ctx;
	if (cmd->step == 1) {
		if (mc->status < 0) {
			tagged_store_error(s, cmd, mc->status);
		} else {
			publish_list_event(s, mc, NOTIFY_SUBSCRIPTION);
			imap_tagged(s, cmd, "OK", NULL, "%s completed", cmd->name);
		}
		return IMAP_DONE;
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	if (cmd->nargs != 1) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: %s mailbox", cmd->name);
		return IMAP_DONE;
	}
	if (!imap_arg_mailbox(s, cmd, 0, name, sizeof name, true))
		return IMAP_DONE;
	mc = imap_arena_alloc(&cmd->arena, sizeof *mc);
	mc->job.name = imap_arena_strndup(&cmd->arena, name, strlen(name));
	mc->job.subscribe = strcmp(cmd->name, "SUBSCRIBE") == 0;
	return submit(s, cmd, mc, store_mailbox_subscribe_job);
}
