/* smtp: what the app needs to serve SMTP (MX and submission).
 *
 * The app loads struct smtp_settings from [smtp] (it is part of struct
 * config), fills one struct smtp_ctx per listener and gives the listener
 * smtp_session_start() with it; nothing in proto/smtp reads the config. */
#ifndef TERN_SMTP_H
#define TERN_SMTP_H

#include <stdbool.h>
#include <stdint.h>

#include "mailauth/dnsbl.h"
#include "mailauth/junk_score.h"

struct conn;
struct proto_env;

/* [smtp] bare_newline; the order is the config's "reject|normalize". */
enum smtp_bare_newline { SMTP_BARE_NEWLINE_REJECT = 0, SMTP_BARE_NEWLINE_NORMALIZE };

/* [smtp] */
struct smtp_settings {
	int64_t max_message_size;
	int64_t spool_memory; /* all messages being received, together */
	int64_t max_recipients;
	int64_t max_errors;
	int64_t max_line;
	int64_t timeout_command;      /* RFC 5321 4.5.3.2: 5 minutes */
	int64_t timeout_data;         /* 3 minutes per data block */
	int64_t transaction_deadline; /* mx: seconds for each transaction, whatever is sent */
	enum smtp_bare_newline bare_newline;
	bool vrfy_enabled;
	bool mx_auth;           /* offer AUTH on mx listeners too (submission always does) */
	int64_t greet_delay_ms; /* mx: wait before the greeting to catch early talkers */
	int64_t greet_pass_ttl; /* seconds an address that waited is greeted at once */
	int64_t greet_pass_max; /* addresses remembered for that */

	/* [auth]: mail authentication on mx listeners (judge.h). The lists
	 * are text here; the app parses them into struct smtp_ctx's. */
	bool check_spf, check_dkim, check_dmarc;
	bool dmarc_reject;           /* false: p=reject is treated as quarantine */
	int64_t check_timeout;       /* seconds from end of data for every pending check */
	char trusted_networks[1024]; /* CIDRs: no checks at all */
	char dmarc_forwarders[1024]; /* IPs/CIDRs/HELO names: DMARC failures not enforced */
	char arc_sealers[1024];      /* ARC sealer domains whose word overrides a DMARC failure */
	char authserv_id[256];       /* "" = [server] hostname */
};

/* [spam]: connection-time reputation of mx clients (mx_reputation.h) and
 * the Junk decision: the built-in score (mailauth/junk_score.h) when
 * rspamd does not decide. Submission listeners are never checked. */
struct smtp_spam_settings {
	struct dnsbl_zone dnsbl[DNSBL_MAX_ZONES]; /* [[spam.dnsbl]] */
	size_t ndnsbl;
	int64_t junk_score;          /* a score at least this: the mail goes to Junk */
	struct junk_weights weights; /* what each authentication failure adds (junk_score.h) */
	int64_t check_timeout_ms;    /* how long the greeting waits for DNSBL/FCrDNS answers */
	bool fcrdns;                 /* look up the client's name for Received: */
	char rspamd_url[512];        /* "http://127.0.0.1:11333": each mx message to /checkv2 */
	int64_t rspamd_timeout_ms;   /* then delivered unchecked (fail open) */
};
struct dns_resolver;
struct netlist;

/* One listener's context: what smtp_session_start() gets as ctx. */
struct smtp_ctx {
	const struct smtp_settings *settings;
	const struct smtp_spam_settings *spam;
	const struct proto_env *env;
	bool submission;          /* submission (587/465), not MX */
	uint64_t idle_timeout_ms; /* the listener's command timeout; 0: settings->timeout_command */
	/* mx: mail authentication (NULL dns: no checks) */
	struct dns_resolver *dns;
	const struct netlist *trusted_networks;
	const struct netlist *dmarc_forwarders;
};

/* A conn_start_fn (net/conn.h); ctx is a struct smtp_ctx. */
void smtp_session_start(struct conn *c, void *ctx);

#endif
