/* replies: the one table of SMTP reply codes, RFC 5321 section 4.2 basic
 * codes paired with RFC 3463 enhanced codes (RFC 2034 ENHANCEDSTATUSCODES).
 *
 * RFC 2034 exempts the greeting, the HELO/EHLO reply, 334 and 354 from
 * enhanced codes; those entries have an empty `enh`.
 *
 * Choices made here, documented once:
 *   - NUL bytes and an empty message get 554 5.6.0 after the final dot,
 *     like a malformed header: the content is not acceptable as sent, and
 *     the client must not retry it as is. 8-bit data is accepted with or
 *     without BODY=8BITMIME (message.c says why).
 *   - Bare LF / bare CR in a body gets 554 5.5.2 with [smtp]
 *     bare_newline = "reject"; the default, "normalize", stores them as
 *     CRLF. Either way only <CRLF>.<CRLF> ends a body (smuggling).
 *   - Address syntax errors use the address-specific enhanced codes 5.1.7
 *     (sender) and 5.1.3 (recipient); other syntax errors use 5.5.4.
 *   - EXPN is never implemented (502 5.5.1): it would list alias members. */
#include "proto/smtp/replies.h"

#include <stdio.h>
#include <string.h>

static const struct smtp_reply_def replies[SMTP_R_COUNT] = {
    [SMTP_R_GREETING] = {220, "", "ESMTP tern"},
    [SMTP_R_TLS_GO] = {220, "2.0.0", "Ready to start TLS"},
    [SMTP_R_BYE] = {221, "2.0.0", "Bye"},
    [SMTP_R_AUTH_OK] = {235, "2.7.0", "Authentication successful"},
    [SMTP_R_HELO] = {250, "", "Hello"},
    [SMTP_R_OK] = {250, "2.0.0", "Ok"},
    [SMTP_R_SENDER_OK] = {250, "2.1.0", "Sender ok"},
    [SMTP_R_RCPT_OK] = {250, "2.1.5", "Recipient ok"},
    [SMTP_R_QUEUED] = {250, "2.0.0", "Ok: queued"},
    [SMTP_R_CHUNK_OK] = {250, "2.0.0", "Chunk received"},
    [SMTP_R_BURL_MORE] = {250, "2.5.0", "Waiting for additional BURL or BDAT commands"},
    [SMTP_R_BURL_NO_RCPT] = {554, "5.5.0", "No recipients have been specified"},
    [SMTP_R_BURL_TOO_BIG] = {554, "5.3.4", "Message too big for system"},
    [SMTP_R_BURL_FAILED] = {554, "5.6.6", "IMAP URL resolution failed"},
    [SMTP_R_BURL_AUTH] = {554, "5.7.0", "IMAP URL authorization failed"},
    [SMTP_R_BURL_TRUST] = {554, "5.7.8", "URL resolution requires trust relationship"},
    [SMTP_R_VRFY_OK] = {250, "2.1.5", "Ok"},
    [SMTP_R_VRFY] = {252, "2.5.0",
                     "Cannot VRFY user, but will accept message and attempt delivery"},
    [SMTP_R_EXPN] = {502, "5.5.1", "EXPN not available"},
    /* proceed_help() adds STARTTLS and AUTH where EHLO offers them. */
    [SMTP_R_HELP] = {214, "2.0.0",
                     "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"},
    [SMTP_R_AUTH_CHALLENGE] = {334, "", ""},
    [SMTP_R_DATA_GO] = {354, "", "End data with <CR><LF>.<CR><LF>"},
    [SMTP_R_TIMEOUT] = {421, "4.4.2", "Error: timeout exceeded, closing connection"},
    [SMTP_R_SHUTDOWN] = {421, "4.4.2", "Service shutting down, closing connection"},
    [SMTP_R_TOO_MANY_ERRORS] = {421, "4.7.0", "Too many errors, closing connection"},
    [SMTP_R_STORE_FAIL] = {451, "4.3.0", "Temporary local problem, try again later"},
    [SMTP_R_DMARC_TEMPFAIL] = {451, "4.4.3", "DMARC policy lookup failed, try again later"},
    [SMTP_R_NO_SPACE] = {452, "4.3.1", "Insufficient system storage, try again later"},
    [SMTP_R_TOO_MANY_RCPTS] = {452, "4.5.3", "Too many recipients"},
    [SMTP_R_MAILBOX_FULL] = {452, "4.2.2", "Mailbox full, try again later"},
    [SMTP_R_AUTH_TEMPFAIL] = {454, "4.7.0", "Temporary authentication failure, try again later"},
    [SMTP_R_TLS_UNAVAIL] = {454, "4.7.0", "TLS not available"},
    [SMTP_R_UNKNOWN_CMD] = {500, "5.5.2", "Command unrecognized"},
    [SMTP_R_LINE_TOO_LONG] = {500, "5.5.6", "Line too long"},
    [SMTP_R_SYNTAX] = {501, "5.5.4", "Syntax error in parameters or arguments"},
    [SMTP_R_SENDER_SYNTAX] = {501, "5.1.7", "Bad sender address syntax"},
    [SMTP_R_RCPT_SYNTAX] = {501, "5.1.3", "Bad recipient address syntax"},
    [SMTP_R_BASE64] = {501, "5.5.2", "Cannot decode response"},
    [SMTP_R_AUTH_CANCELLED] = {501, "5.7.0", "Authentication cancelled"},
    [SMTP_R_NOT_IMPL] = {502, "5.5.1", "Command not implemented"},
    [SMTP_R_WRONG_PROTO] = {502, "5.7.0", "This is an SMTP server"},
    [SMTP_R_BAD_SEQUENCE] = {503, "5.5.1", "Bad sequence of commands"},
    [SMTP_R_ALREADY_AUTH] = {503, "5.5.1", "Already authenticated"},
    [SMTP_R_AUTH_DISABLED] = {503, "5.5.1", "Authentication not enabled on this port"},
    [SMTP_R_AUTH_MECH] = {504, "5.5.4", "Unrecognized authentication type"},
    [SMTP_R_AUTH_REQUIRED] = {530, "5.7.0", "Authentication required"},
    [SMTP_R_AUTH_FAILED] = {535, "5.7.8", "Authentication credentials invalid"},
    [SMTP_R_AUTH_NEED_TLS] = {538, "5.7.11",
                              "Encryption required for requested authentication mechanism"},
    [SMTP_R_NO_SUCH_USER] = {550, "5.1.1", "User unknown"},
    [SMTP_R_ALIAS_LOOP] = {550, "5.4.6", "Alias loop"},
    [SMTP_R_TOO_BIG] = {552, "5.3.4", "Message size exceeds fixed limit"},
    [SMTP_R_DMARC_REJECT] = {550, "5.7.1", "Message rejected by DMARC policy"},
    [SMTP_R_NOT_OWNED] = {553, "5.7.1", "Sender address not owned by authenticated user"},
    [SMTP_R_UTF8_REQUIRED] = {553, "5.6.7", "Non-ASCII address requires SMTPUTF8"},
    [SMTP_R_RELAY_DENIED] = {554, "5.7.1", "Relay access denied"},
    [SMTP_R_BARE_NEWLINE] = {554, "5.5.2", "Bare LF or CR in message, lines must end with CRLF"},
    [SMTP_R_BAD_CONTENT] = {554, "5.6.0", "Message content rejected"},
    [SMTP_R_SPAM_DEFER] = {451, "4.7.1", "Try again later"},
    [SMTP_R_SPAM_REJECT] = {550, "5.7.1", "Message rejected as spam"},
    [SMTP_R_SIEVE_REJECT] = {550, "5.7.1", "Message rejected by the recipient"},
    [SMTP_R_LISTED] = {554, "5.7.1", "Client host rejected by a DNS blocklist"},
    [SMTP_R_EARLY_TALKER] = {554, "5.5.1", "Protocol error: client talked before the greeting"},
    [SMTP_R_PARAM_UNKNOWN] = {555, "5.5.4", "Parameter not recognized or not implemented"},
};

const struct smtp_reply_def *smtp_reply_def(enum smtp_reply_id id)
{
	if ((unsigned)id >= SMTP_R_COUNT)
		id = SMTP_R_STORE_FAIL;
	return &replies[id];
}

size_t smtp_reply_format(char *buf, size_t buflen, enum smtp_reply_id id, const char *detail)
{
	const struct smtp_reply_def *r = smtp_reply_def(id);
	const char *text = detail ? detail : r->text;
	int n;

	if (buflen < 8)
		return 0;
	if (r->enh[0])
		n = snprintf(buf, buflen - 2, "%d %s %s", r->code, r->enh, text);
	else if (text[0])
		n = snprintf(buf, buflen - 2, "%d %s", r->code, text);
	else
		n = snprintf(buf, buflen - 2, "%d ", r->code);
	if (n < 0)
		n = 0;
	if ((size_t)n > buflen - 3)
		n = (int)(buflen - 3);
	buf[n++] = '\r';
	buf[n++] = '\n';
	buf[n] = '\0';
	return (size_t)n;
}
