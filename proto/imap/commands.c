/* commands: the IMAP command table.
 *
 * Every command the server knows, with the state it needs and how it
 * interacts with untagged updates. The session checks the flags before a
 * handler runs, so handlers never re-check the state. Each handler lives
 * in the cmd_*.c file of its family (imap_int.h has the map). This is
 * the only file that names the handlers: imap.c hands the table to the
 * session, which reaches them through it.
 *
 *   NOAUTH      only before login          AUTH      after login
 *   SELECTED    a mailbox is selected      UID       "UID <cmd>" allowed
 *   NO_EXPUNGE  no EXPUNGE while it runs (RFC 9051 §7.5.1, non-UID form)
 *   BREAKS_SEQ  may renumber messages      NO_UPDATES  no updates at its reply
 *   WRITE       changes the mailbox: refused under EXAMINE
 *   SEQNUM      its non-UID form takes sequence numbers: BAD [UIDREQUIRED]
 *               once UIDONLY is enabled (RFC 9586 §3.2, §3.8)
 */
#include "proto/imap/imap_int.h"

#include <stddef.h>

#define A IMAP_CMD_AUTH
#define S (IMAP_CMD_AUTH | IMAP_CMD_SELECTED)

const struct imap_command imap_commands[] = {
    /* any state */
    {"CAPABILITY", imap_cmd_capability, 0},
    {"NOOP", imap_cmd_noop, 0},
    {"LOGOUT", imap_cmd_logout, IMAP_CMD_NO_UPDATES},
    {"ID", imap_cmd_id, 0},
    /* not authenticated */
    {"STARTTLS", imap_cmd_starttls, IMAP_CMD_NOAUTH | IMAP_CMD_NO_UPDATES},
    {"AUTHENTICATE", imap_cmd_authenticate, IMAP_CMD_NOAUTH | IMAP_CMD_NO_UPDATES},
    {"LOGIN", imap_cmd_login, IMAP_CMD_NOAUTH | IMAP_CMD_NO_UPDATES},
    /* authenticated */
    {"ENABLE", imap_cmd_enable, A},
    {"NAMESPACE", imap_cmd_namespace, A},
    {"COMPRESS", imap_cmd_compress, A | IMAP_CMD_NO_UPDATES},
    {"SELECT", imap_cmd_select, A | IMAP_CMD_NO_UPDATES},
    {"EXAMINE", imap_cmd_select, A | IMAP_CMD_NO_UPDATES},
    {"CREATE", imap_cmd_create, A},
    {"DELETE", imap_cmd_delete, A},
    {"RENAME", imap_cmd_rename, A},
    {"SUBSCRIBE", imap_cmd_subscribe, A},
    {"UNSUBSCRIBE", imap_cmd_subscribe, A},
    {"LIST", imap_cmd_list, A},
    {"LSUB", imap_cmd_list, A},
    {"STATUS", imap_cmd_status, A},
    {"APPEND", imap_cmd_append, A},
    {"IDLE", imap_cmd_idle, A},
    {"NOTIFY", imap_cmd_notify, A},
    {"GENURLAUTH", imap_cmd_genurlauth, A},
    {"RESETKEY", imap_cmd_resetkey, A},
    {"URLFETCH", imap_cmd_urlfetch, A},
    {"GETQUOTA", imap_cmd_getquota, A},
    {"GETQUOTAROOT", imap_cmd_getquotaroot, A},
    {"SETQUOTA", imap_cmd_setquota, A},
    {"UNAUTHENTICATE", imap_cmd_unauthenticate, A | IMAP_CMD_NO_UPDATES},
    {"MYRIGHTS", imap_cmd_myrights, A},
    {"GETACL", imap_cmd_getacl, A},
    {"LISTRIGHTS", imap_cmd_listrights, A},
    {"SETACL", imap_cmd_setacl, A},
    {"DELETEACL", imap_cmd_setacl, A},
    {"GETMETADATA", imap_cmd_getmetadata, A},
    {"SETMETADATA", imap_cmd_setmetadata, A},
    /* selected */
    {"CHECK", imap_cmd_check, S},
    {"CLOSE", imap_cmd_close, S | IMAP_CMD_BREAKS_SEQ | IMAP_CMD_NO_UPDATES},
    {"UNSELECT", imap_cmd_unselect, S | IMAP_CMD_NO_UPDATES},
    {"EXPUNGE", imap_cmd_expunge, S | IMAP_CMD_UID | IMAP_CMD_BREAKS_SEQ | IMAP_CMD_WRITE},
    {"FETCH", imap_cmd_fetch, S | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE | IMAP_CMD_SEQNUM},
    {"STORE", imap_cmd_store,
     S | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE | IMAP_CMD_WRITE | IMAP_CMD_SEQNUM},
    {"SEARCH", imap_cmd_search, S | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE | IMAP_CMD_SEQNUM},
    {"SORT", imap_cmd_sort, S | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE | IMAP_CMD_SEQNUM},
    {"THREAD", imap_cmd_thread, S | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE | IMAP_CMD_SEQNUM},
    {"CANCELUPDATE", imap_cmd_cancelupdate, S},
    {"COPY", imap_cmd_copy, S | IMAP_CMD_UID | IMAP_CMD_SEQNUM},
    {"REPLACE", imap_cmd_replace,
     S | IMAP_CMD_UID | IMAP_CMD_BREAKS_SEQ | IMAP_CMD_WRITE | IMAP_CMD_SEQNUM},
    {"MOVE", imap_cmd_move,
     S | IMAP_CMD_UID | IMAP_CMD_BREAKS_SEQ | IMAP_CMD_WRITE | IMAP_CMD_SEQNUM},
};

const size_t imap_ncommands = sizeof imap_commands / sizeof imap_commands[0];
