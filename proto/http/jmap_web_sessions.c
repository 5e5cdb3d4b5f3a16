/* jmap_web_sessions: the webmail's logins, kept in memory on the server.
 *
 * A login (POST /jmap/login) gets a session token (32 random bytes,
 * base64url: the tern_session cookie) and a CSRF token (the same kind,
 * answered in the body for the page to send back as X-CSRF-Token). Only
 * the SHA-256 of the session token is kept, so the table (or a core
 * dump) holds nothing a client could present; the CSRF token is kept as
 * it is and compared in constant time. A session ends at logout, after
 * [jmap] session_idle seconds unused, or session_lifetime seconds after
 * the login, and with the process: a restart logs everybody out.
 *
 * The table is fixed (JMAP_WEB_SESSIONS_MAX): a new login takes a free or
 * expired slot, else the one unused the longest. One account holds at most
 * JMAP_WEB_SESSIONS_PER_ACCOUNT: its next login replaces its own session
 * unused the longest, so logging in over and over (a script with a valid
 * password) cannot push everybody else's logins out of the table. Loop
 * thread only. */
#include "proto/http/http_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto/jmap/jmap.h"
#include "tls/hmac.h"
#include "tls/rng.h"

#define JMAP_WEB_SESSIONS_MAX 4096
#define JMAP_WEB_SESSIONS_PER_ACCOUNT 32

struct web_session {
	bool used;
	unsigned char hash[32]; /* SHA-256 of the session token */
	char csrf[JMAP_WEB_TOKEN_LEN + 1];
	struct jmap_web_login who;
	int64_t created_ms, last_ms;
};

static struct web_session table[JMAP_WEB_SESSIONS_MAX];

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool expired(const struct web_session *w, int64_t now, const struct jmap_settings *js)
{
	return now - w->last_ms >= js->session_idle * 1000 ||
	       now - w->created_ms >= js->session_lifetime * 1000;
}

/* 32 random bytes as 43 characters of base64url without padding. */
static bool random_token(char out[JMAP_WEB_TOKEN_LEN + 1])
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char b[33] = {0};
	void *rng = tls_rng_ctx();
	if (!rng || tls_rng(rng, b, 32) != 0)
		return false;
	size_t n = 0;
	for (size_t i = 0; i < 33; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		for (int k = 3; k >= 0 && n < JMAP_WEB_TOKEN_LEN; k--)
			out[n++] = alphabet[(v >> (6 * k)) & 63];
	}
	out[n] = '\0';
	explicit_bzero(b, sizeof b);
	return true;
}

static bool token_hash(const char *token, size_t len, unsigned char out[32])
{
	return hmac_digest(HMAC_SHA256, token, len, out) == 0;
}

int jmap_web_login(const struct jmap_settings *js, const struct jmap_web_login *who,
                   char token[JMAP_WEB_TOKEN_LEN + 1], char csrf[JMAP_WEB_TOKEN_LEN + 1])
{
	int64_t now = now_ms();
	struct web_session *slot = NULL, *own_oldest = NULL;
	size_t own = 0;
	for (size_t i = 0; i < JMAP_WEB_SESSIONS_MAX; i++) {
		struct web_session *w = &table[i];
		if (!w->used || w->who.account_id != who->account_id || expired(w, now, js))
			continue;
		own++;
		if (!own_oldest || w->last_ms < own_oldest->last_ms)
			own_oldest = w;
	}
	if (own >= JMAP_WEB_SESSIONS_PER_ACCOUNT)
		slot = own_oldest;
	for (size_t i = 0; i < JMAP_WEB_SESSIONS_MAX && !slot; i++)
		if (!table[i].used || expired(&table[i], now, js))
			slot = &table[i];
	for (size_t i = 0; !slot && i < JMAP_WEB_SESSIONS_MAX; i++)
		if (!slot || table[i].last_ms < slot->last_ms)
			slot = &table[i];
	if (!slot)
		slot = &table[0];
	if (!random_token(token) || !random_token(csrf))
		return -1;
	struct web_session w = {.used = true, .who = *who, .created_ms = now, .last_ms = now};
	if (!token_hash(token, JMAP_WEB_TOKEN_LEN, w.hash))
		return -1;
	memcpy(w.csrf, csrf, sizeof w.csrf);
	*slot = w;
	return 0;
}

static struct web_session *find(const struct jmap_settings *js, const char *token, size_t len)
{
	unsigned char h[32];
	if (len != JMAP_WEB_TOKEN_LEN || !token_hash(token, len, h))
		return NULL;
	int64_t now = now_ms();
	for (size_t i = 0; i < JMAP_WEB_SESSIONS_MAX; i++) {
		struct web_session *w = &table[i];
		if (!w->used || memcmp(w->hash, h, sizeof h) != 0)
			continue;
		if (expired(w, now, js)) {
			explicit_bzero(w, sizeof *w);
			return NULL;
		}
		return w;
	}
	return NULL;
}

/* Constant time in the length of a (the stored token). */
static bool same_token(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);
	unsigned char d = alen != blen;
	for (size_t i = 0; i < alen; i++)
		d |= (unsigned char)(a[i] ^ (i < blen ? b[i] : 0));
	return d == 0;
}

enum jmap_web_check jmap_web_check(const struct jmap_settings *js, const char *token, size_t len,
                                   const char *csrf, size_t csrf_len, bool need_csrf,
                                   struct jmap_web_login *who)
{
	struct web_session *w = find(js, token, len);
	if (!w)
		return JMAP_WEB_NONE;
	if (need_csrf && (!csrf || !same_token(w->csrf, csrf, csrf_len)))
		return JMAP_WEB_BAD_CSRF;
	w->last_ms = now_ms();
	*who = w->who;
	return JMAP_WEB_OK;
}

void jmap_web_logout(const struct jmap_settings *js, const char *token, size_t len)
{
	struct web_session *w = find(js, token, len);
	if (w)
		explicit_bzero(w, sizeof *w);
}

void jmap_web_logout_others(const struct jmap_settings *js, int64_t account_id, const char *token,
                            size_t len)
{
	(void)js;
	unsigned char h[32];
	if (!token_hash(token, len, h))
		memset(h, 0, sizeof h);
	for (size_t i = 0; i < JMAP_WEB_SESSIONS_MAX; i++) {
		struct web_session *w = &table[i];
		if (w->used && w->who.account_id == account_id && memcmp(w->hash, h, sizeof h) != 0)
			explicit_bzero(w, sizeof *w);
	}
}
