/* dns: asynchronous MX resolution with c-ares on the libuv loop.
 *
 * dns_resolve_mx() turns a mail domain into the ordered list of hosts to
 * try, each with its IPv4/IPv6 addresses:
 *   - MX records sorted by preference, random order among equal
 *     preferences (RFC 5321 5.1);
 *   - no MX records (NOERROR, no data): the domain itself is the implicit
 *     MX with preference 0;
 *   - a null MX "0 ." (RFC 7505): a permanent failure, DNS_NULLMX;
 *   - NXDOMAIN: permanent (DNS_PERM); SERVFAIL, REFUSED, timeouts and
 *     network errors: temporary (DNS_TEMP);
 *   - CNAMEs are followed by the resolver (the MX answer and getaddrinfo
 *     both chase them).
 *
 * Requests are cancellable: after dns_cancel() the callback is never
 * called, and the request's memory goes away when c-ares is done with it.
 * Everything runs on the loop thread. */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define DNS_MAX_HOSTS 16
#define DNS_MAX_ADDRS 8

enum dns_status { DNS_OK = 0, DNS_TEMP, DNS_PERM, DNS_NULLMX };

struct dns_mx_host {
	char name[256];
	unsigned pref;
	size_t naddrs;
	struct sockaddr_storage addrs[DNS_MAX_ADDRS]; /* port 0 */
	int addr_status; /* DNS_OK/DNS_TEMP/DNS_PERM for its address lookup */
};

struct dns_mx_result {
	enum dns_status status;
	char error[400];                         /* for logs and DSNs when status != DNS_OK */
	bool implicit;                           /* no MX: the domain's own addresses */
	struct dns_mx_host hosts[DNS_MAX_HOSTS]; /* only hosts with addresses */
	size_t nhosts;
};

struct dns_resolver;
struct dns_req;

typedef void (*dns_mx_cb)(void *ud, const struct dns_mx_result *res);

/* servers: "ip:port,ip:port" or "" (/etc/resolv.conf). timeout_ms per try.
 * Returns 0 or -1 with err. */
int dns_resolver_new(struct dns_resolver **out, uv_loop_t *loop, const char *servers,
                     unsigned timeout_ms, char *err, size_t errlen);
/* Cancels every request (no callbacks) and frees the resolver once its
 * handles have closed (run the loop). NULL-safe; sets *r = NULL. */
void dns_resolver_free(struct dns_resolver **r);

/* Start an MX resolution. Returns a handle for dns_cancel(), or NULL if it
 * could not start (then cb is never called). */
struct dns_req *dns_resolve_mx(struct dns_resolver *r, const char *domain, dns_mx_cb cb, void *ud);
void dns_cancel(struct dns_req *req);

/* Pure helpers, exposed for tests. */
/* Sort by preference; among equal preferences, shuffle with rnd. */
void dns_mx_sort(struct dns_mx_host *hosts, size_t n, uint32_t (*rnd)(void *), void *rnd_ud);
/* Map an ares status (ARES_*) to DNS_OK/DNS_TEMP/DNS_PERM. */
enum dns_status dns_status_from_ares(int ares_status);

#endif
