/* cmd_list: LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 5819
 * LIST-STATUS, RFC 6154 SPECIAL-USE, RFC 3348 CHILDREN) and LSUB.
 *
 * A read: one account's mailboxes and subscribed names from the loop's
 * read connection, sorted (INBOX first), matched against each pattern
 * ('*' anything, '%' anything but '/') after the reference is prefixed.
 *
 * The names LIST knows are the mailboxes, the subscribed names (a
 * subscription outlives its mailbox, RFC 3501 §6.3.6) and, for LSUB and
 * RECURSIVEMATCH, the parents of subscribed names. Which are answered:
 *
 *   LIST                  the mailboxes;
 *   LIST (SUBSCRIBED)     the subscribed names, \NonExistent when no
 *                         mailbox has the name (RFC 5258 §3.1);
 *     + RECURSIVEMATCH    also a name with a subscribed descendant, with
 *                         CHILDINFO: a mailbox always (as RFC 5258 §5's
 *                         example 9 shows, "*" included), a name without a
 *                         mailbox only when some subscribed descendant does
 *                         not match the pattern (§3.5: CHILDINFO is not to
 *                         be redundant; example 8 A2);
 *   LSUB                  the subscribed names, \Noselect when no mailbox
 *                         has the name, and (RFC 3501 §6.3.9) a name with a
 *                         subscribed descendant that no pattern matches,
 *                         \Noselect.
 *
 * \HasChildren / \HasNoChildren count mailboxes only; CHILDINFO counts
 * subscriptions.
 *
 * Special-use attributes (\Sent, \Drafts, ...) are shown in every LIST and
 * LSUB response, not only with RETURN (SPECIAL-USE): Thunderbird reads
 * them from LSUB, and RFC 6154 allows it.
 */
#include "proto/imap/imap_int.h"
#include "proto/imap/list_line.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mutf7.h"
#include "store/mailboxes.h"

struct mbox_info {
	char *name;
	char special[64]; /* "\\Drafts \\Sent": CREATE (USE ...) may give several */
	int64_t id;
	bool exists;           /* a mailbox has the name (else id is 0) */
	bool subscribed;       /* the name is subscribed */
	bool children;         /* a mailbox below it */
	bool subscribed_child; /* a subscribed name below it */
};

struct mbox_vec {
	struct mbox_info *v;
	size_t n, cap;
};

/* A new entry named name (its first len bytes), or NULL when out of
 * memory. */
static struct mbox_info *add_name(struct mbox_vec *mv, const char *name, size_t len)
{
	if (mv->n == mv->cap) {
		size_t cap = mv->cap ? mv->cap * 2 : 16;
		struct mbox_info *v = realloc(mv->v, cap * sizeof *v);
		if (!v)
			return NULL;
		mv->v = v;
		mv->cap = cap;
	}
	struct mbox_info *m = &mv->v[mv->n];
	memset(m, 0, sizeof *m);
	m->name = strndup(name, len);
	if (!m->name)
		return NULL;
	mv->n++;
	return m;
}

static int collect_mbox(void *ud, const struct store_mailbox *mb)
{
	struct mbox_info *m = add_name(ud, mb->name, strlen(mb->name));
	if (!m)
		return -ENOMEM;
	snprintf(m->special, sizeof m->special, "%s", mb->special_use ? mb->special_use : "");
	m->id = mb->id;
	m->exists = true;
	m->subscribed = mb->subscribed;
	return 0;
}

/* The entry named name[0..len), or NULL. The vector is sorted by cmp_mbox
 * up to sorted; the rest is searched in order. */
static struct mbox_info *find_name(const struct mbox_vec *mv, size_t sorted, const char *name,
                                   size_t len);

struct sub_collect {
	struct mbox_vec *mv;
	size_t sorted; /* entries before this are the mailboxes, sorted */
};

/* A subscribed name no mailbox has. */
static int collect_subscription(void *ud, const char *name)
{
	struct sub_collect *sc = ud;
	if (find_name(sc->mv, sc->sorted, name, strlen(name)))
		return 0; /* a mailbox: collect_mbox knew it is subscribed */
	struct mbox_info *m = add_name(sc->mv, name, strlen(name));
	if (!m)
		return -ENOMEM;
	m->subscribed = true;
	return 0;
}

/* INBOX first, then by name (bytes). */
static int cmp_names(const char *x, size_t xl, const char *y, size_t yl)
{
	bool xi = xl == 5 && memcmp(x, "INBOX", 5) == 0, yi = yl == 5 && memcmp(y, "INBOX", 5) == 0;
	if (xi != yi)
		return xi ? -1 : 1;
	int c = memcmp(x, y, xl < yl ? xl : yl);
	return c ? c : (xl > yl) - (xl < yl);
}

static int cmp_mbox(const void *a, const void *b)
{
	const struct mbox_info *x = a, *y = b;
	return cmp_names(x->name, strlen(x->name), y->name, strlen(y->name));
}

static struct mbox_info *find_name(const struct mbox_vec *mv, size_t sorted, const char *name,
                                   size_t len)
{
	size_t lo = 0, hi = sorted;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *mn = mv->v[mid].name;
		int c = cmp_names(mn, strlen(mn), name, len);
		if (c == 0)
			return &mv->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = sorted; i < mv->n; i++)
		if (strlen(mv->v[i].name) == len && memcmp(mv->v[i].name, name, len) == 0)
			return &mv->v[i];
	return NULL;
}

/* Add the parents of every subscribed name that are not names yet
 * ("a" and "a/b" for a subscribed "a/b/c" whose parents are gone): LSUB
 * and RECURSIVEMATCH answer for them. The vector is sorted again. */
static int add_parents(struct mbox_vec *mv)
{
	size_t known = mv->n;
	for (size_t i = 0; i < known; i++) {
		if (!mv->v[i].subscribed)
			continue;
		for (const char *p = strchr(mv->v[i].name, '/'); p; p = strchr(p + 1, '/')) {
			const char *name = mv->v[i].name; /* add_name may move mv->v */
			size_t len = (size_t)(p - name);
			if (len == 0 || find_name(mv, known, name, len))
				continue;
			if (!add_name(mv, name, len))
				return -ENOMEM;
		}
	}
	qsort(mv->v, mv->n, sizeof *mv->v, cmp_mbox);
	return 0;
}

/* Wildcard match: '*' anything, '%' anything but '/'. O(|p| * |n|). */
static bool match(const char *pat, const char *name)
{
	size_t nl = strlen(name);
	bool stack_row[257];
	bool *row = nl < 256 ? stack_row : malloc(nl + 1);
	if (!row)
		return false;
	/* row[j]: pattern prefix matches name prefix of length j */
	row[0] = true;
	for (size_t j = 1; j <= nl; j++)
		row[j] = false;
	for (const char *p = pat; *p; p++) {
		if (*p == '*' || *p == '%') {
			/* row[j] = OR over k <= j of row[k], and for '%' no '/' in name[k..j) */
			bool run = false;
			for (size_t j = 0; j <= nl; j++) {
				if (*p == '%' && j > 0 && name[j - 1] == '/')
					run = false;
				run = run || row[j];
				row[j] = run;
			}
		} else {
			for (size_t j = nl; j > 0; j--)
				row[j] = row[j - 1] && name[j - 1] == *p;
			row[0] = false;
		}
	}
	bool r = row[nl];
	if (row != stack_row)
		free(row);
	return r;
}

struct list_opts {
	bool lsub;
	bool sel_subscribed, sel_special, sel_recursive;
	bool ret_subscribed, ret_children, ret_special;
	unsigned status_items;
	bool status;
	bool myrights; /* RETURN (MYRIGHTS), RFC 8440 */
};

static void write_list_line(struct imap_session *s, const struct list_opts *o,
                            const struct mbox_info *m, bool childinfo)
{
	char attrs[128];
	struct imap_list_facts f = {.exists = m->exists,
	                            .children = m->children,
	                            .subscribed = m->subscribed,
	                            .special = m->special};
	imap_list_attrs(attrs, sizeof attrs, &f, o->lsub, o->ret_subscribed || o->sel_subscribed);
	imap_printf(s, "* %s (%s) \"/\" ", o->lsub ? "LSUB" : "LIST", attrs);
	imap_write_mailbox(s, m->name);
	static const char childinfo_item[] = " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
	if (childinfo)
		imap_write(s, childinfo_item, sizeof childinfo_item - 1);
	imap_write(s, "\r\n", 2);
	if (o->status && m->exists)
		imap_write_status(s, m->name, m->id, o->status_items);
	/* RFC 8440 §3: after its LIST line, for a mailbox that exists and
	 * matches the selection itself (not only through its children) */
	if (o->myrights && m->exists && (!o->sel_subscribed || m->subscribed)) {
		imap_write(s, "* MYRIGHTS ", 11);
		imap_write_mailbox(s, m->name);
		imap_printf(s, " %s\r\n", IMAP_OWNER_RIGHTS);
	}
}

/* A subscribed name under m that no pattern matches itself. */
static bool has_unmatched_subscribed_child(const struct mbox_vec *mv, const struct mbox_info *m,
                                           char *const *full, size_t npats)
{
	size_t ml = strlen(m->name);
	for (size_t b = 0; b < mv->n; b++) {
		const struct mbox_info *c = &mv->v[b];
		if (!c->subscribed || strncmp(c->name, m->name, ml) != 0 || c->name[ml] != '/')
			continue;
		bool matched = false;
		for (size_t k = 0; k < npats && !matched; k++)
			matched = full[k] && match(full[k], c->name);
		if (!matched)
			return true;
	}
	return false;
}

/* Upper-case a leading "inbox" so INBOX matches case-insensitively. */
static void fold_inbox(char *p)
{
	if (strncasecmp(p, "INBOX", 5) == 0 &&
	    (p[5] == '\0' || p[5] == '/' || p[5] == '*' || p[5] == '%'))
		memcpy(p, "INBOX", 5);
}

enum imap_cmd_result imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd)
{
	struct list_opts o = {0};
	o.lsub = strcmp(cmd->name, "LSUB") == 0;
	size_t i = 0;
	bool extended = false;
	/* selection options */
	if (!o.lsub && cmd->nargs > 0 && cmd->args[0].type == IMAP_ARG_LIST) {
		extended = true;
		const struct imap_arg *l = &cmd->args[0];
		for (size_t k = 0; k < l->nlist; k++) {
			if (imap_arg_is_atom(&l->list[k], "SUBSCRIBED"))
				o.sel_subscribed = true;
			else if (imap_arg_is_atom(&l->list[k], "SPECIAL-USE"))
				o.sel_special = true;
			else if (imap_arg_is_atom(&l->list[k], "RECURSIVEMATCH"))
				o.sel_recursive = true;
			else if (imap_arg_is_atom(&l->list[k], "REMOTE"))
				;
			else {
				imap_tagged(s, cmd, "BAD", NULL, "Unknown LIST selection option");
				return IMAP_DONE;
			}
		}
		if (o.sel_recursive && !o.sel_subscribed) {
			imap_tagged(s, cmd, "BAD", NULL, "RECURSIVEMATCH needs another option");
			return IMAP_DONE;
		}
		i = 1;
	}
	const char *ref;
	size_t reflen;
	if (cmd->nargs < i + 2 || !imap_arg_astring(&cmd->args[i], &ref, &reflen)) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: %s reference mailbox", cmd->name);
		return IMAP_DONE;
	}
	const struct imap_arg *pats = &cmd->args[i + 1];
	size_t npats = 1;
	if (pats->type == IMAP_ARG_LIST && !o.lsub) {
		extended = true;
		npats = pats->nlist;
		pats = pats->list;
		if (npats == 0) {
			imap_tagged(s, cmd, "BAD", NULL, "Empty pattern list");
			return IMAP_DONE;
		}
	}
	/* return options */
	size_t rest = i + 2;
	if (!o.lsub && cmd->nargs == rest + 2 && imap_arg_is_atom(&cmd->args[rest], "RETURN") &&
	    cmd->args[rest + 1].type == IMAP_ARG_LIST) {
		const struct imap_arg *l = &cmd->args[rest + 1];
		for (size_t k = 0; k < l->nlist; k++) {
			if (imap_arg_is_atom(&l->list[k], "SUBSCRIBED"))
				o.ret_subscribed = true;
			else if (imap_arg_is_atom(&l->list[k], "CHILDREN"))
				o.ret_children = true;
			else if (imap_arg_is_atom(&l->list[k], "SPECIAL-USE"))
				o.ret_special = true;
			else if (imap_arg_is_atom(&l->list[k], "MYRIGHTS"))
				o.myrights = true;
			else if (imap_arg_is_atom(&l->list[k], "STATUS") && k + 1 < l->nlist &&
			         imap_status_items(&l->list[k + 1], &o.status_items) == 0) {
				o.status = true;
				k++;
			} else {
				imap_tagged(s, cmd, "BAD", NULL, "Unknown LIST return option");
				return IMAP_DONE;
			}
		}
	} else if (cmd->nargs != rest) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: %s reference mailbox", cmd->name);
		return IMAP_DONE;
	}
	(void)extended;

	/* decode the reference and patterns */
	char refbuf[IMAP_MAILBOX_NAME_MAX + 1] = "";
	if (reflen) {
		ssize_t n = imap_mailbox_name_decode(s, ref, reflen, refbuf, sizeof refbuf, false);
		if (n < 0 && !(n == -EINVAL && ref[reflen - 1] == '/')) {
			imap_tagged(s, cmd, "NO", "CANNOT", "Invalid reference");
			return IMAP_DONE;
		}
		if (n < 0) { /* "a/" as a reference: decode without the slash */
			n = imap_mailbox_name_decode(s, ref, reflen, refbuf, sizeof refbuf, true);
			if (n < 0) {
				imap_tagged(s, cmd, "NO", "CANNOT", "Invalid reference");
				return IMAP_DONE;
			}
			strcat(refbuf, "/");
		}
	}
	char **full = imap_arena_alloc(&cmd->arena, npats * sizeof *full);
	bool any = false;
	for (size_t k = 0; k < npats; k++) {
		const char *p;
		size_t pl;
		if (!imap_arg_astring(&pats[k], &p, &pl)) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid pattern");
			return IMAP_DONE;
		}
		if (pl == 0) {
			full[k] = NULL; /* "": the hierarchy delimiter query */
			continue;
		}
		char dec[IMAP_MAILBOX_NAME_MAX * 2 + 2];
		ssize_t n;
		if (s->enabled & IMAP_EXT_UTF8)
			n = pl < sizeof dec ? (memcpy(dec, p, pl), dec[pl] = 0, (ssize_t)pl) : -1;
		else
			n = mutf7_decode(p, pl, dec, sizeof dec);
		if (n < 0) {
			full[k] = imap_arena_strndup(&cmd->arena, "", 0); /* matches nothing */
			full[k][0] = '\x01';
			continue;
		}
		/* patterns starting with '/' are not relative to the reference */
		full[k] = imap_arena_printf(&cmd->arena, "%s%s", dec[0] == '/' ? "" : refbuf, dec);
		fold_inbox(full[k]);
		any = true;
	}

	for (size_t k = 0; k < npats; k++) {
		if (full[k] == NULL)
			imap_printf(s, "* %s (\\Noselect) \"/\" \"\"\r\n",
			            o.lsub ? "LSUB" : "LIST");
	}
	if (!any) {
		imap_tagged(s, cmd, "OK", NULL, "%s completed", cmd->name);
		return IMAP_DONE;
	}

	bool subscribed_only = o.lsub || o.sel_subscribed;
	struct mbox_vec mv = {0};
	int rc = store_mailbox_list(imap_reader(s), s->account_id, collect_mbox, &mv);
	qsort(mv.v, mv.n, sizeof *mv.v, cmp_mbox);
	if (rc == 0 && subscribed_only) {
		/* subscribed names without a mailbox, and for LSUB and
		 * RECURSIVEMATCH the parents of subscribed names */
		struct sub_collect sc = {.mv = &mv, .sorted = mv.n};
		rc = store_subscription_list(imap_reader(s), s->account_id, collect_subscription,
		                             &sc);
		if (rc == 0)
			qsort(mv.v, mv.n, sizeof *mv.v, cmp_mbox);
		if (rc == 0 && (o.lsub || o.sel_recursive))
			rc = add_parents(&mv);
	}
	if (rc < 0) {
		for (size_t k = 0; k < mv.n; k++)
			free(mv.v[k].name);
		free(mv.v);
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	for (size_t a = 0; a < mv.n; a++) {
		size_t al = strlen(mv.v[a].name);
		for (size_t b = 0; b < mv.n; b++) {
			if (strncmp(mv.v[b].name, mv.v[a].name, al) == 0 &&
			    mv.v[b].name[al] == '/') {
				if (mv.v[b].exists)
					mv.v[a].children = true;
				if (mv.v[b].subscribed)
					mv.v[a].subscribed_child = true;
			}
		}
	}
	for (size_t a = 0; a < mv.n; a++) {
		struct mbox_info *m = &mv.v[a];
		bool matched = false;
		for (size_t k = 0; k < npats && !matched; k++)
			matched = full[k] && match(full[k], m->name);
		if (!matched)
			continue;
		if (o.sel_special && !m->special[0])
			continue;
		if (!subscribed_only) {
			if (m->exists)
				write_list_line(s, &o, m, false);
			continue;
		}
		if (m->subscribed) {
			write_list_line(s, &o, m, o.sel_recursive && m->subscribed_child);
			continue;
		}
		if (!m->subscribed_child)
			continue;
		bool unmatched = has_unmatched_subscribed_child(&mv, m, full, npats);
		if (o.sel_recursive && (m->exists || unmatched))
			/* RFC 5258 §3.5 and §5's examples 8 and 9 */
			write_list_line(s, &o, m, true);
		else if (o.lsub && unmatched)
			/* RFC 3501 §6.3.9: "foo/bar" is subscribed, "foo" is
			 * not, and "%" stops at foo: LSUB returns foo with
			 * \Noselect. */
			write_list_line(s, &o, m, false);
	}
	for (size_t k = 0; k < mv.n; k++)
		free(mv.v[k].name);
	free(mv.v);
	imap_tagged(s, cmd, "OK", NULL, "%s completed", cmd->name);
	return IMAP_DONE;
}
