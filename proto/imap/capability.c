/* capability: what this connection may do. One function builds the
 * capability list for the greeting, CAPABILITY and the OK of LOGIN and
 * AUTHENTICATE, so the three can never disagree; imap_login_allowed() says
 * whether a password may be sent here at all.
 *
 * Why the list is computed. What a client may do depends on the
 * connection: before TLS on a public address, login is disabled
 * (LOGINDISABLED, no AUTH= mechanisms, RFC 9051 §6.2.3) and STARTTLS is
 * offered; on loopback the config may allow plaintext; after login the
 * extensions that need a user appear. */
#include "proto/imap/imap_int.h"

#include <stdio.h>
#include <string.h>

#include "net/conn.h"
#include "proto/sasl/sasl.h"
#include "proto/common/env.h"
#include "proto/imap/imap.h"

bool imap_login_allowed(const struct imap_session *s)
{
	if (s->closed)
		return false;
	return proto_auth_allowed(s->env, s->conn);
}

const char *imap_capabilities(const struct imap_session *s, char *buf, size_t len)
{
	const bool tls = !s->closed && conn_is_tls(s->conn);
	if (s->state == IMAP_NOT_AUTH || s->state == IMAP_LOGOUT) {
		char mechs[200] = "";
		unsigned char cb[SASL_CB_MAX];
		size_t cblen = 0;
		if (imap_login_allowed(s))
			sasl_mech_list_sep(conn_channel_binding(s->conn, cb, sizeof cb, &cblen) !=
			                       NULL,
			                   " AUTH=", mechs, sizeof mechs);
		snprintf(buf, len, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE%s%s%s",
		         !tls && !s->closed && conn_tls_available(s->conn) ? " STARTTLS" : "",
		         mechs[0] ? " AUTH=" : " LOGINDISABLED", mechs);
		explicit_bzero(cb, sizeof cb);
		return buf;
	}
	snprintf(buf, len,
	         "IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN UIDPLUS "
	         "MOVE MULTIAPPEND REPLACE CATENATE URLAUTH SPECIAL-USE CREATE-SPECIAL-USE "
	         "LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES WITHIN PARTIAL CONTEXT=SEARCH "
	         "CONTEXT=SORT STATUS=SIZE UTF8=ACCEPT "
	         "CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE APPENDLIMIT=%lld BINARY "
	         "SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT "
	         "OBJECTID SAVEDATE PREVIEW UNAUTHENTICATE ACL RIGHTS=texk LIST-MYRIGHTS "
	         "METADATA METADATA-SERVER NOTIFY UIDONLY INPROGRESS%s",
	         (long long)s->cfg->max_literal, s->compress ? "" : " COMPRESS=DEFLATE");
	return buf;
}
