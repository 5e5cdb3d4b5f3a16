/* fd_limit: the descriptor limit the listeners' connection limits need. */
#ifndef TERN_APP_FD_LIMIT_H
#define TERN_APP_FD_LIMIT_H

#include "app/config.h"

/* Raise RLIMIT_NOFILE's soft limit towards what cfg's listeners may hold
 * at once, up to the hard limit; log what it is, and warn when it is
 * short. */
void fd_limit_raise(const struct config *cfg);

#endif
