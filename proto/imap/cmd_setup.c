/* cmd_setup: what a client sends after login to set its session up:
 * ENABLE (RFC 5161: CONDSTORE, QRESYNC, UTF8=ACCEPT, IMAP4rev2), NAMESPACE
 * (RFC 2342: one personal namespace, "/" between levels) and COMPRESS
 * (RFC 4978: the deflate filter itself is compress.c). */
#include "proto/imap/imap_int.h"

#include <string.h>

enum imap_cmd_result imap_cmd_enable(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs == 0) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: ENABLE capability...");
		return IMAP_DONE;
	}
	char out[256] = "";
	for (size_t i = 0; i < cmd->nargs; i++) {
		const struct imap_arg *a = &cmd->args[i];
		unsigned bit = 0;
		const char *name = NULL;
		if (a->type != IMAP_ARG_ATOM) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid argument");
			return IMAP_DONE;
		}
		if (imap_arg_is_atom(a, "CONDSTORE")) {
			bit = IMAP_EXT_CONDSTORE;
			name = "CONDSTORE";
		} else if (imap_arg_is_atom(a, "QRESYNC")) {
			bit = IMAP_EXT_QRESYNC | IMAP_EXT_CONDSTORE;
			name = "QRESYNC";
		} else if (imap_arg_is_atom(a, "UTF8=ACCEPT")) {
			bit = IMAP_EXT_UTF8;
			name = "UTF8=ACCEPT";
		} else if (imap_arg_is_atom(a, "IMAP4rev2")) {
			bit = IMAP_EXT_REV2;
			name = "IMAP4rev2";
		} else if (imap_arg_is_atom(a, "UIDONLY")) {
			bit = IMAP_EXT_UIDONLY;
			name = "UIDONLY";
		}
		if (!bit)
			continue; /* unknown: ignored (RFC 5161 §3.1) */
		bool already = (s->enabled & bit) == bit;
		if (bit == (IMAP_EXT_QRESYNC | IMAP_EXT_CONDSTORE))
			already = s->enabled & IMAP_EXT_QRESYNC;
		s->enabled |= bit;
		if (!already && strlen(out) + strlen(name) + 2 < sizeof out) {
			strcat(out, " ");
			strcat(out, name);
		}
	}
	imap_untagged(s, "ENABLED%s", out);
	imap_tagged(s, cmd, "OK", NULL, "ENABLE completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_namespace(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, cmd, "OK", NULL, "NAMESPACE completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_compress(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs != 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: COMPRESS DEFLATE");
		return IMAP_DONE;
	}
	if (s->compress) {
		imap_tagged(s, cmd, "NO", "COMPRESSIONACTIVE", "Compression already active");
		return IMAP_DONE;
	}
	if (!imap_arg_is_atom(&cmd->args[0], "DEFLATE")) {
		imap_tagged(s, cmd, "NO", "CANNOT", "Unknown compression mechanism");
		return IMAP_DONE;
	}
	imap_tagged(s, cmd, "OK", NULL, "DEFLATE active");
	if (imap_compress_start(s) != 0) {
		imap_close(s);
		return IMAP_DONE;
	}
	imap_log(s, LOG_DEBUG, "event=compress mech=deflate");
	return IMAP_DONE;
}
