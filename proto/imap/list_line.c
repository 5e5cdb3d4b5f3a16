/* list_line: LIST attributes for LIST and for NOTIFY (list_line.h). */
#include "proto/imap/list_line.h"
#include "proto/imap/imap_int.h"

#include <stdio.h>
#include <string.h>

#include "store/mailboxes.h"

void imap_list_attrs(char *out, size_t cap, const struct imap_list_facts *f, bool lsub,
                     bool show_subscribed)
{
	size_t w = 0;
	out[0] = '\0';
#define ATTR(x)                                                                                    \
	do {                                                                                       \
		if (w < cap)                                                                       \
			w += (size_t)snprintf(out + w, cap - w, "%s%s", w ? " " : "", x);          \
	} while (0)
	/* LSUB's \Noselect: no mailbox has the name, or it is only the
	 * parent of subscribed names (RFC 3501 §6.3.9) */
	if (lsub && !(f->exists && f->subscribed))
		ATTR("\\Noselect");
	else if (!lsub && !f->exists)
		ATTR("\\NonExistent");
	ATTR(f->children ? "\\HasChildren" : "\\HasNoChildren");
	if (f->subscribed && show_subscribed && !lsub)
		ATTR("\\Subscribed");
	if (f->special && f->special[0])
		ATTR(f->special);
#undef ATTR
}

struct facts_walk {
	const char *name;
	size_t len;
	struct imap_list_facts *f;
	char *special;
	size_t cap;
};

static int facts_mailbox(void *ud, const struct store_mailbox *mb)
{
	struct facts_walk *w = ud;
	if (strcmp(mb->name, w->name) == 0) {
		w->f->exists = true;
		w->f->subscribed = mb->subscribed > 0;
		snprintf(w->special, w->cap, "%s", mb->special_use ? mb->special_use : "");
	} else if (strncmp(mb->name, w->name, w->len) == 0 && mb->name[w->len] == '/') {
		w->f->children = true;
	}
	return 0;
}

static int facts_subscription(void *ud, const char *name)
{
	return strcmp(ud, name) == 0 ? 1 : 0;
}

void imap_list_write_event(struct imap_session *s, const char *name, const char *old_name)
{
	char special[64] = "";
	struct imap_list_facts f = {.special = special};
	struct facts_walk w = {name, strlen(name), &f, special, sizeof special};
	store_mailbox_list(imap_reader(s), s->account_id, facts_mailbox, &w);
	/* a subscription outlives its mailbox (RFC 3501 §6.3.6) */
	if (!f.exists)
		f.subscribed = store_subscription_list(imap_reader(s), s->account_id,
		                                       facts_subscription, (void *)name) > 0;
	char attrs[128];
	imap_list_attrs(attrs, sizeof attrs, &f, false, true);
	imap_printf(s, "* LIST (%s) \"/\" ", attrs);
	imap_write_mailbox(s, name);
	if (old_name) {
		static const char oldname[] = " (\"OLDNAME\" (";
		imap_write(s, oldname, sizeof oldname - 1);
		imap_write_mailbox(s, old_name);
		imap_write(s, "))", 2);
	}
	imap_write(s, "\r\n", 2);
}
