/* cmd_scripts: the script commands of RFC 5804 §2.3-2.12: HAVESPACE,
 * PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS, GETSCRIPT, SETACTIVE, DELETESCRIPT,
 * RENAMESCRIPT.
 *
 * Reads (list, get) run on the loop's read view, like every protocol's.
 * Writes are store jobs on the writer thread (store/sieve.h), the same
 * calls `tern sieve` makes: the conn is paused until the job's completion,
 * which answers OK only after COMMIT. The checks that must not race with
 * another session (the number of scripts, a name already taken) are made
 * inside the job, against the transaction's own view.
 *
 * A script is compiled (sieve/sieve.h) before it is stored, and refused
 * with the compiler's "LINE:COL: message" when it does not compile: the
 * server never holds a script it cannot run. */
#include "proto/sieve/msieve_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/common/env.h"
#include "sieve/sieve.h"
#include "store/sieve.h"
#include "store/store.h"
#include "lib/utf8.h"

/* ---- the store jobs ---- */

enum script_op { OP_PUT, OP_ACTIVATE, OP_DELETE, OP_RENAME };

struct script_job {
	struct msieve_session *s;
	enum script_op op;
	int64_t account_id;
	int64_t max_scripts;
	char name[STORE_SIEVE_NAME_MAX + 1]; /* "" for SETACTIVE "" */
	char to[STORE_SIEVE_NAME_MAX + 1];
	char *text;
	size_t len;
};

static int script_job_run(struct store_tx *tx, void *arg)
{
	struct script_job *j = arg;
	switch (j->op) {
	case OP_PUT: {
		struct store_rd *rd = store_tx_reader(tx);
		char *old = NULL;
		int rc = store_sieve_get(rd, j->account_id, j->name, &old, NULL, NULL);
		free(old);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			int64_t n = store_sieve_count(rd, j->account_id);
			if (n < 0)
				return (int)n;
			if (n >= j->max_scripts)
				return -EDQUOT;
		}
		return store_sieve_put(tx, j->account_id, j->name, j->text, j->len);
	}
	case OP_ACTIVATE:
		return store_sieve_activate(tx, j->account_id, j->name[0] ? j->name : NULL);
	case OP_DELETE:
		return store_sieve_delete(tx, j->account_id, j->name);
	default:
		return store_sieve_rename(tx, j->account_id, j->name, j->to);
	}
}

static const char *const op_names[] = {"putscript", "setactive", "deletescript", "renamescript"};

static void answer(struct msieve_session *s, const struct script_job *j, int status)
{
	char n[160];
	log_kv_escape(n, sizeof n, j->name, strlen(j->name));
	if (status >= 0) {
		msieve_log(s, LOG_INFO, "event=%s name=%s", op_names[j->op], n);
		msieve_respond(s, "OK", NULL,
		               j->op == OP_PUT ? "Script stored"
		               : j->op == OP_ACTIVATE
		                   ? (j->name[0] ? "Script activated" : "No script is active")
		               : j->op == OP_DELETE ? "Script deleted"
		                                    : "Script renamed");
		return;
	}
	msieve_log(s,
	           status == -ENOENT || status == -EBUSY || status == -EEXIST || status == -EDQUOT
	               ? LOG_INFO
	               : LOG_ERROR,
	           "event=%s_failed name=%s err=%d", op_names[j->op], n, status);
	switch (status) {
	case -ENOENT:
		msieve_respond(s, "NO", "NONEXISTENT", "There is no script by that name");
		break;
	case -EBUSY:
		msieve_respond(s, "NO", "ACTIVE", "The active script cannot be deleted");
		break;
	case -EEXIST:
		msieve_respond(s, "NO", "ALREADYEXISTS", "A script by that name exists already");
		break;
	case -EDQUOT:
		msieve_respondf(s, "NO", "QUOTA/MAXSCRIPTS", "At most %lld scripts per account",
		                (long long)j->max_scripts);
		break;
	default:
		msieve_respond(s, "NO", "TRYLATER",
		               "The change could not be saved, try again later");
		break;
	}
}

static void script_job_done(void *arg, int status)
{
	struct script_job *j = arg;
	struct msieve_session *s = j->s;
	if (!s->closed && s->state == MSIEVE_AUTH) {
		answer(s, j, status);
		msieve_resume(s);
	}
	free(j->text);
	free(j);
	msieve_unref(s);
}

/* Queue j (which owns its text); answers NO itself when it cannot. */
static void submit(struct msieve_session *s, struct script_job *j)
{
	j->s = s;
	j->account_id = s->account_id;
	j->max_scripts = s->cfg->max_scripts;
	int rc = store_submit(s->env->store, script_job_run, script_job_done, j);
	if (rc < 0) {
		msieve_log(s, LOG_ERROR, "event=%s_failed err=%d", op_names[j->op], rc);
		free(j->text);
		free(j);
		msieve_respond(s, "NO", "TRYLATER",
		               "The change could not be saved, try again later");
		return;
	}
	msieve_ref(s);
	msieve_pause(s);
}

static struct script_job *new_job(struct msieve_session *s, enum script_op op)
{
	struct script_job *j = calloc(1, sizeof *j);
	if (!j)
		msieve_respond(s, "NO", "TRYLATER", "Out of memory, try again later");
	else
		j->op = op;
	return j;
}

/* ---- arguments ---- */

/* The script name in a, or NULL after answering NO. */
static const char *script_name(struct msieve_session *s, const struct msieve_arg *a)
{
	const char *name = msieve_arg_text(a);
	if (!name || !store_sieve_name_valid(name) || !utf8_valid(name, a->len)) {
		msieve_fail(s, NULL, "Invalid script name");
		return NULL;
	}
	return name;
}

static bool script_too_big(struct msieve_session *s, uint64_t size)
{
	if (size <= STORE_SIEVE_SCRIPT_MAX)
		return false;
	msieve_respondf(s, "NO", "QUOTA/MAXSIZE", "A script has at most %d octets",
	                STORE_SIEVE_SCRIPT_MAX);
	return true;
}

/* Check a script (sieve_check, the question every place that stores one
 * asks); false after answering NO with the first error. */
static bool compiles(struct msieve_session *s, const struct msieve_arg *a)
{
	char err[256];
	switch (sieve_check(a->str, a->len, err, sizeof err)) {
	case 0:
		return true;
	case -EFBIG:
		script_too_big(s, a->len);
		return false;
	case -ENODATA:
	case -EINVAL:
		msieve_respond(s, "NO", NULL, err);
		return false;
	default:
		msieve_respond(s, "NO", "TRYLATER", "Out of memory, try again later");
		return false;
	}
}

/* ---- the commands ---- */

void msieve_cmd_havespace(struct msieve_session *s, struct msieve_cmd *cmd)
{
	const char *name = script_name(s, &cmd->args[0]);
	if (!name || script_too_big(s, cmd->args[1].num))
		return;
	struct store_rd *rd = store_reader(s->env->store);
	char *old = NULL;
	int exists = store_sieve_get(rd, s->account_id, name, &old, NULL, NULL);
	free(old);
	int64_t n = exists == 0 ? store_sieve_count(rd, s->account_id) : 0;
	if (exists < 0 || n < 0) {
		msieve_respond(s, "NO", "TRYLATER", "Cannot read the scripts, try again later");
		return;
	}
	if (exists == 0 && n >= s->cfg->max_scripts) {
		msieve_respondf(s, "NO", "QUOTA/MAXSCRIPTS", "At most %lld scripts per account",
		                (long long)s->cfg->max_scripts);
		return;
	}
	msieve_respond(s, "OK", NULL, "Putscript would succeed");
}

void msieve_cmd_putscript(struct msieve_session *s, struct msieve_cmd *cmd)
{
	const char *name = script_name(s, &cmd->args[0]);
	if (!name || !compiles(s, &cmd->args[1]))
		return;
	struct script_job *j = new_job(s, OP_PUT);
	if (!j)
		return;
	snprintf(j->name, sizeof j->name, "%s", name);
	j->text = malloc(cmd->args[1].len);
	if (!j->text) {
		free(j);
		msieve_respond(s, "NO", "TRYLATER", "Out of memory, try again later");
		return;
	}
	memcpy(j->text, cmd->args[1].str, cmd->args[1].len);
	j->len = cmd->args[1].len;
	submit(s, j);
}

void msieve_cmd_checkscript(struct msieve_session *s, struct msieve_cmd *cmd)
{
	if (compiles(s, &cmd->args[0]))
		msieve_respond(s, "OK", NULL, "Script is valid");
}

struct list_ctx {
	struct msieve_session *s;
};

static int list_one(void *ud, const struct store_sieve_script *sc)
{
	struct list_ctx *l = ud;
	msieve_write_string(l->s, sc->name, strlen(sc->name));
	if (sc->active)
		msieve_write(l->s, " ACTIVE", 7);
	msieve_write(l->s, "\r\n", 2);
	return 0;
}

void msieve_cmd_listscripts(struct msieve_session *s, struct msieve_cmd *cmd)
{
	(void)cmd;
	struct list_ctx l = {s};
	int rc = store_sieve_list(store_reader(s->env->store), s->account_id, list_one, &l);
	if (rc < 0) {
		msieve_log(s, LOG_ERROR, "event=listscripts_failed err=%d", rc);
		msieve_respond(s, "NO", "TRYLATER", "Cannot read the scripts, try again later");
		return;
	}
	msieve_respond(s, "OK", NULL, "Listscripts completed");
}

void msieve_cmd_getscript(struct msieve_session *s, struct msieve_cmd *cmd)
{
	const char *name = script_name(s, &cmd->args[0]);
	if (!name)
		return;
	char *text = NULL;
	size_t len = 0;
	int rc =
	    store_sieve_get(store_reader(s->env->store), s->account_id, name, &text, &len, NULL);
	if (rc == 0) {
		msieve_respond(s, "NO", "NONEXISTENT", "There is no script by that name");
		return;
	}
	if (rc < 0) {
		msieve_log(s, LOG_ERROR, "event=getscript_failed err=%d", rc);
		msieve_respond(s, "NO", "TRYLATER", "Cannot read the script, try again later");
		return;
	}
	/* §2.9: always a literal, a script has line breaks */
	char head[32];
	int n = snprintf(head, sizeof head, "{%zu}\r\n", len);
	msieve_write(s, head, (size_t)n);
	msieve_write(s, text, len);
	msieve_write(s, "\r\n", 2);
	free(text);
	msieve_respond(s, "OK", NULL, "Getscript completed");
}

void msieve_cmd_setactive(struct msieve_session *s, struct msieve_cmd *cmd)
{
	const char *name = "";
	if (cmd->args[0].len > 0 && !(name = script_name(s, &cmd->args[0])))
		return;
	struct script_job *j = new_job(s, OP_ACTIVATE);
	if (!j)
		return;
	snprintf(j->name, sizeof j->name, "%s", name);
	submit(s, j);
}

void msieve_cmd_deletescript(struct msieve_session *s, struct msieve_cmd *cmd)
{
	const char *name = script_name(s, &cmd->args[0]);
	if (!name)
		return;
	struct script_job *j = new_job(s, OP_DELETE);
	if (!j)
		return;
	snprintf(j->name, sizeof j->name, "%s", name);
	submit(s, j);
}

void msieve_cmd_renamescript(struct msieve_session *s, struct msieve_cmd *cmd)
{
	const char *from = script_name(s, &cmd->args[0]);
	const char *to = from ? script_name(s, &cmd->args[1]) : NULL;
	if (!to)
		return;
	struct script_job *j = new_job(s, OP_RENAME);
	if (!j)
		return;
	snprintf(j->name, sizeof j->name, "%s", from);
	snprintf(j->to, sizeof j->to, "%s", to);
	submit(s, j);
}
