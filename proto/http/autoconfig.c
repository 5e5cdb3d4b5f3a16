/* autoconfig: the documents mail clients read to set up an account.
 *
 * Three vendors, one fact: the mail listeners tern has (struct http_site,
 * from the [[listen]] entries, best first: implicit TLS before STARTTLS),
 * under [server] hostname, with the address as the login.
 *
 *   Thunderbird  GET /.well-known/autoconfig/mail/config-v1.1.xml and
 *                /mail/config-v1.1.xml (?emailaddress=), the clientConfig
 *                format of Thunderbird's autoconfig reader (version 1.1).
 *   Outlook      POST /autodiscover/autodiscover.xml with the POX request
 *                schema (2006); answered in the outlook responseschema
 *                2006a with IMAP, POP3 and SMTP Protocol elements.
 *   Apple        GET /mobileconfig?emailaddress=ADDR: an unsigned
 *                configuration profile (.mobileconfig) holding one
 *                com.apple.mail.managed payload (IMAP or POP + SMTP).
 *
 * Plaintext listeners are not announced: tern takes passwords only over
 * TLS. Everything that came from the request is XML-escaped. */
#include "proto/http/http_int.h"

#include <stdio.h>
#include <string.h>

#include "proto/common/env.h"

/* An address we are willing to echo: local@domain, printable ASCII or
 * UTF-8, no spaces or markup, of sane length. */
static bool sane_address(const char *a)
{
	size_t n = strlen(a);
	const char *at = strrchr(a, '@');
	if (n < 3 || n > 254 || !at || at == a || !at[1])
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == '\\' || *p == 0x7f)
			return false;
	return true;
}

static int xml_escaped(struct buf *b, const char *s)
{
	int r = 0;
	for (; *s && r == 0; s++) {
		switch (*s) {
		case '&':
			r = buf_adds(b, "&amp;");
			break;
		case '<':
			r = buf_adds(b, "&lt;");
			break;
		case '>':
			r = buf_adds(b, "&gt;");
			break;
		case '"':
			r = buf_adds(b, "&quot;");
			break;
		case '\'':
			r = buf_adds(b, "&apos;");
			break;
		default:
			r = buf_addc(b, *s);
		}
	}
	return r;
}

/* "<tag>escaped</tag>" with an indent. */
static int element(struct buf *b, const char *indent, const char *tag, const char *text)
{
	int r = buf_printf(b, "%s<%s>", indent, tag);
	r |= xml_escaped(b, text);
	r |= buf_printf(b, "</%s>\n", tag);
	return r;
}

static const char *kind_name(enum http_service_kind k)
{
	return k == HTTP_SVC_IMAP ? "imap" : k == HTTP_SVC_POP3 ? "pop3" : "smtp";
}

/* The first announced service of a kind, or NULL. */
static const struct http_service *first_service(const struct http_site *site,
                                                enum http_service_kind kind)
{
	for (size_t i = 0; i < site->nservices; i++)
		if (site->services[i].kind == kind && site->services[i].tls != HTTP_SVC_PLAIN)
			return &site->services[i];
	return NULL;
}

static void respond_xml(struct http_session *s, struct buf *b, int err, const char *type)
{
	if (err) {
		http_respond_error(s, 500);
		return;
	}
	http_respond(s, 200, type, NULL, b->data, b->len, HTTP_R_CACHE | HTTP_R_GZIP);
}

/* The address's domain, or the primary domain. */
static const char *address_domain(const struct http_session *s, const char *addr)
{
	const char *at = addr[0] ? strrchr(addr, '@') : NULL;
	return at ? at + 1 : s->ctx->env->domain;
}

void http_autoconfig_thunderbird(struct http_session *s)
{
	char addr[256] = "";
	if (http_query_param(s->query, "emailaddress", addr, sizeof addr) < 0 ||
	    !sane_address(addr))
		addr[0] = '\0';
	const char *domain = address_domain(s, addr);
	const char *host = s->ctx->env->hostname;
	const struct http_site *site = s->ctx->site;
	struct buf b = {0};
	int r = buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                     "<clientConfig version=\"1.1\">\n  <emailProvider id=\"");
	r |= xml_escaped(&b, domain);
	r |= buf_adds(&b, "\">\n");
	r |= element(&b, "    ", "domain", domain);
	r |= element(&b, "    ", "displayName", domain);
	r |= element(&b, "    ", "displayShortName", domain);
	for (int pass = 0; pass < 2; pass++) {
		/* incoming servers first (IMAP before POP3), then outgoing */
		for (size_t i = 0; i < site->nservices; i++) {
			const struct http_service *sv = &site->services[i];
			bool out = sv->kind == HTTP_SVC_SUBMISSION;
			if (sv->tls == HTTP_SVC_PLAIN || out != (pass == 1))
				continue;
			r |= buf_printf(&b, "    <%s type=\"%s\">\n",
			                out ? "outgoingServer" : "incomingServer",
			                kind_name(sv->kind));
			r |= element(&b, "      ", "hostname", host);
			r |= buf_printf(&b, "      <port>%d</port>\n", sv->port);
			r |= element(&b, "      ", "socketType",
			             sv->tls == HTTP_SVC_TLS ? "SSL" : "STARTTLS");
			r |= element(&b, "      ", "authentication", "password-cleartext");
			r |= element(&b, "      ", "username", "%EMAILADDRESS%");
			r |= buf_printf(&b, "    </%s>\n",
			                out ? "outgoingServer" : "incomingServer");
		}
	}
	r |= buf_adds(&b, "  </emailProvider>\n</clientConfig>\n");
	respond_xml(s, &b, r, "application/xml; charset=utf-8");
	buf_free(&b);
}

/* The text of the first <EMailAddress> element of a POX request. */
static bool autodiscover_address(const struct buf *body, char *out, size_t outlen)
{
	if (!body->data)
		return false;
	const char *open = strstr(body->data, "<EMailAddress>");
	if (!open)
		return false;
	open += strlen("<EMailAddress>");
	const char *close = strstr(open, "</EMailAddress>");
	if (!close || (size_t)(close - open) >= outlen)
		return false;
	while (open < close && (*open == ' ' || *open == '\t' || *open == '\r' || *open == '\n'))
		open++;
	size_t n = (size_t)(close - open);
	while (n && (open[n - 1] == ' ' || open[n - 1] == '\t' || open[n - 1] == '\r' ||
	             open[n - 1] == '\n'))
		n--;
	memcpy(out, open, n);
	out[n] = '\0';
	return sane_address(out);
}

static int outlook_protocol(struct buf *b, const struct http_service *sv, const char *host,
                            const char *login)
{
	static const char *types[] = {
	    [HTTP_SVC_IMAP] = "IMAP", [HTTP_SVC_POP3] = "POP3", [HTTP_SVC_SUBMISSION] = "SMTP"};
	int r = buf_adds(b, "      <Protocol>\n");
	r |= element(b, "        ", "Type", types[sv->kind]);
	r |= element(b, "        ", "Server", host);
	r |= buf_printf(b, "        <Port>%d</Port>\n", sv->port);
	r |= element(b, "        ", "DomainRequired", "off");
	r |= element(b, "        ", "LoginName", login);
	r |= element(b, "        ", "SPA", "off");
	if (sv->tls == HTTP_SVC_TLS)
		r |= element(b, "        ", "SSL", "on");
	else
		r |= element(b, "        ", "Encryption", "TLS");
	r |= element(b, "        ", "AuthRequired", "on");
	if (sv->kind == HTTP_SVC_SUBMISSION)
		r |= element(b, "        ", "UsePOPAuth", "off");
	r |= buf_adds(b, "      </Protocol>\n");
	return r;
}

void http_autodiscover_outlook(struct http_session *s)
{
	char addr[256];
	if (!autodiscover_address(&s->body, addr, sizeof addr)) {
		http_respond_error(s, 400);
		return;
	}
	const char *host = s->ctx->env->hostname;
	struct buf b = {0};
	int r = buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                     "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/"
	                     "autodiscover/responseschema/2006\">\n"
	                     "  <Response xmlns=\"http://schemas.microsoft.com/exchange/"
	                     "autodiscover/outlook/responseschema/2006a\">\n"
	                     "    <User>\n");
	r |= element(&b, "      ", "DisplayName", addr);
	r |= buf_adds(&b, "    </User>\n    <Account>\n"
	                  "      <AccountType>email</AccountType>\n"
	                  "      <Action>settings</Action>\n");
	enum http_service_kind kinds[] = {HTTP_SVC_IMAP, HTTP_SVC_POP3, HTTP_SVC_SUBMISSION};
	for (size_t k = 0; k < 3; k++) {
		const struct http_service *sv = first_service(s->ctx->site, kinds[k]);
		if (sv)
			r |= outlook_protocol(&b, sv, host, addr);
	}
	r |= buf_adds(&b, "    </Account>\n  </Response>\n</Autodiscover>\n");
	respond_xml(s, &b, r, "application/xml; charset=utf-8");
	buf_free(&b);
}

/* A UUID made from a hash of text and a salt: the same address gets the
 * same profile identifiers, so installing it again replaces it. */
static void name_uuid(char *out, size_t outlen, const char *text, unsigned salt)
{
	uint64_t h1 = 1469598103934665603ull ^ salt, h2 = 0x9e3779b97f4a7c15ull + salt;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		h1 = (h1 ^ *p) * 1099511628211ull;
		h2 = (h2 ^ *p) * 0x100000001b3ull + (h2 >> 29);
	}
	snprintf(out, outlen, "%08X-%04X-4%03X-%04X-%012llX", (unsigned)(h1 >> 32),
	         (unsigned)(h1 >> 16) & 0xffff, (unsigned)h1 & 0xfff,
	         (unsigned)(0x8000 | ((h2 >> 48) & 0x3fff)),
	         (unsigned long long)(h2 & 0xffffffffffffull));
}

static int plist_string(struct buf *b, const char *key, const char *value)
{
	int r = buf_printf(b, "      <key>%s</key>\n", key);
	r |= element(b, "      ", "string", value);
	return r;
}

static int plist_int(struct buf *b, const char *key, int value)
{
	return buf_printf(b, "      <key>%s</key>\n      <integer>%d</integer>\n", key, value);
}

static int plist_bool(struct buf *b, const char *key, bool value)
{
	return buf_printf(b, "      <key>%s</key>\n      <%s/>\n", key, value ? "true" : "false");
}

void http_mobileconfig_apple(struct http_session *s)
{
	char addr[256];
	if (http_query_param(s->query, "emailaddress", addr, sizeof addr) < 0 ||
	    !sane_address(addr)) {
		http_respond_error(s, 400);
		return;
	}
	const struct http_service *in = first_service(s->ctx->site, HTTP_SVC_IMAP);
	if (!in)
		in = first_service(s->ctx->site, HTTP_SVC_POP3);
	const struct http_service *out = first_service(s->ctx->site, HTTP_SVC_SUBMISSION);
	if (!in || !out) {
		http_respond_error(s, 404);
		return;
	}
	const char *host = s->ctx->env->hostname;
	const char *domain = address_domain(s, addr);
	char uuid_outer[40], uuid_mail[40], ident[300];
	name_uuid(uuid_outer, sizeof uuid_outer, addr, 1);
	name_uuid(uuid_mail, sizeof uuid_mail, addr, 2);
	/* reverse-DNS style identifier from the host name */
	snprintf(ident, sizeof ident, "%s.tern.mail", host);
	struct buf b = {0};
	int r = buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                     "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	                     "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	                     "<plist version=\"1.0\">\n<dict>\n"
	                     "  <key>PayloadContent</key>\n  <array>\n    <dict>\n");
	r |= plist_string(&b, "EmailAccountDescription", addr);
	r |= plist_string(&b, "EmailAccountName", addr);
	r |= plist_string(&b, "EmailAccountType",
	                  in->kind == HTTP_SVC_IMAP ? "EmailTypeIMAP" : "EmailTypePOP");
	r |= plist_string(&b, "EmailAddress", addr);
	r |= plist_string(&b, "IncomingMailServerAuthentication", "EmailAuthPassword");
	r |= plist_string(&b, "IncomingMailServerHostName", host);
	r |= plist_int(&b, "IncomingMailServerPortNumber", in->port);
	r |= plist_bool(&b, "IncomingMailServerUseSSL", in->tls == HTTP_SVC_TLS);
	r |= plist_string(&b, "IncomingMailServerUsername", addr);
	r |= plist_string(&b, "OutgoingMailServerAuthentication", "EmailAuthPassword");
	r |= plist_string(&b, "OutgoingMailServerHostName", host);
	r |= plist_int(&b, "OutgoingMailServerPortNumber", out->port);
	r |= plist_bool(&b, "OutgoingMailServerUseSSL", out->tls == HTTP_SVC_TLS);
	r |= plist_string(&b, "OutgoingMailServerUsername", addr);
	r |= plist_bool(&b, "OutgoingPasswordSameAsIncomingPassword", true);
	r |= plist_string(&b, "PayloadDescription", "Email account");
	r |= plist_string(&b, "PayloadDisplayName", addr);
	char sub[340];
	snprintf(sub, sizeof sub, "%s.account", ident);
	r |= plist_string(&b, "PayloadIdentifier", sub);
	r |= plist_string(&b, "PayloadType", "com.apple.mail.managed");
	r |= plist_string(&b, "PayloadUUID", uuid_mail);
	r |= plist_int(&b, "PayloadVersion", 1);
	r |= buf_adds(&b, "    </dict>\n  </array>\n");
	char title[300];
	snprintf(title, sizeof title, "Mail at %s", domain);
	r |= plist_string(&b, "PayloadDescription", title);
	r |= plist_string(&b, "PayloadDisplayName", title);
	r |= plist_string(&b, "PayloadIdentifier", ident);
	r |= plist_bool(&b, "PayloadRemovalDisallowed", false);
	r |= plist_string(&b, "PayloadType", "Configuration");
	r |= plist_string(&b, "PayloadUUID", uuid_outer);
	r |= plist_int(&b, "PayloadVersion", 1);
	r |= buf_adds(&b, "</dict>\n</plist>\n");
	if (r) {
		buf_free(&b);
		http_respond_error(s, 500);
		return;
	}
	char extra[400];
	snprintf(extra, sizeof extra,
	         "Content-Disposition: attachment; filename=\"%s.mobileconfig\"\r\n", domain);
	http_respond(s, 200, "application/x-apple-aspen-config", extra, b.data, b.len,
	             HTTP_R_NOSTORE);
	buf_free(&b);
}
