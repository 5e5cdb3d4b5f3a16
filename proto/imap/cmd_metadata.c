/* cmd_metadata: GETMETADATA and SETMETADATA (RFC 5464, METADATA and
 * METADATA-SERVER).
 *
 * The mailbox "" names the server. tern has no sharing, so every entry is
 * the account's own: /private and /shared alike, on its mailboxes and on
 * "the server" (store/metadata.h). Two entries are computed, never stored,
 * and read-only: the server's /shared/admin (how to reach the
 * administrator: the postmaster of the account's domain) and a mailbox's
 * /private/specialuse (its SPECIAL-USE attribute, RFC 6154 §4).
 *
 * Limits (the [imap] settings): the size of a value ([METADATA MAXSIZE]),
 * the entries of one mailbox or of the server, and of an account in all
 * ([METADATA TOOMANY]). Every client-sized list is bounded: at most
 * MAX_ENTRIES names per command. NOPRIVATE never applies: private entries
 * are supported everywhere.
 */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/imap/imap.h"
#include "store/mailboxes.h"
#include "store/metadata.h"
#include "store/notify.h"
#include "store/store.h"

#define MAX_ENTRIES 1000 /* names in one GETMETADATA or SETMETADATA */

/* The mailbox argument: "" is the server (*mailbox_id 0). False when it
 * answered (BAD, NO [NONEXISTENT]). */
static bool metadata_mailbox(struct imap_session *s, struct imap_cmd *cmd, size_t i, char *name,
                             size_t cap, int64_t *mailbox_id)
{
	const char *str;
	size_t len;
	if (i >= cmd->nargs || !imap_arg_astring(&cmd->args[i], &str, &len)) {
		imap_tagged(s, cmd, "BAD", NULL, "Mailbox name expected");
		return false;
	}
	if (len == 0) {
		name[0] = '\0';
		*mailbox_id = STORE_METADATA_SERVER;
		return true;
	}
	if (!imap_arg_mailbox(s, cmd, i, name, cap, true))
		return false;
	int rc = store_mailbox_find(imap_reader(s), s->account_id, name, mailbox_id);
	if (rc != 1) {
		imap_tagged(s, cmd, "NO", rc < 0 ? "UNAVAILABLE" : "NONEXISTENT",
		            rc < 0 ? "Try again later" : "No such mailbox");
		return false;
	}
	return true;
}

/* Entry name argument: folded into the arena, or NULL (invalid: BAD). */
static char *entry_arg(struct imap_cmd *cmd, const struct imap_arg *a, bool prefix)
{
	const char *str;
	size_t len;
	if (!imap_arg_astring(a, &str, &len) || a->type == IMAP_ARG_NIL)
		return NULL;
	char *out = imap_arena_alloc(&cmd->arena, len + 1);
	return imap_metadata_entry(str, len, out, len + 1, prefix) < 0 ? NULL : out;
}

/* ---- GETMETADATA ---- */

struct get_state {
	struct imap_session *s;
	const char *mailbox; /* internal name, "" for the server */
	uint32_t maxsize;    /* UINT32_MAX: no MAXSIZE */
	uint64_t longest;    /* the largest value left out by MAXSIZE */
	bool started;        /* "* METADATA mailbox (" written */
	size_t found;        /* entries matching the current request */
};

static void write_pair(struct get_state *g, const char *name, const void *value, size_t len)
{
	struct imap_session *s = g->s;
	g->found++;
	if (value && len > g->maxsize) {
		if (len > g->longest)
			g->longest = len;
		return;
	}
	if (!g->started) {
		imap_write(s, "* METADATA ", 11);
		if (*g->mailbox)
			imap_write_mailbox(s, g->mailbox);
		else
			imap_write(s, "\"\"", 2);
		imap_write(s, " (", 2);
		g->started = true;
	} else {
		imap_write(s, " ", 1);
	}
	imap_write_astring(s, name, strlen(name));
	imap_write(s, " ", 1);
	imap_write_nstring(s, (const char *)value, len);
}

static int stored_entry(void *ud, const char *name, const void *value, size_t len)
{
	write_pair(ud, name, value, len);
	return 0;
}

/* The computed entries of the mailbox (or server). */
struct computed {
	const char *name;
	const char *value; /* NULL: none */
};

struct special_use_find {
	int64_t id;
	char value[64];
};

static int find_special_use(void *ud, const struct store_mailbox *mb)
{
	struct special_use_find *f = ud;
	if (mb->id != f->id)
		return 0;
	snprintf(f->value, sizeof f->value, "%s", mb->special_use ? mb->special_use : "");
	return 1;
}

enum imap_cmd_result imap_cmd_getmetadata(struct imap_session *s, struct imap_cmd *cmd)
{
	/* RFC 5464 §5 puts the options before the mailbox, its examples after
	 * it (erratum 1933): both are accepted. The entries are one list, or
	 * (§4.4.1's examples) one or more names. */
	size_t i = 0;
	const struct imap_arg *opts = NULL;
	if (cmd->nargs > 0 && cmd->args[0].type == IMAP_ARG_LIST)
		opts = &cmd->args[i++];
	size_t mbox_arg = i++;
	if (!opts && i < cmd->nargs && cmd->args[i].type == IMAP_ARG_LIST && i + 1 < cmd->nargs)
		opts = &cmd->args[i++];
	if (i >= cmd->nargs || (cmd->args[i].type == IMAP_ARG_LIST && i + 1 != cmd->nargs)) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: GETMETADATA [options] mailbox entries");
		return IMAP_DONE;
	}
	const struct imap_arg *list = &cmd->args[i];
	size_t nentries = cmd->nargs - i;
	if (list->type == IMAP_ARG_LIST)
		nentries = list->nlist, list = list->list;
	if (nentries == 0 || nentries > MAX_ENTRIES) {
		imap_tagged(s, cmd, "BAD", NULL, "Between 1 and %d entries", MAX_ENTRIES);
		return IMAP_DONE;
	}

	uint32_t maxsize = UINT32_MAX;
	int depth = 0;
	if (opts) {
		bool have_max = false, have_depth = false;
		if (opts->nlist == 0 || opts->nlist % 2) {
			imap_tagged(s, cmd, "BAD", NULL,
			            "Options are MAXSIZE n and DEPTH 0|1|infinity");
			return IMAP_DONE;
		}
		for (size_t k = 0; k < opts->nlist; k += 2) {
			const struct imap_arg *o = &opts->list[k], *v = &opts->list[k + 1];
			if (imap_arg_is_atom(o, "MAXSIZE") && !have_max &&
			    imap_arg_u32(v, &maxsize)) {
				have_max = true;
			} else if (imap_arg_is_atom(o, "DEPTH") && !have_depth &&
			           (imap_arg_is_atom(v, "0") || imap_arg_is_atom(v, "1") ||
			            imap_arg_is_atom(v, "infinity"))) {
				have_depth = true;
				depth = v->str[0] == '0' ? 0 : v->str[0] == '1' ? 1 : -1;
			} else {
				imap_tagged(
				    s, cmd, "BAD", NULL,
				    "Options are MAXSIZE n and DEPTH 0|1|infinity, once each");
				return IMAP_DONE;
			}
		}
	}
	char **entries = imap_arena_alloc(&cmd->arena, nentries * sizeof *entries);
	for (size_t k = 0; k < nentries; k++) {
		if (!(entries[k] = entry_arg(cmd, &list[k], true))) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid entry name");
			return IMAP_DONE;
		}
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	int64_t mailbox_id;
	if (!metadata_mailbox(s, cmd, mbox_arg, name, sizeof name, &mailbox_id))
		return IMAP_DONE;

	struct computed computed = {0};
	char admin[400];
	struct special_use_find su = {.id = mailbox_id};
	if (mailbox_id == STORE_METADATA_SERVER) {
		const char *at = strrchr(s->address, '@');
		snprintf(admin, sizeof admin, "mailto:postmaster@%s", at ? at + 1 : "localhost");
		computed = (struct computed){"/shared/admin", admin};
	} else {
		if (store_mailbox_list(imap_reader(s), s->account_id, find_special_use, &su) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
			return IMAP_DONE;
		}
		computed = (struct computed){"/private/specialuse", su.value[0] ? su.value : NULL};
	}

	struct get_state g = {.s = s, .mailbox = name, .maxsize = maxsize};
	for (size_t k = 0; k < nentries; k++) {
		g.found = 0;
		if (computed.value && imap_metadata_match(entries[k], depth, computed.name))
			write_pair(&g, computed.name, computed.value, strlen(computed.value));
		int rc = store_metadata_get(imap_reader(s), s->account_id, mailbox_id, entries[k],
		                            depth, stored_entry, &g);
		if (rc < 0) {
			if (g.started)
				imap_write(s, ")\r\n", 3);
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
			return IMAP_DONE;
		}
		if (g.found == 0) /* no such entry: its value is NIL */
			write_pair(&g, entries[k], NULL, 0);
	}
	if (g.started)
		imap_write(s, ")\r\n", 3);
	if (g.longest) {
		char code[64];
		snprintf(code, sizeof code, "METADATA LONGENTRIES %llu",
		         (unsigned long long)g.longest);
		imap_tagged(s, cmd, "OK", code, "GETMETADATA completed");
	} else {
		imap_tagged(s, cmd, "OK", NULL, "GETMETADATA completed");
	}
	return IMAP_DONE;
}

/* ---- SETMETADATA ---- */

struct set_cmd {
	struct store_metadata_set job; /* first: the store job's arg */
	struct imap_session *s;
	int status;
	const char *mailbox; /* internal name, "" for the server */
};

static void set_done(void *arg, int status)
{
	struct set_cmd *sc = arg;
	sc->status = status;
	imap_cmd_wake(sc->s);
}

enum imap_cmd_result imap_cmd_setmetadata(struct imap_session *s, struct imap_cmd *cmd)
{
	struct set_cmd *sc = cmd->ctx;
	if (cmd->step == 1) {
		switch (sc->status) {
		case 0: {
			/* for the account's other watchers (store/notify.h) */
			for (size_t k = 0; k < sc->job.n; k++) {
				struct notify_event ev = {.mailbox_id = sc->job.mailbox_id,
				                          .kind = NOTIFY_METADATA,
				                          .origin = s->sid,
				                          .account_id = s->account_id,
				                          .name = sc->mailbox,
				                          .entry = sc->job.names[k]};
				notify_publish(&ev);
			}
			imap_tagged(s, cmd, "OK", NULL, "SETMETADATA completed");
			break;
		}
		case -EDQUOT:
			imap_tagged(s, cmd, "NO", "METADATA TOOMANY", "Too many annotations");
			break;
		case -ENOENT:
			imap_tagged(s, cmd, "NO", "NONEXISTENT", "No such mailbox");
			break;
		case -ENOSPC:
			imap_tagged(s, cmd, "NO", "OVERQUOTA", "Disk full");
			break;
		default:
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
			break;
		}
		return IMAP_DONE;
	}
	if (cmd->nargs != 2 || cmd->args[1].type != IMAP_ARG_LIST || cmd->args[1].nlist == 0 ||
	    cmd->args[1].nlist % 2) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: SETMETADATA mailbox (entry value ...)");
		return IMAP_DONE;
	}
	const struct imap_arg *list = cmd->args[1].list;
	size_t n = cmd->args[1].nlist / 2;
	if (n > MAX_ENTRIES) {
		imap_tagged(s, cmd, "BAD", NULL, "At most %d entries", MAX_ENTRIES);
		return IMAP_DONE;
	}
	const char **names = imap_arena_alloc(&cmd->arena, n * sizeof *names);
	const void **values = imap_arena_alloc(&cmd->arena, n * sizeof *values);
	size_t *lens = imap_arena_alloc(&cmd->arena, n * sizeof *lens);
	size_t too_big = 0;
	for (size_t k = 0; k < n; k++) {
		const struct imap_arg *e = &list[2 * k], *v = &list[2 * k + 1];
		if (!(names[k] = entry_arg(cmd, e, false))) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid entry name");
			return IMAP_DONE;
		}
		/* value = nstring / literal8 (§5) */
		if (v->type == IMAP_ARG_NIL) {
			values[k] = NULL;
		} else if (v->type == IMAP_ARG_QUOTED || v->type == IMAP_ARG_LITERAL ||
		           v->type == IMAP_ARG_LITERAL8) {
			values[k] = v->str;
			lens[k] = v->len;
			if (v->len > (size_t)s->cfg->metadata_max_size)
				too_big++;
		} else {
			imap_tagged(s, cmd, "BAD", NULL, "A value is a string or NIL");
			return IMAP_DONE;
		}
	}
	char name[IMAP_MAILBOX_NAME_MAX + 1];
	int64_t mailbox_id;
	if (!metadata_mailbox(s, cmd, 0, name, sizeof name, &mailbox_id))
		return IMAP_DONE;
	for (size_t k = 0; k < n; k++) {
		if (strcmp(names[k], mailbox_id == STORE_METADATA_SERVER
		                         ? "/shared/admin"
		                         : "/private/specialuse") == 0) {
			imap_tagged(s, cmd, "NO", "NOPERM", "%s is read-only", names[k]);
			return IMAP_DONE;
		}
	}
	if (too_big) {
		char code[64];
		snprintf(code, sizeof code, "METADATA MAXSIZE %lld",
		         (long long)s->cfg->metadata_max_size);
		imap_tagged(s, cmd, "NO", code, "Annotation too large");
		return IMAP_DONE;
	}
	sc = imap_arena_alloc(&cmd->arena, sizeof *sc);
	sc->s = s;
	sc->mailbox = imap_arena_strndup(&cmd->arena, name, strlen(name));
	sc->job = (struct store_metadata_set){
	    .account_id = s->account_id,
	    .mailbox_id = mailbox_id,
	    .n = n,
	    .names = names,
	    .values = values,
	    .lens = lens,
	    .max_entries = (uint32_t)s->cfg->metadata_max_entries,
	    .max_account = (uint32_t)s->cfg->metadata_max_account_entries,
	};
	cmd->ctx = sc;
	if (store_submit(imap_store(s), store_metadata_set_job, set_done, sc) != 0) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Try again later");
		return IMAP_DONE;
	}
	cmd->step = 1;
	return IMAP_ASYNC;
}
