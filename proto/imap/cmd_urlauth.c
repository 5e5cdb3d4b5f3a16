/* cmd_urlauth: GENURLAUTH, RESETKEY and URLFETCH (RFC 4467).
 *
 * GENURLAUTH signs URLs to the user's own messages with the mailbox's
 * access key (made here, from the TLS DRBG, the first time); RESETKEY
 * replaces a key or drops them all, revoking what they signed; URLFETCH
 * gives the bytes of signed URLs to whoever their access identifier
 * allows. The checks and the token are mailurl/urlauth.h's, which SMTP's
 * BURL shares.
 */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mailurl/url.h"
#include "mailurl/urlauth.h"
#include "proto/imap/imap.h"
#include "store/mailboxes.h"
#include "store/urlauth.h"
#include "tls/rng.h"

#define URLAUTH_MAX_URLS 100 /* URLs in one GENURLAUTH or URLFETCH */

struct urlauth_ctx {
	struct imap_session *s;
	struct store_urlauth_key_req *keys; /* one per URL (GENURLAUTH) or one (RESETKEY) */
	size_t n;
	struct mailurl *urls;
	const char **wire; /* the URLs as sent */
	size_t *wlen;
	int status;
};

static int keys_job(struct store_tx *tx, void *arg)
{
	struct urlauth_ctx *c = arg;
	for (size_t i = 0; i < c->n; i++) {
		int r = store_urlauth_key_job(tx, &c->keys[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void keys_done(void *arg, int status)
{
	struct urlauth_ctx *c = arg;
	c->status = status;
	imap_cmd_wake(c->s);
}

static bool fresh_key(uint8_t key[STORE_URLAUTH_KEY_LEN])
{
	void *rng = tls_rng_ctx();
	return rng && tls_rng(rng, key, STORE_URLAUTH_KEY_LEN) == 0;
}

static bool is_internal(const struct imap_arg *a)
{
	return imap_arg_is_atom(a, "INTERNAL");
}

/* GENURLAUTH url mechanism [url mechanism ...] */
enum imap_cmd_result imap_cmd_genurlauth(struct imap_session *s, struct imap_cmd *cmd)
{
	struct urlauth_ctx *c = cmd->ctx;
	if (cmd->step == 0) {
		if (cmd->nargs == 0 || cmd->nargs % 2) {
			imap_tagged(s, cmd, "BAD", NULL,
			            "GENURLAUTH needs URL and mechanism pairs");
			return IMAP_DONE;
		}
		if (cmd->nargs / 2 > URLAUTH_MAX_URLS) {
			imap_tagged(s, cmd, "NO", "LIMIT", "Too many URLs");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		c->n = cmd->nargs / 2;
		c->keys = imap_arena_alloc(&cmd->arena, c->n * sizeof *c->keys);
		c->urls = imap_arena_alloc(&cmd->arena, c->n * sizeof *c->urls);
		c->wire = imap_arena_alloc(&cmd->arena, c->n * sizeof *c->wire);
		c->wlen = imap_arena_alloc(&cmd->arena, c->n * sizeof *c->wlen);
		cmd->ctx = c;
		for (size_t i = 0; i < c->n; i++) {
			struct mailurl *u = &c->urls[i];
			char name[IMAP_MAILBOX_NAME_MAX + 1];
			const char *why = NULL;
			if (!imap_arg_astring(&cmd->args[2 * i], &c->wire[i], &c->wlen[i]) ||
			    mailurl_parse(c->wire[i], c->wlen[i], u) < 0)
				why = "Invalid URL";
			else if (!is_internal(&cmd->args[2 * i + 1]))
				why = "Unknown URLAUTH mechanism (INTERNAL is known)";
			else if (!u->has_server || !u->user[0])
				why = "Missing owner username in supplied URL";
			else if (!u->has_urlauth)
				why = "Missing access identifier in supplied URL";
			else if (u->mechanism[0])
				why = "The URL is already authorized";
			else if (!u->uid)
				why = "The URL names no message";
			else if (strcasecmp(u->user, s->address) != 0)
				why = "Only the owner may authorize URLs to a mailbox";
			else if (imap_mailbox_name_decode(s, u->mailbox, strlen(u->mailbox), name,
			                                  sizeof name, true) < 0 ||
			         store_mailbox_find(imap_reader(s), s->account_id, name,
			                            &c->keys[i].mailbox_id) != 1)
				why = "No such mailbox";
			if (why) {
				imap_tagged(s, cmd, "BAD", NULL, "%s", why);
				return IMAP_DONE;
			}
			if (!fresh_key(c->keys[i].key)) {
				imap_tagged(s, cmd, "NO", "SERVERBUG", "No random key");
				return IMAP_DONE;
			}
			c->keys[i].account_id = s->account_id;
		}
		if (store_submit(imap_store(s), keys_job, keys_done, c) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot authorize now");
			return IMAP_DONE;
		}
		cmd->step = 1;
		return IMAP_ASYNC;
	}
	if (c->status < 0) {
		imap_tagged(s, cmd, "NO", c->status == -ENOENT ? "NONEXISTENT" : "UNAVAILABLE",
		            "GENURLAUTH failed");
		return IMAP_DONE;
	}
	imap_printf(s, "* GENURLAUTH");
	for (size_t i = 0; i < c->n; i++) {
		char token[MAILURL_TOKEN_HEX + 1];
		const struct mailurl *u = &c->urls[i];
		if (mailurl_urlauth_token(c->keys[i].key, c->wire[i], u->rump_len, token) < 0) {
			imap_write(s, " NIL", 4);
			continue;
		}
		char *full = imap_arena_printf(&cmd->arena, "%.*s:internal:%s", (int)c->wlen[i],
		                               c->wire[i], token);
		imap_write(s, " ", 1);
		imap_write_quoted(s, full, strlen(full));
	}
	imap_write(s, "\r\n", 2);
	imap_tagged(s, cmd, "OK", NULL, "GENURLAUTH completed");
	return IMAP_DONE;
}

/* RESETKEY [mailbox [mechanism ...]] */
enum imap_cmd_result imap_cmd_resetkey(struct imap_session *s, struct imap_cmd *cmd)
{
	struct urlauth_ctx *c = cmd->ctx;
	if (cmd->step == 0) {
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		c->n = 1;
		c->keys = imap_arena_alloc(&cmd->arena, sizeof *c->keys);
		c->keys[0].account_id = s->account_id;
		c->keys[0].reset = true;
		cmd->ctx = c;
		if (cmd->nargs > 0) {
			char name[IMAP_MAILBOX_NAME_MAX + 1];
			for (size_t i = 1; i < cmd->nargs; i++)
				if (!is_internal(&cmd->args[i])) {
					imap_tagged(
					    s, cmd, "BAD", NULL,
					    "Unknown URLAUTH mechanism (INTERNAL is known)");
					return IMAP_DONE;
				}
			if (!imap_arg_mailbox(s, cmd, 0, name, sizeof name, true))
				return IMAP_DONE;
			int r = store_mailbox_find(imap_reader(s), s->account_id, name,
			                           &c->keys[0].mailbox_id);
			if (r != 1) {
				imap_tagged(s, cmd, "NO", r < 0 ? "UNAVAILABLE" : "NONEXISTENT",
				            "No such mailbox");
				return IMAP_DONE;
			}
			if (!fresh_key(c->keys[0].key)) {
				imap_tagged(s, cmd, "NO", "SERVERBUG", "No random key");
				return IMAP_DONE;
			}
		}
		if (store_submit(imap_store(s), keys_job, keys_done, c) < 0) {
			imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot reset now");
			return IMAP_DONE;
		}
		cmd->step = 1;
		return IMAP_ASYNC;
	}
	if (c->status < 0)
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "RESETKEY failed");
	else if (c->keys[0].mailbox_id)
		imap_tagged(s, cmd, "OK", "URLMECH INTERNAL", "Key reset");
	else
		imap_tagged(s, cmd, "OK", NULL, "All keys removed");
	return IMAP_DONE;
}

/* URLFETCH url [url ...]: "* URLFETCH url data ..." with NIL for any URL
 * that does not pass (RFC 4467: no more said about why). */
enum imap_cmd_result imap_cmd_urlfetch(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs == 0) {
		imap_tagged(s, cmd, "BAD", NULL, "URLFETCH needs URLs");
		return IMAP_DONE;
	}
	if (cmd->nargs > URLAUTH_MAX_URLS) {
		imap_tagged(s, cmd, "NO", "LIMIT", "Too many URLs");
		return IMAP_DONE;
	}
	for (size_t i = 0; i < cmd->nargs; i++) {
		const char *url;
		size_t len;
		if (!imap_arg_astring(&cmd->args[i], &url, &len)) {
			imap_tagged(s, cmd, "BAD", NULL, "URLFETCH takes URLs as strings");
			return IMAP_DONE;
		}
	}
	struct mailurl_requester who = {.address = s->address, .submit = false};
	struct mailurl *u = imap_arena_alloc(&cmd->arena, sizeof *u);
	/* Each URL reads its whole message: the command may read twice
	 * APPENDLIMIT, the rest get NIL. */
	uint64_t read_left = 2 * (uint64_t)s->cfg->max_literal;
	imap_printf(s, "* URLFETCH");
	for (size_t i = 0; i < cmd->nargs; i++) {
		const char *url;
		size_t len;
		struct buf data = {0};
		imap_arg_astring(&cmd->args[i], &url, &len);
		int r = mailurl_parse(url, len, u);
		if (r == 0)
			r = mailurl_urlauth_fetch(imap_reader(s), url, len, u, (int64_t)time(NULL),
			                          &who, (size_t)s->cfg->max_literal, &read_left,
			                          &data);
		if (r < 0)
			imap_log(s, LOG_INFO, "event=urlfetch_refused err=%d", r);
		imap_write(s, " ", 1);
		imap_write_astring(s, url, len);
		imap_write(s, " ", 1);
		if (r < 0)
			imap_write(s, "NIL", 3);
		else
			imap_write_literal(s, data.data ? data.data : "", data.len);
		buf_free(&data);
	}
	imap_write(s, "\r\n", 2);
	imap_tagged(s, cmd, "OK", NULL, "URLFETCH completed");
	return IMAP_DONE;
}
