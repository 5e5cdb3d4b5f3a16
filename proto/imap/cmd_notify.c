/* cmd_notify: NOTIFY SET / NOTIFY NONE (RFC 5465): the event groups
 * parsed and checked (§5's rules, §8's grammar), the initial STATUS, and
 * the account subscription; delivery is notify_queue.c's. */
#include "proto/imap/notify_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/imap/fetch.h"
#include "proto/imap/imap.h"
#include "proto/imap/parser.h"
#include "store/mailboxes.h"
#include "store/notify.h"

static const char supported[] = "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
                                "SubscriptionChange MailboxMetadataChange ServerMetadataChange)";

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

/* MessageNew (fetch-att ...): which attributes, and why so few bodies.
 * The FETCH is written whole at the flush, from the loop, for every new
 * message, in every session that asked (imap_fetch_write_new), so what
 * it may cost is bounded here. RFC 5465 §5.2: the client SHOULD NOT use
 * attributes that set \Seen (an unsolicited response cannot change
 * state: refused) or that presuppose a body part (refused: part numbers,
 * TEXT, BINARY, MIME). Allowed: the message's own data (UID, FLAGS,
 * MODSEQ, sizes, dates, ids, ENVELOPE, BODY, BODYSTRUCTURE, PREVIEW:
 * the index row, or one parse the indexer makes anyway), the top-level
 * header (HEADER, HEADER.FIELDS[.NOT]: only the header is read unless
 * ENVELOPE and the like parse the message anyway), and the
 * raw message with a <partial> of at most NOTIFY_FETCH_PARTIAL_MAX bytes
 * (streamed from the store, the rest never read). */
#define NOTIFY_FETCH_PARTIAL_MAX (64u << 10)

static const char *fetch_refused(const struct imap_fetch_spec *f)
{
	if (f->sets_seen)
		return "MessageNew takes no fetch attribute that sets \\Seen";
	for (size_t i = 0; i < f->n; i++) {
		const struct imap_fetch_att *a = &f->atts[i];
		switch (a->kind) {
		case IMAP_FA_SECTION:
			if (a->section_len >= 6 && strncasecmp(a->section, "HEADER", 6) == 0)
				break;
			if (a->section_len == 0 && a->partial &&
			    a->count <= NOTIFY_FETCH_PARTIAL_MAX)
				break;
			return "MessageNew takes header sections, or BODY.PEEK[]<0.n> "
			       "up to 65536 bytes";
		case IMAP_FA_BINARY:
		case IMAP_FA_BINARY_SIZE:
		case IMAP_FA_RFC822_TEXT:
			return "MessageNew takes no body part";
		default:
			break;
		}
	}
	return NULL;
}

static enum parse_result parse_group(struct imap_session *s, struct imap_cmd *cmd,
                                     const struct imap_arg *l, struct notify_group *g,
                                     size_t *names_left, const char **why, struct imap_notify *n)
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
	g->filter = (enum notify_filter)k;
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
			const char *err = NULL;
			struct imap_fetch_spec *spec = arena_alloc(&n->arena, sizeof *spec);
			if (!spec ||
			    imap_fetch_parse(next, NULL, true, &n->arena, spec, &err) < 0) {
				*why = err ? err : "Invalid fetch-att list";
				return P_BAD;
			}
			if ((*why = fetch_refused(spec)))
				return P_NOFETCH;
			n->fetch = spec;
			j++; /* the list was MessageNew's */
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
	if (!(imap_notify_events_for(in->s, mb->name) & (EV_NEW | EV_EXPUNGE | EV_FLAGS)))
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
	for (size_t i = 0; i < in.n; i++) {
		imap_notify_write_status(s, in.names[i], in.ids[i]);
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
		struct notify_group *g = &n->groups[n->ngroups++];
		enum parse_result r = parse_group(s, cmd, &cmd->args[i], g, &names_left, &why, n);
		if (r == P_OK && (g->filter == F_SELECTED || g->filter == F_SELECTED_DELAYED)) {
			if (selected) {
				r = P_BAD;
				why = "Only one of SELECTED and SELECTED-DELAYED";
			}
			selected = true;
		}
		if (r == P_BAD) {
			imap_notify_free(n);
			imap_tagged(s, cmd, "BAD", NULL, "%s", why);
			return IMAP_DONE;
		}
		if (r == P_NOFETCH) {
			imap_tagged(s, cmd, "NO", "CANNOT", "%s", why);
			imap_notify_free(n);
			return IMAP_DONE;
		}
		badevent |= r == P_BADEVENT;
	}
	if (badevent) {
		imap_notify_free(n);
		imap_tagged(s, cmd, "NO", supported, "Unsupported event");
		return IMAP_DONE;
	}
	n->write_fetch = imap_fetch_write_new;
	n->sub = notify_subscribe_account(s->account_id, imap_notify_on_event, s);
	if (!n->sub) {
		imap_notify_free(n);
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
