#ifndef TERN_SERVE_H
#define TERN_SERVE_H
#include "app/config.h"
/* Run the server until SIGTERM/SIGINT. Returns the process exit code. */
int serve_run(struct config *cfg);
#endif
