/* notify_queue: NOTIFY's queue (notify_queue.h).
 *
 * What arrives from the account subscription is queued, not written: an
 * event can come in the middle of this session's own command, and its
 * responses must not land inside a FETCH stream. The queue is written
 * (imap_notify_flush) when the session may speak: at once when it is
 * between commands (no command running, the parser at a command's start)
 * or in IDLE, otherwise just before the next tagged reply (reply.c).
 * Message events of other mailboxes are coalesced per mailbox and become
 * one STATUS with the values at flush time; list events are kept one by
 * one. The queue is bounded (imap.notify_max_pending): past it the session
 * says OK [NOTIFICATIONOVERFLOW] and behaves as after NOTIFY NONE (§5.8).
 *
 * The selected mailbox keeps its own path (updates.c): NOTIFY only lets its
 * updates go out between commands too (selected: all of them;
 * selected-delayed: EXPUNGE waits for a command that allows it), and only
 * the events its SELECTED group names (FlagChange). Without a SELECTED or
 * SELECTED-DELAYED group, "the client doesn't want to receive any
 * message-events for the currently selected mailbox. This is the same as
 * specifying SELECTED NONE" (RFC 5465 §3): its updates then wait for a
 * tagged reply, as the base protocol has them, in IDLE too (§4: IDLE sends
 * what NOTIFY asks for), and no group naming it gets STATUS for it.
 *
 * Events this session caused are not told (RFC 5465 §5 SHOULD). */
#include "proto/imap/notify_queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/imap/imap.h"
#include "proto/imap/list_line.h"
#include "proto/imap/parser.h"
#include "net/conn.h"
#include "store/mailboxes.h"
#include "store/notify.h"

static void items_clear(struct imap_notify *n)
{
	for (size_t i = 0; i < n->nitems; i++) {
		free(n->items[i].name);
		free(n->items[i].old_name);
		free(n->items[i].entry);
	}
	n->nitems = 0;
}

void imap_notify_free(struct imap_notify *n)
{
	if (!n)
		return;
	notify_unsubscribe(n->sub);
	items_clear(n);
	free(n->items);
	arena_reset(&n->arena);
	for (size_t g = 0; g < n->ngroups; g++) {
		for (size_t k = 0; k < n->groups[g].nnames; k++)
			free(n->groups[g].names[k]);
		free(n->groups[g].names);
	}
	free(n);
}

void imap_notify_end(struct imap_session *s)
{
	imap_notify_free(s->notify);
	s->notify = NULL;
}

/* ---- matching ---- */

static bool name_matches(const struct notify_group *g, const char *name,
                         const struct imap_session *s, int subscribed)
{
	switch (g->filter) {
	case F_INBOXES:
		/* "the mailboxes where messages are delivered" (RFC 5465
		 * §6.3, the server's choice): today delivery only files into
		 * INBOX. Sieve's fileinto would add the mailboxes it targets. */
		return strcmp(name, "INBOX") == 0;
	case F_PERSONAL:
		return true;
	case F_SUBSCRIBED:
		return subscribed > 0;
	case F_SUBTREE:
		for (size_t k = 0; k < g->nnames; k++) {
			size_t l = strlen(g->names[k]);
			if (strncmp(name, g->names[k], l) == 0 &&
			    (name[l] == '\0' || name[l] == '/'))
				return true;
		}
		return false;
	case F_MAILBOXES:
		for (size_t k = 0; k < g->nnames; k++)
			if (strcmp(name, g->names[k]) == 0)
				return true;
		return false;
	default:
		(void)s;
		return false;
	}
}

static int find_subscribed(void *ud, const char *name)
{
	return strcmp(ud, name) == 0 ? 1 : 0;
}

static int is_subscribed(struct imap_session *s, const char *name)
{
	return store_subscription_list(imap_reader(s), s->account_id, find_subscribed,
	                               (void *)name);
}

/* The events the groups other than selected ask for on name. */
unsigned imap_notify_events_for(struct imap_session *s, const char *name)
{
	struct imap_notify *n = s->notify;
	unsigned ev = 0;
	int sub = -1;
	for (size_t g = 0; g < n->ngroups; g++) {
		const struct notify_group *gr = &n->groups[g];
		if (gr->filter == F_SELECTED || gr->filter == F_SELECTED_DELAYED)
			continue;
		if (gr->filter == F_SUBSCRIBED && sub < 0)
			sub = is_subscribed(s, name);
		if (name_matches(gr, name, s, sub))
			ev |= gr->events;
	}
	return ev;
}

static const struct notify_group *selected_group(const struct imap_notify *n)
{
	for (size_t g = 0; n && g < n->ngroups; g++)
		if (n->groups[g].filter == F_SELECTED || n->groups[g].filter == F_SELECTED_DELAYED)
			return &n->groups[g];
	return NULL;
}

/* ---- delivery ---- */

/* May the session write an unsolicited response right now? */
static bool can_speak(const struct imap_session *s)
{
	if (s->closed || s->state == IMAP_LOGOUT || s->state == IMAP_NOT_AUTH)
		return false;
	/* a client that does not read: let the queue (and its bound) hold it */
	if (conn_output_full(s->conn))
		return false;
	if (s->input == IMAP_IN_IDLE)
		return true;
	return !s->cur && s->input == IMAP_IN_COMMAND && imap_parser_at_start(s->parser);
}

bool imap_notify_selected_now(const struct imap_session *s, int kind, bool *allow_expunge)
{
	const struct notify_group *g = selected_group(s->notify);
	if (!g || !(g->events & EV_NEW) || !can_speak(s))
		return false;
	if (kind == NOTIFY_FLAGS && !(g->events & EV_FLAGS))
		return false; /* told with the next command's updates */
	*allow_expunge = g->filter == F_SELECTED || s->input == IMAP_IN_IDLE;
	return true;
}

bool imap_notify_wants_fetch(const struct imap_session *s)
{
	const struct notify_group *g = selected_group(s->notify);
	return g && (g->events & EV_NEW) && s->notify->fetch && s->notify->write_fetch;
}

/* Each FETCH is bounded (cmd_notify.c), but a burst of new mail for a
 * client that does not read would not be: past NOTIFY_FETCH_MAX_QUEUED
 * bytes waiting in the output, the rest of the burst gets its EXISTS only
 * (the client can FETCH what it was not sent). */
#define NOTIFY_FETCH_MAX_QUEUED (4u << 20)

void imap_notify_fetch_new(struct imap_session *s, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n && s->notify && !s->closed; i++) {
		if (conn_output_queued(s->conn) > NOTIFY_FETCH_MAX_QUEUED) {
			imap_log(s, LOG_INFO, "event=notify_fetch_skipped count=%zu", n - i);
			return;
		}
		s->notify->write_fetch(s, s->notify->fetch, uids[i]);
	}
}

struct name_of {
	int64_t id;
	char *name;
};

static int find_name(void *ud, const struct store_mailbox *mb)
{
	struct name_of *no = ud;
	if (mb->id != no->id)
		return 0;
	no->name = strdup(mb->name);
	return 1;
}

void imap_notify_write_status(struct imap_session *s, const char *name, int64_t mailbox_id)
{
	struct store_mailbox mb;
	struct store_mailbox_counts st = {0};
	if (store_mailbox_get(imap_reader(s), mailbox_id, &mb) != 1 ||
	    store_mailbox_counts(imap_reader(s), mailbox_id, &st) < 0)
		return;
	imap_write(s, "* STATUS ", 9);
	imap_write_mailbox(s, name);
	imap_printf(s, " (MESSAGES %u UIDNEXT %u UIDVALIDITY %u UNSEEN %u", st.messages, mb.uidnext,
	            mb.uidvalidity, st.unseen);
	if (s->enabled & IMAP_EXT_CONDSTORE)
		imap_printf(s, " HIGHESTMODSEQ %lld", (long long)mb.highestmodseq);
	imap_write(s, ")\r\n", 3);
}

static void write_status(struct imap_session *s, int64_t mailbox_id, unsigned evbits)
{
	if (s->state == IMAP_SELECTED && mailbox_id == s->sel.mailbox_id)
		return; /* selected since it was queued: updates.c tells it */
	struct name_of no = {.id = mailbox_id};
	if (store_mailbox_list(imap_reader(s), s->account_id, find_name, &no) != 1 || !no.name)
		return; /* gone since: its MailboxName event says so */
	if (imap_notify_events_for(s, no.name) & evbits)
		imap_notify_write_status(s, no.name, mailbox_id);
	free(no.name);
}

/* MailboxName / SubscriptionChange: the LIST line as a LIST RETURN
 * (CHILDREN SUBSCRIBED) would give it now (list_line.c): a deleted name
 * is \NonExistent by itself, a renamed one carries OLDNAME. */
static void write_list(struct imap_session *s, const struct notify_item *it)
{
	imap_list_write_event(s, it->name, it->ev == NOTIFY_MAILBOX_RENAMED ? it->old_name : NULL);
}

void imap_notify_flush(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (!n || !n->nitems || s->closed || s->state == IMAP_LOGOUT)
		return;
	/* take the queue first: writing may not add to it, but be safe */
	struct notify_item *items = n->items;
	size_t nitems = n->nitems;
	n->items = NULL;
	n->nitems = n->cap = 0;
	bool txn = store_read_begin(imap_reader(s));
	for (size_t i = 0; i < nitems; i++) {
		const struct notify_item *it = &items[i];
		if ((it->kind != IT_STATUS && !it->name) || (it->kind == IT_METADATA && !it->entry))
			continue; /* out of memory when queued */
		switch (it->kind) {
		case IT_STATUS:
			write_status(s, it->mailbox_id, it->evbits);
			break;
		case IT_LIST:
			write_list(s, it);
			break;
		case IT_METADATA:
			imap_write(s, "* METADATA ", 11);
			if (*it->name)
				imap_write_mailbox(s, it->name);
			else
				imap_write(s, "\"\"", 2);
			imap_write(s, " ", 1);
			imap_write_astring(s, it->entry, strlen(it->entry));
			imap_write(s, "\r\n", 2);
			break;
		}
	}
	store_read_end(imap_reader(s), txn);
	for (size_t i = 0; i < nitems; i++) {
		free(items[i].name);
		free(items[i].old_name);
		free(items[i].entry);
	}
	free(items);
}

void imap_notify_drained(struct imap_session *s)
{
	if (!can_speak(s))
		return;
	imap_notify_flush_overflow(s);
	imap_notify_flush(s);
}

static void overflow(struct imap_session *s)
{
	imap_log(s, LOG_INFO, "event=notify_overflow pending=%zu", s->notify->nitems);
	imap_notify_end(s);
	/* said at once if it can be, else before the next tagged reply */
	s->notify_overflowed = true;
	if (can_speak(s))
		imap_notify_flush_overflow(s);
}

void imap_notify_flush_overflow(struct imap_session *s)
{
	if (!s->notify_overflowed || s->closed || s->state == IMAP_LOGOUT)
		return;
	s->notify_overflowed = false;
	imap_untagged(s, "OK [NOTIFICATIONOVERFLOW] Too many notifications, NOTIFY NONE in effect");
}

static struct notify_item *push(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n->nitems >= (size_t)s->cfg->notify_max_pending) {
		overflow(s);
		return NULL;
	}
	if (n->nitems == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 8;
		struct notify_item *v = realloc(n->items, cap * sizeof *v);
		if (!v) {
			overflow(s);
			return NULL;
		}
		n->items = v;
		n->cap = cap;
	}
	struct notify_item *it = &n->items[n->nitems++];
	memset(it, 0, sizeof *it);
	return it;
}

static char *dup_or_empty(const char *x)
{
	return strdup(x ? x : "");
}

void imap_notify_on_event(void *ud, const struct notify_event *ev)
{
	struct imap_session *s = ud;
	struct imap_notify *n = s->notify;
	if (!n || ev->origin == s->sid)
		return;
	struct notify_item *it = NULL;
	switch (ev->kind) {
	case NOTIFY_EXISTS:
	case NOTIFY_EXPUNGE:
	case NOTIFY_FLAGS: {
		if (s->state == IMAP_SELECTED && ev->mailbox_id == s->sel.mailbox_id)
			return; /* updates.c */
		unsigned bit = ev->kind == NOTIFY_EXISTS    ? EV_NEW
		               : ev->kind == NOTIFY_EXPUNGE ? EV_EXPUNGE
		                                            : EV_FLAGS;
		/* no group wants it anywhere: nothing to queue (the mailbox's
		 * name, needed for the rest of the test, is read at flush) */
		unsigned any = 0;
		for (size_t g = 0; g < n->ngroups; g++)
			if (n->groups[g].filter != F_SELECTED &&
			    n->groups[g].filter != F_SELECTED_DELAYED)
				any |= n->groups[g].events;
		if (!(any & bit))
			return;
		for (size_t i = 0; i < n->nitems; i++)
			if (n->items[i].kind == IT_STATUS &&
			    n->items[i].mailbox_id == ev->mailbox_id) {
				n->items[i].evbits |= bit;
				goto speak; /* one STATUS says it all */
			}
		if (!(it = push(s)))
			return;
		it->kind = IT_STATUS;
		it->mailbox_id = ev->mailbox_id;
		it->evbits = bit;
		break;
	}
	case NOTIFY_MAILBOX_CREATED:
	case NOTIFY_MAILBOX_DELETED:
	case NOTIFY_MAILBOX_RENAMED:
	case NOTIFY_SUBSCRIPTION: {
		unsigned want = ev->kind == NOTIFY_SUBSCRIPTION ? EV_SUBSCRIPTION : EV_NAME;
		const char *name = ev->name ? ev->name : "";
		/* §5.4: a mailbox created or deleted affects its direct parent
		 * too, existing or not: a LIST for each (the parent's says
		 * \HasChildren, \HasNoChildren or \NonExistent as it is now) */
		char parent[IMAP_MAILBOX_NAME_MAX + 1];
		const char *slash = strrchr(name, '/');
		bool with_parent =
		    (ev->kind == NOTIFY_MAILBOX_CREATED || ev->kind == NOTIFY_MAILBOX_DELETED) &&
		    slash && slash > name && (size_t)(slash - name) < sizeof parent;
		if (with_parent) {
			memcpy(parent, name, (size_t)(slash - name));
			parent[slash - name] = '\0';
		}
		bool txn = store_read_begin(imap_reader(s));
		bool hit = (imap_notify_events_for(s, name) & want) ||
		           (ev->old_name && (imap_notify_events_for(s, ev->old_name) & want));
		with_parent = with_parent && (imap_notify_events_for(s, parent) & want);
		store_read_end(imap_reader(s), txn);
		if (hit) {
			if (!(it = push(s)))
				return;
			it->kind = IT_LIST;
			it->ev = ev->kind;
			it->name = dup_or_empty(name);
			if (ev->old_name)
				it->old_name = strdup(ev->old_name);
		}
		for (size_t i = 0; with_parent && i < n->nitems; i++)
			if (n->items[i].kind == IT_LIST && n->items[i].name &&
			    !n->items[i].old_name && strcmp(n->items[i].name, parent) == 0)
				with_parent = false; /* told already, as it is at flush */
		if (with_parent) {
			if (!(it = push(s)))
				return;
			it->kind = IT_LIST;
			it->ev = ev->kind;
			it->name = strdup(parent);
		}
		if (!it)
			return;
		break;
	}
	case NOTIFY_METADATA: {
		const char *name = ev->name ? ev->name : "";
		bool hit = false;
		if (!*name) {
			for (size_t g = 0; g < n->ngroups; g++)
				hit |= (n->groups[g].events & EV_SERVER_METADATA) != 0;
		} else {
			bool txn = store_read_begin(imap_reader(s));
			hit = (imap_notify_events_for(s, name) & EV_MBOX_METADATA) != 0;
			store_read_end(imap_reader(s), txn);
		}
		if (!hit || !ev->entry || !(it = push(s)))
			return;
		it->kind = IT_METADATA;
		it->name = dup_or_empty(name);
		it->entry = strdup(ev->entry);
		break;
	}
	}
speak:
	if (s->notify && can_speak(s))
		imap_notify_flush(s);
}
