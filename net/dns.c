/* dns: c-ares on the libuv loop (contract in dns.h).
 *
 * Why this shape: c-ares owns its sockets and tells us, through
 * ARES_OPT_SOCK_STATE_CB, which ones to watch for reading/writing. Each gets
 * a uv_poll handle that calls ares_process_fd(); one uv_timer, re-armed from
 * ares_timeout() after every call into c-ares, drives retransmissions and
 * timeouts. Nothing blocks, and the resolver is just more handles on the
 * same loop as the connections.
 *
 * A request goes MX query -> one getaddrinfo (A + AAAA) per MX host, all in
 * parallel, then finishes when its pending count reaches zero. Cancelling
 * only sets a flag: c-ares still calls back, the flag makes us drop the
 * answer, and the last callback frees the request. That way a queue job can
 * go away at any moment without c-ares ever touching freed memory.
 *
 * APIs are those of c-ares 1.18 (Debian 12): ares_query, ares_parse_mx_reply,
 * ares_getaddrinfo, ares_set_servers_ports_csv. Newer c-ares deprecates
 * some; the pragmas keep -Werror builds working there.
 */
#include "net/dns.h"
#include "net/dns_internal.h"
#include "lib/log.h"
#include "lib/metrics.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

struct dns_poll {
	uv_poll_t poll;
	struct dns_resolver *r;
	ares_socket_t fd;
	struct dns_poll *next;
	bool closing;
};

struct dns_resolver {
	uv_loop_t *loop;
	ares_channel channel;
	uv_timer_t timer;
	struct dns_poll *polls;
	int open_handles;
	bool destroying;
};

struct dns_host_ctx {
	struct dns_req *req;
	size_t idx;
};

struct dns_req {
	struct dns_resolver *r;
	dns_mx_cb cb;
	void *ud;
	bool cancelled;
	int pending;
	char domain[256];
	struct dns_mx_result res;
	struct dns_mx_host all[DNS_MAX_HOSTS]; /* before dropping address-less hosts */
	size_t nall;
	struct dns_host_ctx hctx[DNS_MAX_HOSTS];
	uint64_t started_ns; /* for the latency histogram */
};

/* ---- pure helpers ---- */

enum dns_status dns_status_from_ares(int st)
{
	switch (st) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENOTFOUND: /* NXDOMAIN */
	case ARES_EBADNAME:
		return DNS_PERM;
	default: /* SERVFAIL, REFUSED, timeouts, network trouble */
		metric_add(MET_DNS_FAILURES, 1);
		return DNS_TEMP;
	}
}

static uint32_t default_rnd(void *ud)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof v, 0) != sizeof v)
		v = (uint32_t)rand();
	return v;
}

void dns_mx_sort(struct dns_mx_host *h, size_t n, uint32_t (*rnd)(void *), void *rnd_ud)
{
	if (!rnd)
		rnd = default_rnd;
	/* Insertion sort by preference (n <= DNS_MAX_HOSTS). */
	for (size_t i = 1; i < n; i++) {
		struct dns_mx_host tmp = h[i];
		size_t j = i;
		while (j > 0 && h[j - 1].pref > tmp.pref) {
			h[j] = h[j - 1];
			j--;
		}
		h[j] = tmp;
	}
	/* Fisher-Yates within each run of equal preference. */
	for (size_t s = 0; s < n;) {
		size_t e = s + 1;
		while (e < n && h[e].pref == h[s].pref)
			e++;
		for (size_t i = e - 1; i > s; i--) {
			size_t k = s + rnd(rnd_ud) % (i - s + 1);
			if (k != i) {
				struct dns_mx_host tmp = h[i];
				h[i] = h[k];
				h[k] = tmp;
			}
		}
		s = e;
	}
}

/* ---- loop plumbing ---- */

static void resched(struct dns_resolver *r);

static void on_resolver_handle_closed(uv_handle_t *h)
{
	struct dns_resolver *r = h->data;
	if (h->type == UV_POLL)
		free((struct dns_poll *)h); /* the poll handle is the first member */
	if (--r->open_handles == 0)
		free(r);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct dns_poll *p = (struct dns_poll *)h;
	struct dns_resolver *r = p->r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
	if (status < 0 || (events & UV_READABLE))
		rfd = p->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = p->fd;
	ares_process_fd(r->channel, rfd, wfd);
	resched(r);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	struct dns_poll **pp = &r->polls, *p = NULL;
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd && !(*pp)->closing) {
			p = *pp;
			break;
		}
	if (!readable && !writable) {
		if (!p)
			return;
		*pp = p->next;
		p->closing = true;
		uv_poll_stop(&p->poll);
		uv_close((uv_handle_t *)&p->poll, on_resolver_handle_closed);
		return;
	}
	if (!p) {
		p = calloc(1, sizeof *p);
		if (!p)
			return;
		if (uv_poll_init_socket(r->loop, &p->poll, fd) != 0) {
			free(p);
			return;
		}
		p->poll.data = r;
		p->r = r;
		p->fd = fd;
		p->next = r->polls;
		r->polls = p;
		r->open_handles++;
	}
	uv_poll_start(&p->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
	              on_poll);
}

static void on_timer(uv_timer_t *t)
{
	struct dns_resolver *r = t->data;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resched(r);
}

static void resched(struct dns_resolver *r)
{
	if (r->destroying)
		return;
	struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);
	if (!tvp) {
		uv_timer_stop(&r->timer);
		return;
	}
	uint64_t ms = (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000;
	uv_timer_start(&r->timer, on_timer, ms ? ms : 1, 0);
}

int dns_resolver_new(struct dns_resolver **out, uv_loop_t *loop, const char *servers,
                     unsigned timeout_ms, char *err, size_t errlen)
{
	static bool lib_ready;
	*out = NULL;
	if (!lib_ready) {
		int st = ares_library_init(ARES_LIB_INIT_ALL);
		if (st != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares init: %s", ares_strerror(st));
			return -1;
		}
		lib_ready = true;
	}
	struct dns_resolver *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->loop = loop;
	struct ares_options o;
	memset(&o, 0, sizeof o);
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = r;
	o.timeout = (int)(timeout_ms ? timeout_ms : 5000);
	o.tries = 2;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	bool own_servers = servers && *servers;
	if (own_servers) {
		/* Our own servers only: no /etc/hosts, so tests are hermetic. */
		o.lookups = (char *)"b";
		mask |= ARES_OPT_LOOKUPS;
	}
	int st = ares_init_options(&r->channel, &o, mask);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		free(r);
		return -1;
	}
	if (own_servers && (st = ares_set_servers_ports_csv(r->channel, servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns_servers \"%s\": %s", servers, ares_strerror(st));
		ares_destroy(r->channel);
		free(r);
		return -1;
	}
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	r->open_handles = 1;
	*out = r;
	return 0;
}

void dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;
	if (!r)
		return;
	*rp = NULL;
	r->destroying = true;
	/* Every pending callback runs now with ARES_EDESTRUCTION. */
	ares_destroy(r->channel);
	while (r->polls) {
		struct dns_poll *p = r->polls;
		r->polls = p->next;
		p->closing = true;
		uv_poll_stop(&p->poll);
		uv_close((uv_handle_t *)&p->poll, on_resolver_handle_closed);
	}
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, on_resolver_handle_closed);
}

ares_channel dns_resolver_channel(struct dns_resolver *r)
{
	return r->channel;
}

bool dns_resolver_closing(const struct dns_resolver *r)
{
	return r->destroying;
}

void dns_resolver_kick(struct dns_resolver *r)
{
	resched(r);
}

/* ---- requests ---- */

static void req_finish(struct dns_req *q)
{
	if (q->pending > 0)
		return;
	if (!q->cancelled && !q->r->destroying) {
		metric_observe(HIST_DNS, (double)(uv_hrtime() - q->started_ns) / 1e9);
		struct dns_mx_result *res = &q->res;
		if (res->status == DNS_OK) {
			bool any_temp = false;
			for (size_t i = 0; i < q->nall; i++) {
				if (q->all[i].naddrs > 0 && res->nhosts < DNS_MAX_HOSTS)
					res->hosts[res->nhosts++] = q->all[i];
				else if (q->all[i].addr_status == DNS_TEMP)
					any_temp = true;
			}
			if (res->nhosts == 0) {
				if (res->implicit && !any_temp) {
					res->status = DNS_PERM;
					snprintf(res->error, sizeof res->error,
					         "%s has no MX and no A/AAAA records", q->domain);
				} else {
					res->status = DNS_TEMP;
					snprintf(res->error, sizeof res->error,
					         "no address found for any MX host of %s%s",
					         q->domain,
					         any_temp ? " (temporary DNS failure)" : "");
				}
			}
		}
		q->cb(q->ud, res);
	}
	free(q);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_host_ctx *hc = arg;
	struct dns_req *q = hc->req;
	struct dns_mx_host *h = &q->all[hc->idx];
	q->pending--;
	h->addr_status = dns_status_from_ares(status);
	if (status == ARES_SUCCESS && ai) {
		/* IPv4 and IPv6 as c-ares ordered them. */
		for (struct ares_addrinfo_node *n = ai->nodes; n && h->naddrs < DNS_MAX_ADDRS;
		     n = n->ai_next) {
			if (n->ai_family != AF_INET && n->ai_family != AF_INET6)
				continue;
			size_t l = n->ai_addrlen < sizeof(struct sockaddr_storage)
			               ? (size_t)n->ai_addrlen
			               : sizeof(struct sockaddr_storage);
			memset(&h->addrs[h->naddrs], 0, sizeof h->addrs[0]);
			memcpy(&h->addrs[h->naddrs], n->ai_addr, l);
			h->naddrs++;
		}
	}
	if (ai)
		ares_freeaddrinfo(ai);
	req_finish(q);
}

static void resolve_hosts(struct dns_req *q)
{
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
#ifdef ARES_AI_NOSORT
	hints.ai_flags = ARES_AI_NOSORT;
#endif
	for (size_t i = 0; i < q->nall; i++) {
		q->hctx[i].req = q;
		q->hctx[i].idx = i;
		q->pending++;
		metric_add(MET_DNS_LOOKUPS, 1);
		ares_getaddrinfo(q->r->channel, q->all[i].name, NULL, &hints, on_addrinfo,
		                 &q->hctx[i]);
	}
}

static void on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_req *q = arg;
	struct dns_mx_result *res = &q->res;
	q->pending--;
	if (q->cancelled || q->r->destroying || status == ARES_EDESTRUCTION ||
	    status == ARES_ECANCELLED) {
		req_finish(q);
		return;
	}
	struct ares_mx_reply *mx = NULL;
	if (status == ARES_SUCCESS) {
		status = ares_parse_mx_reply(abuf, alen, &mx);
		if (status == ARES_ENODATA)
			status = ARES_ENODATA; /* e.g. a CNAME with no MX behind it */
		else if (status != ARES_SUCCESS)
			status = ARES_EBADRESP;
	}
	if (status == ARES_ENODATA) {
		res->implicit = true;
		snprintf(q->all[0].name, sizeof q->all[0].name, "%s", q->domain);
		q->nall = 1;
	} else if (status == ARES_SUCCESS) {
		bool null_mx = false;
		for (struct ares_mx_reply *m = mx; m; m = m->next) {
			if (!m->host || m->host[0] == '\0' || strcmp(m->host, ".") == 0) {
				null_mx = true;
				continue;
			}
			if (q->nall < DNS_MAX_HOSTS) {
				snprintf(q->all[q->nall].name, sizeof q->all[0].name, "%s",
				         m->host);
				q->all[q->nall].pref = m->priority;
				q->nall++;
			}
		}
		ares_free_data(mx);
		if (null_mx) {
			/* RFC 7505 3: a null MX means "accepts no mail", whatever else
			 * (wrongly) sits next to it. */
			res->status = DNS_NULLMX;
			snprintf(res->error, sizeof res->error,
			         "%s does not accept mail (null MX, RFC 7505)", q->domain);
			q->nall = 0;
			req_finish(q);
			return;
		}
		dns_mx_sort(q->all, q->nall, NULL, NULL);
	} else {
		res->status = dns_status_from_ares(status);
		if (res->status == DNS_OK)
			res->status = DNS_TEMP;
		snprintf(res->error, sizeof res->error, "MX lookup for %s: %s%s", q->domain,
		         ares_strerror(status), res->status == DNS_PERM ? " (NXDOMAIN)" : "");
		req_finish(q);
		return;
	}
	q->pending++; /* hold the request while starting the address lookups */
	resolve_hosts(q);
	q->pending--;
	req_finish(q);
}

struct dns_req *dns_resolve_mx(struct dns_resolver *r, const char *domain, dns_mx_cb cb, void *ud)
{
	if (!r || r->destroying || !domain || !*domain || strlen(domain) >= 256)
		return NULL;
	struct dns_req *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->r = r;
	q->cb = cb;
	q->ud = ud;
	snprintf(q->domain, sizeof q->domain, "%s", domain);
	q->pending = 1;
	q->started_ns = uv_hrtime();
	metric_add(MET_DNS_LOOKUPS, 1);
	ares_query(r->channel, domain, ns_c_in, ns_t_mx, on_mx, q);
	resched(r);
	return q;
}

void dns_cancel(struct dns_req *q)
{
	if (q)
		q->cancelled = true;
}

#pragma GCC diagnostic pop
