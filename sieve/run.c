/* run: the Sieve interpreter: a compiled script and one message in, the
 * actions out (sieve/sieve.h).
 *
 * The script is only read; everything a run changes (variables, the
 * imap4flags internal variable, the actions so far, the budget) lives in
 * its struct run, so runs of one script can go on side by side.
 *
 * Actions collect in order. fileinto, redirect, discard, reject and
 * ereject cancel the implicit keep (RFC 5228 §2.10.2) unless :copy (RFC
 * 3894) says otherwise; keep both performs a keep and cancels the
 * implicit one. When the script ends with the implicit keep still in
 * force, a keep with the internal flags (RFC 5232 §3) is added, marked
 * implicit. A fileinto of a mailbox already filed into, or a redirect to
 * an address already redirected to, is dropped (§2.10.3).
 *
 * A run stops and "fails" when it meets a bound (steps, actions,
 * redirects), a bad redirect address, or actions that cannot go together:
 * two rejects, or reject/ereject with keep, fileinto, redirect or
 * vacation (RFC 5429 §2.2), or a second vacation (RFC 5230 §4.7). The
 * actions of a failed run are a single implicit keep (§2.10.6). */
#include "sieve/sieve_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sieve_result_store {
	struct arena arena;
};

enum { RUN_OK = 0, RUN_STOP = 1, RUN_FAIL = -1 };

struct run {
	const struct sieve_script *s;
	const struct sieve_message *msg;
	struct sieve_headers h;
	struct buf *decoded; /* per field, decoded on first use (data NULL: not yet) */
	struct buf *addrs;   /* per field, its addresses as "local\0domain\0" pairs, alike */
	struct sieve_vars vars;
	struct sieve_budget budget;
	struct arena *arena; /* the result's */
	struct sieve_action *acts;
	size_t n_acts, cap_acts;
	bool implicit_keep;
	unsigned redirects;
	struct buf flags; /* the internal variable: flags separated by spaces */
	struct sieve_result *res;
	bool failed;
};

static int fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct run *r, const char *fmt, ...)
{
	if (!r->failed) {
		r->failed = true;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->res->error, sizeof r->res->error, fmt, ap);
		va_end(ap);
	}
	return RUN_FAIL;
}

static int oom(struct run *r)
{
	return fail(r, "out of memory");
}

static int step(struct run *r, uint64_t n)
{
	if (!sieve_charge(&r->budget, n))
		return fail(r, "too many steps (at most %llu)", (unsigned long long)r->budget.max);
	return RUN_OK;
}

/* s expanded into out, charged by length. */
static int expand(struct run *r, const char *s, size_t len, struct buf *out)
{
	if (step(r, 1 + len / 16) < 0)
		return RUN_FAIL;
	if (sieve_vars_expand(&r->vars, s, len, out) < 0)
		return oom(r);
	return step(r, out->len / 16);
}

/* Does expanding s change it? Only a "${" can. */
static bool has_reference(const struct run *r, const char *s, size_t len)
{
	return (r->s->extensions & SIEVE_EXT_VARIABLES) && memmem(s, len, "${", 2) != NULL;
}

/* Every string of a list expanded, into keys[0..l->n) (freed by the caller
 * with free_keys). A string with nothing to expand, most of them, is
 * borrowed from the compiled script (cap 0: free_keys leaves it) rather
 * than copied: a run of a 100-rule script does several hundred of these
 * per message. It is charged as if copied, so the step budget does not
 * depend on which path a string takes. */
static int expand_list(struct run *r, const struct sieve_strlist *l, struct buf **keys)
{
	*keys = calloc(l->n ? l->n : 1, sizeof **keys);
	if (!*keys)
		return oom(r);
	for (size_t i = 0; i < l->n; i++) {
		if (has_reference(r, l->s[i], l->len[i])) {
			if (expand(r, l->s[i], l->len[i], &(*keys)[i]) < 0)
				return RUN_FAIL;
		} else {
			if (step(r, 1 + 2 * (l->len[i] / 16)) < 0)
				return RUN_FAIL;
			(*keys)[i] = (struct buf){.data = l->s[i], .len = l->len[i], .cap = 0};
		}
	}
	return RUN_OK;
}

static void free_keys(struct buf *keys, size_t n)
{
	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		if (keys[i].cap) /* borrowed ones have none */
			buf_free(&keys[i]);
	free(keys);
}

/* value against every key: 1 on the first match (captures kept for
 * :matches), 0, or RUN_FAIL. */
static int match_keys(struct run *r, const struct sieve_node *t, const char *value, size_t vlen,
                      const struct buf *keys, size_t nkeys)
{
	for (size_t k = 0; k < nkeys; k++) {
		struct sieve_captures caps;
		int m = sieve_match(t->comparator, t->match, value, vlen,
		                    keys[k].data ? keys[k].data : "", keys[k].len,
		                    t->match == SIEVE_MATCH_MATCHES ? &caps : NULL, &r->budget);
		if (m < 0)
			return step(r, 0); /* the budget is spent: fails */
		if (m == 1) {
			if (t->match == SIEVE_MATCH_MATCHES &&
			    (r->s->extensions & SIEVE_EXT_VARIABLES) &&
			    sieve_vars_set_matches(&r->vars, value, &caps) < 0)
				return oom(r);
			return 1;
		}
	}
	return 0;
}

static bool field_named(const struct sieve_field *f, const struct buf *name)
{
	return f->name_len == name->len && strncasecmp(f->name, name->data, name->len) == 0;
}

struct addr_ctx {
	struct run *r;
	const struct sieve_node *t;
	const struct buf *keys;
	size_t nkeys;
	struct buf part;
};

/* One address against the keys, as the test's address part says. */
static int address_part(struct addr_ctx *c, const char *local, const char *domain)
{
	struct buf *p = &c->part;
	buf_reset(p);
	int e = 0;
	if (c->t->addrpart != SIEVE_ADDR_DOMAIN)
		e = buf_adds(p, local);
	if (e == 0 && c->t->addrpart == SIEVE_ADDR_ALL && domain && domain[0]) {
		e = buf_addc(p, '@');
		if (e == 0)
			e = buf_adds(p, domain);
	}
	if (e == 0 && c->t->addrpart == SIEVE_ADDR_DOMAIN)
		e = buf_adds(p, domain ? domain : "");
	if (e == 0)
		e = buf_add(p, "", 0);
	if (e < 0)
		return oom(c->r);
	return match_keys(c->r, c->t, p->data, p->len, c->keys, c->nkeys);
}

/* Collects an address as "local\0domain\0" into a field's cache. */
static int collect_address(void *ud, const char *local, const char *domain)
{
	struct buf *b = ud;
	if (buf_add(b, local, strlen(local) + 1) < 0 ||
	    buf_add(b, domain ? domain : "", (domain ? strlen(domain) : 0) + 1) < 0)
		return -ENOMEM;
	return 0;
}

/* Field f's addresses, parsed on first use and kept for the run. */
static const struct buf *addresses(struct run *r, size_t f)
{
	struct buf *b = &r->addrs[f];
	if (b->data)
		return b;
	if (step(r, 1 + r->h.f[f].value_len / 8) < 0)
		return NULL;
	if (buf_add(b, "", 0) < 0 || sieve_header_addresses(&r->h.f[f], collect_address, b) < 0) {
		oom(r);
		return NULL;
	}
	return b;
}

/* The fields the address test reads (RFC 5228 §5.1: those that hold
 * addresses); any other name matches nothing. */
static bool address_field(const struct buf *name)
{
	static const char *const fields[] = {
	    "from",
	    "to",
	    "cc",
	    "bcc",
	    "sender",
	    "reply-to",
	    "resent-from",
	    "resent-to",
	    "resent-cc",
	    "resent-bcc",
	    "resent-sender",
	    "return-path",
	    "delivered-to",
	    "errors-to",
	    "mail-followup-to",
	    "mail-reply-to",
	    "disposition-notification-to",
	    "x-original-to",
	    "envelope-to",
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strcasecmp(name->data, fields[i]) == 0)
			return true;
	return false;
}

static int test_address(struct run *r, const struct sieve_node *t, const struct buf *names,
                        size_t nnames, const struct buf *keys, size_t nkeys)
{
	struct addr_ctx c = {.r = r, .t = t, .keys = keys, .nkeys = nkeys};
	int res = 0;
	for (size_t i = 0; i < nnames && res == 0; i++)
		for (size_t f = 0; f < r->h.n && res == 0; f++) {
			if (step(r, 1) < 0) {
				res = RUN_FAIL;
				break;
			}
			if (!address_field(&names[i]) || !field_named(&r->h.f[f], &names[i]))
				continue;
			const struct buf *a = addresses(r, f);
			if (!a) {
				res = RUN_FAIL;
				break;
			}
			for (size_t k = 0; k < a->len && res == 0;) {
				const char *local = a->data + k;
				const char *domain = local + strlen(local) + 1;
				k = (size_t)(domain - a->data) + strlen(domain) + 1;
				res = address_part(&c, local, domain);
			}
		}
	buf_free(&c.part);
	return res;
}

static int test_envelope(struct run *r, const struct sieve_node *t, const struct buf *parts,
                         size_t nparts, const struct buf *keys, size_t nkeys)
{
	struct addr_ctx c = {.r = r, .t = t, .keys = keys, .nkeys = nkeys};
	struct buf local = {0}, domain = {0};
	int res = 0;
	for (size_t i = 0; i < nparts && res == 0; i++) {
		const char *addr = NULL;
		if (strcasecmp(parts[i].data, "from") == 0)
			addr = r->msg->envelope_from ? r->msg->envelope_from : "";
		else if (strcasecmp(parts[i].data, "to") == 0)
			addr = r->msg->envelope_to ? r->msg->envelope_to : "";
		if (!addr)
			continue;
		if (strcmp(addr, "<>") == 0)
			addr = "";
		sieve_split_address(addr, &local, &domain);
		if (!local.data || !domain.data) {
			res = oom(r);
			break;
		}
		res = address_part(&c, local.data, domain.data);
	}
	buf_free(&local);
	buf_free(&domain);
	buf_free(&c.part);
	return res;
}

/* Field f's value decoded (§2.7.2), kept for the rest of the run: a
 * script of many rules reads the same Subject many times. */
static const struct buf *decoded(struct run *r, size_t f)
{
	struct buf *d = &r->decoded[f];
	if (d->data)
		return d;
	if (step(r, 1 + r->h.f[f].value_len / 8) < 0)
		return NULL;
	if (sieve_header_decoded(&r->h.f[f], d) < 0) {
		oom(r);
		return NULL;
	}
	return d;
}

static int test_header(struct run *r, const struct sieve_node *t, const struct buf *names,
                       size_t nnames, const struct buf *keys, size_t nkeys)
{
	int res = 0;
	for (size_t i = 0; i < nnames && res == 0; i++)
		for (size_t f = 0; f < r->h.n && res == 0; f++) {
			if (step(r, 1) < 0)
				return RUN_FAIL;
			if (!field_named(&r->h.f[f], &names[i]))
				continue;
			const struct buf *dec = decoded(r, f);
			if (!dec)
				return RUN_FAIL;
			res = match_keys(r, t, dec->data, dec->len, keys, nkeys);
		}
	return res;
}

/* The flags of a space-separated list, each passed to cb; 0 or cb's. */
static int each_flag(const char *s, size_t len, int (*cb)(void *ud, const char *f, size_t n),
                     void *ud)
{
	for (size_t i = 0; i < len;) {
		while (i < len && s[i] == ' ')
			i++;
		size_t j = i;
		while (j < len && s[j] != ' ')
			j++;
		if (j > i) {
			int e = cb(ud, s + i, j - i);
			if (e)
				return e;
		}
		i = j;
	}
	return 0;
}

struct flag_ctx {
	struct run *r;
	const struct sieve_node *t;
	const struct buf *keys;
	size_t nkeys;
	struct buf *target;
	struct buf one;
};

static int hasflag_cb(void *ud, const char *f, size_t n)
{
	struct flag_ctx *c = ud;
	buf_reset(&c->one);
	if (buf_add(&c->one, f, n) < 0 || buf_add(&c->one, "", 0) < 0)
		return oom(c->r);
	return match_keys(c->r, c->t, c->one.data, n, c->keys, c->nkeys);
}

/* The keys of hasflag are flag lists too (RFC 5232 §4: "b A" is ["b",
 * "A"]): one key per flag, in a new array. */
struct split_ctx {
	struct buf *keys;
	size_t n, cap;
};

static int collect_cb(void *ud, const char *f, size_t n)
{
	struct split_ctx *c = ud;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		struct buf *k = realloc(c->keys, ncap * sizeof *k);
		if (!k)
			return -ENOMEM;
		memset(k + c->cap, 0, (ncap - c->cap) * sizeof *k);
		c->keys = k;
		c->cap = ncap;
	}
	struct buf *k = &c->keys[c->n++];
	return buf_add(k, f, n) < 0 ? -ENOMEM : 0;
}

static int test_hasflag(struct run *r, const struct sieve_node *t, const struct buf *given,
                        size_t ngiven)
{
	struct split_ctx split = {0};
	for (size_t i = 0; i < ngiven; i++)
		if (each_flag(given[i].data, given[i].len, collect_cb, &split) < 0) {
			free_keys(split.keys, split.n);
			return oom(r);
		}
	struct flag_ctx c = {.r = r, .t = t, .keys = split.keys, .nkeys = split.n};
	int res = 0;
	if (t->var_index < 0) {
		res = each_flag(r->flags.data, r->flags.len, hasflag_cb, &c);
	} else {
		for (size_t i = 0; i < t->pos[0]->n && res == 0; i++) {
			int slot = sieve_vars_slot(r->s, t->pos[0]->s[i]);
			if (slot >= 0)
				res = each_flag(r->vars.values[slot].data, r->vars.values[slot].len,
				                hasflag_cb, &c);
		}
	}
	buf_free(&c.one);
	free_keys(split.keys, split.n);
	return res;
}

static int test(struct run *r, const struct sieve_node *t);

/* The tests that take a key list: the last positional argument. */
static int keyed_test(struct run *r, const struct sieve_node *t)
{
	struct buf *first = NULL, *keys = NULL;
	const struct sieve_strlist *kl = t->pos[t->n_pos - 1];
	const struct sieve_strlist *fl = t->n_pos > 1 ? t->pos[0] : NULL;
	int res = expand_list(r, kl, &keys);
	if (res == 0 && fl && t->id != SIEVE_TEST_HASFLAG)
		res = expand_list(r, fl, &first);
	if (res == 0) {
		switch (t->id) {
		case SIEVE_TEST_ADDRESS:
			res = test_address(r, t, first, fl->n, keys, kl->n);
			break;
		case SIEVE_TEST_ENVELOPE:
			res = test_envelope(r, t, first, fl->n, keys, kl->n);
			break;
		case SIEVE_TEST_HEADER:
			res = test_header(r, t, first, fl->n, keys, kl->n);
			break;
		case SIEVE_TEST_HASFLAG:
			res = test_hasflag(r, t, keys, kl->n);
			break;
		case SIEVE_TEST_STRING:
			for (size_t i = 0; i < fl->n && res == 0; i++)
				res = match_keys(r, t, first[i].data, first[i].len, keys, kl->n);
			break;
		}
	}
	free_keys(keys, kl->n);
	if (first)
		free_keys(first, fl->n);
	return res;
}

static int test(struct run *r, const struct sieve_node *t)
{
	if (step(r, 1) < 0)
		return RUN_FAIL;
	int res;
	switch (t->id) {
	case SIEVE_TEST_TRUE:
		return 1;
	case SIEVE_TEST_FALSE:
		return 0;
	case SIEVE_TEST_NOT:
		res = test(r, t->tests);
		return res < 0 ? res : !res;
	case SIEVE_TEST_ALLOF:
	case SIEVE_TEST_ANYOF: {
		bool all = t->id == SIEVE_TEST_ALLOF;
		for (const struct sieve_node *c = t->tests; c; c = c->next) {
			res = test(r, c);
			if (res < 0)
				return res;
			if (res != all)
				return res;
		}
		return all;
	}
	case SIEVE_TEST_SIZE:
		return t->over ? r->msg->size > t->number : r->msg->size < t->number;
	case SIEVE_TEST_EXISTS:
	case SIEVE_TEST_MAILBOXEXISTS: {
		struct buf name = {0};
		res = 1;
		for (size_t i = 0; i < t->pos[0]->n && res == 1; i++) {
			if (expand(r, t->pos[0]->s[i], t->pos[0]->len[i], &name) < 0) {
				res = RUN_FAIL;
				break;
			}
			bool found = false;
			if (t->id == SIEVE_TEST_MAILBOXEXISTS) {
				found = r->msg->mailbox_exists &&
				        r->msg->mailbox_exists(r->msg->ud, name.data);
			} else {
				for (size_t f = 0; f < r->h.n && !found; f++)
					found = field_named(&r->h.f[f], &name);
				if (step(r, r->h.n / 8) < 0)
					res = RUN_FAIL;
			}
			if (res == 1 && !found)
				res = 0;
		}
		buf_free(&name);
		return res;
	}
	default:
		return keyed_test(r, t);
	}
}

/* ---- actions ---- */

static char *keep_str(struct run *r, const char *s)
{
	return arena_strndup(r->arena, s ? s : "", s ? strlen(s) : 0);
}

static struct sieve_action *add_action(struct run *r, enum sieve_action_kind kind)
{
	if (r->n_acts >= r->s->limits.max_actions) {
		fail(r, "too many actions (at most %u)", r->s->limits.max_actions);
		return NULL;
	}
	if (r->n_acts == r->cap_acts) {
		size_t ncap = r->cap_acts ? r->cap_acts * 2 : 8;
		struct sieve_action *a = arena_alloc(r->arena, ncap * sizeof *a);
		if (!a) {
			oom(r);
			return NULL;
		}
		if (r->n_acts)
			memcpy(a, r->acts, r->n_acts * sizeof *a);
		r->acts = a;
		r->cap_acts = ncap;
	}
	struct sieve_action *a = &r->acts[r->n_acts++];
	memset(a, 0, sizeof *a);
	a->kind = kind;
	return a;
}

static bool has_action(const struct run *r, enum sieve_action_kind kind)
{
	for (size_t i = 0; i < r->n_acts; i++)
		if (r->acts[i].kind == kind)
			return true;
	return false;
}

static const char *const kind_names[] = {"keep",   "fileinto", "redirect", "discard",
                                         "reject", "ereject",  "vacation"};

/* RFC 5429 §2.2 and RFC 5230 §4.7: what may not be combined. */
static int conflicts(struct run *r, enum sieve_action_kind kind)
{
	bool refusing = kind == SIEVE_REJECT || kind == SIEVE_EREJECT;
	for (size_t i = 0; i < r->n_acts; i++) {
		enum sieve_action_kind o = r->acts[i].kind;
		bool other_refusing = o == SIEVE_REJECT || o == SIEVE_EREJECT;
		if ((refusing && o != SIEVE_DISCARD) || (other_refusing && kind != SIEVE_DISCARD) ||
		    (kind == SIEVE_VACATION && o == SIEVE_VACATION))
			return fail(r, "%s conflicts with %s", kind_names[kind], kind_names[o]);
	}
	return RUN_OK;
}

/* Adds each flag of s[0..n) to the list in out, unless it is there
 * already (case-insensitively). */
static int add_flag_cb(void *ud, const char *f, size_t n)
{
	struct flag_ctx *c = ud;
	struct buf *out = c->target;
	for (size_t i = 0; i < out->len;) {
		size_t j = i;
		while (j < out->len && out->data[j] != ' ')
			j++;
		if (j - i == n && strncasecmp(out->data + i, f, n) == 0)
			return 0;
		i = j + 1;
	}
	if (out->len + n + 1 > c->r->s->limits.max_variable_len)
		return 0;
	if ((out->len && buf_addc(out, ' ') < 0) || buf_add(out, f, n) < 0)
		return oom(c->r);
	return 0;
}

struct remove_ctx {
	struct buf *out;
	const struct buf *gone;
	size_t ngone;
};

static int flag_in(void *ud, const char *f, size_t n)
{
	const struct buf *b = ud;
	return b->len == n && strncasecmp(b->data, f, n) == 0;
}

static int remove_flag_cb(void *ud, const char *f, size_t n)
{
	struct remove_ctx *c = ud;
	for (size_t i = 0; i < c->ngone; i++)
		if (each_flag(c->gone[i].data, c->gone[i].len, flag_in,
		              &(struct buf){
		                  .data = (char *)f,
		                  .len = n,
		              }))
			return 0;
	if ((c->out->len && buf_addc(c->out, ' ') < 0) || buf_add(c->out, f, n) < 0)
		return -ENOMEM;
	return 0;
}

/* An IMAP flag (RFC 3501 §9: a backslash and an atom, or an atom; not
 * \Recent, which no one sets): what the store is handed. Others are dropped. */
static bool imap_flag_ok(const char *f, size_t n)
{
	size_t i = n && f[0] == '\\' ? 1 : 0;
	if (i == n || (n == 7 && strncasecmp(f, "\\Recent", 7) == 0))
		return false;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c))
			return false;
	}
	return true;
}

static int add_imap_flag_cb(void *ud, const char *f, size_t n)
{
	return imap_flag_ok(f, n) ? add_flag_cb(ud, f, n) : 0;
}

/* The flags for keep/fileinto: :flags expanded, or the internal variable;
 * as an array in the result. */
static int action_flags(struct run *r, const struct sieve_node *n, struct sieve_action *a)
{
	struct buf list = {0};
	struct flag_ctx c = {.r = r, .target = &list};
	int res = 0;
	if (n && n->flags) {
		struct buf one = {0};
		for (size_t i = 0; i < n->flags->n && res == 0; i++) {
			res = expand(r, n->flags->s[i], n->flags->len[i], &one);
			if (res == 0)
				res = each_flag(one.data, one.len, add_imap_flag_cb, &c);
		}
		buf_free(&one);
	} else if (r->flags.len) {
		res = each_flag(r->flags.data, r->flags.len, add_imap_flag_cb, &c);
	}
	size_t count = 0;
	for (size_t i = 0; res == 0 && i < list.len; i++)
		if (list.data[i] != ' ' && (i == 0 || list.data[i - 1] == ' '))
			count++;
	if (res == 0 && count) {
		const char **flags = arena_alloc(r->arena, count * sizeof *flags);
		if (!flags) {
			res = oom(r);
		} else {
			size_t k = 0;
			for (size_t i = 0; i < list.len;) {
				size_t j = i;
				while (j < list.len && list.data[j] != ' ')
					j++;
				if (j > i &&
				    !(flags[k++] = arena_strndup(r->arena, list.data + i, j - i)))
					res = oom(r);
				i = j + 1;
			}
			a->flags = flags;
			a->n_flags = count;
		}
	}
	buf_free(&list);
	return res;
}

static int do_flags(struct run *r, const struct sieve_node *n)
{
	struct buf *target = &r->flags;
	if (n->var_index >= 0)
		target = &r->vars.values[sieve_vars_slot(r->s, n->pos[0]->s[0])];
	const struct sieve_strlist *l = n->pos[n->n_pos - 1];
	struct buf *keys = NULL;
	int res = expand_list(r, l, &keys);
	if (res == 0 && n->id == SIEVE_CMD_REMOVEFLAG) {
		struct buf out = {0};
		struct remove_ctx c = {.out = &out, .gone = keys, .ngone = l->n};
		if (each_flag(target->data, target->len, remove_flag_cb, &c) < 0 ||
		    buf_add(&out, "", 0) < 0)
			res = oom(r);
		buf_free(target);
		*target = out;
	} else if (res == 0) {
		if (n->id == SIEVE_CMD_SETFLAG)
			buf_reset(target);
		struct flag_ctx c = {.r = r, .target = target};
		for (size_t i = 0; i < l->n && res == 0; i++)
			res = each_flag(keys[i].data, keys[i].len, add_imap_flag_cb, &c);
		if (res == 0 && buf_add(target, "", 0) < 0)
			res = oom(r);
	}
	free_keys(keys, l->n);
	return res;
}

static int do_vacation(struct run *r, const struct sieve_node *n)
{
	if (conflicts(r, SIEVE_VACATION) < 0)
		return RUN_FAIL;
	struct buf reason = {0}, subject = {0}, from = {0}, handle = {0};
	int res = expand(r, n->pos[0]->s[0], n->pos[0]->len[0], &reason);
	if (res == 0 && n->subject)
		res = expand(r, n->subject->s[0], n->subject->len[0], &subject);
	if (res == 0 && n->from)
		res = expand(r, n->from->s[0], n->from->len[0], &from);
	if (res == 0 && n->handle)
		res = expand(r, n->handle->s[0], n->handle->len[0], &handle);
	if (res == 0 && !n->handle &&
	    sieve_vacation_handle(n->subject ? subject.data : NULL, n->from ? from.data : NULL,
	                          n->mime, reason.data, &handle) < 0)
		res = oom(r);
	/* The default subject (§4.1): "Auto: " and the original one. */
	if (res == 0 && !n->subject) {
		const struct buf *dec = NULL;
		for (size_t f = 0; f < r->h.n && !dec && res == 0; f++)
			if (r->h.f[f].name_len == 7 &&
			    strncasecmp(r->h.f[f].name, "subject", 7) == 0 &&
			    !(dec = decoded(r, f)))
				res = RUN_FAIL;
		bool have = res == 0 && dec && dec->len;
		if (res == 0 && buf_printf(&subject, "%s%s", have ? "Auto: " : "Automated reply",
		                           have ? dec->data : "") < 0)
			res = oom(r);
	}
	/* :addresses, expanded like every other string (RFC 5229 §3). */
	struct buf *addrs = NULL;
	size_t n_addrs = n->addresses ? n->addresses->n : 0;
	char **addr_s = NULL;
	if (res == 0 && n_addrs) {
		res = expand_list(r, n->addresses, &addrs);
		if (res == 0 && !(addr_s = calloc(n_addrs, sizeof *addr_s)))
			res = oom(r);
		for (size_t i = 0; res == 0 && i < n_addrs; i++)
			addr_s[i] = addrs[i].data;
	}
	struct sieve_strlist extra = {.s = addr_s, .n = addr_s ? n_addrs : 0};
	const char *refusal = NULL;
	if (res == 0)
		refusal = sieve_vacation_refusal(r->msg, &r->h, &extra);
	free(addr_s);
	free_keys(addrs, n_addrs);
	if (res == 0 && refusal) {
		snprintf(r->res->vacation_skipped, sizeof r->res->vacation_skipped, "%s", refusal);
	} else if (res == 0) {
		struct sieve_action *a = add_action(r, SIEVE_VACATION);
		if (!a) {
			res = RUN_FAIL;
		} else {
			uint64_t days = n->number ? n->number : 7;
			a->reason = keep_str(r, reason.data);
			a->vacation_to = keep_str(r, r->msg->envelope_from);
			a->vacation_from = n->from ? keep_str(r, from.data) : NULL;
			a->vacation_subject = keep_str(r, subject.data);
			a->vacation_handle = keep_str(r, handle.data);
			a->vacation_days = days > 365 ? 365 : (unsigned)days;
			a->vacation_mime = n->mime;
			if (!a->reason || !a->vacation_to || (n->from && !a->vacation_from) ||
			    !a->vacation_subject || !a->vacation_handle)
				res = oom(r);
		}
	}
	buf_free(&reason);
	buf_free(&subject);
	buf_free(&from);
	buf_free(&handle);
	return res;
}

/* Whether an action already files the message into mailbox (INBOX in
 * any case, as IMAP names it). */
static bool filed_into(const struct run *r, const char *mailbox)
{
	bool inbox = strcasecmp(mailbox, "INBOX") == 0;
	for (size_t i = 0; i < r->n_acts; i++) {
		const struct sieve_action *o = &r->acts[i];
		if ((o->kind == SIEVE_KEEP || o->kind == SIEVE_FILEINTO) &&
		    (strcmp(o->mailbox, mailbox) == 0 ||
		     (inbox && strcasecmp(o->mailbox, "INBOX") == 0)))
			return true;
	}
	return false;
}

static int command(struct run *r, const struct sieve_node *n)
{
	struct buf arg = {0};
	struct sieve_action *a;
	int res = RUN_OK;
	switch (n->id) {
	case SIEVE_CMD_STOP:
		return RUN_STOP;
	case SIEVE_CMD_KEEP:
	case SIEVE_CMD_FILEINTO: {
		const char *mailbox = "INBOX";
		if (n->id == SIEVE_CMD_FILEINTO) {
			if (expand(r, n->pos[0]->s[0], n->pos[0]->len[0], &arg) < 0)
				break;
			mailbox = arg.data;
		}
		if (conflicts(r, n->id == SIEVE_CMD_KEEP ? SIEVE_KEEP : SIEVE_FILEINTO) < 0)
			break;
		if (!n->copy)
			r->implicit_keep = false;
		if (!mailbox[0]) {
			res = fail(r, "fileinto an empty mailbox name");
			break;
		}
		if (filed_into(r, mailbox))
			break; /* already filed there: keep is fileinto "INBOX" (§2.10.3) */
		a = add_action(r, n->id == SIEVE_CMD_KEEP ? SIEVE_KEEP : SIEVE_FILEINTO);
		if (!a)
			break;
		a->mailbox = keep_str(r, mailbox);
		a->create = n->create;
		a->copy = n->copy;
		if (!a->mailbox)
			res = oom(r);
		else
			res = action_flags(r, n, a);
		break;
	}
	case SIEVE_CMD_REDIRECT:
		if (expand(r, n->pos[0]->s[0], n->pos[0]->len[0], &arg) < 0)
			break;
		if (!sieve_address_ok(arg.data)) {
			res = fail(r, "redirect to a bad address \"%.60s\"", arg.data);
			break;
		}
		if (conflicts(r, SIEVE_REDIRECT) < 0)
			break;
		if (!n->copy)
			r->implicit_keep = false;
		bool again = false;
		for (size_t i = 0; i < r->n_acts; i++)
			again |= r->acts[i].kind == SIEVE_REDIRECT &&
			         strcasecmp(r->acts[i].address, arg.data) == 0;
		if (again)
			break;
		if (++r->redirects > r->s->limits.max_redirects) {
			res =
			    fail(r, "too many redirects (at most %u)", r->s->limits.max_redirects);
			break;
		}
		if (!(a = add_action(r, SIEVE_REDIRECT)))
			break;
		a->copy = n->copy;
		if (!(a->address = keep_str(r, arg.data)))
			res = oom(r);
		break;
	case SIEVE_CMD_DISCARD:
		r->implicit_keep = false;
		if (!has_action(r, SIEVE_DISCARD))
			add_action(r, SIEVE_DISCARD);
		break;
	case SIEVE_CMD_REJECT:
	case SIEVE_CMD_EREJECT: {
		enum sieve_action_kind k = n->id == SIEVE_CMD_REJECT ? SIEVE_REJECT : SIEVE_EREJECT;
		if (expand(r, n->pos[0]->s[0], n->pos[0]->len[0], &arg) < 0 || conflicts(r, k) < 0)
			break;
		r->implicit_keep = false;
		if ((a = add_action(r, k)) && !(a->reason = keep_str(r, arg.data)))
			res = oom(r);
		break;
	}
	case SIEVE_CMD_VACATION:
		res = do_vacation(r, n);
		break;
	case SIEVE_CMD_SET:
		if (expand(r, n->pos[1]->s[0], n->pos[1]->len[0], &arg) < 0)
			break;
		if (sieve_vars_set(&r->vars, n->var_index, arg.data, arg.len, n->modifiers) < 0)
			res = oom(r);
		break;
	case SIEVE_CMD_SETFLAG:
	case SIEVE_CMD_ADDFLAG:
	case SIEVE_CMD_REMOVEFLAG:
		res = do_flags(r, n);
		break;
	default:
		break; /* require; if/elsif/else are the block's */
	}
	buf_free(&arg);
	return r->failed ? RUN_FAIL : res;
}

static int block(struct run *r, const struct sieve_node *list)
{
	bool chain_taken = false; /* an if/elsif of this chain ran its block */
	for (const struct sieve_node *n = list; n; n = n->next) {
		if (step(r, 1) < 0)
			return RUN_FAIL;
		int res;
		if (n->id == SIEVE_CMD_IF || n->id == SIEVE_CMD_ELSIF || n->id == SIEVE_CMD_ELSE) {
			if (n->id == SIEVE_CMD_IF)
				chain_taken = false;
			if (chain_taken)
				continue;
			res = n->id == SIEVE_CMD_ELSE ? 1 : test(r, n->tests);
			if (res < 0)
				return RUN_FAIL;
			if (!res)
				continue;
			chain_taken = true;
			res = block(r, n->block);
		} else {
			res = command(r, n);
		}
		if (res != RUN_OK)
			return res;
	}
	return RUN_OK;
}

int sieve_run(const struct sieve_script *s, const struct sieve_message *msg,
              struct sieve_result *res)
{
	memset(res, 0, sizeof *res);
	res->store = calloc(1, sizeof *res->store);
	if (!res->store)
		return -ENOMEM;
	struct run r = {
	    .s = s,
	    .msg = msg,
	    .budget = {.max = s->limits.max_steps},
	    .arena = &res->store->arena,
	    .implicit_keep = true,
	    .res = res,
	};
	int e = sieve_headers_index(msg->header, msg->header_len, &r.h);
	if (e == 0 && r.h.n &&
	    (!(r.decoded = calloc(r.h.n, sizeof *r.decoded)) ||
	     !(r.addrs = calloc(r.h.n, sizeof *r.addrs))))
		e = -ENOMEM;
	if (e == 0)
		e = sieve_vars_init(&r.vars, s);
	if (e == 0 && buf_add(&r.flags, "", 0) < 0)
		e = -ENOMEM;
	if (e < 0)
		oom(&r);
	else
		block(&r, s->cmds);
	if (r.failed) {
		r.n_acts = 0;
		r.implicit_keep = true;
		buf_reset(&r.flags);
	}
	if (r.implicit_keep && !r.failed && filed_into(&r, "INBOX"))
		r.implicit_keep = false; /* a fileinto :copy "INBOX" did it */
	if (r.implicit_keep) {
		struct sieve_action *a = NULL;
		/* Past any action limit: the implicit keep is not an extra action. */
		size_t cap = r.n_acts + 1;
		struct sieve_action *acts = arena_alloc(r.arena, cap * sizeof *acts);
		if (acts) {
			if (r.n_acts)
				memcpy(acts, r.acts, r.n_acts * sizeof *acts);
			r.acts = acts;
			a = &acts[r.n_acts++];
			a->kind = SIEVE_KEEP;
			a->implicit = true;
			a->mailbox = "INBOX";
			if (!r.failed && action_flags(&r, NULL, a) < 0)
				a->n_flags = 0, a->flags = NULL;
		} else {
			oom(&r);
			r.n_acts = 0;
		}
	}
	res->failed = r.failed;
	res->actions = r.acts;
	res->n_actions = r.n_acts;
	for (size_t i = 0; r.decoded && i < r.h.n; i++)
		buf_free(&r.decoded[i]);
	for (size_t i = 0; r.addrs && i < r.h.n; i++)
		buf_free(&r.addrs[i]);
	free(r.decoded);
	free(r.addrs);
	sieve_headers_free(&r.h);
	sieve_vars_free(&r.vars);
	buf_free(&r.flags);
	return 0;
}

void sieve_result_free(struct sieve_result *res)
{
	if (res->store) {
		arena_reset(&res->store->arena);
		free(res->store);
	}
	memset(res, 0, sizeof *res);
}
