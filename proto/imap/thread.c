/* thread: RFC 5256 THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (see
 * thread.h). The tree is arrays of node indices (parent, first and last
 * child, next sibling); a node without a message is a dummy. Every walk
 * uses an explicit stack. */
#include "proto/imap/thread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

struct node {
	int msg; /* index into msgs, -1 for a dummy */
	int parent, first, last, next, prev;
};

struct sib_key;

struct tree {
	const struct imap_thread_msg *msgs;
	struct node *n;
	struct sib_key *keys; /* cap of them: sort_children's room */
	size_t count, cap;
	size_t wcap; /* the work array has 2 * wcap ints */
};

static int grow(struct tree *t);

static int new_node(struct tree *t, int msg)
{
	if (t->count == t->cap && grow(t) < 0)
		return -ENOMEM;
	t->n[t->count] = (struct node){
	    .msg = msg, .parent = -1, .first = -1, .last = -1, .next = -1, .prev = -1};
	return (int)t->count++;
}

static void append_child(struct tree *t, int parent, int c)
{
	struct node *p = &t->n[parent];
	t->n[c].parent = parent;
	t->n[c].next = -1;
	t->n[c].prev = p->last;
	if (p->last >= 0)
		t->n[p->last].next = c;
	else
		p->first = c;
	p->last = c;
}

static void unlink_node(struct tree *t, int c)
{
	int p = t->n[c].parent;
	if (p < 0)
		return;
	int prev = t->n[c].prev, next = t->n[c].next;
	if (prev >= 0)
		t->n[prev].next = next;
	else
		t->n[p].first = next;
	if (next >= 0)
		t->n[next].prev = prev;
	else
		t->n[p].last = prev;
	t->n[c].parent = t->n[c].next = t->n[c].prev = -1;
}

/* d (unlinked) takes o's place among its siblings; o is unlinked. */
static void replace_node(struct tree *t, int o, int d)
{
	struct node *x = &t->n[o];
	t->n[d].parent = x->parent;
	t->n[d].prev = x->prev;
	t->n[d].next = x->next;
	if (x->prev >= 0)
		t->n[x->prev].next = d;
	else
		t->n[x->parent].first = d;
	if (x->next >= 0)
		t->n[x->next].prev = d;
	else
		t->n[x->parent].last = d;
	x->parent = x->next = x->prev = -1;
}

/* Is a the same as d or one of its descendants? A link is refused when
 * this says yes (it would make a loop), and also when a is deeper than
 * MAX_DEPTH: the walk up is bounded, so crafted References chains as long
 * as the mailbox cost O(n * MAX_DEPTH), not O(n^2), on the loop thread;
 * such a chain is cut into threads of MAX_DEPTH. */
#define MAX_DEPTH 256
static bool descends(const struct tree *t, int a, int d)
{
	int depth = 0;
	for (int k = a; k >= 0; k = t->n[k].parent)
		if (k == d || ++depth > MAX_DEPTH)
			return true;
	return false;
}

/* The (date, seq) that orders a node: its message's, or for a dummy its
 * first child's. */
static const struct imap_thread_msg *order_msg(const struct tree *t, int k)
{
	while (k >= 0 && t->n[k].msg < 0)
		k = t->n[k].first;
	return k >= 0 ? &t->msgs[t->n[k].msg] : NULL;
}

/* A child's place among its siblings, worked out once per sort (not in
 * every comparison: order_msg walks the tree, and the nodes of a big
 * mailbox's top level are scattered in memory). */
struct sib_key {
	int64_t date;
	uint32_t seq;
	int none; /* no message below it: after the others */
	int node;
};

static int cmp_sib(const void *a, const void *b)
{
	const struct sib_key *x = a, *y = b;
	if (x->none || y->none)
		return x->none - y->none;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Room for nc nodes (and as many sort keys). */
static int alloc_nodes(struct tree *t, size_t nc)
{
	struct node *nn = realloc(t->n, nc * sizeof *nn);
	if (nn)
		t->n = nn;
	struct sib_key *nk = nn ? realloc(t->keys, nc * sizeof *nk) : NULL;
	if (!nk)
		return -ENOMEM;
	t->keys = nk;
	t->cap = nc;
	return 0;
}

static int grow(struct tree *t)
{
	return alloc_nodes(t, t->cap ? t->cap * 2 : 64);
}

/* keys[0..m) by (none, date, seq) as cmp_sib orders them, when the dates
 * span less than 2^32 s: an LSD radix sort of (date - min, seq) packed in
 * 64 bits, 16 bits a pass (stable, as qsort's merge sort is; only keys
 * without a message can tie). false: the caller sorts. */
static bool radix_sort_keys(struct sib_key *keys, size_t m)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < m; i++)
		if (!keys[i].none) {
			lo = keys[i].date < lo ? keys[i].date : lo;
			hi = keys[i].date > hi ? keys[i].date : hi;
		}
	if (lo <= hi && (uint64_t)hi - (uint64_t)lo >= UINT32_MAX)
		return false;
	struct pk {
		uint64_t k;
		int node;
	};
	struct pk *a = malloc(m * sizeof *a), *b = malloc(m * sizeof *b);
	uint32_t *count = malloc(65536 * sizeof *count);
	if (!a || !b || !count) {
		free(a);
		free(b);
		free(count);
		return false;
	}
	for (size_t i = 0; i < m; i++) {
		const struct sib_key *x = &keys[i];
		a[i].k = x->none ? UINT64_MAX
		                 : ((uint64_t)(x->date - lo) << 32 | x->seq); /* < UINT64_MAX */
		a[i].node = x->node;
	}
	for (int shift = 0; shift < 64; shift += 16) {
		memset(count, 0, 65536 * sizeof *count);
		for (size_t i = 0; i < m; i++)
			count[(a[i].k >> shift) & 0xffff]++;
		if (count[(a[0].k >> shift) & 0xffff] == m)
			continue; /* all alike in these bits */
		uint32_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			uint32_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < m; i++)
			b[count[(a[i].k >> shift) & 0xffff]++] = a[i];
		struct pk *x = a;
		a = b;
		b = x;
	}
	for (size_t i = 0; i < m; i++)
		keys[i].node = a[i].node;
	free(a);
	free(b);
	free(count);
	return true;
}

/* Sort the children of parent by date. */
static void sort_children(struct tree *t, int parent)
{
	int first = t->n[parent].first;
	if (first < 0 || t->n[first].next < 0)
		return; /* fewer than two */
	struct sib_key *keys = t->keys;
	size_t m = 0;
	for (int k = first; k >= 0; k = t->n[k].next) {
		const struct imap_thread_msg *o = order_msg(t, k);
		keys[m++] = (struct sib_key){
		    .date = o ? o->date : 0, .seq = o ? o->seq : 0, .none = !o, .node = k};
	}
	if (m < 1024 || !radix_sort_keys(keys, m))
		qsort(keys, m, sizeof *keys, cmp_sib);
	t->n[parent].first = t->n[parent].last = -1;
	for (size_t i = 0; i < m; i++)
		append_child(t, parent, keys[i].node);
}

/* Nodes below (and including) root in post-order: children first. */
static size_t post_order(const struct tree *t, int root, int *out, int *stack)
{
	size_t n = 0, sp = 0;
	/* pre-order with children pushed, reversed = post-order of the mirror;
	 * reversing the child order keeps "children before parent" */
	stack[sp++] = root;
	while (sp) {
		int k = stack[--sp];
		out[n++] = k;
		for (int c = t->n[k].first; c >= 0; c = t->n[c].next)
			stack[sp++] = c;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int x = out[i];
		out[i] = out[n - 1 - i];
		out[n - 1 - i] = x;
	}
	return n;
}

/* ---- the THREAD response ---- */

static int write_num(struct buf *b, uint32_t num, bool *sp)
{
	char d[12], s[12];
	size_t n = 0, l = 0;
	do {
		d[n++] = (char)('0' + num % 10);
		num /= 10;
	} while (num);
	if (*sp)
		s[l++] = ' ';
	while (n)
		s[l++] = d[--n];
	*sp = true;
	return buf_add(b, s, l);
}

static int write_thread(struct buf *b, const struct tree *t, int root, int *stack)
{
	size_t sp_n = 0;
	bool sp = false;
	int cur = root, r = buf_addc(b, '(');
	while (r == 0) {
		if (t->n[cur].msg >= 0)
			r = write_num(b, t->msgs[t->n[cur].msg].num, &sp);
		int c = t->n[cur].first;
		if (c >= 0 && t->n[c].next < 0) { /* one child: the chain goes on */
			cur = c;
			continue;
		}
		if (c >= 0) { /* siblings: each in a list of its own */
			if (sp)
				r = buf_addc(b, ' ');
			if (r == 0)
				r = buf_addc(b, '(');
			stack[sp_n++] = c;
			cur = c;
			sp = false;
			continue;
		}
		if (r == 0)
			r = buf_addc(b, ')');
		for (;;) {
			if (r < 0 || sp_n == 0)
				return r;
			int top = stack[sp_n - 1];
			if (t->n[top].next >= 0) {
				cur = stack[sp_n - 1] = t->n[top].next;
				sp = false;
				r = buf_addc(b, '(');
				break;
			}
			sp_n--;
			r = buf_addc(b, ')');
		}
	}
	return r;
}

/* ---- message-id table ---- */

/* How many items ahead the big loops fetch what they will read. */
#define AHEAD 8

/* Open addressing; a slot keeps 32 bits of its key's hash beside the node
 * so that a probe past another key rarely reads that key. */
struct idslot {
	uint32_t h;
	int node; /* -1 empty */
};

struct idtab {
	struct idslot *slot;
	size_t mask;
};

static uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	return h ^ (h >> 33);
}

/* Eight bytes a step (Message-IDs and subjects run to tens of bytes),
 * finished with MurmurHash3's fmix64 so that the low bits, which index
 * the tables, mix well and the linear probes stay short. */
static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15u ^ n, w;
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3u;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, n);
	return fmix64(h ^ w);
}

/* The id of a node: its message's, or (dummy) the one it was made for. */
struct idkey {
	const char *p;
	size_t len;
};

static struct idslot *id_slot_h(struct idtab *h, const struct idkey *ids, const char *p, size_t len,
                                uint64_t hv)
{
	uint32_t h32 = (uint32_t)(hv >> 32);
	size_t i = hv & h->mask;
	for (;; i = (i + 1) & h->mask) {
		struct idslot *e = &h->slot[i];
		if (e->node < 0) {
			e->h = h32;
			return e;
		}
		if (e->h == h32 && ids[e->node].len == len && memcmp(ids[e->node].p, p, len) == 0)
			return e;
	}
}

static struct idslot *id_slot(struct idtab *h, const struct idkey *ids, const char *p, size_t len)
{
	return id_slot_h(h, ids, p, len, hash_bytes(p, len));
}

/* ---- REFERENCES (RFC 5256 §3) ---- */

static int references(struct tree *t, size_t n, int *root_out, int **work)
{
	/* every node: n messages and at most one dummy per reference */
	size_t nrefs = 0;
	for (size_t i = 0; i < n; i++) {
		const struct imap_thread_msg *m = &t->msgs[i];
		if (m->refslen == 0)
			continue;
		nrefs++;
		for (const char *p = m->refs, *end = p + m->refslen;
		     (p = memchr(p, ' ', (size_t)(end - p))) != NULL; p++)
			nrefs++;
	}
	size_t maxnodes = n + nrefs + 1 + n; /* + the root and the dummies of step 5 */
	size_t hsize = 16;                   /* the ids: at most n + nrefs, half full */
	while (hsize < (n + nrefs) * 2)
		hsize *= 2;
	struct idtab h = {.slot = malloc(hsize * sizeof *h.slot), .mask = hsize - 1};
	struct idkey *ids = malloc(maxnodes * sizeof *ids);
	uint64_t *mh = malloc(n * sizeof *mh);
	int na = alloc_nodes(t, maxnodes);
	*work = malloc(2 * maxnodes * sizeof(int));
	t->wcap = maxnodes;
	if (!h.slot || !ids || !mh || na < 0 || !*work) {
		free(h.slot);
		free(ids);
		free(mh);
		return -ENOMEM;
	}
	memset(h.slot, 0xff, hsize * sizeof *h.slot);
	/* the Message-IDs' hashes first, so that step (1) can fetch the
	 * slots a few messages ahead: a big mailbox's table is far bigger
	 * than the caches, and every lookup would wait for memory */
	for (size_t i = 0; i < n; i++)
		mh[i] = hash_bytes(t->msgs[i].msgid, t->msgs[i].msgidlen);

	/* (1) */
	for (size_t i = 0; i < n; i++) {
		const struct imap_thread_msg *m = &t->msgs[i];
		if (i + AHEAD < n)
			__builtin_prefetch(&h.slot[mh[i + AHEAD] & h.mask]);
		int self = -1;
		if (m->msgidlen) {
			struct idslot *s = id_slot_h(&h, ids, m->msgid, m->msgidlen, mh[i]);
			if (s->node >= 0 && t->n[s->node].msg < 0) { /* a dummy made for it */
				self = s->node;
				t->n[self].msg = (int)i;
			} else if (s->node < 0) {
				self = s->node = new_node(t, (int)i);
				ids[self] = (struct idkey){m->msgid, m->msgidlen};
			}
		}
		if (self < 0) { /* none, or a duplicate: a unique id of its own */
			self = new_node(t, (int)i);
			ids[self] = (struct idkey){"", 0};
		}
		/* (A) link the references as a chain */
		int prev = -1;
		const char *p = m->refs ? m->refs : "", *end = p + m->refslen;
		while (p < end) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));
			size_t len = (size_t)((sp ? sp : end) - p);
			struct idslot *s = id_slot(&h, ids, p, len);
			if (s->node < 0) {
				s->node = new_node(t, -1);
				ids[s->node] = (struct idkey){p, len};
			}
			int cur = s->node;
			if (prev >= 0 && cur != prev && t->n[cur].parent < 0 &&
			    !descends(t, prev, cur))
				append_child(t, prev, cur);
			prev = cur;
			p += len + (sp != NULL);
		}
		/* (B) the last reference is the parent */
		if (prev < 0 || prev == self) {
			if (prev < 0)
				unlink_node(t, self);
		} else if (!descends(t, prev, self)) {
			if (t->n[self].parent != prev) {
				unlink_node(t, self);
				append_child(t, prev, self);
			}
		}
	}
	free(h.slot);
	free(ids);
	free(mh);

	/* (2) the root */
	size_t made = t->count;
	int root = new_node(t, -1);
	for (size_t k = 0; k < made; k++)
		if (t->n[k].parent < 0)
			append_child(t, root, (int)k);
	*root_out = root;

	/* (3) prune dummies, children before parents */
	int *order = *work, *stack = *work + maxnodes;
	size_t no = post_order(t, root, order, stack);
	for (size_t i = 0; i < no; i++) {
		int k = order[i];
		int c = t->n[k].first;
		t->n[k].first = t->n[k].last = -1;
		while (c >= 0) {
			int next = t->n[c].next;
			bool dummy = t->n[c].msg < 0;
			int kids = 0;
			for (int g = t->n[c].first; g >= 0 && kids < 2; g = t->n[g].next)
				kids++;
			if (dummy && kids == 0) {
				/* dropped */
			} else if (dummy && (k != root || kids == 1)) {
				for (int g = t->n[c].first; g >= 0;) {
					int gn = t->n[g].next;
					append_child(t, k, g);
					g = gn;
				}
			} else {
				append_child(t, k, c);
			}
			c = next;
		}
	}
	/* (4) the top level by date (a dummy by its first child's) */
	for (int c = t->n[root].first; c >= 0; c = t->n[c].next)
		if (t->n[c].msg < 0)
			sort_children(t, c);
	sort_children(t, root);
	return 0;
}

/* (5) subjects: the thread subject of a top-level node */
static const struct imap_thread_msg *subject_msg(const struct tree *t, int k)
{
	if (t->n[k].msg < 0)
		k = t->n[k].first;
	return k >= 0 && t->n[k].msg >= 0 ? &t->msgs[t->n[k].msg] : NULL;
}

static int group_subjects(struct tree *t, int root, size_t n)
{
	size_t hsize = 16;
	while (hsize < n * 2 + 2)
		hsize *= 2;
	/* slot -> the node in the table; the subject is read from it. The
	 * top level as it was before the merges: a node merged into another
	 * thread is no longer a child of the root, and is skipped. at[j] is
	 * top[j]'s slot, found in (B) and used again in (C). */
	struct idslot *slot = malloc(hsize * sizeof *slot);
	int *top = malloc((n + 1) * sizeof(int));
	size_t *at = malloc((n + 1) * sizeof *at);
	const struct imap_thread_msg **sm = malloc((n + 1) * sizeof *sm);
	uint64_t *hs = malloc((n + 1) * sizeof *hs);
	if (!slot || !top || !at || !sm || !hs) {
		free(slot);
		free(top);
		free(at);
		free(sm);
		free(hs);
		return -ENOMEM;
	}
	memset(slot, 0xff, hsize * sizeof *slot);
	size_t ntop = 0;
	for (int c = t->n[root].first; c >= 0; c = t->n[c].next)
		top[ntop++] = c;
	/* Each top-level node's subject (sm, stable through the merges: a
	 * node keeps its message or first child) and its hash (hs), in passes
	 * that fetch a few nodes ahead: the top level is in date order, all
	 * over memory in a big mailbox. */
	for (size_t j = 0; j < ntop; j++) {
		if (j + AHEAD < ntop)
			__builtin_prefetch(&t->n[top[j + AHEAD]]);
		sm[j] = subject_msg(t, top[j]);
	}
	for (size_t j = 0; j < ntop; j++) {
		if (j + 2 * AHEAD < ntop && sm[j + 2 * AHEAD])
			__builtin_prefetch(sm[j + 2 * AHEAD]);
		if (j + AHEAD < ntop && sm[j + AHEAD])
			__builtin_prefetch(sm[j + AHEAD]->subj);
		hs[j] = sm[j] && sm[j]->subjlen ? hash_bytes(sm[j]->subj, sm[j]->subjlen) : 0;
	}
	int r = 0;
	for (int pass = 0; pass < 2 && r == 0; pass++) {
		for (size_t j = 0; j < ntop; j++) {
			if (pass == 0 && j + AHEAD < ntop)
				__builtin_prefetch(&slot[hs[j + AHEAD] & (hsize - 1)]);
			int c = top[j];
			if (t->n[c].parent != root)
				continue;
			const struct imap_thread_msg *m = sm[j];
			if (!m || m->subjlen == 0)
				continue;
			bool cur_dummy = t->n[c].msg < 0;
			if (pass == 0) { /* (B) one message per subject */
				uint64_t hv = hs[j];
				uint32_t h32 = (uint32_t)(hv >> 32);
				size_t i = hv & (hsize - 1);
				for (;; i = (i + 1) & (hsize - 1)) {
					if (slot[i].node < 0)
						break;
					if (slot[i].h != h32)
						continue;
					const struct imap_thread_msg *o =
					    subject_msg(t, slot[i].node);
					if (o->subjlen == m->subjlen &&
					    memcmp(o->subj, m->subj, m->subjlen) == 0)
						break;
				}
				at[j] = i;
				if (slot[i].node < 0) {
					slot[i].node = c;
					slot[i].h = h32;
				} else {
					int o = slot[i].node;
					bool odummy = t->n[o].msg < 0;
					bool oreply = !odummy && t->msgs[t->n[o].msg].reply;
					if (!odummy && (cur_dummy || (oreply && !m->reply)))
						slot[i].node = c;
				}
				continue;
			}
			/* (C) merge */
			size_t i = at[j];
			int o = slot[i].node;
			if (o == c)
				continue;
			bool odummy = t->n[o].msg < 0;
			unlink_node(t, c);
			if (odummy && cur_dummy) {
				for (int g = t->n[c].first; g >= 0;) {
					int gn = t->n[g].next;
					append_child(t, o, g);
					g = gn;
				}
				t->n[c].first = t->n[c].last = -1;
			} else if (odummy) {
				append_child(t, o, c);
			} else if (!cur_dummy && m->reply && !t->msgs[t->n[o].msg].reply) {
				append_child(t, o, c);
			} else {
				int d = new_node(t, -1);
				if (d < 0) {
					r = d;
					break;
				}
				replace_node(t, o, d);
				append_child(t, d, o);
				append_child(t, d, c);
				slot[i].node = d;
			}
		}
	}
	free(at);
	free(top);
	free(slot);
	free(sm);
	free(hs);
	return r;
}

/* (6) every set of siblings by date, the deepest first */
static void sort_all(struct tree *t, int root, int *order, int *stack)
{
	size_t no = post_order(t, root, order, stack);
	for (size_t i = 0; i < no; i++)
		sort_children(t, order[i]);
}

/* ---- ORDEREDSUBJECT ---- */

static int cmp_subject_date(const void *a, const void *b)
{
	const struct imap_thread_msg *x = *(const struct imap_thread_msg *const *)a;
	const struct imap_thread_msg *y = *(const struct imap_thread_msg *const *)b;
	size_t l = x->subjlen < y->subjlen ? x->subjlen : y->subjlen;
	int c = l ? memcmp(x->subj, y->subj, l) : 0;
	if (c == 0 && x->subjlen != y->subjlen)
		c = x->subjlen < y->subjlen ? -1 : 1;
	if (c)
		return c;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A message and its subject's first 8 bytes as a number (zero padded: a
 * shorter key still comes first), compared before the subjects: most
 * comparisons then read neither message nor subject. */
struct os_key {
	uint64_t pfx;
	const struct imap_thread_msg *m;
};

static int cmp_os_key(const void *a, const void *b)
{
	const struct os_key *x = a, *y = b;
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx ? -1 : 1;
	return cmp_subject_date(&x->m, &y->m);
}

static int ordered_subject(struct tree *t, size_t n, int *root_out, int **work)
{
	struct os_key *v = malloc((n ? n : 1) * sizeof *v);
	int na = alloc_nodes(t, n + 1);
	*work = malloc(2 * (n + 1) * sizeof(int));
	t->wcap = n + 1;
	if (!v || na < 0 || !*work) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct imap_thread_msg *m = &t->msgs[i];
		uint64_t pfx = 0;
		for (size_t k = 0; k < 8; k++)
			pfx = pfx << 8 | (k < m->subjlen ? (unsigned char)m->subj[k] : 0);
		v[i] = (struct os_key){pfx, m};
	}
	qsort(v, n, sizeof *v, cmp_os_key);
	int root = new_node(t, -1);
	int head = -1;
	for (size_t i = 0; i < n; i++) {
		const struct imap_thread_msg *m = v[i].m, *p = i > 0 ? v[i - 1].m : NULL;
		int k = new_node(t, (int)(m - t->msgs));
		bool same = p && v[i].pfx == v[i - 1].pfx && m->subjlen == p->subjlen &&
		            memcmp(m->subj, p->subj, m->subjlen) == 0;
		if (same) {
			append_child(t, head, k);
		} else {
			append_child(t, root, k);
			head = k;
		}
	}
	free(v);
	sort_children(t, root);
	*root_out = root;
	return 0;
}

int imap_thread(enum imap_thread_alg alg, const struct imap_thread_msg *msgs, size_t n,
                struct buf *out)
{
	if (n == 0)
		return 0;
	struct tree t = {.msgs = msgs};
	int root = -1, *work = NULL;
	int r = alg == IMAP_THREAD_REFERENCES ? references(&t, n, &root, &work)
	                                      : ordered_subject(&t, n, &root, &work);
	if (r == 0 && alg == IMAP_THREAD_REFERENCES)
		r = group_subjects(&t, root, n);
	if (r == 0 && t.count > t.wcap) { /* more nodes than foreseen: room */
		int *w = realloc(work, 2 * t.count * sizeof(int));
		if (!w)
			r = -ENOMEM;
		else
			work = w, t.wcap = t.count;
	}
	if (r == 0 && alg == IMAP_THREAD_REFERENCES)
		sort_all(&t, root, work, work + t.wcap);
	/* the top level in an array (after the stack's room), so that the
	 * nodes and messages of the threads to come are fetched ahead */
	int *top = r == 0 ? work + t.wcap : NULL;
	size_t ntop = 0;
	for (int c = r == 0 ? t.n[root].first : -1; c >= 0; c = t.n[c].next)
		top[ntop++] = c;
	for (size_t j = 0; j < ntop && r == 0; j++) {
		if (j + 2 * AHEAD < ntop)
			__builtin_prefetch(&t.n[top[j + 2 * AHEAD]]);
		if (j + AHEAD < ntop && t.n[top[j + AHEAD]].msg >= 0)
			__builtin_prefetch(&msgs[t.n[top[j + AHEAD]].msg]);
		r = write_thread(out, &t, top[j], work);
	}
	free(t.n);
	free(t.keys);
	free(work);
	return r;
}
