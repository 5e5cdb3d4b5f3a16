/* core: what the core IMAP files share beyond imap_int.h. Not part of the
 * contract with the message commands; may change freely. */
#ifndef TERN_IMAP_CORE_H
#define TERN_IMAP_CORE_H

#include "proto/imap/imap_int.h"

/* session.c */
/* Start a session on c with the listener's context and a command table
 * (imap_session_start() in imap.c passes commands.c's). */
struct imap_ctx;
void imap_session_open(struct conn *c, const struct imap_ctx *x,
                       const struct imap_command *commands, size_t ncommands);
void imap_enter_state(struct imap_session *s, enum imap_state to);
const char *imap_state_name(enum imap_state st);
void imap_close(struct imap_session *s);        /* graceful, state LOGOUT */
void imap_apply_limits(struct imap_session *s); /* parser + line limits for the state */
/* Input mode for AUTHENTICATE / IDLE lines. */
/* Stop delivering input until the current command is DONE. */
void imap_pause_input(struct imap_session *s);
/* line: where lines go in IMAP_IN_AUTH and IMAP_IN_IDLE (NULL for
 * IMAP_IN_COMMAND). */
void imap_set_input(struct imap_session *s, enum imap_input_mode mode, imap_line_fn line);
/* A BAD outside a command (parse errors): count, maybe BYE. */
void imap_bad_untagged(struct imap_session *s, const char *tag, const char *code, const char *msg);
void imap_sasl_end(struct imap_session *s); /* wipe and free the SASL state */

/* capability.c */
/* The capability list for the session's state, without "CAPABILITY". */
const char *imap_capabilities(const struct imap_session *s, char *buf, size_t len);
/* May a password be sent on this connection (proto_auth_allowed)? */
bool imap_login_allowed(const struct imap_session *s);

/* cmd_auth.c */

/* cmd_status.c: STATUS items ("(MESSAGES UNSEEN ...)") as a bit set, and
 * the "* STATUS" line for them, which LIST-STATUS writes too. */
int imap_status_items(const struct imap_arg *list, unsigned *items);
int imap_write_status(struct imap_session *s, const char *name, int64_t mailbox_id, unsigned items);

/* updates.c */
int imap_updates_subscribe(struct imap_session *s);
void imap_updates_unsubscribe(struct imap_session *s);
void imap_pending_clear(struct imap_session *s);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the selection. */
void imap_write_flags_responses(struct imap_session *s);
/* Write "(\Seen \Flagged kw)" for the flag bits and keywords of uid
 * (with \Recent when it is recent in this session). */
void imap_write_flag_list(struct imap_session *s, uint32_t uid, uint32_t flags,
                          const char *keywords);

/* compress.c */
int imap_compress_start(struct imap_session *s);
void imap_compress_free(struct imap_session *s);

#endif
