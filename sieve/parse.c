/* parse: the Sieve grammar (RFC 5228 §8.2) into a tree of commands and
 * tests, all in the script's arena.
 *
 *   commands  = *command
 *   command   = identifier arguments (";" / block)
 *   block     = "{" commands "}"
 *   arguments = *argument [test / test-list]
 *   argument  = string-list / number / tag
 *   test      = identifier arguments
 *   test-list = "(" test *("," test) ")"
 *
 * Only the shape is checked here; what the names mean is compile.c's.
 * The descent is bounded: blocks and tests nest at most max_depth deep,
 * there are at most max_commands commands and tests, and a string list
 * holds at most max_string_list strings. One token of lookahead. */
#include "sieve/sieve_int.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

struct parser {
	struct sieve_lexer lx;
	struct sieve_token tok; /* the current token */
	const struct sieve_limits *lim;
	struct arena *arena;
	struct sieve_error *err;
	unsigned nodes;
};

static int next(struct parser *p)
{
	return sieve_lex_next(&p->lx, &p->tok);
}

static int unexpected(struct parser *p, const char *wanted)
{
	return sieve_error_at(p->err, p->tok.line, p->tok.col, "expected %s, got %s", wanted,
	                      sieve_tok_name(p->tok.kind));
}

static char *lower_dup(struct parser *p, const char *s, size_t n)
{
	char *d = arena_strndup(p->arena, s, n);
	if (d)
		for (size_t i = 0; i < n; i++)
			d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

/* A string list: one string, or [ string *("," string) ]. */
static int string_list(struct parser *p, struct sieve_arg *a)
{
	size_t cap = 0;
	bool bracket = p->tok.kind == SIEVE_T_LBRACKET;
	a->bracketed = bracket;
	if (bracket) {
		int r = next(p);
		if (r < 0)
			return r;
	}
	for (;;) {
		if (p->tok.kind != SIEVE_T_STRING)
			return unexpected(p, "string");
		if (a->strs.n == p->lim->max_string_list)
			return sieve_error_at(p->err, p->tok.line, p->tok.col,
			                      "too many strings in a list (at most %u)",
			                      p->lim->max_string_list);
		if (a->strs.n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			char **s = arena_alloc(p->arena, ncap * sizeof *s);
			size_t *l = arena_alloc(p->arena, ncap * sizeof *l);
			if (!s || !l)
				return -ENOMEM;
			if (cap) {
				memcpy(s, a->strs.s, cap * sizeof *s);
				memcpy(l, a->strs.len, cap * sizeof *l);
			}
			a->strs.s = s;
			a->strs.len = l;
			cap = ncap;
		}
		a->strs.s[a->strs.n] = p->tok.str;
		a->strs.len[a->strs.n] = p->tok.len;
		a->strs.n++;
		int r = next(p);
		if (r < 0)
			return r;
		if (!bracket)
			return 0;
		if (p->tok.kind == SIEVE_T_RBRACKET)
			return next(p);
		if (p->tok.kind != SIEVE_T_COMMA)
			return unexpected(p, "',' or ']'");
		if ((r = next(p)) < 0)
			return r;
	}
}

static int test(struct parser *p, unsigned depth, struct sieve_node **out);

/* arguments = *argument [test / test-list], into n. */
static int arguments(struct parser *p, unsigned depth, struct sieve_node *n)
{
	struct sieve_arg **tail = &n->args;
	int r;
	for (;;) {
		enum sieve_tok k = p->tok.kind;
		if (k != SIEVE_T_TAG && k != SIEVE_T_NUMBER && k != SIEVE_T_STRING &&
		    k != SIEVE_T_LBRACKET)
			break;
		struct sieve_arg *a = arena_alloc(p->arena, sizeof *a);
		if (!a)
			return -ENOMEM;
		a->line = p->tok.line;
		a->col = p->tok.col;
		if (k == SIEVE_T_TAG) {
			a->kind = SIEVE_ARG_TAG;
			if (!(a->tag = lower_dup(p, p->tok.text, p->tok.len)))
				return -ENOMEM;
			r = next(p);
		} else if (k == SIEVE_T_NUMBER) {
			a->kind = SIEVE_ARG_NUMBER;
			a->num = p->tok.num;
			r = next(p);
		} else {
			a->kind = SIEVE_ARG_STRINGS;
			r = string_list(p, a);
		}
		if (r < 0)
			return r;
		*tail = a;
		tail = &a->next;
	}
	if (p->tok.kind == SIEVE_T_IDENT) {
		n->n_tests = 1;
		return test(p, depth + 1, &n->tests);
	}
	if (p->tok.kind == SIEVE_T_LPAREN) {
		n->test_list = true;
		struct sieve_node **ttail = &n->tests;
		if ((r = next(p)) < 0)
			return r;
		for (;;) {
			if ((r = test(p, depth + 1, ttail)) < 0)
				return r;
			ttail = &(*ttail)->next;
			n->n_tests++;
			if (p->tok.kind == SIEVE_T_RPAREN)
				return next(p);
			if (p->tok.kind != SIEVE_T_COMMA)
				return unexpected(p, "',' or ')'");
			if ((r = next(p)) < 0)
				return r;
		}
	}
	return 0;
}

static int new_node(struct parser *p, unsigned depth, struct sieve_node **out)
{
	if (depth > p->lim->max_depth)
		return sieve_error_at(p->err, p->tok.line, p->tok.col,
		                      "nested too deep (at most %u)", p->lim->max_depth);
	if (++p->nodes > p->lim->max_commands)
		return sieve_error_at(p->err, p->tok.line, p->tok.col,
		                      "too many commands and tests (at most %u)",
		                      p->lim->max_commands);
	struct sieve_node *n = arena_alloc(p->arena, sizeof *n);
	if (!n || !(n->name = lower_dup(p, p->tok.text, p->tok.len)))
		return -ENOMEM;
	n->line = p->tok.line;
	n->col = p->tok.col;
	*out = n;
	return next(p);
}

static int test(struct parser *p, unsigned depth, struct sieve_node **out)
{
	if (p->tok.kind != SIEVE_T_IDENT)
		return unexpected(p, "test");
	int r = new_node(p, depth, out);
	return r < 0 ? r : arguments(p, depth, *out);
}

static int commands(struct parser *p, unsigned depth, bool in_block, struct sieve_node **out)
{
	struct sieve_node **tail = out;
	int r;
	for (;;) {
		if (p->tok.kind == SIEVE_T_EOF) {
			if (in_block)
				return unexpected(p, "'}'");
			return 0;
		}
		if (p->tok.kind == SIEVE_T_RBRACE) {
			if (!in_block)
				return sieve_error_at(p->err, p->tok.line, p->tok.col,
				                      "unexpected '}'");
			return next(p);
		}
		if (p->tok.kind != SIEVE_T_IDENT)
			return unexpected(p, "command");
		struct sieve_node *n;
		if ((r = new_node(p, depth, &n)) < 0 || (r = arguments(p, depth, n)) < 0)
			return r;
		if (p->tok.kind == SIEVE_T_LBRACE) {
			n->has_block = true;
			if ((r = next(p)) < 0 || (r = commands(p, depth + 1, true, &n->block)) < 0)
				return r;
		} else if (p->tok.kind == SIEVE_T_SEMICOLON) {
			if ((r = next(p)) < 0)
				return r;
		} else {
			return unexpected(p, "';' or '{'");
		}
		*tail = n;
		tail = &n->next;
	}
}

int sieve_parse(const char *src, size_t len, const struct sieve_limits *lim, struct arena *arena,
                struct sieve_node **out, struct sieve_error *err)
{
	struct parser p = {.lim = lim, .arena = arena, .err = err};
	sieve_lex_init(&p.lx, src, len, arena, err);
	*out = NULL;
	int r = next(&p);
	if (r < 0)
		return r;
	return commands(&p, 0, false, out);
}
