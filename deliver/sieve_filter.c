/* sieve_filter: the runs of the recipients' scripts (see sieve_filter.h).
 *
 * Why the runs go to the thread pool: a script may do up to the engine's
 * 2,000,000 steps per run (tens of milliseconds), and an SMTP delivery to
 * 50 recipients runs 50 of them; on the loop that would stall every
 * session. Everything a run reads is gathered on the loop first (the
 * compiled script, a reference from the cache; the account's address and
 * mailbox names), so the pool thread touches neither the store nor the
 * cache. Turning actions into filings, and building the vacation reply,
 * happen in the pool too: plain copying. */
#include "deliver/sieve_filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deliver/sieve_cache.h"
#include "deliver/sieve_reply.h"
#include "lib/log.h"
#include "mime/msgid.h"
#include "sieve/sieve.h"
#include "store/accounts.h"
#include "store/mail.h"
#include "store/mailboxes.h"

#define MAX_KEYWORDS 32
#define KEYWORD_MAX 64

static uv_loop_t *pool_loop;

void sieve_filter_set_loop(uv_loop_t *loop)
{
	pool_loop = loop;
}

struct rcpt_run {
	struct sieve_cached *script; /* NULL: no script, nothing to run */
	char own[STORE_ADDR_MAX];
	const char *envelope_to;
	int64_t account_id;
	char **mailboxes; /* the account's names, for mailboxexists */
	size_t nmailboxes;
};

struct sieve_filter {
	uv_work_t work;
	const char *hostname;
	const char *mail_from;
	const char *msg;
	size_t len;
	uint64_t size;
	struct rcpt_run *runs;
	struct sieve_outcome *out;
	size_t n;
	int status;
	unsigned received;
	sieve_filter_done_fn done;
	void *ud;
};

unsigned sieve_count_received(const char *msg, size_t len)
{
	unsigned n = 0;
	size_t i = 0;
	while (i < len) {
		const char *line = msg + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		if (ll == 0 || (ll == 1 && line[0] == '\r'))
			break; /* the end of the header */
		if (ll >= 9 && strncasecmp(line, "received:", 9) == 0)
			n++;
		i += ll + 1;
	}
	return n;
}

static int add_name(void *ud, const struct store_mailbox *mb)
{
	struct rcpt_run *r = ud;
	if (r->nmailboxes % 16 == 0) {
		char **m = realloc(r->mailboxes, (r->nmailboxes + 16) * sizeof *m);
		if (!m)
			return -ENOMEM;
		r->mailboxes = m;
	}
	if (!(r->mailboxes[r->nmailboxes] = strdup(mb->name ? mb->name : "")))
		return -ENOMEM;
	r->nmailboxes++;
	return 0;
}

static void outcome_free(struct sieve_outcome *o)
{
	for (size_t i = 0; i < o->nfilings; i++) {
		free(o->filings[i].mailbox);
		free(o->filings[i].keywords);
	}
	free(o->filings);
	for (size_t i = 0; i < o->nredirects; i++)
		free(o->redirects[i]);
	free(o->redirects);
	free(o->reject);
	if (o->vacation) {
		free(o->vacation->to);
		free(o->vacation->handle);
		free(o->vacation->msg);
		free(o->vacation);
	}
	memset(o, 0, sizeof *o);
}

void sieve_filter_free(struct sieve_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		sieve_cache_drop(f->runs[i].script);
		for (size_t k = 0; k < f->runs[i].nmailboxes; k++)
			free(f->runs[i].mailboxes[k]);
		free(f->runs[i].mailboxes);
		if (f->out)
			outcome_free(&f->out[i]);
	}
	free(f->runs);
	free(f->out);
	free(f);
}

struct sieve_filter *sieve_filter_prepare(struct store_rd *rd, const char *hostname,
                                          const char *mail_from, const char *msg, size_t len,
                                          uint64_t size, const struct sieve_filter_rcpt *rcpts,
                                          size_t n, int *rc)
{
	*rc = 0;
	struct sieve_filter *f = calloc(1, sizeof *f);
	if (!f || !(f->runs = calloc(n ? n : 1, sizeof *f->runs)) ||
	    !(f->out = calloc(n ? n : 1, sizeof *f->out))) {
		sieve_filter_free(f);
		*rc = -ENOMEM;
		return NULL;
	}
	f->n = n;
	f->hostname = hostname;
	f->mail_from = mail_from;
	f->msg = msg;
	f->len = len;
	f->size = size;
	size_t scripts = 0;
	for (size_t i = 0; i < n; i++) {
		struct rcpt_run *r = &f->runs[i];
		r->account_id = rcpts[i].account_id;
		r->envelope_to = rcpts[i].envelope_to;
		int t = sieve_cache_take(rd, r->account_id, &r->script);
		if (t < 0) {
			*rc = t;
			break;
		}
		if (t == 0)
			continue;
		scripts++;
		struct store_account a;
		if (store_account_get(rd, r->account_id, &a) == 1)
			snprintf(r->own, sizeof r->own, "%s", a.address);
		if ((t = store_mailbox_list(rd, r->account_id, add_name, r)) < 0) {
			*rc = t;
			break;
		}
	}
	if (*rc < 0 || scripts == 0) {
		sieve_filter_free(f);
		return NULL;
	}
	return f;
}

static bool mailbox_exists(void *ud, const char *name)
{
	const struct rcpt_run *r = ud;
	for (size_t i = 0; i < r->nmailboxes; i++) {
		bool inbox = strcasecmp(name, "INBOX") == 0;
		if (inbox ? strcasecmp(r->mailboxes[i], "INBOX") == 0
		          : strcmp(r->mailboxes[i], name) == 0)
			return true;
	}
	return false;
}

/* An IMAP keyword (RFC 3501 flag-keyword: atom characters) of a sane
 * size. */
static bool keyword_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > KEYWORD_MAX)
		return false;
	for (; *k; k++) {
		unsigned char c = (unsigned char)*k;
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c))
			return false;
	}
	return true;
}

/* imap4flags' flags as the entry's system flags and keywords. */
static int map_flags(const struct sieve_action *a, struct sieve_filing *fl)
{
	char kw[MAX_KEYWORDS * (KEYWORD_MAX + 1) + 1];
	size_t used = 0, nkw = 0;
	kw[0] = '\0';
	for (size_t i = 0; i < a->n_flags; i++) {
		const char *f = a->flags[i];
		if (f[0] == '\\') {
			/* \Recent and unknown system flags: none */
			fl->flags |= store_flag_named(f, strlen(f));
			continue;
		}
		if (!keyword_ok(f) || nkw >= MAX_KEYWORDS)
			continue;
		/* the engine hands them without duplicates */
		used += (size_t)snprintf(kw + used, sizeof kw - used, "%s%s", nkw ? " " : "", f);
		nkw++;
	}
	if (nkw && !(fl->keywords = strdup(kw)))
		return -ENOMEM;
	return 0;
}

static int add_filing(struct sieve_outcome *o, const struct sieve_action *a)
{
	struct sieve_filing *fl = realloc(o->filings, (o->nfilings + 1) * sizeof *fl);
	if (!fl)
		return -ENOMEM;
	o->filings = fl;
	fl = &o->filings[o->nfilings++];
	memset(fl, 0, sizeof *fl);
	fl->explicit_keep = !(a->kind == SIEVE_KEEP && a->implicit);
	if (a->kind == SIEVE_FILEINTO) {
		fl->create = a->create;
		if (!(fl->mailbox = strdup(a->mailbox ? a->mailbox : "INBOX")))
			return -ENOMEM;
	}
	return map_flags(a, fl);
}

static int add_redirect(struct sieve_outcome *o, const char *addr)
{
	char **r = realloc(o->redirects, (o->nredirects + 1) * sizeof *r);
	if (!r)
		return -ENOMEM;
	o->redirects = r;
	if (!(r[o->nredirects] = strdup(addr)))
		return -ENOMEM;
	o->nredirects++;
	return 0;
}

static int add_vacation(struct sieve_filter *f, struct rcpt_run *r, struct sieve_outcome *o,
                        const struct sieve_action *a)
{
	struct mime_thread_ids *ids = malloc(sizeof *ids);
	struct sieve_vacation_reply *v = calloc(1, sizeof *v);
	if (!ids || !v) {
		free(ids);
		free(v);
		return -ENOMEM;
	}
	o->vacation = v;
	mime_thread_ids_read(f->msg, f->len, ids);
	/* :from only when it is an address of the account's (its own, or the
	 * one this mail came to): the relay signs the reply for its domain */
	const char *from = a->vacation_from;
	if (from && strcasecmp(from, r->own) != 0 && strcasecmp(from, r->envelope_to) != 0) {
		log_info("sieve event=vacation_from_ignored account=%lld from=\"%.100s\"",
		         (long long)r->account_id, from);
		from = NULL;
	}
	struct sieve_reply_params p = {
	    .hostname = f->hostname,
	    .from = from,
	    .own = r->own[0] ? r->own : r->envelope_to,
	    .to = a->vacation_to,
	    .subject = a->vacation_subject,
	    .reason = a->reason,
	    .mime = a->vacation_mime,
	    .orig = ids,
	    .now = time(NULL),
	};
	v->days = a->vacation_days ? a->vacation_days : 7;
	v->to = strdup(a->vacation_to ? a->vacation_to : "");
	v->handle = strdup(a->vacation_handle ? a->vacation_handle : "");
	v->msg = sieve_reply_build(&p, &v->len);
	free(ids);
	return v->to && v->handle && v->msg ? 0 : -ENOMEM;
}

/* One action into the outcome. */
static int take_action(struct sieve_filter *f, struct rcpt_run *r, struct sieve_outcome *o,
                       const struct sieve_action *a, bool *keep_instead)
{
	switch (a->kind) {
	case SIEVE_KEEP:
	case SIEVE_FILEINTO:
		return add_filing(o, a);
	case SIEVE_REDIRECT:
		if (f->received > SIEVE_MAX_RECEIVED) {
			log_warn("sieve event=redirect_refused account=%lld to=%s received=%u "
			         "note=implicit_keep",
			         (long long)r->account_id, a->address, f->received);
			*keep_instead = true;
			return 0;
		}
		return add_redirect(o, a->address);
	case SIEVE_DISCARD:
		return 0;
	case SIEVE_REJECT:
	case SIEVE_EREJECT:
		free(o->reject);
		return (o->reject = strdup(a->reason ? a->reason : "rejected")) ? 0 : -ENOMEM;
	case SIEVE_VACATION:
		if (!a->vacation_to || !a->vacation_to[0])
			return 0; /* never to <> */
		return add_vacation(f, r, o, a);
	}
	return 0;
}

static const struct sieve_action implicit_keep = {.kind = SIEVE_KEEP, .implicit = true};

static int run_one(struct sieve_filter *f, size_t i)
{
	struct rcpt_run *r = &f->runs[i];
	struct sieve_outcome *o = &f->out[i];
	if (!r->script)
		return 0;
	/* the account's address and the one the mail came to (an alias) */
	const char *own[2] = {r->own[0] ? r->own : r->envelope_to, r->envelope_to};
	struct sieve_message m = {
	    .header = f->msg,
	    .header_len = f->len,
	    .size = f->size,
	    .envelope_from = f->mail_from,
	    .envelope_to = r->envelope_to,
	    .own_addresses = own,
	    .n_own_addresses = 2,
	    .mailbox_exists = mailbox_exists,
	    .ud = r,
	};
	struct sieve_result res;
	o->ran = true;
	int rc = sieve_run(sieve_cached_script(r->script), &m, &res);
	if (rc < 0)
		return rc;
	if (res.failed)
		log_warn("sieve event=run_failed account=%lld err=\"%s\" note=implicit_keep",
		         (long long)r->account_id, res.error);
	if (res.vacation_skipped[0])
		log_info("sieve event=vacation_skipped account=%lld why=\"%s\"",
		         (long long)r->account_id, res.vacation_skipped);
	bool keep_instead = false;
	for (size_t k = 0; k < res.n_actions && rc == 0; k++)
		rc = take_action(f, r, o, &res.actions[k], &keep_instead);
	if (rc == 0 && keep_instead && o->nfilings == 0)
		rc = add_filing(o, &implicit_keep);
	o->discarded = o->nfilings == 0;
	sieve_result_free(&res);
	return rc;
}

static void run_all(uv_work_t *w)
{
	struct sieve_filter *f = w->data;
	f->received = sieve_count_received(f->msg, f->len);
	for (size_t i = 0; i < f->n && f->status == 0; i++) {
		int rc = run_one(f, i);
		if (rc < 0) {
			/* out of memory: file this one as if it had no script */
			outcome_free(&f->out[i]);
			f->out[i].ran = false;
		}
	}
}

static void after_all(uv_work_t *w, int status)
{
	(void)status;
	struct sieve_filter *f = w->data;
	f->done(f->ud, f, f->out, f->n);
}

int sieve_filter_start(struct sieve_filter *f, sieve_filter_done_fn done, void *ud)
{
	f->done = done;
	f->ud = ud;
	f->work.data = f;
	if (pool_loop && uv_queue_work(pool_loop, &f->work, run_all, after_all) == 0)
		return 0;
	run_all(&f->work);
	after_all(&f->work, 0);
	return 0;
}
