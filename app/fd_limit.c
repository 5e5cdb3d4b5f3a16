/* fd_limit: every client connection is a descriptor, and [limits]
 * max_connections (per listener, 10,000 by default) promises that many at
 * once; the soft RLIMIT_NOFILE most systems start a process with (1024)
 * would cut that short, and accept() would fail with EMFILE long before
 * the limit tern enforces and logs. So at start the soft limit goes up to
 * what the listeners may hold plus room for the store, the logs, DNS and
 * the relay's own connections, at most the hard limit (what nginx's
 * worker_rlimit_nofile and Go's runtime do). If the hard limit is short
 * too, a warning says by how much: raising it is the administrator's
 * (systemd's LimitNOFILE=, the container's ulimit). */
#include "app/fd_limit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "lib/log.h"

#define FD_SPARE 512 /* store, WAL, logs, DNS, relay and HTTP client sockets */

void fd_limit_raise(const struct config *cfg)
{
	rlim_t want = FD_SPARE;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		int64_t m = cfg->listen[i].max_connections > 0 ? cfg->listen[i].max_connections
		                                               : cfg->max_connections;
		want += (rlim_t)m;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("event=fd_limit err=\"%s\"", strerror(errno));
		return;
	}
	rlim_t before = rl.rlim_cur;
	if (rl.rlim_cur < want) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("event=fd_limit err=\"%s\"", strerror(errno));
			rl.rlim_cur = before;
		}
	}
	if (rl.rlim_cur < want)
		log_warn("event=fd_limit soft=%llu hard=%llu wanted=%llu note=\"the listeners' "
		         "max_connections need more descriptors than the hard limit allows: "
		         "connections past it are refused\"",
		         (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
		         (unsigned long long)want);
	else
		log_info("event=fd_limit soft=%llu was=%llu wanted=%llu",
		         (unsigned long long)rl.rlim_cur, (unsigned long long)before,
		         (unsigned long long)want);
}
