/* notify_queue: what cmd_notify.c (NOTIFY) and the session share: the
 * client's event groups, the queue of responses and its delivery. Below
 * reply.c (imap_tagged flushes it) and updates.c, so it calls neither. */
#ifndef TERN_IMAP_NOTIFY_QUEUE_H
#define TERN_IMAP_NOTIFY_QUEUE_H

#include "proto/imap/imap_int.h"
#include "lib/arena.h"
#include "store/notify.h"

#define EV_NEW 0x01u
#define EV_EXPUNGE 0x02u
#define EV_FLAGS 0x04u
#define EV_ANNOTATION 0x08u
#define EV_NAME 0x10u
#define EV_SUBSCRIPTION 0x20u
#define EV_MBOX_METADATA 0x40u
#define EV_SERVER_METADATA 0x80u

#define MAX_GROUPS 16
#define MAX_NAMES 64 /* mailbox names over all groups */

enum notify_filter {
	F_SELECTED,
	F_SELECTED_DELAYED,
	F_INBOXES,
	F_PERSONAL,
	F_SUBSCRIBED,
	F_SUBTREE,
	F_MAILBOXES,
};

struct notify_group {
	enum notify_filter filter;
	unsigned events;
	char **names; /* subtree / mailboxes: internal names */
	size_t nnames;
};

enum notify_item_kind { IT_STATUS, IT_LIST, IT_METADATA };

struct notify_item {
	enum notify_item_kind kind;
	int64_t mailbox_id;  /* IT_STATUS */
	unsigned evbits;     /* IT_STATUS: EV_* of the events seen */
	enum notify_kind ev; /* IT_LIST: which list event */
	char *name, *old_name, *entry;
};

struct imap_notify {
	struct notify_group groups[MAX_GROUPS];
	size_t ngroups;
	/* MessageNew (fetch-att ...) of the SELECTED group: the parsed spec
	 * (its strings in arena) and who writes it (cmd_fetch.c's
	 * imap_fetch_write_new, set by cmd_notify.c: this file is below it) */
	struct imap_fetch_spec *fetch;
	void (*write_fetch)(struct imap_session *s, const struct imap_fetch_spec *spec,
	                    uint32_t uid);
	struct arena arena;
	struct notify_sub *sub;
	struct notify_item *items;
	size_t nitems, cap;
};

/* The events the groups other than selected ask for on name (reads the
 * store: inside a read transaction). */
unsigned imap_notify_events_for(struct imap_session *s, const char *name);
/* The account subscription's callback. */
void imap_notify_on_event(void *ud, const struct notify_event *ev);
/* "* STATUS" for a mailbox NOTIFY watches: MESSAGES UIDNEXT UIDVALIDITY
 * UNSEEN, and HIGHESTMODSEQ under CONDSTORE. */
void imap_notify_write_status(struct imap_session *s, const char *name, int64_t mailbox_id);
/* Frees a set of groups that never became the session's. */
void imap_notify_free(struct imap_notify *n);

#endif
