/* list_line: the attributes of a LIST (or LSUB) line, for LIST itself
 * (cmd_list.c) and for the LIST responses NOTIFY sends for MailboxName and
 * SubscriptionChange events (notify_queue.c; RFC 5465 §5.4-§5.5 want them
 * "accurately computed", as a LIST would: one place says how). */
#ifndef TERN_IMAP_LIST_LINE_H
#define TERN_IMAP_LIST_LINE_H

#include <stdbool.h>
#include <stddef.h>

struct imap_session;

struct imap_list_facts {
	bool exists;         /* a mailbox has the name */
	bool children;       /* a mailbox below it (RFC 5258 CHILDREN) */
	bool subscribed;     /* the name is subscribed */
	const char *special; /* special-use attributes, "" for none */
};

/* The attributes (no parentheses) into out: \NonExistent (LIST) or
 * \Noselect (LSUB, RFC 3501 §6.3.9), \HasChildren or \HasNoChildren,
 * \Subscribed when show_subscribed (LIST only), then special-use. */
void imap_list_attrs(char *out, size_t cap, const struct imap_list_facts *f, bool lsub,
                     bool show_subscribed);

/* The LIST line of a NOTIFY event for name, as LIST RETURN (CHILDREN
 * SUBSCRIBED) would give it now, with the OLDNAME extended item (RFC 5465
 * §5.4) when old_name is set. Reads the store: inside a read transaction. */
void imap_list_write_event(struct imap_session *s, const char *name, const char *old_name);

#endif
