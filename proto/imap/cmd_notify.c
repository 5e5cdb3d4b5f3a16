/* cmd_notify: NOTIFY (RFC 5465).
 *
 * NOTIFY SET keeps the client's event groups in s->notify and subscribes
 * to the account (store/notify.h). What arrives is queued, not written:
 * an event can come in the middle of this session's own command, and its
 * responses must not land inside a FETCH stream. The queue is written
 * (imap_notify_flush) when the session may speak: at once when it is
 * between commands or in IDLE, otherwise just before the next tagged
 * reply. Message events of other mailboxes are coalesced per mailbox and
 * become one STATUS with the values at flush time; list events are kept
 * one by one. The queue is bounded (imap.notify_max_pending): past it the
 * session says OK [NOTIFICATIONOVERFLOW] and behaves as after NOTIFY NONE
 * (§5.8).
 *
 * The selected mailbox keeps its own path (updates.c): NOTIFY only makes
 * its updates go out between commands too (selected: all of them;
 * selected-delayed: EXPUNGE waits for a command that allows it).
 *
 * Events this session caused are not told (§5 SHOULD). */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/imap/imap.h"
#include "proto/imap/parser.h"
#include "store/mailboxes.h"
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

enum filter {
	F_SELECTED,
	F_SELECTED_DELAYED,
	F_INBOXES,
	F_PERSONAL,
	F_SUBSCRIBED,
	F_SUBTREE,
	F_MAILBOXES,
};

struct group {
	enum filter filter;
	unsigned events;
	char **names; /* subtree / mailboxes: internal names */
	size_t nnames;
};

enum item_kind { IT_STATUS, IT_LIST, IT_METADATA };

struct item {
	enum item_kind kind;
	int64_t mailbox_id;  /* IT_STATUS */
	unsigned evbits;     /* IT_STATUS: EV_* of the events seen */
	enum notify_kind ev; /* IT_LIST: which list event */
	char *name, *old_name, *entry;
};

struct imap_notify {
	struct group groups[MAX_GROUPS];
	size_t ngroups;
	struct notify_sub *sub;
	struct item *items;
	size_t nitems, cap;
};

static const char supported[] = "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
                                "SubscriptionChange MailboxMetadataChange ServerMetadataChange)";

static void items_clear(struct imap_notify *n)
{
	for (size_t i = 0; i < n->nitems; i++) {
		free(n->items[i].name);
		free(n->items[i].old_name);
		free(n->items[i].entry);
	}
	n->nitems = 0;
}

static void notify_free(struct imap_notify *n)
{
	if (!n)
		return;
	notify_unsubscribe(n->sub);
	items_clear(n);
	free(n->items);
	for (size_t g = 0; g < n->ngroups; g++) {
		for (size_t k = 0; k < n->groups[g].nnames; k++)
			free(n->groups[g].names[k]);
		free(n->groups[g].names);
	}
	free(n);
}

void imap_notify_end(struct imap_session *s)
{
	notify_free(s->notify);
	s->notify = NULL;
}

/* ---- matching ---- */

static bool name_matches(const struct group *g, const char *name, const struct imap_session *s,
                         int subscribed)
{
	switch (g->filter) {
	case F_INBOXES:
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
static unsigned events_for(struct imap_session *s, const char *name)
{
	struct imap_notify *n = s->notify;
	unsigned ev = 0;
	int sub = -1;
	for (size_t g = 0; g < n->ngroups; g++) {
		const struct group *gr = &n->groups[g];
		if (gr->filter == F_SELECTED || gr->filter == F_SELECTED_DELAYED)
			continue;
		if (gr->filter == F_SUBSCRIBED && sub < 0)
			sub = is_subscribed(s, name);
		if (name_matches(gr, name, s, sub))
			ev |= gr->events;
	}
	return ev;
}

static const struct group *selected_group(const struct imap_notify *n)
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
	if (s->input == IMAP_IN_IDLE)
		return true;
	return !s->cur && s->input == IMAP_IN_COMMAND && imap_parser_at_start(s->parser);
}

bool imap_notify_selected_now(const struct imap_session *s, bool *allow_expunge)
{
	const struct group *g = selected_group(s->notify);
	if (!g || !(g->events & EV_NEW) || !can_speak(s))
		return false;
	*allow_expunge = g->filter == F_SELECTED || s->input == IMAP_IN_IDLE;
	return true;
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

static void write_status(struct imap_session *s, int64_t mailbox_id, unsigned evbits)
{
	struct name_of no = {.id = mailbox_id};
	if (store_mailbox_list(imap_reader(s), s->account_id, find_name, &no) != 1 || !no.name)
		return; /* gone since: its MailboxName event says so */
	unsigned ev = events_for(s, no.name);
	if (ev & evbits) {
		/* ST_* of cmd_status.c: MESSAGES UIDNEXT UIDVALIDITY UNSEEN (+HIGHESTMODSEQ) */
		unsigned items = 0x001u | 0x002u | 0x004u | 0x008u;
		if (s->enabled & IMAP_EXT_CONDSTORE)
			items |= 0x040u;
		imap_write_status(s, no.name, mailbox_id, items);
	}
	free(no.name);
}

static void write_list(struct imap_session *s, const struct item *it)
{
	const char *attr = "()";
	if (it->ev == NOTIFY_MAILBOX_DELETED)
		attr = "(\\NonExistent)";
	else if (it->ev == NOTIFY_SUBSCRIPTION)
		attr = is_subscribed(s, it->name) > 0 ? "(\\Subscribed)" : "()";
	imap_printf(s, "* LIST %s \"/\" ", attr);
	imap_write_mailbox(s, it->name);
	if (it->ev == NOTIFY_MAILBOX_RENAMED && it->old_name) {
		static const char oldname[] = " (\"OLDNAME\" (";
		imap_write(s, oldname, sizeof oldname - 1);
		imap_write_mailbox(s, it->old_name);
		imap_write(s, "))", 2);
	}
	imap_write(s, "\r\n", 2);
}

void imap_notify_flush(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (!n || !n->nitems || s->closed || s->state == IMAP_LOGOUT)
		return;
	/* take the queue first: writing may not add to it, but be safe */
	struct item *items = n->items;
	size_t nitems = n->nitems;
	n->items = NULL;
	n->nitems = n->cap = 0;
	bool txn = store_read_begin(imap_reader(s));
	for (size_t i = 0; i < nitems; i++) {
		const struct item *it = &items[i];
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

static struct item *push(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n->nitems >= (size_t)s->cfg->notify_max_pending) {
		overflow(s);
		return NULL;
	}
	if (n->nitems == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 8;
		struct item *v = realloc(n->items, cap * sizeof *v);
		if (!v) {
			overflow(s);
			return NULL;
		}
		n->items = v;
		n->cap = cap;
	}
	struct item *it = &n->items[n->nitems++];
	memset(it, 0, sizeof *it);
	return it;
}

static char *dup_or_empty(const char *x)
{
	return strdup(x ? x : "");
}

static void on_account_event(void *ud, const struct notify_event *ev)
{
	struct imap_session *s = ud;
	struct imap_notify *n = s->notify;
	if (!n || ev->origin == s->sid)
		return;
	struct item *it = NULL;
	switch (ev->kind) {
	case NOTIFY_EXISTS:
	case NOTIFY_EXPUNGE:
	case NOTIFY_FLAGS: {
		if (s->state == IMAP_SELECTED && ev->mailbox_id == s->sel.mailbox_id)
			return; /* updates.c */
		unsigned bit = ev->kind == NOTIFY_EXISTS    ? EV_NEW
		               : ev->kind == NOTIFY_EXPUNGE ? EV_EXPUNGE
		                                            : EV_FLAGS;
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
		bool txn = store_read_begin(imap_reader(s));
		bool hit = (events_for(s, name) & want) ||
		           (ev->old_name && (events_for(s, ev->old_name) & want));
		store_read_end(imap_reader(s), txn);
		if (!hit || !(it = push(s)))
			return;
		it->kind = IT_LIST;
		it->ev = ev->kind;
		it->name = dup_or_empty(name);
		if (ev->old_name)
			it->old_name = strdup(ev->old_name);
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
			hit = (events_for(s, name) & EV_MBOX_METADATA) != 0;
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

/* ---- the command ---- */

static bool parse_event(const struct imap_arg *a, const struct imap_arg *next, unsigned *bit,
                        bool *fetch_list)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"MessageNew", EV_NEW},
	             {"MessageExpunge", EV_EXPUNGE},
	             {"FlagChange", EV_FLAGS},
	             {"AnnotationChange", EV_ANNOTATION},
	             {"MailboxName", EV_NAME},
	             {"SubscriptionChange", EV_SUBSCRIPTION},
	             {"MailboxMetadataChange", EV_MBOX_METADATA},
	             {"ServerMetadataChange", EV_SERVER_METADATA}};
	*fetch_list = a->type == IMAP_ARG_ATOM && imap_arg_is_atom(a, "MessageNew") && next &&
	              next->type == IMAP_ARG_LIST;
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if (imap_arg_is_atom(a, names[k].name)) {
			*bit = names[k].bit;
			return true;
		}
	*bit = 0;
	return a->type == IMAP_ARG_ATOM; /* event-ext: an unknown atom */
}

enum parse_result { P_OK, P_BAD, P_BADEVENT, P_NOFETCH };

static enum parse_result parse_group(struct imap_session *s, struct imap_cmd *cmd,
                                     const struct imap_arg *l, struct group *g, size_t *names_left,
                                     const char **why)
{
	*why = "Invalid event group";
	if (l->type != IMAP_ARG_LIST || l->nlist < 2)
		return P_BAD;
	size_t i = 0;
	const struct imap_arg *f = &l->list[i++];
	static const char *const filters[] = {"SELECTED", "SELECTED-DELAYED", "INBOXES",
	                                      "PERSONAL", "SUBSCRIBED",       "SUBTREE",
	                                      "MAILBOXES"};
	size_t k;
	for (k = 0; k < sizeof filters / sizeof filters[0]; k++)
		if (imap_arg_is_atom(f, filters[k]))
			break;
	if (k == sizeof filters / sizeof filters[0]) {
		*why = "Unknown mailbox filter";
		return P_BAD;
	}
	g->filter = (enum filter)k;
	if (g->filter == F_SUBTREE || g->filter == F_MAILBOXES) {
		if (i >= l->nlist)
			return P_BAD;
		const struct imap_arg *m = &l->list[i++];
		const struct imap_arg *v = m->type == IMAP_ARG_LIST ? m->list : m;
		size_t nv = m->type == IMAP_ARG_LIST ? m->nlist : 1;
		if (nv == 0)
			return P_BAD;
		if (nv > *names_left) {
			*why = "Too many mailbox names";
			return P_BAD;
		}
		*names_left -= nv;
		g->names = calloc(nv, sizeof *g->names);
		if (!g->names)
			return P_BAD;
		for (size_t j = 0; j < nv; j++) {
			const char *str;
			size_t len;
			char buf[IMAP_MAILBOX_NAME_MAX + 1];
			if (!imap_arg_astring(&v[j], &str, &len) ||
			    imap_mailbox_name_decode(s, str, len, buf, sizeof buf, true) < 0) {
				*why = "Invalid mailbox name";
				return P_BAD;
			}
			if (!(g->names[g->nnames++] = strdup(buf)))
				return P_BAD;
		}
	}
	if (i + 1 != l->nlist)
		return P_BAD;
	const struct imap_arg *e = &l->list[i];
	if (imap_arg_is_atom(e, "NONE"))
		return P_OK;
	if (e->type != IMAP_ARG_LIST || e->nlist == 0) {
		*why = "Events expected";
		return P_BAD;
	}
	bool unknown = false;
	for (size_t j = 0; j < e->nlist; j++) {
		unsigned bit;
		bool fetch;
		const struct imap_arg *next = j + 1 < e->nlist ? &e->list[j + 1] : NULL;
		if (!parse_event(&e->list[j], next, &bit, &fetch)) {
			*why = "Invalid event";
			return P_BAD;
		}
		if (fetch) {
			if (g->filter != F_SELECTED && g->filter != F_SELECTED_DELAYED) {
				*why = "A fetch-att list is only for the selected mailbox";
				return P_BAD;
			}
			/* FETCH responses for new messages are not made */
			return P_NOFETCH;
		}
		if (!bit || bit == EV_ANNOTATION)
			unknown = true;
		g->events |= bit;
	}
	(void)cmd;
	unsigned ev = g->events;
	if (!!(ev & EV_NEW) != !!(ev & EV_EXPUNGE)) {
		*why = "MessageNew and MessageExpunge go together";
		return P_BAD;
	}
	if ((ev & EV_FLAGS) && !(ev & EV_NEW)) {
		*why = "FlagChange needs MessageNew and MessageExpunge";
		return P_BAD;
	}
	if ((g->filter == F_SELECTED || g->filter == F_SELECTED_DELAYED) &&
	    (ev & ~(EV_NEW | EV_EXPUNGE | EV_FLAGS | EV_ANNOTATION))) {
		*why = "Only message events for the selected mailbox";
		return P_BAD;
	}
	return unknown ? P_BADEVENT : P_OK;
}

/* STATUS for every existing mailbox a non-selected group names with
 * message events (§3). */
struct initial {
	struct imap_session *s;
	int64_t *ids;
	char **names;
	size_t n, cap;
};

static int collect_initial(void *ud, const struct store_mailbox *mb)
{
	struct initial *in = ud;
	if (in->s->state == IMAP_SELECTED && mb->id == in->s->sel.mailbox_id)
		return 0;
	if (!(events_for(in->s, mb->name) & (EV_NEW | EV_EXPUNGE | EV_FLAGS)))
		return 0;
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 16;
		int64_t *ids = realloc(in->ids, cap * sizeof *ids);
		if (!ids)
			return -ENOMEM;
		in->ids = ids;
		char **names = realloc(in->names, cap * sizeof *names);
		if (!names)
			return -ENOMEM;
		in->names = names;
		in->cap = cap;
	}
	in->ids[in->n] = mb->id;
	if (!(in->names[in->n] = strdup(mb->name)))
		return -ENOMEM;
	in->n++;
	return 0;
}

static void initial_status(struct imap_session *s)
{
	struct initial in = {.s = s};
	store_mailbox_list(imap_reader(s), s->account_id, collect_initial, &in);
	unsigned items = 0x001u | 0x002u | 0x004u | 0x008u;
	if (s->enabled & IMAP_EXT_CONDSTORE)
		items |= 0x040u;
	for (size_t i = 0; i < in.n; i++) {
		imap_write_status(s, in.names[i], in.ids[i], items);
		free(in.names[i]);
	}
	free(in.names);
	free(in.ids);
}

enum imap_cmd_result imap_cmd_notify(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs == 1 && imap_arg_is_atom(&cmd->args[0], "NONE")) {
		imap_notify_end(s);
		imap_tagged(s, cmd, "OK", NULL, "NOTIFY completed");
		return IMAP_DONE;
	}
	if (cmd->nargs < 2 || !imap_arg_is_atom(&cmd->args[0], "SET")) {
		imap_tagged(s, cmd, "BAD", NULL,
		            "Usage: NOTIFY SET [STATUS] (filter events)... | NONE");
		return IMAP_DONE;
	}
	size_t i = 1;
	bool status = imap_arg_is_atom(&cmd->args[i], "STATUS");
	if (status)
		i++;
	if (i >= cmd->nargs || cmd->nargs - i > MAX_GROUPS) {
		imap_tagged(s, cmd, "BAD", NULL, "Between 1 and %d event groups", MAX_GROUPS);
		return IMAP_DONE;
	}
	struct imap_notify *n = calloc(1, sizeof *n);
	if (!n) {
		imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
		return IMAP_DONE;
	}
	size_t names_left = MAX_NAMES;
	bool badevent = false, selected = false;
	for (; i < cmd->nargs; i++) {
		const char *why;
		struct group *g = &n->groups[n->ngroups++];
		enum parse_result r = parse_group(s, cmd, &cmd->args[i], g, &names_left, &why);
		if (r == P_OK && (g->filter == F_SELECTED || g->filter == F_SELECTED_DELAYED)) {
			if (selected) {
				r = P_BAD;
				why = "Only one of SELECTED and SELECTED-DELAYED";
			}
			selected = true;
		}
		if (r == P_BAD) {
			notify_free(n);
			imap_tagged(s, cmd, "BAD", NULL, "%s", why);
			return IMAP_DONE;
		}
		if (r == P_NOFETCH) {
			notify_free(n);
			imap_tagged(s, cmd, "NO", "CANNOT",
			            "MessageNew takes no fetch attributes here");
			return IMAP_DONE;
		}
		badevent |= r == P_BADEVENT;
	}
	if (badevent) {
		notify_free(n);
		imap_tagged(s, cmd, "NO", supported, "Unsupported event");
		return IMAP_DONE;
	}
	n->sub = notify_subscribe_account(s->account_id, on_account_event, s);
	if (!n->sub) {
		notify_free(n);
		imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
		return IMAP_DONE;
	}
	imap_notify_end(s);
	s->notify = n;
	s->notify_overflowed = false;
	if (status)
		initial_status(s);
	/* an implicit NOOP: imap_tagged flushes the selected mailbox's updates */
	imap_tagged(s, cmd, "OK", NULL, "NOTIFY completed");
	return IMAP_DONE;
}
