/* lex: Sieve's tokens (RFC 5228 §8.1), with the line and column each
 * starts at, and the first error of a compile.
 *
 * Strings come out decoded: a quoted string with its backslash escapes
 * taken out (\" and \\, and any other \x is x, §2.4.2), a "text:"
 * multi-line string with its dot-stuffing removed and every line ending
 * kept as CRLF. Numbers take their K, M or G quantifier; one that does not
 * fit in 64 bits is an error. Comments ('#' to the end of the line, and
 * C-style) are skipped; an unterminated one is an error where it starts.
 * A NUL byte or invalid UTF-8 in a string is an error: scripts are UTF-8. */
#include "sieve/sieve_int.h"

#include "lib/buf.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sieve_error_at(struct sieve_error *e, int line, int col, const char *fmt, ...)
{
	if (e->set)
		return -EINVAL;
	e->set = true;
	e->line = line;
	e->col = col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void sieve_lex_init(struct sieve_lexer *lx, const char *src, size_t len, struct arena *arena,
                    struct sieve_error *err)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->arena = arena;
	lx->err = err;
}

const char *sieve_tok_name(enum sieve_tok k)
{
	switch (k) {
	case SIEVE_T_EOF:
		return "end of script";
	case SIEVE_T_IDENT:
		return "identifier";
	case SIEVE_T_TAG:
		return "tag";
	case SIEVE_T_NUMBER:
		return "number";
	case SIEVE_T_STRING:
		return "string";
	case SIEVE_T_LBRACKET:
		return "'['";
	case SIEVE_T_RBRACKET:
		return "']'";
	case SIEVE_T_LPAREN:
		return "'('";
	case SIEVE_T_RPAREN:
		return "')'";
	case SIEVE_T_LBRACE:
		return "'{'";
	case SIEVE_T_RBRACE:
		return "'}'";
	case SIEVE_T_COMMA:
		return "','";
	case SIEVE_T_SEMICOLON:
		return "';'";
	}
	return "token";
}

static int peek(const struct sieve_lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

/* Move past one byte, keeping line and column. */
static void advance(struct sieve_lexer *lx)
{
	if (lx->src[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->pos++;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Skips white space and comments; -EINVAL on an unterminated comment. */
static int skip_space(struct sieve_lexer *lx)
{
	for (;;) {
		int c = peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			advance(lx);
		} else if (c == '#') {
			while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
				advance(lx);
		} else if (c == '/' && peek(lx, 1) == '*') {
			int line = lx->line, col = lx->col;
			advance(lx);
			advance(lx);
			while (!(peek(lx, 0) == '*' && peek(lx, 1) == '/')) {
				if (peek(lx, 0) == -1)
					return sieve_error_at(lx->err, line, col,
					                      "unterminated comment");
				advance(lx);
			}
			advance(lx);
			advance(lx);
		} else {
			return 0;
		}
	}
}

static int finish_string(struct sieve_lexer *lx, struct sieve_token *t, struct buf *b)
{
	if (b->len && (memchr(b->data, '\0', b->len) || !utf8_valid(b->data, b->len))) {
		buf_free(b);
		return sieve_error_at(lx->err, t->line, t->col, "string is not valid UTF-8");
	}
	t->str = arena_strndup(lx->arena, b->len ? b->data : "", b->len);
	t->len = b->len;
	buf_free(b);
	return t->str ? 0 : -ENOMEM;
}

static int quoted_string(struct sieve_lexer *lx, struct sieve_token *t)
{
	struct buf b = {0};
	advance(lx); /* the opening quote */
	for (;;) {
		int c = peek(lx, 0);
		if (c == -1) {
			buf_free(&b);
			return sieve_error_at(lx->err, t->line, t->col, "unterminated string");
		}
		if (c == '"') {
			advance(lx);
			break;
		}
		if (c == '\\') {
			advance(lx);
			c = peek(lx, 0);
			if (c == -1)
				continue;
		}
		if (buf_addc(&b, (char)c) < 0) {
			buf_free(&b);
			return -ENOMEM;
		}
		advance(lx);
	}
	t->kind = SIEVE_T_STRING;
	return finish_string(lx, t, &b);
}

/* "text:" already read: optional white space and a hash comment, the line
 * end, then lines up to one that is a lone ".". */
static int multiline_string(struct sieve_lexer *lx, struct sieve_token *t)
{
	while (peek(lx, 0) == ' ' || peek(lx, 0) == '\t')
		advance(lx);
	if (peek(lx, 0) == '#')
		while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
			advance(lx);
	if (peek(lx, 0) == '\r')
		advance(lx);
	if (peek(lx, 0) != '\n')
		return sieve_error_at(lx->err, lx->line, lx->col,
		                      "expected end of line after text:");
	advance(lx);
	struct buf b = {0};
	for (;;) {
		if (lx->pos >= lx->len) {
			buf_free(&b);
			return sieve_error_at(lx->err, t->line, t->col,
			                      "unterminated text: string");
		}
		size_t start = lx->pos, end = start;
		while (end < lx->len && lx->src[end] != '\n')
			end++;
		size_t content_end = end;
		if (content_end > start && lx->src[content_end - 1] == '\r')
			content_end--;
		bool terminated = end < lx->len;
		while (lx->pos < end)
			advance(lx);
		if (terminated)
			advance(lx); /* the LF */
		const char *line = lx->src + start;
		size_t n = content_end - start;
		if (n == 1 && line[0] == '.')
			break;
		if (!terminated) {
			buf_free(&b);
			return sieve_error_at(lx->err, t->line, t->col,
			                      "unterminated text: string");
		}
		if (n >= 1 && line[0] == '.') {
			line++;
			n--;
		}
		if (buf_add(&b, line, n) < 0 || buf_add(&b, "\r\n", 2) < 0) {
			buf_free(&b);
			return -ENOMEM;
		}
	}
	t->kind = SIEVE_T_STRING;
	return finish_string(lx, t, &b);
}

static int number(struct sieve_lexer *lx, struct sieve_token *t)
{
	uint64_t v = 0;
	bool overflow = false;
	while (is_digit(peek(lx, 0))) {
		unsigned d = (unsigned)(peek(lx, 0) - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
		advance(lx);
	}
	int q = peek(lx, 0);
	unsigned shift = 0;
	if (q == 'K' || q == 'k')
		shift = 10;
	else if (q == 'M' || q == 'm')
		shift = 20;
	else if (q == 'G' || q == 'g')
		shift = 30;
	if (shift) {
		advance(lx);
		if (v > (UINT64_MAX >> shift))
			overflow = true;
		else
			v <<= shift;
	}
	if (overflow)
		return sieve_error_at(lx->err, t->line, t->col, "number too large");
	if (is_alpha(peek(lx, 0)) || is_digit(peek(lx, 0)))
		return sieve_error_at(lx->err, lx->line, lx->col, "bad character after number");
	t->kind = SIEVE_T_NUMBER;
	t->num = v;
	return 0;
}

int sieve_lex_next(struct sieve_lexer *lx, struct sieve_token *t)
{
	memset(t, 0, sizeof *t);
	int r = skip_space(lx);
	if (r < 0)
		return r;
	t->line = lx->line;
	t->col = lx->col;
	int c = peek(lx, 0);
	if (c == -1) {
		t->kind = SIEVE_T_EOF;
		return 0;
	}
	static const char punct[] = "[](){},;";
	static const enum sieve_tok punct_tok[] = {
	    SIEVE_T_LBRACKET, SIEVE_T_RBRACKET, SIEVE_T_LPAREN, SIEVE_T_RPAREN,
	    SIEVE_T_LBRACE,   SIEVE_T_RBRACE,   SIEVE_T_COMMA,  SIEVE_T_SEMICOLON,
	};
	const char *p = c ? strchr(punct, c) : NULL;
	if (p) {
		t->kind = punct_tok[p - punct];
		advance(lx);
		return 0;
	}
	if (c == '"')
		return quoted_string(lx, t);
	if (is_digit(c))
		return number(lx, t);
	if (c == ':' || is_alpha(c)) {
		bool tag = c == ':';
		if (tag) {
			advance(lx);
			if (!is_alpha(peek(lx, 0)))
				return sieve_error_at(lx->err, t->line, t->col, "bad tag");
		}
		size_t start = lx->pos;
		while (is_alpha(peek(lx, 0)) || is_digit(peek(lx, 0)))
			advance(lx);
		t->text = lx->src + start;
		t->len = lx->pos - start;
		if (!tag && t->len == 4 && strncasecmp(t->text, "text", 4) == 0 &&
		    peek(lx, 0) == ':') {
			advance(lx);
			return multiline_string(lx, t);
		}
		t->kind = tag ? SIEVE_T_TAG : SIEVE_T_IDENT;
		return 0;
	}
	if (c >= 0x21 && c < 0x7f)
		return sieve_error_at(lx->err, t->line, t->col, "unexpected character '%c'", c);
	return sieve_error_at(lx->err, t->line, t->col, "unexpected byte 0x%02x", (unsigned)c);
}
