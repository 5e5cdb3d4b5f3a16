/* commands: the command table. One row per verb: which states it is
 * valid in, its flags, and its handler. The session checks the state before
 * calling, so a handler never sees a command in the wrong state; the table
 * is the only way the session reaches a handler. APOP is listed so
 * that it gets a clear -ERR (tern stores no plaintext-equivalent secrets,
 * RFC 1939 section 7) instead of "unknown command"; it is never advertised.
 */
#include "proto/pop3/pop3_int.h"

#include <string.h>

#define AUTHZ POP3_ST(POP3_AUTHORIZATION)
#define TRANS POP3_ST(POP3_TRANSACTION)

static const struct pop3_command commands[] = {
    {"CAPA", AUTHZ | TRANS, 0, pop3_cmd_capa},
    {"USER", AUTHZ, 0, pop3_cmd_user},
    {"PASS", AUTHZ, POP3_CMD_RAW_ARG, pop3_cmd_pass},
    {"AUTH", AUTHZ, 0, pop3_cmd_auth},
    {"APOP", AUTHZ, 0, pop3_cmd_apop},
    {"STLS", AUTHZ, 0, pop3_cmd_stls},
    {"STAT", TRANS, 0, pop3_cmd_stat},
    {"LIST", TRANS, 0, pop3_cmd_list},
    {"UIDL", TRANS, 0, pop3_cmd_uidl},
    {"RETR", TRANS, 0, pop3_cmd_retr},
    {"TOP", TRANS, 0, pop3_cmd_top},
    {"DELE", TRANS, 0, pop3_cmd_dele},
    {"NOOP", TRANS, 0, pop3_cmd_noop},
    {"RSET", TRANS, 0, pop3_cmd_rset},
    {"QUIT", AUTHZ | TRANS, 0, pop3_cmd_quit},
};

const struct pop3_command *pop3_command_find(const char *verb)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].verb, verb) == 0)
			return &commands[i];
	return NULL;
}
