/* pop3: what the app needs to serve POP3.
 *
 * The app loads struct pop3_settings from [pop3] (it is part of struct
 * config) and hands it down; nothing in proto/pop3 reads the config. */
#ifndef TERN_POP3_H
#define TERN_POP3_H

#include <stdint.h>

/* [pop3] */
struct pop3_settings {
	int64_t max_errors;
	int64_t max_line;
	int64_t timeout; /* seconds: the autologout timer, 10 minutes */
};

#endif
