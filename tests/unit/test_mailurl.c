/* test_mailurl: the IMAP URL parser (mailurl/url.h) on the RFC 4469,
 * RFC 4467 and RFC 5092 examples, and what it must refuse. */
#include "mailurl/url.h"
#include "mailurl/urlauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static struct mailurl u;

static int parse(const char *s)
{
	return mailurl_parse(s, strlen(s), &u);
}

static void bad(const char *s)
{
	CHECK(parse(s) == -EINVAL, "should refuse %s", s);
}

int main(void)
{
	/* RFC 4469's relative URLs, section in lower case */
	CHECK(parse("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER") == 0, "rfc4469 1");
	CHECK(!u.has_server && strcmp(u.mailbox, "Drafts") == 0 && u.uidvalidity == 385759045 &&
	          u.uid == 20 && strcmp(u.section, "HEADER") == 0 && !u.has_urlauth,
	      "rfc4469 1 fields");
	CHECK(parse("/INBOX;UIDVALIDITY=785799047/;UID=113330/;section=1.5.9") == 0 &&
	          strcmp(u.section, "1.5.9") == 0 && u.uid == 113330,
	      "rfc4469 4");
	CHECK(parse("/Drafts/;UID=3002") == 0 && strcmp(u.mailbox, "Drafts") == 0 &&
	          u.uid == 3002 && !u.uidvalidity,
	      "rfc8508 relative");
	CHECK(parse("/a/b%20c/;UID=1/;SECTION=1.MIME/;PARTIAL=10.20") == 0 &&
	          strcmp(u.mailbox, "a/b c") == 0 && strcmp(u.section, "1.MIME") == 0 &&
	          u.has_partial && u.partial_off == 10 && u.partial_len == 20,
	      "nested mailbox, partial");
	CHECK(parse("/INBOX/;UID=1/;PARTIAL=5") == 0 && u.partial_off == 5 && u.partial_len == 0,
	      "partial without length");

	/* RFC 4467's examples */
	CHECK(parse("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred") == 0,
	      "rfc4467 rump");
	CHECK(u.has_server && strcmp(u.user, "joe") == 0 && strcmp(u.host, "example.com") == 0 &&
	          strcmp(u.access, "submit+fred") == 0 && u.mechanism[0] == 0 &&
	          u.rump_len == strlen("imap://joe@example.com/INBOX/;uid=20/;section=1.2;"
	                               "urlauth=submit+fred"),
	      "rfc4467 rump fields");
	CHECK(parse("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:"
	            "internal:91354a473744909de610943775f92038") == 0 &&
	          strcmp(u.mechanism, "internal") == 0 &&
	          strcmp(u.token, "91354a473744909de610943775f92038") == 0,
	      "rfc4467 full");
	CHECK(parse("imap://joe;AUTH=*@example.com:143/INBOX/;UID=20;EXPIRE=2006-04-05T10:00:00Z;"
	            "URLAUTH=anonymous") == 0 &&
	          strcmp(u.auth_type, "*") == 0 && u.port == 143 && u.has_expire &&
	          u.expire == 1144231200 && strcmp(u.access, "anonymous") == 0,
	      "expire, auth, port");
	CHECK(parse("imap://[::1]:993/INBOX/;UID=1;EXPIRE=2006-04-05T12:00:00%2B02:00;URLAUTH="
	            "AuthUser") == 0 &&
	          strcmp(u.host, "[::1]") == 0 && u.expire == 1144231200 &&
	          strcmp(u.access, "authuser") == 0,
	      "ipv6, offset, access lower-cased");
	CHECK(parse("imap://example.com") == 0 && u.has_server && !u.uid, "server only");
	CHECK(parse("/INBOX") == 0 && strcmp(u.mailbox, "INBOX") == 0 && !u.uid, "mailbox only");

	bad("");
	bad("INBOX/;UID=1");               /* not a path */
	bad("/;UID=1");                    /* no mailbox */
	bad("/INBOX/;UID=0");              /* UIDs start at 1 */
	bad("/INBOX/;UID=4294967296");     /* over 32 bits */
	bad("/INBOX/;UID=12x");            /* not a number */
	bad("/INBOX;UIDVALIDITY=/;UID=1"); /* empty */
	bad("/INBOX/;UID=1/;SECTION=");    /* empty section */
	bad("/IN%BOX/;UID=1");             /* bad escape */
	bad("/IN%00BOX/;UID=1");           /* NUL */
	bad("/IN%4");                      /* cut escape */
	bad("/INBOX?SUBJECT%20x");         /* a search: not a message */
	bad("/INBOX/;UID=1;URLAUTH=someone");
	bad("/INBOX/;UID=1;URLAUTH=user+");
	bad("/INBOX/;UID=1;URLAUTH=anonymous:internal:abc"); /* short token */
	bad("/INBOX/;UID=1;URLAUTH=anonymous:internal:");
	bad("/INBOX/;UID=1;EXPIRE=2006-13-05T10:00:00Z;URLAUTH=anonymous");
	bad("/INBOX/;UID=1;EXPIRE=2006-04-05;URLAUTH=anonymous");
	bad("/INBOX/;UID=1;EXPIRE=2006-04-05T10:00:00Z"); /* EXPIRE without URLAUTH */
	bad("/INBOX/;UID=1/;FOO=1");
	bad("imap://@/INBOX");
	bad("imap://host:70000/INBOX");
	bad("imap://host:x/INBOX");
	bad("imap://[::1/INBOX");
	char big[MAILURL_MAX + 10];
	memset(big, 'a', sizeof big);
	big[0] = '/';
	CHECK(mailurl_parse(big, sizeof big, &u) == -EINVAL, "too long");
	CHECK(mailurl_parse("/INBOX\0/;UID=1", 14, &u) == -EINVAL, "NUL in the URL");

	/* INTERNAL tokens: HMAC-SHA1 of the rump (Python's hmac agrees) */
	uint8_t key[STORE_URLAUTH_KEY_LEN];
	char token[MAILURL_TOKEN_HEX + 1];
	for (int i = 0; i < STORE_URLAUTH_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	const char *rump = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred";
	CHECK(mailurl_urlauth_token(key, rump, strlen(rump), token) == 0 &&
	          strcmp(token, "db1589be4a824223fcc168c923e08ae6bdb5ec6f") == 0,
	      "token %s", token);

	/* access identifiers */
	struct mailurl_requester joe = {.address = "joe@example.com"}, anon = {0},
	                         joe_submit = {.address = "joe@example.com", .submit = true};
	CHECK(parse("imap://o@h/INBOX/;UID=1;URLAUTH=anonymous") == 0 &&
	          mailurl_urlauth_allows(&u, &anon) && mailurl_urlauth_allows(&u, &joe),
	      "anonymous");
	CHECK(parse("imap://o@h/INBOX/;UID=1;URLAUTH=authuser") == 0 &&
	          !mailurl_urlauth_allows(&u, &anon) && mailurl_urlauth_allows(&u, &joe),
	      "authuser");
	CHECK(parse("imap://o@h/INBOX/;UID=1;URLAUTH=user+JOE%40example.com") == 0 &&
	          mailurl_urlauth_allows(&u, &joe) && !mailurl_urlauth_allows(&u, &joe_submit) &&
	          !mailurl_urlauth_allows(&u, &anon),
	      "user+");
	CHECK(parse("imap://o@h/INBOX/;UID=1;URLAUTH=submit+joe%40example.com") == 0 &&
	          !mailurl_urlauth_allows(&u, &joe) && mailurl_urlauth_allows(&u, &joe_submit),
	      "submit+");
	CHECK(parse("imap://o@h/INBOX/;UID=1;URLAUTH=user+fred") == 0 &&
	          !mailurl_urlauth_allows(&u, &joe),
	      "user+ another");

	/* mailbox names from URLs */
	char name[64];
	CHECK(mailurl_mailbox_name("inbox", name, sizeof name) == 5 && strcmp(name, "INBOX") == 0,
	      "inbox");
	CHECK(mailurl_mailbox_name("Entw&APw-rfe", name, sizeof name) > 0 &&
	          strcmp(name, "Entwürfe") == 0,
	      "mutf7");
	CHECK(mailurl_mailbox_name("Entwürfe", name, sizeof name) > 0 &&
	          strcmp(name, "Entwürfe") == 0,
	      "utf8");
	CHECK(mailurl_mailbox_name("a\xff"
	                           "b",
	                           name, sizeof name) < 0,
	      "not UTF-8");
	return check_report("test_mailurl");
}
