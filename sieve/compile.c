/* compile: from the parse tree to a script the interpreter can trust.
 *
 * Every name is checked against what tern implements: commands, tests,
 * their tags, the number and types of their positional arguments, the
 * comparators (i;ascii-casemap, i;octet), match types (:is :contains
 * :matches) and address parts (:all :localpart :domain). Each extension
 * must be named by a `require` at the top of the script before it is used,
 * a tag is not given twice (nor two of one kind, such as two match types),
 * tags come before positional arguments (§2.6.2), `elsif` and `else`
 * follow an `if`, and variable names are well-formed. The first error is
 * the answer, as "LINE:COL: message".
 *
 * What the checks learn is written on the tree's nodes (id, comparator,
 * match type, the tagged values, the positional strings), so the
 * interpreter never looks at a name or an argument list again. After
 * sieve_compile returns, nothing writes to the script: it is immutable. */
#include "sieve/sieve_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sieve_limits_default(struct sieve_limits *l)
{
	l->max_script_bytes = 64 * 1024;
	l->max_depth = 15;
	l->max_commands = 4096;
	l->max_string_list = 256;
	l->max_variables = 128;
	l->max_variable_len = 4096;
	l->max_steps = 2000000;
	l->max_actions = 32;
	l->max_redirects = 4;
}

/* Which tags a command or test takes. */
enum {
	G_CMP = 1u << 0,    /* :comparator "name" */
	G_MATCH = 1u << 1,  /* :is :contains :matches */
	G_ADDR = 1u << 2,   /* :all :localpart :domain */
	G_SIZE = 1u << 3,   /* :over :under */
	G_COPY = 1u << 4,   /* :copy */
	G_CREATE = 1u << 5, /* :create */
	G_FLAGS = 1u << 6,  /* :flags list */
	G_VACATION = 1u << 7,
	G_MODS = 1u << 8, /* set's modifiers */
};

struct spec {
	const char *name;
	int id;
	unsigned ext;     /* the extension it needs, 0: none */
	unsigned tags;    /* G_* */
	const char *args; /* positional: S string, L string list, N number; '?' first: optional */
	bool test;        /* a test (else a command) */
};

static const struct spec specs[] = {
    {"require", SIEVE_CMD_REQUIRE, 0, 0, "L", false},
    {"if", SIEVE_CMD_IF, 0, 0, "", false},
    {"elsif", SIEVE_CMD_ELSIF, 0, 0, "", false},
    {"else", SIEVE_CMD_ELSE, 0, 0, "", false},
    {"stop", SIEVE_CMD_STOP, 0, 0, "", false},
    {"keep", SIEVE_CMD_KEEP, 0, G_FLAGS, "", false},
    {"discard", SIEVE_CMD_DISCARD, 0, 0, "", false},
    {"fileinto", SIEVE_CMD_FILEINTO, SIEVE_EXT_FILEINTO, G_COPY | G_CREATE | G_FLAGS, "S", false},
    {"redirect", SIEVE_CMD_REDIRECT, 0, G_COPY, "S", false},
    {"reject", SIEVE_CMD_REJECT, SIEVE_EXT_REJECT, 0, "S", false},
    {"ereject", SIEVE_CMD_EREJECT, SIEVE_EXT_EREJECT, 0, "S", false},
    {"vacation", SIEVE_CMD_VACATION, SIEVE_EXT_VACATION, G_VACATION, "S", false},
    {"set", SIEVE_CMD_SET, SIEVE_EXT_VARIABLES, G_MODS, "SS", false},
    {"setflag", SIEVE_CMD_SETFLAG, SIEVE_EXT_IMAP4FLAGS, 0, "?SL", false},
    {"addflag", SIEVE_CMD_ADDFLAG, SIEVE_EXT_IMAP4FLAGS, 0, "?SL", false},
    {"removeflag", SIEVE_CMD_REMOVEFLAG, SIEVE_EXT_IMAP4FLAGS, 0, "?SL", false},
    {"address", SIEVE_TEST_ADDRESS, 0, G_CMP | G_MATCH | G_ADDR, "LL", true},
    {"envelope", SIEVE_TEST_ENVELOPE, SIEVE_EXT_ENVELOPE, G_CMP | G_MATCH | G_ADDR, "LL", true},
    {"header", SIEVE_TEST_HEADER, 0, G_CMP | G_MATCH, "LL", true},
    {"exists", SIEVE_TEST_EXISTS, 0, 0, "L", true},
    {"size", SIEVE_TEST_SIZE, 0, G_SIZE, "N", true},
    {"allof", SIEVE_TEST_ALLOF, 0, 0, "", true},
    {"anyof", SIEVE_TEST_ANYOF, 0, 0, "", true},
    {"not", SIEVE_TEST_NOT, 0, 0, "", true},
    {"true", SIEVE_TEST_TRUE, 0, 0, "", true},
    {"false", SIEVE_TEST_FALSE, 0, 0, "", true},
    {"string", SIEVE_TEST_STRING, SIEVE_EXT_VARIABLES, G_CMP | G_MATCH, "LL", true},
    {"hasflag", SIEVE_TEST_HASFLAG, SIEVE_EXT_IMAP4FLAGS, G_CMP | G_MATCH, "?LL", true},
    {"mailboxexists", SIEVE_TEST_MAILBOXEXISTS, SIEVE_EXT_MAILBOX, 0, "L", true},
};

static const struct {
	const char *name;
	unsigned ext;
} extensions[] = {
    {"fileinto", SIEVE_EXT_FILEINTO},
    {"envelope", SIEVE_EXT_ENVELOPE},
    {"reject", SIEVE_EXT_REJECT},
    {"ereject", SIEVE_EXT_EREJECT},
    {"vacation", SIEVE_EXT_VACATION},
    {"imap4flags", SIEVE_EXT_IMAP4FLAGS},
    {"variables", SIEVE_EXT_VARIABLES},
    {"copy", SIEVE_EXT_COPY},
    {"mailbox", SIEVE_EXT_MAILBOX},
    {"comparator-i;octet", SIEVE_EXT_COMPARATORS},
    {"comparator-i;ascii-casemap", SIEVE_EXT_COMPARATORS},
    {"encoded-character", SIEVE_EXT_ENCODED},
};

const char *sieve_extensions(void)
{
	return "fileinto envelope reject ereject vacation imap4flags variables copy mailbox "
	       "encoded-character comparator-i;octet comparator-i;ascii-casemap";
}

static const char *ext_name(unsigned ext)
{
	for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
		if (extensions[i].ext == ext)
			return extensions[i].name;
	return "?";
}

struct compiler {
	struct sieve_script *s;
	struct sieve_error *err;
	bool seen_other; /* a command other than require came already */
};

static const struct spec *find_spec(const char *name, bool test)
{
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if (specs[i].test == test && strcmp(specs[i].name, name) == 0)
			return &specs[i];
	return NULL;
}

static int need_ext(struct compiler *c, int line, int col, unsigned ext, const char *what)
{
	if (ext && !(c->s->extensions & ext))
		return sieve_error_at(c->err, line, col, "%s needs require \"%s\"", what,
		                      ext_name(ext));
	return 0;
}

/* A variable name (RFC 5229 §3: identifier; no namespaces). */
static bool variable_name_ok(const char *s)
{
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return strlen(s) <= 64;
}

/* The slot of variable name (lower-cased), made on first sight. */
static int variable_slot(struct compiler *c, const struct sieve_arg *a, const char *name)
{
	if (!variable_name_ok(name))
		return sieve_error_at(c->err, a->line, a->col, "bad variable name \"%.40s\"", name);
	struct sieve_script *s = c->s;
	for (unsigned i = 0; i < s->n_variables; i++)
		if (strcasecmp(s->variable_names[i], name) == 0)
			return (int)i;
	if (s->n_variables == s->limits.max_variables)
		return sieve_error_at(c->err, a->line, a->col, "too many variables (at most %u)",
		                      s->limits.max_variables);
	if (s->n_variables % 16 == 0) {
		char **names = arena_alloc(&s->arena, (s->n_variables + 16) * sizeof *names);
		if (!names)
			return -ENOMEM;
		if (s->n_variables)
			memcpy(names, s->variable_names, s->n_variables * sizeof *names);
		s->variable_names = names;
	}
	char *copy = arena_strndup(&s->arena, name, strlen(name));
	if (!copy)
		return -ENOMEM;
	for (char *p = copy; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	s->variable_names[s->n_variables] = copy;
	return (int)s->n_variables++;
}

static int single_string(struct compiler *c, const struct sieve_arg *a, const char *what)
{
	if (!a || a->kind != SIEVE_ARG_STRINGS || a->bracketed || a->strs.n != 1)
		return sieve_error_at(c->err, a ? a->line : 0, a ? a->col : 0, "%s needs a string",
		                      what);
	return 0;
}

/* One tag of n; *ap moves past its value when it takes one. */
static int tag(struct compiler *c, struct sieve_node *n, const struct spec *sp,
               struct sieve_arg **ap, unsigned *seen)
{
	struct sieve_arg *a = *ap;
	const char *t = a->tag;
	unsigned group = 0, bit = 0;
	static const char *const matches[] = {"is", "contains", "matches"};
	static const char *const parts[] = {"all", "localpart", "domain"};
	static const char *const mods[] = {"lower",      "upper",         "lowerfirst",
	                                   "upperfirst", "quotewildcard", "length"};
	for (int i = 0; i < 3; i++) {
		if (strcmp(t, matches[i]) == 0) {
			group = G_MATCH;
			n->match = i;
		}
		if (strcmp(t, parts[i]) == 0) {
			group = G_ADDR;
			n->addrpart = i;
		}
	}
	for (int i = 0; i < 6; i++)
		if (strcmp(t, mods[i]) == 0) {
			group = G_MODS;
			bit = 1u << i;
		}
	if (strcmp(t, "comparator") == 0)
		group = G_CMP;
	else if (strcmp(t, "over") == 0 || strcmp(t, "under") == 0) {
		group = G_SIZE;
		n->over = t[0] == 'o';
	} else if (strcmp(t, "copy") == 0)
		group = G_COPY;
	else if (strcmp(t, "create") == 0)
		group = G_CREATE;
	else if (strcmp(t, "flags") == 0)
		group = G_FLAGS;
	else if (!strcmp(t, "days") || !strcmp(t, "subject") || !strcmp(t, "from") ||
	         !strcmp(t, "addresses") || !strcmp(t, "mime") || !strcmp(t, "handle"))
		group = G_VACATION;
	if (!group || !(sp->tags & group))
		return sieve_error_at(c->err, a->line, a->col, "unknown tag :%s for %s", t,
		                      sp->name);
	int r;
	if (group == G_COPY && (r = need_ext(c, a->line, a->col, SIEVE_EXT_COPY, ":copy")) < 0)
		return r;
	if (group == G_CREATE &&
	    (r = need_ext(c, a->line, a->col, SIEVE_EXT_MAILBOX, ":create")) < 0)
		return r;
	if (group == G_FLAGS &&
	    (r = need_ext(c, a->line, a->col, SIEVE_EXT_IMAP4FLAGS, ":flags")) < 0)
		return r;
	/* One of a kind: a second match type, address part, size or modifier
	 * of the same precedence is as wrong as a repeated tag. */
	unsigned kind = group;
	if (group == G_VACATION) {
		static const char *const vac[] = {"days",      "subject", "from",
		                                  "addresses", "mime",    "handle"};
		for (int i = 0; i < 6; i++)
			if (strcmp(t, vac[i]) == 0)
				kind = 1u << (16 + i);
	}
	if (group == G_MODS) {
		/* Precedences (RFC 5229 §4.1): 40 lower/upper, 30 lowerfirst/
		 * upperfirst, 20 quotewildcard, 10 length. */
		unsigned level = bit & (SIEVE_MOD_LOWER | SIEVE_MOD_UPPER)             ? 0
		                 : bit & (SIEVE_MOD_LOWERFIRST | SIEVE_MOD_UPPERFIRST) ? 1
		                 : bit & SIEVE_MOD_QUOTEWILDCARD                       ? 2
		                                                                       : 3;
		kind = 1u << (24 + level);
		n->modifiers |= bit;
	}
	if (*seen & kind)
		return sieve_error_at(c->err, a->line, a->col,
		                      "tag :%s conflicts with an earlier tag", t);
	*seen |= kind;
	struct sieve_arg *v = a->next;
	if (group == G_CMP) {
		if ((r = single_string(c, v ? v : a, ":comparator")) < 0)
			return r;
		if (strcasecmp(v->strs.s[0], "i;octet") == 0)
			n->comparator = SIEVE_CMP_OCTET;
		else if (strcasecmp(v->strs.s[0], "i;ascii-casemap") == 0)
			n->comparator = SIEVE_CMP_CASEMAP;
		else
			return sieve_error_at(c->err, v->line, v->col,
			                      "unknown comparator \"%.40s\"", v->strs.s[0]);
		*ap = v;
	} else if (group == G_FLAGS) {
		if (!v || v->kind != SIEVE_ARG_STRINGS)
			return sieve_error_at(c->err, a->line, a->col,
			                      ":flags needs a string list");
		n->flags = &v->strs;
		*ap = v;
	} else if (group == G_VACATION && strcmp(t, "mime") == 0) {
		n->mime = true;
	} else if (group == G_VACATION && strcmp(t, "days") == 0) {
		if (!v || v->kind != SIEVE_ARG_NUMBER)
			return sieve_error_at(c->err, a->line, a->col, ":days needs a number");
		n->number = v->num ? v->num : 1;
		*ap = v;
	} else if (group == G_VACATION && strcmp(t, "addresses") == 0) {
		if (!v || v->kind != SIEVE_ARG_STRINGS)
			return sieve_error_at(c->err, a->line, a->col,
			                      ":addresses needs a string list");
		n->addresses = &v->strs;
		*ap = v;
	} else if (group == G_VACATION) {
		char what[20];
		snprintf(what, sizeof what, ":%s", t);
		if ((r = single_string(c, v ? v : a, what)) < 0)
			return r;
		if (t[0] == 's')
			n->subject = &v->strs;
		else if (t[0] == 'f')
			n->from = &v->strs;
		else
			n->handle = &v->strs;
		*ap = v;
	} else if (group == G_COPY) {
		n->copy = true;
	} else if (group == G_CREATE) {
		n->create = true;
	}
	return 0;
}

/* Tags, then the positional arguments against sp->args. */
static int arguments(struct compiler *c, struct sieve_node *n, const struct spec *sp)
{
	unsigned seen = 0;
	struct sieve_arg *pos[4];
	unsigned npos = 0;
	int r;
	if ((c->s->extensions & SIEVE_EXT_ENCODED) && sp->id != SIEVE_CMD_REQUIRE)
		for (struct sieve_arg *a = n->args; a; a = a->next)
			for (size_t i = 0; a->kind == SIEVE_ARG_STRINGS && i < a->strs.n; i++)
				if (sieve_decode_encoded(a->strs.s[i], &a->strs.len[i]) < 0)
					return sieve_error_at(c->err, a->line, a->col,
					                      "encoded character out of range");
	for (struct sieve_arg *a = n->args; a; a = a->next) {
		if (a->kind == SIEVE_ARG_TAG) {
			if (npos)
				return sieve_error_at(c->err, a->line, a->col,
				                      "tag :%s after positional arguments", a->tag);
			if ((r = tag(c, n, sp, &a, &seen)) < 0)
				return r;
			continue;
		}
		if (npos == 3)
			return sieve_error_at(c->err, a->line, a->col, "too many arguments for %s",
			                      sp->name);
		pos[npos++] = a;
	}
	if (sp->tags & G_SIZE && !(seen & G_SIZE))
		return sieve_error_at(c->err, n->line, n->col, "size needs :over or :under");
	const char *want = sp->args;
	bool optional = want[0] == '?';
	if (optional)
		want++;
	size_t nwant = strlen(want);
	if (optional && npos == nwant - 1)
		want++, nwant--;
	else
		optional = false; /* the optional one is there */
	if (npos != nwant) {
		if (npos > nwant)
			return sieve_error_at(c->err, pos[nwant]->line, pos[nwant]->col,
			                      "too many arguments for %s", sp->name);
		return sieve_error_at(c->err, n->line, n->col, "%s needs %zu argument%s", sp->name,
		                      nwant, nwant == 1 ? "" : "s");
	}
	for (unsigned i = 0; i < npos; i++) {
		struct sieve_arg *a = pos[i];
		if (want[i] == 'N') {
			if (a->kind != SIEVE_ARG_NUMBER)
				return sieve_error_at(c->err, a->line, a->col,
				                      "%s needs a number here", sp->name);
			n->number = a->num;
			continue;
		}
		if (a->kind != SIEVE_ARG_STRINGS)
			return sieve_error_at(c->err, a->line, a->col, "%s needs a string%s here",
			                      sp->name, want[i] == 'L' ? " list" : "");
		if (want[i] == 'S' && (r = single_string(c, a, sp->name)) < 0)
			return r;
		n->pos[n->n_pos++] = &a->strs;
	}
	/* The variable names of setflag/addflag/removeflag, hasflag and set. */
	bool varnames = (sp->args[0] == '?' && !optional) || sp->id == SIEVE_CMD_SET;
	if (varnames) {
		if ((r = need_ext(c, pos[0]->line, pos[0]->col, SIEVE_EXT_VARIABLES,
		                  "a variable name")) < 0)
			return r;
		for (size_t i = 0; i < n->pos[0]->n; i++) {
			if ((r = variable_slot(c, pos[0], n->pos[0]->s[i])) < 0)
				return r;
			n->var_index = r;
		}
	} else if (sp->args[0] == '?') {
		n->var_index = -1;
	}
	if (sp->id == SIEVE_CMD_REDIRECT && !strstr(n->pos[0]->s[0], "${") &&
	    !sieve_address_ok(n->pos[0]->s[0]))
		return sieve_error_at(c->err, pos[0]->line, pos[0]->col,
		                      "bad redirect address \"%.60s\"", n->pos[0]->s[0]);
	if (sp->id == SIEVE_TEST_ENVELOPE) {
		for (size_t i = 0; i < n->pos[0]->n; i++) {
			const char *part = n->pos[0]->s[i];
			if (strcasecmp(part, "from") && strcasecmp(part, "to") &&
			    !strstr(part, "${"))
				return sieve_error_at(c->err, pos[0]->line, pos[0]->col,
				                      "unknown envelope part \"%.40s\"", part);
		}
	}
	return 0;
}

static int test(struct compiler *c, struct sieve_node *t);

static int node_tests(struct compiler *c, struct sieve_node *n)
{
	for (struct sieve_node *t = n->tests; t; t = t->next) {
		int r = test(c, t);
		if (r < 0)
			return r;
	}
	return 0;
}

static int test(struct compiler *c, struct sieve_node *t)
{
	const struct spec *sp = find_spec(t->name, true);
	if (!sp)
		return sieve_error_at(c->err, t->line, t->col, "unknown test %s", t->name);
	t->id = sp->id;
	int r;
	if ((r = need_ext(c, t->line, t->col, sp->ext, sp->name)) < 0)
		return r;
	if (t->id == SIEVE_TEST_ALLOF || t->id == SIEVE_TEST_ANYOF) {
		if (!t->test_list)
			return sieve_error_at(c->err, t->line, t->col, "%s needs a list of tests",
			                      sp->name);
	} else if (t->id == SIEVE_TEST_NOT) {
		if (t->n_tests != 1 || t->test_list)
			return sieve_error_at(c->err, t->line, t->col, "not needs one test");
	} else if (t->n_tests) {
		return sieve_error_at(c->err, t->tests->line, t->tests->col, "%s takes no test",
		                      sp->name);
	}
	if ((r = arguments(c, t, sp)) < 0)
		return r;
	return node_tests(c, t);
}

static int commands(struct compiler *c, struct sieve_node *list, bool top);

static int command(struct compiler *c, struct sieve_node *n, const struct sieve_node *prev,
                   bool top)
{
	const struct spec *sp = find_spec(n->name, false);
	if (!sp) {
		if (find_spec(n->name, true))
			return sieve_error_at(c->err, n->line, n->col,
			                      "%s is a test, not a command", n->name);
		return sieve_error_at(c->err, n->line, n->col, "unknown command %s", n->name);
	}
	n->id = sp->id;
	int r;
	if (n->id == SIEVE_CMD_REQUIRE) {
		if (!top || c->seen_other)
			return sieve_error_at(c->err, n->line, n->col,
			                      "require must come before other commands");
	} else {
		c->seen_other = true;
	}
	if ((r = need_ext(c, n->line, n->col, sp->ext, sp->name)) < 0)
		return r;
	if ((n->id == SIEVE_CMD_ELSIF || n->id == SIEVE_CMD_ELSE) &&
	    !(prev && (prev->id == SIEVE_CMD_IF || prev->id == SIEVE_CMD_ELSIF)))
		return sieve_error_at(c->err, n->line, n->col, "%s without if", sp->name);
	bool conditional = n->id == SIEVE_CMD_IF || n->id == SIEVE_CMD_ELSIF;
	bool needs_block = conditional || n->id == SIEVE_CMD_ELSE;
	if (conditional && (n->n_tests != 1 || n->test_list))
		return sieve_error_at(c->err, n->line, n->col, "%s needs one test", sp->name);
	if (!conditional && n->n_tests)
		return sieve_error_at(c->err, n->tests->line, n->tests->col, "%s takes no test",
		                      sp->name);
	if (needs_block && !n->has_block)
		return sieve_error_at(c->err, n->line, n->col, "%s needs a block", sp->name);
	if (!needs_block && n->has_block)
		return sieve_error_at(c->err, n->line, n->col, "%s takes no block", sp->name);
	if ((r = arguments(c, n, sp)) < 0)
		return r;
	if (n->id == SIEVE_CMD_REQUIRE) {
		for (size_t i = 0; i < n->pos[0]->n; i++) {
			unsigned ext = 0;
			for (size_t k = 0; k < sizeof extensions / sizeof extensions[0]; k++)
				if (strcmp(n->pos[0]->s[i], extensions[k].name) == 0)
					ext = extensions[k].ext;
			if (!ext)
				return sieve_error_at(c->err, n->args->line, n->args->col,
				                      "unsupported extension \"%.40s\"",
				                      n->pos[0]->s[i]);
			c->s->extensions |= ext;
		}
	}
	if ((r = node_tests(c, n)) < 0)
		return r;
	return n->has_block ? commands(c, n->block, false) : 0;
}

static int commands(struct compiler *c, struct sieve_node *list, bool top)
{
	const struct sieve_node *prev = NULL;
	for (struct sieve_node *n = list; n; n = n->next) {
		int r = command(c, n, prev, top);
		if (r < 0)
			return r;
		prev = n;
	}
	return 0;
}

int sieve_compile(const char *src, size_t len, const struct sieve_limits *lim,
                  struct sieve_script **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	struct sieve_script *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	if (lim)
		s->limits = *lim;
	else
		sieve_limits_default(&s->limits);
	struct sieve_error e = {0};
	int r;
	if (len > s->limits.max_script_bytes)
		r = sieve_error_at(&e, 1, 1, "script too big (at most %zu bytes)",
		                   s->limits.max_script_bytes);
	else
		r = sieve_parse(src, len, &s->limits, &s->arena, &s->cmds, &e);
	if (r == 0) {
		struct compiler c = {.s = s, .err = &e};
		r = commands(&c, s->cmds, true);
	}
	if (r < 0) {
		if (e.set && errlen)
			snprintf(err, errlen, "%d:%d: %s", e.line, e.col, e.msg);
		else if (errlen)
			snprintf(err, errlen, "out of memory");
		sieve_script_free(&s);
		return e.set ? -EINVAL : -ENOMEM;
	}
	*out = s;
	return 0;
}

void sieve_script_free(struct sieve_script **s)
{
	if (!*s)
		return;
	arena_reset(&(*s)->arena);
	free(*s);
	*s = NULL;
}
