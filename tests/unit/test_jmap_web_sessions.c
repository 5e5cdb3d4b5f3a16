/* test_jmap_web_sessions: the webmail's login table (jmap_web_sessions.c):
 * a token finds its login, the CSRF token is checked, idle and absolute
 * expiry, logout, and the per-account cap that keeps one account's
 * repeated logins from pushing other accounts' logins out. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proto/http/http_int.h"
#include "proto/jmap/jmap.h"

static struct jmap_settings js = {.session_idle = 1800, .session_lifetime = 43200};

static void login(int64_t account, char token[JMAP_WEB_TOKEN_LEN + 1],
                  char csrf[JMAP_WEB_TOKEN_LEN + 1])
{
	struct jmap_web_login who = {.account_id = account};
	snprintf(who.address, sizeof who.address, "u%lld@example.test", (long long)account);
	CHECK_THAT(jmap_web_login(&js, &who, token, csrf) == 0);
}

static enum jmap_web_check check(const char *token, const char *csrf, int64_t *account)
{
	struct jmap_web_login who = {0};
	enum jmap_web_check r = jmap_web_check(&js, token, strlen(token), csrf,
	                                       csrf ? strlen(csrf) : 0, csrf != NULL, &who);
	if (account)
		*account = who.account_id;
	return r;
}

int main(void)
{
	char tok[JMAP_WEB_TOKEN_LEN + 1], csrf[JMAP_WEB_TOKEN_LEN + 1];
	login(7, tok, csrf);
	CHECK_THAT(strlen(tok) == JMAP_WEB_TOKEN_LEN && strlen(csrf) == JMAP_WEB_TOKEN_LEN);
	int64_t acct = 0;
	CHECK_THAT(check(tok, csrf, &acct) == JMAP_WEB_OK && acct == 7);
	struct jmap_web_login who;
	CHECK_THAT(jmap_web_check(&js, tok, strlen(tok), NULL, 0, false, &who) == JMAP_WEB_OK);
	char bad[JMAP_WEB_TOKEN_LEN + 1];
	memcpy(bad, csrf, sizeof bad);
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	CHECK_THAT(check(tok, bad, NULL) == JMAP_WEB_BAD_CSRF);
	CHECK_THAT(check(tok, "", NULL) == JMAP_WEB_BAD_CSRF);
	memcpy(bad, tok, sizeof bad);
	bad[5] = bad[5] == 'A' ? 'B' : 'A';
	CHECK_THAT(check(bad, csrf, NULL) == JMAP_WEB_NONE);
	CHECK_THAT(check("short", csrf, NULL) == JMAP_WEB_NONE);
	jmap_web_logout(&js, tok, strlen(tok));
	CHECK_THAT(check(tok, csrf, NULL) == JMAP_WEB_NONE);

	/* one account logging in 100 times keeps at most 32 logins, and
	 * another account's login survives it */
	char other[JMAP_WEB_TOKEN_LEN + 1], other_csrf[JMAP_WEB_TOKEN_LEN + 1];
	login(8, other, other_csrf);
	char first[JMAP_WEB_TOKEN_LEN + 1], first_csrf[JMAP_WEB_TOKEN_LEN + 1];
	login(9, first, first_csrf);
	char last[JMAP_WEB_TOKEN_LEN + 1], last_csrf[JMAP_WEB_TOKEN_LEN + 1];
	for (int i = 0; i < 100; i++)
		login(9, last, last_csrf);
	CHECK_THAT(check(first, first_csrf, NULL) == JMAP_WEB_NONE); /* its oldest went */
	CHECK_THAT(check(last, last_csrf, NULL) == JMAP_WEB_OK);
	CHECK_THAT(check(other, other_csrf, &acct) == JMAP_WEB_OK && acct == 8);
	/* and all 4096 slots of logins by many accounts still leave room */
	for (int a = 100; a < 100 + 200; a++)
		for (int i = 0; i < 40; i++)
			login(a, last, last_csrf);
	CHECK_THAT(check(last, last_csrf, &acct) == JMAP_WEB_OK && acct == 299);

	/* idle expiry (1 s) */
	js.session_idle = 1;
	login(10, tok, csrf);
	CHECK_THAT(check(tok, csrf, NULL) == JMAP_WEB_OK);
	sleep(2);
	CHECK_THAT(check(tok, csrf, NULL) == JMAP_WEB_NONE);
	/* absolute expiry, even when used */
	js.session_idle = 1800;
	js.session_lifetime = 2;
	login(11, tok, csrf);
	sleep(1);
	CHECK_THAT(check(tok, csrf, NULL) == JMAP_WEB_OK);
	sleep(2);
	CHECK_THAT(check(tok, csrf, NULL) == JMAP_WEB_NONE);
	return check_report("test_jmap_web_sessions");
}
