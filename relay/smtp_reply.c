/* smtp_reply: multi-line reply assembly and EHLO keyword parsing (see smtp_reply.h). */
#include "relay/smtp_reply.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void smtp_reply_reset(struct smtp_reply *r)
{
	memset(r, 0, sizeof *r);
}

void smtp_reply_set(struct smtp_reply *r, int code, const char *enhanced, const char *fmt, ...)
{
	smtp_reply_reset(r);
	r->code = code;
	snprintf(r->enhanced, sizeof r->enhanced, "%s", enhanced ? enhanced : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
	r->nlines = 1;
}

/* "x.y.z " at the start of text: 1-3 digits after each dot, class 2/4/5. */
static size_t enhanced_len(const char *t, size_t len)
{
	size_t i = 0;
	if (len < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < len && isdigit((unsigned char)t[i]) && i - start < 3)
			i++;
		if (i == start)
			return 0;
		if (part == 0) {
			if (i >= len || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && t[i] != ' ')
		return 0;
	return i;
}

static void append_text(struct smtp_reply *r, const char *t, size_t len)
{
	size_t have = strlen(r->text);
	if (have && have + 2 < sizeof r->text) {
		memcpy(r->text + have, "; ", 2);
		have += 2;
	}
	for (size_t i = 0; i < len && have + 1 < sizeof r->text; i++) {
		unsigned char ch = (unsigned char)t[i];
		r->text[have++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	r->text[have] = '\0';
}

int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '1' || line[0] > '5' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		r->error = true;
		if (!r->code)
			r->code = 421;
		append_text(r, "malformed reply from the server", 31);
		return -1;
	}
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code) {
		r->error = true;
		return -1;
	}
	if (++r->nlines > SMTP_REPLY_MAX_LINES) {
		r->error = true;
		return -1;
	}
	r->code = code;
	const char *t = len > 4 ? line + 4 : "";
	size_t tl = len > 4 ? len - 4 : 0;
	if (r->nlines == 1) {
		size_t el = enhanced_len(t, tl);
		if (el && el < sizeof r->enhanced) {
			memcpy(r->enhanced, t, el);
			r->enhanced[el] = '\0';
		}
	}
	append_text(r, t, tl);
	return (len == 3 || line[3] == ' ') ? 1 : 0;
}

static bool word_is(const char *w, size_t wl, const char *kw)
{
	return strlen(kw) == wl && strncasecmp(w, kw, wl) == 0;
}

void smtp_ehlo_keyword(const char *text, size_t len, unsigned *ext, uint64_t *max_size)
{
	size_t i = 0;
	while (i < len && text[i] != ' ' && text[i] != '=')
		i++;
	const char *kw = text;
	size_t kl = i;
	if (word_is(kw, kl, "STARTTLS"))
		*ext |= SMTP_EXT_STARTTLS;
	else if (word_is(kw, kl, "PIPELINING"))
		*ext |= SMTP_EXT_PIPELINING;
	else if (word_is(kw, kl, "8BITMIME"))
		*ext |= SMTP_EXT_8BITMIME;
	else if (word_is(kw, kl, "SMTPUTF8"))
		*ext |= SMTP_EXT_SMTPUTF8;
	else if (word_is(kw, kl, "DSN"))
		*ext |= SMTP_EXT_DSN;
	else if (word_is(kw, kl, "CHUNKING"))
		*ext |= SMTP_EXT_CHUNKING;
	else if (word_is(kw, kl, "ENHANCEDSTATUSCODES"))
		*ext |= SMTP_EXT_ENHANCED;
	else if (word_is(kw, kl, "SIZE")) {
		*ext |= SMTP_EXT_SIZE;
		*max_size = 0;
		if (i < len) {
			char num[24];
			size_t n = len - i - 1 < sizeof num - 1 ? len - i - 1 : sizeof num - 1;
			memcpy(num, text + i + 1, n);
			num[n] = '\0';
			*max_size = strtoull(num, NULL, 10);
		}
	} else if (word_is(kw, kl, "AUTH")) {
		/* "AUTH PLAIN LOGIN" (and the old "AUTH=PLAIN LOGIN") */
		size_t p = i;
		while (p < len) {
			while (p < len && (text[p] == ' ' || text[p] == '='))
				p++;
			size_t s = p;
			while (p < len && text[p] != ' ')
				p++;
			if (word_is(text + s, p - s, "PLAIN"))
				*ext |= SMTP_EXT_AUTH_PLAIN;
			else if (word_is(text + s, p - s, "LOGIN"))
				*ext |= SMTP_EXT_AUTH_LOGIN;
		}
	}
}
