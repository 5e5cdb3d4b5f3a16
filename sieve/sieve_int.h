/* sieve_int: what the files of sieve/ share: the first error, tokens
 * (lex.c), the syntax tree (parse.c) and what compile.c records on it for
 * run.c. A compiled script is its tree, annotated and never changed again:
 * that is what makes it safe to run from many threads at once. */
#ifndef TERN_SIEVE_INT_H
#define TERN_SIEVE_INT_H

#include "lib/arena.h"
#include "lib/buf.h"
#include "sieve/sieve.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors (lex.c) ---- */

struct sieve_error {
	bool set;
	int line, col;
	char msg[160];
};
/* Records the first error only; later ones are dropped. Returns -EINVAL. */
int sieve_error_at(struct sieve_error *e, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- tokens (lex.c) ---- */

enum sieve_tok {
	SIEVE_T_EOF,
	SIEVE_T_IDENT,  /* text/len: the name */
	SIEVE_T_TAG,    /* text/len: the name without ':' */
	SIEVE_T_NUMBER, /* num: the value, quantifier applied */
	SIEVE_T_STRING, /* str/len: decoded (escapes, dot-stuffing), NUL-terminated */
	SIEVE_T_LBRACKET,
	SIEVE_T_RBRACKET,
	SIEVE_T_LPAREN,
	SIEVE_T_RPAREN,
	SIEVE_T_LBRACE,
	SIEVE_T_RBRACE,
	SIEVE_T_COMMA,
	SIEVE_T_SEMICOLON,
};

struct sieve_token {
	enum sieve_tok kind;
	int line, col;
	const char *text; /* identifiers and tags: into the source */
	size_t len;
	char *str; /* strings: in the lexer's arena */
	uint64_t num;
};

struct sieve_lexer {
	const char *src;
	size_t len, pos;
	int line, col;
	struct arena *arena;
	struct sieve_error *err;
};
void sieve_lex_init(struct sieve_lexer *lx, const char *src, size_t len, struct arena *arena,
                    struct sieve_error *err);
/* The next token: 0, or -EINVAL with the error recorded, or -ENOMEM. */
int sieve_lex_next(struct sieve_lexer *lx, struct sieve_token *t);
/* A name for a token kind in messages ("identifier", "'{'"...). */
const char *sieve_tok_name(enum sieve_tok k);

/* ---- the tree (parse.c) ---- */

struct sieve_strlist {
	char **s; /* NUL-terminated */
	size_t *len;
	size_t n;
};

enum sieve_arg_kind { SIEVE_ARG_TAG, SIEVE_ARG_NUMBER, SIEVE_ARG_STRINGS };

struct sieve_arg {
	enum sieve_arg_kind kind;
	int line, col;
	bool bracketed; /* a string list written with [ ] */
	char *tag;      /* lower-cased, without ':' */
	uint64_t num;
	struct sieve_strlist strs;
	struct sieve_arg *next;
};

/* Commands and tests alike; what compile.c adds is below the line. */
struct sieve_node {
	char *name; /* lower-cased */
	int line, col;
	struct sieve_arg *args;
	struct sieve_node *tests; /* a test, or the tests of a test list */
	unsigned n_tests;
	bool test_list;
	bool has_block;
	struct sieve_node *block; /* the commands of the block */
	struct sieve_node *next;

	/* ---- compile.c ---- */
	int id;         /* enum sieve_cmd or enum sieve_test */
	int comparator; /* enum sieve_cmp */
	int match;      /* enum sieve_match */
	int addrpart;   /* enum sieve_addrpart */
	bool over;      /* size :over (else :under) */
	bool copy, create, mime;
	unsigned modifiers;                /* set: SIEVE_MOD_* */
	uint64_t number;                   /* size: the limit; vacation: :days (0: absent) */
	const struct sieve_strlist *flags; /* :flags, or NULL */
	const struct sieve_strlist *subject, *from, *addresses, *handle; /* vacation */
	const struct sieve_strlist *pos[3]; /* positional string arguments in order */
	unsigned n_pos;
	int var_index; /* set: the variable's slot */
};

enum sieve_cmd {
	SIEVE_CMD_REQUIRE = 1,
	SIEVE_CMD_IF,
	SIEVE_CMD_ELSIF,
	SIEVE_CMD_ELSE,
	SIEVE_CMD_STOP,
	SIEVE_CMD_KEEP,
	SIEVE_CMD_DISCARD,
	SIEVE_CMD_FILEINTO,
	SIEVE_CMD_REDIRECT,
	SIEVE_CMD_REJECT,
	SIEVE_CMD_EREJECT,
	SIEVE_CMD_VACATION,
	SIEVE_CMD_SET,
	SIEVE_CMD_SETFLAG,
	SIEVE_CMD_ADDFLAG,
	SIEVE_CMD_REMOVEFLAG,
};

enum sieve_test {
	SIEVE_TEST_ADDRESS = 100,
	SIEVE_TEST_ENVELOPE,
	SIEVE_TEST_HEADER,
	SIEVE_TEST_EXISTS,
	SIEVE_TEST_SIZE,
	SIEVE_TEST_ALLOF,
	SIEVE_TEST_ANYOF,
	SIEVE_TEST_NOT,
	SIEVE_TEST_TRUE,
	SIEVE_TEST_FALSE,
	SIEVE_TEST_STRING,
	SIEVE_TEST_HASFLAG,
	SIEVE_TEST_MAILBOXEXISTS,
};

enum sieve_cmp { SIEVE_CMP_CASEMAP, SIEVE_CMP_OCTET };
enum sieve_match { SIEVE_MATCH_IS, SIEVE_MATCH_CONTAINS, SIEVE_MATCH_MATCHES };
enum sieve_addrpart { SIEVE_ADDR_ALL, SIEVE_ADDR_LOCALPART, SIEVE_ADDR_DOMAIN };

/* set's modifiers (RFC 5229 §4), applied from the highest precedence down. */
enum {
	SIEVE_MOD_LOWER = 1u << 0,
	SIEVE_MOD_UPPER = 1u << 1,
	SIEVE_MOD_LOWERFIRST = 1u << 2,
	SIEVE_MOD_UPPERFIRST = 1u << 3,
	SIEVE_MOD_QUOTEWILDCARD = 1u << 4,
	SIEVE_MOD_LENGTH = 1u << 5,
};

/* Extensions a script may require. */
enum {
	SIEVE_EXT_FILEINTO = 1u << 0,
	SIEVE_EXT_ENVELOPE = 1u << 1,
	SIEVE_EXT_REJECT = 1u << 2,
	SIEVE_EXT_EREJECT = 1u << 3,
	SIEVE_EXT_VACATION = 1u << 4,
	SIEVE_EXT_IMAP4FLAGS = 1u << 5,
	SIEVE_EXT_VARIABLES = 1u << 6,
	SIEVE_EXT_COPY = 1u << 7,
	SIEVE_EXT_MAILBOX = 1u << 8,
	SIEVE_EXT_COMPARATORS = 1u << 9, /* comparator-i;octet / -i;ascii-casemap */
	SIEVE_EXT_ENCODED = 1u << 10,    /* encoded-character (RFC 5228 §2.4.2.4) */
};

/* Decodes "${hex:..}" and "${unicode:..}" in s[0..*len) in place
 * (encoded.c); -1 on a code point UTF-8 cannot carry. */
int sieve_decode_encoded(char *s, size_t *len);

/* Parse src into a list of commands in arena; 0, -EINVAL (err set) or
 * -ENOMEM. Bounds: nesting depth, node count, string list length. */
int sieve_parse(const char *src, size_t len, const struct sieve_limits *lim, struct arena *arena,
                struct sieve_node **out, struct sieve_error *err);

/* ---- run-time pieces (match.c, message.c, vars.c, vacation.c) ---- */

/* The CPU a run may still spend: every command, test and comparison step
 * costs one. */
struct sieve_budget {
	uint64_t used, max;
};
/* Charge n; false once the budget is spent. */
static inline bool sieve_charge(struct sieve_budget *b, uint64_t n)
{
	b->used += n;
	return b->used <= b->max;
}

#define SIEVE_MAX_CAPTURES 10 /* ${0} to ${9} (RFC 5229 §3.2's minimum) */

/* What a :matches gave each wildcard: offsets into the value. */
struct sieve_captures {
	unsigned n;
	size_t start[SIEVE_MAX_CAPTURES], len[SIEVE_MAX_CAPTURES];
};

/* Does value match key under the comparator and match type? 1, 0, or -1
 * when the budget ran out. caps (may be NULL) gets the wildcards of a
 * :matches ([0] the whole value, [1..] the wildcards in order). */
int sieve_match(int cmp, int match, const char *value, size_t vlen, const char *key, size_t klen,
                struct sieve_captures *caps, struct sieve_budget *budget);

/* The message's header fields, indexed once per run (message.c). */
struct sieve_field {
	const char *name;
	size_t name_len;
	const char *value; /* raw, folding included */
	size_t value_len;
};
struct sieve_headers {
	struct sieve_field *f;
	size_t n;
};
int sieve_headers_index(const char *hdr, size_t len, struct sieve_headers *h);
void sieve_headers_free(struct sieve_headers *h);
/* The unfolded value with RFC 2047 words decoded (§2.7.2), into out. */
int sieve_header_decoded(const struct sieve_field *f, struct buf *out);
/* Every address of an address field: cb gets the local part and domain
 * (domain NULL for an address without one); returns cb's first non-zero
 * value, or 0, or -ENOMEM. */
int sieve_header_addresses(const struct sieve_field *f,
                           int (*cb)(void *ud, const char *local, const char *domain), void *ud);
/* Splits "local@domain" at the last '@' into the two parts, into buffers. */
void sieve_split_address(const char *addr, struct buf *local, struct buf *domain);

/* A redirect address as tern will send to: local@domain, no white
 * space, brackets, quotes or list separators (RFC 5228 §4.2 wants it
 * syntactically valid; anything fancier is refused). */
bool sieve_address_ok(const char *addr);

/* Variables of one run (vars.c). */
struct sieve_vars {
	const struct sieve_script *script;
	struct buf *values; /* script->n_variables */
	struct buf match[SIEVE_MAX_CAPTURES];
	unsigned n_match;
};
int sieve_vars_init(struct sieve_vars *v, const struct sieve_script *s);
void sieve_vars_free(struct sieve_vars *v);
/* s with ${name} and ${N} replaced (RFC 5229 §3) into out (reset first);
 * no expansion unless the script requires "variables". */
int sieve_vars_expand(const struct sieve_vars *v, const char *s, size_t len, struct buf *out);
/* The slot of a variable name, -1 when the script never names it. */
int sieve_vars_slot(const struct sieve_script *s, const char *name);
/* set: value with the modifiers applied, cut to the length limit. */
int sieve_vars_set(struct sieve_vars *v, int slot, const char *value, size_t len,
                   unsigned modifiers);
/* Keep the captures of a successful :matches as ${0}..${9}. */
int sieve_vars_set_matches(struct sieve_vars *v, const char *value,
                           const struct sieve_captures *caps);

/* Vacation: why the message must get no response, or NULL (vacation.c).
 * extra: the script's :addresses. */
const char *sieve_vacation_refusal(const struct sieve_message *msg, const struct sieve_headers *h,
                                   const struct sieve_strlist *extra);
/* The handle RFC 5230 §4.2 defaults to: derived from the parameters. */
int sieve_vacation_handle(const char *subject, const char *from, bool mime, const char *reason,
                          struct buf *out);

struct sieve_script {
	struct arena arena;
	struct sieve_limits limits;
	struct sieve_node *cmds;
	unsigned extensions;
	unsigned n_variables;
	char **variable_names; /* n_variables, lower-cased */
};

#endif
