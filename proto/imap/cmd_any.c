/* cmd_any: the commands valid in any state: CAPABILITY, NOOP, LOGOUT
 * (RFC 9051 §6.1) and ID (RFC 2971). */
#include "proto/imap/imap_int.h"

#include <stdio.h>
#include <string.h>

enum imap_cmd_result imap_cmd_capability(struct imap_session *s, struct imap_cmd *cmd)
{
	char caps[1024];
	if (cmd->nargs) {
		imap_tagged(s, cmd, "BAD", NULL, "CAPABILITY takes no arguments");
		return IMAP_DONE;
	}
	imap_untagged(s, "CAPABILITY %s", imap_capabilities(s, caps, sizeof caps));
	imap_tagged(s, cmd, "OK", NULL, "CAPABILITY completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_noop(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_tagged(s, cmd, "OK", NULL, "NOOP completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_logout(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_untagged(s, "BYE tern logging out");
	imap_tagged(s, cmd, "OK", NULL, "LOGOUT completed");
	imap_close(s);
	return IMAP_DONE;
}

#define ID_MAX_PAIRS 30
#define ID_MAX_FIELD 30
#define ID_MAX_VALUE 1024

enum imap_cmd_result imap_cmd_id(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs != 1 ||
	    (cmd->args[0].type != IMAP_ARG_NIL && cmd->args[0].type != IMAP_ARG_LIST)) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: ID NIL | ID (field value ...)");
		return IMAP_DONE;
	}
	const struct imap_arg *l = &cmd->args[0];
	if (l->type == IMAP_ARG_LIST) {
		/* RFC 2971 §3.3: at most 30 pairs, fields of at most 30 octets,
		 * values of at most 1024. Up to those the command is fine
		 * before login too (the preauth limits in parser.c and
		 * session.c leave room for it); beyond them it is BAD, like
		 * any malformed command, and the session goes on. */
		if (l->nlist % 2 != 0 || l->nlist > 2 * ID_MAX_PAIRS) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid ID parameters");
			return IMAP_DONE;
		}
		char line[512] = "";
		size_t w = 0;
		for (size_t i = 0; i < l->nlist; i += 2) {
			const char *k, *v;
			size_t kl, vl;
			if (!imap_arg_string(&l->list[i], &k, &kl) || kl > ID_MAX_FIELD ||
			    (l->list[i + 1].type != IMAP_ARG_NIL &&
			     (!imap_arg_string(&l->list[i + 1], &v, &vl) || vl > ID_MAX_VALUE))) {
				imap_tagged(s, cmd, "BAD", NULL, "Invalid ID parameters");
				return IMAP_DONE;
			}
			if (l->list[i + 1].type == IMAP_ARG_NIL) {
				v = "";
				vl = 0;
			}
			char ke[64], ve[128];
			int n = snprintf(line + w, sizeof line - w, " %s=%s",
			                 log_kv_escape(ke, sizeof ke, k, kl),
			                 log_kv_escape(ve, sizeof ve, v, vl > 100 ? 100 : vl));
			if (n > 0 && (size_t)n < sizeof line - w)
				w += (size_t)n;
		}
		imap_log(s, LOG_INFO, "event=client_id%s", line);
	}
	imap_untagged(s, "ID (\"name\" \"tern\" \"version\" \"%s\")", TERN_VERSION);
	imap_tagged(s, cmd, "OK", NULL, "ID completed");
	return IMAP_DONE;
}
