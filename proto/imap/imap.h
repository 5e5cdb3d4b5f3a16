/* imap: what the app needs to serve IMAP.
 *
 * The app loads struct imap_settings from [imap] (it is part of struct
 * config) and hands it down; nothing in proto/imap reads the config. */
#ifndef TERN_IMAP_H
#define TERN_IMAP_H

#include <stdint.h>

/* [imap] */
struct imap_settings {
	int64_t max_errors;
	int64_t max_line;
	int64_t max_literal;
	int64_t timeout; /* seconds: the autologout timer, 30 minutes */
};

#endif
