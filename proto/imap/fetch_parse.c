/* fetch_parse: FETCH attribute and modifier parsing (fetch.h).
 *
 * The parser (parser.c) hands an attribute with a section as ONE atom, e.g.
 * "BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>". This file splits it into
 * name, section and partial, and checks the section against the RFC 9051
 * grammar:
 *
 *   section-spec  = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
 *   section-part  = nz-number *("." nz-number)
 *   section-text  = section-msgtext / "MIME"
 *   section-binary = "[" [section-part] "]"
 */
#include "proto/imap/fetch.h"
#include "proto/imap/imap_int.h"
#include "proto/imap/parser.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool prefix_ci(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	return n >= pl && strncasecmp(s, p, pl) == 0;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" where a name
 * is an astring (atom or quoted; no literals inside a section). */
static int header_list_check(const char *s, size_t n)
{
	size_t i = 0, names = 0;
	if (n < 2 || s[0] != '(' || s[n - 1] != ')')
		return -EINVAL;
	i = 1;
	n--; /* s[n] is ')' */
	while (i < n) {
		if (names > 0) {
			if (s[i] != ' ')
				return -EINVAL;
			i++;
		}
		if (i >= n)
			return -EINVAL;
		if (s[i] == '"') {
			i++;
			while (i < n && s[i] != '"') {
				if (s[i] == '\\')
					i++;
				i++;
			}
			if (i >= n)
				return -EINVAL;
			i++;
		} else {
			size_t st = i;
			while (i < n && s[i] != ' ') {
				unsigned char c = (unsigned char)s[i];
				/* ATOM-CHARs but ':', which ends a field name; an
				 * 8-bit byte passes (it always has here) */
				if ((c < 0x80 && !imap_is_atom_char(c)) || c == ':')
					return -EINVAL;
				i++;
			}
			if (i == st)
				return -EINVAL;
		}
		names++;
	}
	return names > 0 ? 0 : -EINVAL;
}

static int msgtext_check(const char *s, size_t n, bool allow_mime)
{
	if (n == 4 && strncasecmp(s, "TEXT", 4) == 0)
		return 0;
	if (n == 6 && strncasecmp(s, "HEADER", 6) == 0)
		return 0;
	if (allow_mime && n == 4 && strncasecmp(s, "MIME", 4) == 0)
		return 0;
	if (prefix_ci(s, n, "HEADER.FIELDS.NOT "))
		return header_list_check(s + 18, n - 18);
	if (prefix_ci(s, n, "HEADER.FIELDS "))
		return header_list_check(s + 14, n - 14);
	return -EINVAL;
}

int imap_fetch_section_check(const char *s, size_t n, bool binary)
{
	size_t i = 0;
	bool part = false;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (s[i] == '0')
			return -EINVAL; /* nz-number */
		size_t st = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i - st > 9)
			return -EINVAL;
		part = true;
		if (i == n)
			return 0;
		if (s[i] != '.')
			return -EINVAL;
		i++;
		if (i == n)
			return -EINVAL;
	}
	if (binary)
		return i == n ? 0 : -EINVAL;
	if (i == n)
		return 0; /* "" */
	return msgtext_check(s + i, n - i, part);
}

/* Parse "<offset.count>" at s[0..n). */
static int partial_parse(const char *s, size_t n, uint64_t *off, uint64_t *cnt)
{
	size_t i = 1;
	uint64_t v = 0;
	if (n < 5 || s[0] != '<' || s[n - 1] != '>')
		return -EINVAL;
	int digits = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (++digits > 19)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i++] - '0');
	}
	if (!digits || i >= n || s[i] != '.')
		return -EINVAL;
	*off = v;
	i++;
	v = 0;
	digits = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (++digits > 19)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i++] - '0');
	}
	if (!digits || i != n - 1 || v == 0)
		return -EINVAL; /* nz-number */
	*cnt = v;
	return 0;
}

static int add(struct imap_fetch_spec *f, struct imap_fetch_att *att, size_t cap)
{
	if (f->n >= cap)
		return -EINVAL;
	f->atts[f->n++] = *att;
	return 0;
}

static const struct {
	const char *name;
	enum imap_fetch_kind kind;
} simple[] = {
    {"FLAGS", IMAP_FA_FLAGS},
    {"INTERNALDATE", IMAP_FA_INTERNALDATE},
    {"RFC822.SIZE", IMAP_FA_RFC822_SIZE},
    {"ENVELOPE", IMAP_FA_ENVELOPE},
    {"BODY", IMAP_FA_BODY},
    {"BODYSTRUCTURE", IMAP_FA_BODYSTRUCTURE},
    {"UID", IMAP_FA_UID},
    {"MODSEQ", IMAP_FA_MODSEQ},
    {"RFC822", IMAP_FA_RFC822},
    {"RFC822.HEADER", IMAP_FA_RFC822_HEADER},
    {"RFC822.TEXT", IMAP_FA_RFC822_TEXT},
    {"EMAILID", IMAP_FA_EMAILID},
    {"THREADID", IMAP_FA_THREADID},
    {"SAVEDATE", IMAP_FA_SAVEDATE},
    {"PREVIEW", IMAP_FA_PREVIEW},
};

/* PREVIEW's modifier list "(LAZY)" (RFC 8970 §4: preview-mod = "LAZY"),
 * applied to the attribute just added. 0 or -EINVAL. */
static int preview_mods(struct imap_fetch_spec *f, const struct imap_arg *l, const char **err)
{
	struct imap_fetch_att *att = f->n ? &f->atts[f->n - 1] : NULL;
	if (!att || att->kind != IMAP_FA_PREVIEW || l->type != IMAP_ARG_LIST || l->nlist == 0) {
		*err = "Invalid FETCH attribute";
		return -EINVAL;
	}
	for (size_t i = 0; i < l->nlist; i++) {
		if (!imap_arg_is_atom(&l->list[i], "LAZY")) {
			*err = "Unknown PREVIEW modifier";
			return -EINVAL;
		}
	}
	att->lazy = true;
	return 0;
}

static int parse_att(const char *s, size_t n, struct imap_fetch_spec *f, struct arena *a,
                     const char **err)
{
	struct imap_fetch_att att = {0};
	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
		if (strlen(simple[i].name) == n && strncasecmp(s, simple[i].name, n) == 0) {
			att.kind = simple[i].kind;
			att.name = simple[i].name;
			return add(f, &att, IMAP_FETCH_MAX_ATTS);
		}
	}
	size_t plen;
	const char *rname;
	if (prefix_ci(s, n, "BODY.PEEK[")) {
		att.kind = IMAP_FA_SECTION, att.peek = true, plen = 10, rname = "BODY";
	} else if (prefix_ci(s, n, "BODY[")) {
		att.kind = IMAP_FA_SECTION, plen = 5, rname = "BODY";
	} else if (prefix_ci(s, n, "BINARY.PEEK[")) {
		att.kind = IMAP_FA_BINARY, att.peek = true, plen = 12, rname = "BINARY";
	} else if (prefix_ci(s, n, "BINARY.SIZE[")) {
		att.kind = IMAP_FA_BINARY_SIZE, att.peek = true, plen = 12, rname = "BINARY.SIZE";
	} else if (prefix_ci(s, n, "BINARY[")) {
		att.kind = IMAP_FA_BINARY, plen = 7, rname = "BINARY";
	} else {
		*err = "Unknown FETCH attribute";
		return -EINVAL;
	}
	/* find the ']' that closes the section (quoted strings may hold one) */
	size_t i = plen;
	bool q = false;
	for (; i < n; i++) {
		if (q && s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == ']')
			break;
	}
	if (i >= n) {
		*err = "Missing ] in FETCH section";
		return -EINVAL;
	}
	att.section = imap_arena_strndup(a, s + plen, i - plen);
	att.section_len = i - plen;
	if (imap_fetch_section_check(att.section, att.section_len, att.kind != IMAP_FA_SECTION) <
	    0) {
		*err = "Invalid FETCH section";
		return -EINVAL;
	}
	i++;
	if (i < n) {
		if (att.kind == IMAP_FA_BINARY_SIZE ||
		    partial_parse(s + i, n - i, &att.offset, &att.count) < 0) {
			*err = "Invalid FETCH partial";
			return -EINVAL;
		}
		att.partial = true;
	}
	if (att.partial)
		att.name = imap_arena_printf(a, "%s[%.*s]<%llu>", rname, (int)att.section_len,
		                             att.section, (unsigned long long)att.offset);
	else
		att.name =
		    imap_arena_printf(a, "%s[%.*s]", rname, (int)att.section_len, att.section);
	if (add(f, &att, IMAP_FETCH_MAX_ATTS) < 0) {
		*err = "Too many FETCH attributes";
		return -EINVAL;
	}
	return 0;
}

bool imap_fetch_has(const struct imap_fetch_spec *f, enum imap_fetch_kind k)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->atts[i].kind == k)
			return true;
	return false;
}

int imap_fetch_parse(const struct imap_arg *atts, const struct imap_arg *mods, bool uid,
                     struct arena *a, struct imap_fetch_spec *f, const char **err)
{
	memset(f, 0, sizeof *f);
	f->changedsince = -1;
	f->atts = imap_arena_alloc(a, sizeof *f->atts * (IMAP_FETCH_MAX_ATTS + 4));
	*err = "Invalid FETCH arguments";
	if (!atts)
		return -EINVAL;
	int r = 0;
	if (atts->type == IMAP_ARG_ATOM) {
		static const char *const all[] = {"FLAGS", "INTERNALDATE", "RFC822.SIZE",
		                                  "ENVELOPE", "BODY"};
		size_t nm = 0;
		if (strcasecmp(atts->str, "ALL") == 0)
			nm = 4;
		else if (strcasecmp(atts->str, "FAST") == 0)
			nm = 3;
		else if (strcasecmp(atts->str, "FULL") == 0)
			nm = 5;
		if (nm) {
			for (size_t i = 0; i < nm; i++)
				parse_att(all[i], strlen(all[i]), f, a, err);
		} else {
			r = parse_att(atts->str, atts->len, f, a, err);
			/* "FETCH 1 PREVIEW (LAZY)": the list is PREVIEW's, not FETCH's */
			if (r == 0 && mods && mods->type == IMAP_ARG_LIST && mods->nlist > 0 &&
			    f->atts[f->n - 1].kind == IMAP_FA_PREVIEW &&
			    imap_arg_is_atom(&mods->list[0], "LAZY")) {
				r = preview_mods(f, mods, err);
				mods = NULL;
			}
		}
	} else if (atts->type == IMAP_ARG_LIST) {
		if (atts->nlist == 0) {
			*err = "Empty FETCH attribute list";
			return -EINVAL;
		}
		for (size_t i = 0; r == 0 && i < atts->nlist; i++) {
			if (atts->list[i].type == IMAP_ARG_LIST && i > 0) {
				r = preview_mods(f, &atts->list[i], err);
				continue;
			}
			if (atts->list[i].type != IMAP_ARG_ATOM) {
				*err = "Invalid FETCH attribute";
				return -EINVAL;
			}
			r = parse_att(atts->list[i].str, atts->list[i].len, f, a, err);
		}
	} else {
		return -EINVAL;
	}
	if (r < 0)
		return r;

	if (mods) {
		if (mods->type != IMAP_ARG_LIST || mods->nlist == 0) {
			*err = "Invalid FETCH modifiers";
			return -EINVAL;
		}
		for (size_t i = 0; i < mods->nlist; i++) {
			const struct imap_arg *m = &mods->list[i];
			uint64_t v;
			if (imap_arg_is_atom(m, "CHANGEDSINCE") && f->changedsince < 0 &&
			    i + 1 < mods->nlist && imap_arg_u64(&mods->list[i + 1], &v)) {
				f->changedsince = (int64_t)v;
				i++;
			} else if (imap_arg_is_atom(m, "VANISHED") && !f->vanished) {
				f->vanished = true;
			} else if (imap_arg_is_atom(m, "PARTIAL") && !f->has_partial) {
				const struct imap_arg *rg =
				    i + 1 < mods->nlist ? &mods->list[++i] : NULL;
				if (!rg || rg->type != IMAP_ARG_ATOM ||
				    imap_partial_parse(rg->str, rg->len, &f->partial) < 0) {
					*err = "Invalid PARTIAL range";
					return -EINVAL;
				}
				f->has_partial = true;
			} else {
				*err = "Unknown FETCH modifier";
				return -EINVAL;
			}
		}
		if (f->has_partial && !uid) {
			*err = "PARTIAL needs UID FETCH";
			return -EINVAL;
		}
		if (f->vanished && (!uid || f->changedsince < 0)) {
			*err = "VANISHED needs UID FETCH and CHANGEDSINCE";
			return -EINVAL;
		}
	}

	struct imap_fetch_att extra = {0};
	if (uid && !imap_fetch_has(f, IMAP_FA_UID)) {
		/* UID first, as most servers do */
		memmove(f->atts + 1, f->atts, f->n * sizeof *f->atts);
		f->atts[0] = (struct imap_fetch_att){.kind = IMAP_FA_UID, .name = "UID"};
		f->n++;
	}
	if (f->changedsince >= 0 && !imap_fetch_has(f, IMAP_FA_MODSEQ)) {
		extra.kind = IMAP_FA_MODSEQ;
		extra.name = "MODSEQ";
		f->atts[f->n++] = extra;
	}
	bool beyond_header = false; /* some attribute needs more than the top-level header */
	for (size_t i = 0; i < f->n; i++) {
		struct imap_fetch_att *t = &f->atts[i];
		switch (t->kind) {
		case IMAP_FA_SECTION:
		case IMAP_FA_BINARY:
			if (!t->peek)
				f->sets_seen = true;
			if (t->section_len > 0) {
				f->needs_message = true;
				if (t->kind != IMAP_FA_SECTION || t->section_len < 6 ||
				    strncasecmp(t->section, "HEADER", 6) != 0)
					beyond_header = true;
			}
			break;
		case IMAP_FA_BINARY_SIZE:
			f->needs_message = true;
			beyond_header = true;
			break;
		case IMAP_FA_RFC822:
			f->sets_seen = true;
			break;
		case IMAP_FA_RFC822_TEXT:
			f->sets_seen = true;
			f->needs_message = true;
			beyond_header = true;
			break;
		case IMAP_FA_RFC822_HEADER:
			f->needs_message = true;
			break;
		case IMAP_FA_ENVELOPE:
		case IMAP_FA_BODY:
		case IMAP_FA_BODYSTRUCTURE:
		case IMAP_FA_PREVIEW:
			f->needs_info = true;
			break;
		default:
			break;
		}
	}
	f->header_only = f->needs_message && !beyond_header && !f->needs_info;
	return 0;
}
