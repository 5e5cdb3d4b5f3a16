/* commands: the command table. One row per verb: the states it is valid
 * in, how many arguments it takes, whether the last one is a number
 * (HAVESPACE's size; every other argument is a string), and its handler.
 * The session checks all of that before calling, so a handler sees only
 * well-formed commands; the table is the only way the session reaches a
 * handler. */
#include "proto/sieve/msieve_int.h"

#include <string.h>

#define NONAUTH MSIEVE_ST(MSIEVE_NONAUTH)
#define AUTHED MSIEVE_ST(MSIEVE_AUTH)

static const struct msieve_command commands[] = {
    {"CAPABILITY", NONAUTH | AUTHED, 0, 0, false, msieve_cmd_capability},
    {"STARTTLS", NONAUTH | AUTHED, 0, 0, false, msieve_cmd_starttls},
    {"AUTHENTICATE", NONAUTH, 1, 2, false, msieve_cmd_authenticate},
    {"UNAUTHENTICATE", AUTHED, 0, 0, false, msieve_cmd_unauthenticate},
    {"LOGOUT", NONAUTH | AUTHED, 0, 0, false, msieve_cmd_logout},
    {"NOOP", NONAUTH | AUTHED, 0, 1, false, msieve_cmd_noop},
    {"HAVESPACE", AUTHED, 2, 2, true, msieve_cmd_havespace},
    {"PUTSCRIPT", AUTHED, 2, 2, false, msieve_cmd_putscript},
    {"CHECKSCRIPT", AUTHED, 1, 1, false, msieve_cmd_checkscript},
    {"LISTSCRIPTS", AUTHED, 0, 0, false, msieve_cmd_listscripts},
    {"GETSCRIPT", AUTHED, 1, 1, false, msieve_cmd_getscript},
    {"SETACTIVE", AUTHED, 1, 1, false, msieve_cmd_setactive},
    {"DELETESCRIPT", AUTHED, 1, 1, false, msieve_cmd_deletescript},
    {"RENAMESCRIPT", AUTHED, 2, 2, false, msieve_cmd_renamescript},
};

const struct msieve_command *msieve_command_find(const char *verb)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].verb, verb) == 0)
			return &commands[i];
	return NULL;
}
