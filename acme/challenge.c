#include "acme/challenge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 128
#define KEYAUTH_MAX 256

static struct {
	char token[TOKEN_MAX];
	char keyauth[KEYAUTH_MAX];
} table[ACME_MAX_CHALLENGES];
static size_t used;

static bool token_ok(const char *t, size_t n)
{
	if (n == 0 || n >= TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

int acme_challenge_add(const char *token, const char *key_authorization)
{
	size_t n = strlen(token);
	if (!token_ok(token, n) || strlen(key_authorization) >= KEYAUTH_MAX)
		return -1;
	acme_challenge_remove(token);
	if (used == ACME_MAX_CHALLENGES)
		return -1;
	memcpy(table[used].token, token, n + 1);
	strcpy(table[used].keyauth, key_authorization);
	used++;
	return 0;
}

void acme_challenge_remove(const char *token)
{
	for (size_t i = 0; i < used; i++)
		if (strcmp(table[i].token, token) == 0) {
			table[i] = table[--used];
			return;
		}
}

const char *acme_challenge_lookup(const char *token, size_t len)
{
	if (!token_ok(token, len))
		return NULL;
	for (size_t i = 0; i < used; i++)
		if (strlen(table[i].token) == len && memcmp(table[i].token, token, len) == 0)
			return table[i].keyauth;
	return NULL;
}

size_t acme_challenge_count(void)
{
	return used;
}
