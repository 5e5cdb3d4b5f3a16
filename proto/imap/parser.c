/* parser: the incremental IMAP command parser. See parser.h for the
 * contract.
 *
 * Why byte-driven. IMAP is the one mail protocol where a command is not a
 * line: a literal "{n}" ends a line and carries n raw bytes, after which the
 * same command continues on the next line. nginx and Dovecot both learnt
 * that the only parser that survives arbitrary packet splits is a state
 * machine that can stop after any byte and resume later with its state in
 * a struct. So this is one switch over one byte, with a bulk copy for
 * literal data. The server happens to feed whole lines; the unit test
 * feeds every split, one byte at a time included, and must get the same
 * commands.
 *
 * Why it recovers at the end of the line. A bad command gets BAD and the
 * parser discards through the next LF. If the discarded line ends with a
 * non-synchronising literal "{n+}" the client sends n bytes anyway; those
 * are skipped too (reported as a "skip" literal so the caller reads them as
 * a block), otherwise they would be parsed as a command, which is the
 * classic command-injection hole.
 *
 * The tree: each nesting level collects its arguments in a growable
 * scratch vector; a closing parenthesis copies the level into the
 * command's arena. Literal buffers are allocated in the arena once their
 * size is known and checked.
 *
 *   TAG SP NAME [SP "UID" NAME] *(SP arg) CRLF
 *   arg = atom | "quoted" | {n}CRLF bytes | ~{n}CRLF bytes | "(" [arg *(SP arg)] ")"
 */
#include "proto/imap/parser.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/imap/imap_int.h"
#include "mime/spool.h"

#define PARSER_MAX_DEPTH 16

enum pstate {
	P_TAG = 0,
	P_NAME,
	P_ARG,   /* at the start of an argument (after SP or '(') */
	P_AFTER, /* after a complete argument */
	P_ATOM,
	P_BRACKET,
	P_BQUOTED,
	P_BQESC,
	P_QUOTED,
	P_QESC,
	P_LIT8,    /* after '~' */
	P_LITHDR,  /* after '{' */
	P_LITEND,  /* after '}', expecting CR or LF */
	P_LITLF,   /* after '}' CR, expecting LF */
	P_LITDATA, /* n literal bytes */
	P_CR,      /* CR at the end of the command: expecting LF */
	P_SKIP,    /* discarding to LF */
	P_SKIPLIT, /* discarding a literal the client sends after an error */
};

struct level {
	struct imap_arg *v;
	size_t n, cap;
	size_t parent_idx; /* index of the LIST arg in the level below */
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum pstate st;
	struct imap_cmd *cmd; /* being built */

	char *tok;
	size_t toklen, tokcap;

	struct level lv[PARSER_MAX_DEPTH + 1];
	unsigned depth;
	size_t nargs;
	uint64_t total_literal;

	/* the literal being read */
	bool lit8, lit_nonsync, lit_skip, lit_digits;
	uint64_t lit_len, lit_pos;
	char *lit_buf;
	unsigned bracket_depth;

	/* trailing "{n+}" detector while skipping */
	int tail;
	uint64_t tail_n;
	/* Skipping the rest of a command whose literal did not fit the spool
	 * budget: IMAP_PARSE_REFUSED at its end. */
	bool refusing;

	const char *err;
	const char *errcode;
	char tag[128];
	bool have_tag;
	bool started; /* some byte of the current command was read */
};

void imap_parser_limits_preauth(struct imap_parser_limits *l)
{
	/* LOGIN with literals, AUTHENTICATE with SASL-IR, and ID at RFC
	 * 2971's limits (30 pairs, fields of 30 octets, values of 1024, all
	 * of them literals: 31,620 octets; 61 arguments): nothing before
	 * login needs more. */
	l->max_literal = 8192;
	l->max_total_literal = 32768;
	l->max_token = 8192;
	l->max_args = 64;
	l->max_depth = 2;
	l->charge_literals = false;
}

void imap_parser_limits_auth(struct imap_parser_limits *l, uint64_t max_literal, size_t max_line)
{
	l->max_literal = max_literal;
	l->max_total_literal = max_literal + 65536;
	l->max_token = max_line;
	l->max_args = 100000; /* a SEARCH or STORE with many terms */
	l->max_depth = PARSER_MAX_DEPTH;
	l->charge_literals = true;
}

static struct imap_cmd *cmd_new(void)
{
	struct imap_cmd *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	return c;
}

void imap_cmd_free(struct imap_cmd **cmdp)
{
	struct imap_cmd *c = *cmdp;
	if (!c)
		return;
	if (c->ctx_free) {
		void (*fn)(struct imap_cmd *) = c->ctx_free;
		c->ctx_free = NULL;
		fn(c);
	}
	mime_spool_release(c->charged);
	arena_reset(&c->arena);
	free(c);
	*cmdp = NULL;
}

/* Free the memory of the command being parsed and give its literals' share
 * of the spool budget back; the parser's own state is left alone. */
static void drop_command_memory(struct imap_parser *p)
{
	if (!p->cmd)
		return;
	mime_spool_release(p->cmd->charged);
	p->cmd->charged = 0;
	arena_reset(&p->cmd->arena);
	p->lit_buf = NULL;
}

static void start_over(struct imap_parser *p)
{
	p->st = P_TAG;
	p->toklen = 0;
	for (unsigned i = 0; i <= PARSER_MAX_DEPTH; i++)
		p->lv[i].n = 0;
	p->depth = 0;
	p->nargs = 0;
	p->total_literal = 0;
	p->have_tag = false;
	p->started = false;
	p->tag[0] = '\0';
	p->refusing = false;
	if (p->cmd)
		drop_command_memory(p);
	else
		p->cmd = cmd_new();
	p->lit_buf = NULL;
	memset(p->cmd, 0, sizeof(*p->cmd));
}

/* Start over, but keep the tag readable for the caller's reply (a BAD, or
 * the NO of a refused literal). */
static void start_over_keep_tag(struct imap_parser *p)
{
	char tag[sizeof(p->tag)];
	bool have = p->have_tag;
	memcpy(tag, p->tag, sizeof(tag));
	start_over(p);
	memcpy(p->tag, tag, sizeof(tag));
	p->have_tag = have;
	p->started = false;
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *l)
{
	struct imap_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->lim = *l;
	if (p->lim.max_depth > PARSER_MAX_DEPTH)
		p->lim.max_depth = PARSER_MAX_DEPTH;
	start_over(p);
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (!p)
		return;
	imap_cmd_free(&p->cmd);
	for (unsigned i = 0; i <= PARSER_MAX_DEPTH; i++)
		free(p->lv[i].v);
	free(p->tok);
	free(p);
	*pp = NULL;
}

void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *l)
{
	p->lim = *l;
	if (p->lim.max_depth > PARSER_MAX_DEPTH)
		p->lim.max_depth = PARSER_MAX_DEPTH;
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->err ? p->err : "syntax error";
}

const char *imap_parser_error_code(const struct imap_parser *p)
{
	return p->errcode;
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->have_tag ? p->tag : NULL;
}

uint64_t imap_parser_literal_len(const struct imap_parser *p)
{
	return p->lit_len;
}

bool imap_parser_literal_sync(const struct imap_parser *p)
{
	return !p->lit_nonsync && !p->lit_skip;
}

bool imap_parser_literal_skip(const struct imap_parser *p)
{
	return p->lit_skip;
}

bool imap_parser_in_literal(const struct imap_parser *p)
{
	return p->st == P_LITDATA || p->st == P_SKIPLIT;
}

bool imap_parser_at_start(const struct imap_parser *p)
{
	return p->st == P_TAG && !p->started;
}

void imap_parser_reset(struct imap_parser *p)
{
	start_over(p);
}

struct imap_cmd *imap_parser_take(struct imap_parser *p)
{
	struct imap_cmd *c = p->cmd;
	p->cmd = NULL;
	start_over(p);
	return c;
}

/* ---- errors ---- */

/* Report an error at byte c. If c is the LF that ends the line, the next
 * byte already starts a new command; otherwise skip to the LF. */
static void fail(struct imap_parser *p, const char *msg, const char *code, bool at_eol)
{
	p->err = msg;
	p->errcode = code;
	p->tail = 0;
	p->tail_n = 0;
	if (at_eol) {
		start_over_keep_tag(p);
	} else {
		p->st = P_SKIP;
	}
}

static bool tok_add(struct imap_parser *p, unsigned char c)
{
	if (p->toklen >= p->lim.max_token)
		return false;
	if (p->toklen + 1 >= p->tokcap) {
		size_t cap = p->tokcap ? p->tokcap * 2 : 256;
		char *t = realloc(p->tok, cap);
		if (!t)
			abort();
		p->tok = t;
		p->tokcap = cap;
	}
	p->tok[p->toklen++] = (char)c;
	return true;
}

static struct imap_arg *arg_add(struct imap_parser *p)
{
	struct level *l = &p->lv[p->depth];
	if (++p->nargs > p->lim.max_args)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct imap_arg *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			abort();
		l->v = v;
		l->cap = cap;
	}
	struct imap_arg *a = &l->v[l->n++];
	memset(a, 0, sizeof(*a));
	return a;
}

static bool add_string(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *a = arg_add(p);
	if (!a)
		return false;
	a->type = type;
	a->str = imap_arena_strndup(&p->cmd->arena, p->tok ? p->tok : "", p->toklen);
	a->len = p->toklen;
	if (type == IMAP_ARG_ATOM && p->toklen == 3 && strncasecmp(p->tok, "NIL", 3) == 0)
		a->type = IMAP_ARG_NIL;
	p->toklen = 0;
	return true;
}

static struct imap_arg *copy_level(struct imap_parser *p, unsigned d, size_t *n)
{
	struct level *l = &p->lv[d];
	*n = l->n;
	if (!l->n)
		return NULL;
	struct imap_arg *v = imap_arena_alloc(&p->cmd->arena, l->n * sizeof(*v));
	memcpy(v, l->v, l->n * sizeof(*v));
	return v;
}

static bool list_open(struct imap_parser *p)
{
	if (p->depth + 1 > p->lim.max_depth)
		return false;
	struct imap_arg *a = arg_add(p);
	if (!a)
		return false;
	a->type = IMAP_ARG_LIST;
	size_t idx = p->lv[p->depth].n - 1;
	p->depth++;
	p->lv[p->depth].n = 0;
	p->lv[p->depth].parent_idx = idx;
	return true;
}

static void list_close(struct imap_parser *p)
{
	size_t n;
	struct imap_arg *v = copy_level(p, p->depth, &n);
	size_t idx = p->lv[p->depth].parent_idx;
	p->depth--;
	struct imap_arg *a = &p->lv[p->depth].v[idx];
	a->list = v;
	a->nlist = n;
}

static void finish_command(struct imap_parser *p)
{
	size_t n;
	p->cmd->args = copy_level(p, 0, &n);
	p->cmd->nargs = n;
}

static bool finish_name(struct imap_parser *p)
{
	if (p->toklen == 0)
		return false;
	for (size_t i = 0; i < p->toklen; i++)
		p->tok[i] = (char)toupper((unsigned char)p->tok[i]);
	if (!p->cmd->uid && p->toklen == 3 && memcmp(p->tok, "UID", 3) == 0 && !p->cmd->name) {
		p->cmd->uid = true;
		p->toklen = 0;
		return true;
	}
	p->cmd->name = imap_arena_strndup(&p->cmd->arena, p->tok, p->toklen);
	p->toklen = 0;
	return true;
}

static bool bracket_prefix(const struct imap_parser *p)
{
	static const char *const pre[] = {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
	                                  "BINARY.SIZE"};
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t n = strlen(pre[i]);
		if (p->toklen == n && strncasecmp(p->tok, pre[i], n) == 0)
			return true;
	}
	return false;
}

/* End of a line with the command complete, or an error if lists are open. */
static enum imap_parse_event end_of_line(struct imap_parser *p, bool lf)
{
	if (p->depth != 0) {
		fail(p, "unbalanced parentheses", NULL, lf);
		return IMAP_PARSE_ERROR;
	}
	if (!p->cmd->name) {
		fail(p, "missing command", NULL, lf);
		return IMAP_PARSE_ERROR;
	}
	if (!lf) {
		p->st = P_CR;
		return IMAP_PARSE_MORE;
	}
	finish_command(p);
	p->st = P_TAG; /* stays until take() */
	return IMAP_PARSE_COMMAND;
}

/* While skipping: recognise a trailing "{n+}" / "~{n+}" before the LF. */
static void tail_track(struct imap_parser *p, unsigned char c)
{
	switch (p->tail) {
	case 1: /* after '{' */
		if (c >= '0' && c <= '9' && p->tail_n < (1ull << 40)) {
			p->tail_n = p->tail_n * 10 + (c - '0');
			return;
		}
		if (c == '+') {
			p->tail = 2;
			return;
		}
		break;
	case 2:
		if (c == '}') {
			p->tail = 3;
			return;
		}
		break;
	case 3:
		if (c == '\r') {
			p->tail = 4;
			return;
		}
		break;
	default:
		break;
	}
	p->tail = 0;
	p->tail_n = 0;
	if (c == '{')
		p->tail = 1;
}

/* A literal the spool budget has no room for (IMAP_PARSE_REFUSED). The
 * client sends nothing more of a command whose synchronising literal got
 * no "+": the command is over, answer at once. A non-synchronising
 * literal's bytes and the rest of its command come anyway: drop the
 * command's memory now, discard them (the caller reads them as a skip
 * literal), and report the refusal at the command's end. */
static enum imap_parse_event refuse_literal(struct imap_parser *p)
{
	p->err = "no memory for the literal";
	p->errcode = "UNAVAILABLE";
	if (!p->lit_nonsync) {
		start_over_keep_tag(p);
		return IMAP_PARSE_REFUSED;
	}
	drop_command_memory(p);
	p->refusing = true;
	p->lit_pos = 0;
	p->lit_skip = true;
	p->tail = 0;
	p->tail_n = 0;
	p->st = P_SKIPLIT;
	return IMAP_PARSE_LITERAL;
}

static enum imap_parse_event literal_header_done(struct imap_parser *p)
{
	struct level *l = &p->lv[p->depth];
	struct imap_arg *a = &l->v[l->n - 1]; /* added at '}' */
	p->lit_pos = 0;
	p->lit_skip = false;
	/* A big literal is a message being received (APPEND, mostly): it
	 * shares the spool budget with SMTP's, so that many at once get "try
	 * later" instead of exhausting the server's memory. */
	if (p->lim.charge_literals && p->lit_len > IMAP_LITERAL_UNCHARGED) {
		if (mime_spool_reserve((size_t)p->lit_len) < 0)
			return refuse_literal(p);
		p->cmd->charged += (size_t)p->lit_len;
	}
	p->lit_buf = imap_arena_alloc(&p->cmd->arena, p->lit_len + 1);
	a->str = p->lit_buf;
	a->len = p->lit_len;
	p->st = p->lit_len ? P_LITDATA : P_AFTER;
	return IMAP_PARSE_LITERAL;
}

size_t imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
                        enum imap_parse_event *ev)
{
	const unsigned char *d = data;
	size_t i = 0;
	*ev = IMAP_PARSE_MORE;

	while (i < len) {
		unsigned char c = d[i];

		if (p->st == P_LITDATA) {
			uint64_t want = p->lit_len - p->lit_pos;
			size_t n =
			    (size_t)((uint64_t)(len - i) < want ? (uint64_t)(len - i) : want);
			if (!p->lit8 && memchr(d + i, '\0', n)) {
				/* NUL in a literal: skip the rest of it and the line */
				p->lit_pos += n;
				i += n;
				p->lit_len -= p->lit_pos; /* remaining */
				p->lit_pos = 0;
				fail(p, "NUL in literal (use literal8)", NULL, false);
				if (p->lit_len) {
					p->st = P_SKIPLIT;
				}
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			memcpy(p->lit_buf + p->lit_pos, d + i, n);
			p->lit_pos += n;
			i += n;
			if (p->lit_pos == p->lit_len) {
				p->lit_buf[p->lit_len] = '\0';
				p->st = P_AFTER;
			}
			continue;
		}
		if (p->st == P_SKIPLIT) {
			uint64_t want = p->lit_len - p->lit_pos;
			size_t n =
			    (size_t)((uint64_t)(len - i) < want ? (uint64_t)(len - i) : want);
			p->lit_pos += n;
			i += n;
			if (p->lit_pos == p->lit_len) {
				p->st = P_SKIP;
				p->tail = 0;
				p->tail_n = 0;
			}
			continue;
		}

		i++;
		if (p->st != P_SKIP)
			p->started = true;

		switch (p->st) {
		case P_TAG:
			if (c == ' ') {
				if (p->toklen == 0) {
					fail(p, "missing tag", NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				memcpy(p->tag, p->tok, p->toklen);
				p->tag[p->toklen] = '\0';
				p->have_tag = true;
				p->cmd->tag = imap_arena_strndup(&p->cmd->arena, p->tok, p->toklen);
				p->toklen = 0;
				p->st = P_NAME;
			} else if (c == '\r' || c == '\n') {
				if (p->toklen == 0) {
					/* an empty line: tolerated, ignored */
					if (c == '\n')
						p->started = false;
					continue;
				}
				if (p->toklen < sizeof(p->tag)) {
					memcpy(p->tag, p->tok, p->toklen);
					p->tag[p->toklen] = '\0';
					p->have_tag = true;
				}
				fail(p, "missing command", NULL, c == '\n');
				*ev = IMAP_PARSE_ERROR;
				return i;
			} else if (!imap_is_tag_char(c) || p->toklen + 1 >= sizeof(p->tag)) {
				fail(p, "invalid tag", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			} else {
				tok_add(p, c);
			}
			break;

		case P_NAME:
			if (c == ' ') {
				if (!finish_name(p)) {
					fail(p, "missing command", NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				p->st = p->cmd->name ? P_ARG : P_NAME;
			} else if (c == '\r' || c == '\n') {
				if (!finish_name(p) || !p->cmd->name) {
					fail(p, "missing command", NULL, c == '\n');
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				*ev = end_of_line(p, c == '\n');
				if (*ev != IMAP_PARSE_MORE)
					return i;
			} else if (isalnum(c) || c == '-' || c == '_' || c == '.') {
				if (p->toklen >= 64 || !tok_add(p, c)) {
					fail(p, "command name too long", NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
			} else {
				fail(p, "invalid command name", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			break;

		case P_ARG:
		case P_AFTER:
			if (c == ')') {
				if (p->depth == 0) {
					fail(p, "unbalanced parentheses", NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				list_close(p);
				p->st = P_AFTER;
				break;
			}
			if (c == '\r' || c == '\n') {
				*ev = end_of_line(p, c == '\n');
				if (*ev != IMAP_PARSE_MORE)
					return i;
				break;
			}
			if (p->st == P_AFTER) {
				if (c != ' ') {
					fail(p, "expected a space between arguments", NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				p->st = P_ARG;
				break;
			}
			/* P_ARG: the start of an argument */
			if (c == ' ') {
				break; /* tolerate runs of spaces */
			} else if (c == '(') {
				if (!list_open(p)) {
					fail(p,
					     p->nargs > p->lim.max_args ? "too many arguments"
					                                : "lists nested too deep",
					     NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				p->st = P_ARG;
			} else if (c == '"') {
				p->toklen = 0;
				p->st = P_QUOTED;
			} else if (c == '{') {
				p->lit8 = false;
				p->lit_nonsync = false;
				p->lit_digits = false;
				p->lit_len = 0;
				p->st = P_LITHDR;
			} else if (c == '~') {
				p->st = P_LIT8;
			} else if (imap_is_token_char(c)) {
				p->toklen = 0;
				tok_add(p, c);
				p->st = P_ATOM;
			} else {
				fail(p, "invalid character", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			break;

		case P_ATOM:
			if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
				if (!add_string(p, IMAP_ARG_ATOM)) {
					fail(p, "too many arguments", NULL, c == '\n');
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				p->st = P_AFTER;
				i--; /* let P_AFTER see the delimiter */
				break;
			}
			if (c == '[' && bracket_prefix(p)) {
				tok_add(p, c);
				p->bracket_depth = 1;
				p->st = P_BRACKET;
				break;
			}
			if (!imap_is_token_char(c)) {
				fail(p, "invalid character in atom", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			if (!tok_add(p, c)) {
				fail(p, "atom too long", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			break;

		case P_BRACKET:
		case P_BQUOTED:
		case P_BQESC:
			if (c == '\r' || c == '\n' || c == '\0') {
				fail(p, "unterminated section", NULL, c == '\n');
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			if (p->st == P_BRACKET) {
				if (c == '{') {
					fail(p, "literal inside a section", NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				if (c == '[')
					p->bracket_depth++;
				else if (c == ']' && --p->bracket_depth == 0)
					p->st = P_ATOM;
				else if (c == '"')
					p->st = P_BQUOTED;
			} else if (p->st == P_BQUOTED) {
				if (c == '\\')
					p->st = P_BQESC;
				else if (c == '"')
					p->st = P_BRACKET;
			} else {
				p->st = P_BQUOTED;
			}
			if (!tok_add(p, c)) {
				fail(p, "section too long", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			break;

		case P_QUOTED:
			if (c == '\\') {
				p->st = P_QESC;
			} else if (c == '"') {
				if (!add_string(p, IMAP_ARG_QUOTED)) {
					fail(p, "too many arguments", NULL, false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				p->st = P_AFTER;
			} else if (c == '\r' || c == '\n' || c == '\0') {
				fail(p, "unterminated quoted string", NULL, c == '\n');
				*ev = IMAP_PARSE_ERROR;
				return i;
			} else if (!tok_add(p, c)) {
				fail(p, "quoted string too long", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			break;

		case P_QESC:
			if (c != '"' && c != '\\') {
				fail(p, "invalid escape in quoted string", NULL, c == '\n');
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			if (!tok_add(p, c)) {
				fail(p, "quoted string too long", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			p->st = P_QUOTED;
			break;

		case P_LIT8:
			if (c != '{') {
				/* "~" starts a literal8 only before "{": otherwise it
				 * is an ATOM-CHAR like any other (LIST ~/Mail/ %,
				 * RFC 3501 §6.3.8). Read the atom from the "~" on and
				 * let P_ATOM see this byte, delimiter or not. */
				p->toklen = 0;
				tok_add(p, '~');
				p->st = P_ATOM;
				i--;
				break;
			}
			p->lit8 = true;
			p->lit_nonsync = false;
			p->lit_digits = false;
			p->lit_len = 0;
			p->st = P_LITHDR;
			break;

		case P_LITHDR:
			if (c >= '0' && c <= '9' && !p->lit_nonsync) {
				p->lit_len = p->lit_len * 10 + (c - '0');
				p->lit_digits = true;
				if (p->lit_len > UINT32_MAX) {
					fail(p, "literal too big", "TOOBIG", false);
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
			} else if (c == '+' && p->lit_digits && !p->lit_nonsync) {
				p->lit_nonsync = true;
			} else if (c == '}' && p->lit_digits) {
				p->st = P_LITEND;
				if (p->lit_len > p->lim.max_literal ||
				    p->total_literal + p->lit_len > p->lim.max_total_literal) {
					fail(p, "literal too big", "TOOBIG", false);
					if (p->lit_nonsync) {
						p->tail = 3;
						p->tail_n = p->lit_len;
					}
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				p->total_literal += p->lit_len;
				struct imap_arg *a = arg_add(p);
				if (!a) {
					fail(p, "too many arguments", NULL, false);
					if (p->lit_nonsync) {
						p->tail = 3;
						p->tail_n = p->lit_len;
					}
					*ev = IMAP_PARSE_ERROR;
					return i;
				}
				a->type = p->lit8 ? IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL;
				a->str = "";
			} else {
				fail(p, "invalid literal", NULL, c == '\n');
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			break;

		case P_LITEND:
			if (c == '\r') {
				p->st = P_LITLF;
				break;
			}
			/* fall through */
		case P_LITLF:
			if (c != '\n') {
				fail(p, "literal must end the line", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			*ev = literal_header_done(p);
			return i;

		case P_CR:
			if (c != '\n') {
				fail(p, "CR without LF", NULL, false);
				*ev = IMAP_PARSE_ERROR;
				return i;
			}
			finish_command(p);
			p->st = P_TAG;
			*ev = IMAP_PARSE_COMMAND;
			return i;

		case P_SKIP:
			if (c == '\n') {
				bool lit = (p->tail == 3 || p->tail == 4);
				uint64_t n = p->tail_n;
				if (p->refusing && !lit) {
					/* the refused command has been read to its end */
					start_over_keep_tag(p);
					*ev = IMAP_PARSE_REFUSED;
					return i;
				}
				if (!p->refusing)
					start_over(p); /* a refused command keeps its tag */
				if (lit) {
					p->tail = 0;
					p->tail_n = 0;
					p->lit_len = n;
					p->lit_pos = 0;
					p->lit_skip = true;
					p->lit_nonsync = true;
					p->st = n ? P_SKIPLIT : P_SKIP;
					if (!n)
						p->st = P_SKIP;
					p->started = true;
					*ev = IMAP_PARSE_LITERAL;
					return i;
				}
				break;
			}
			tail_track(p, c);
			break;

		case P_LITDATA:
		case P_SKIPLIT:
			break; /* handled above */
		}
	}
	return i;
}
