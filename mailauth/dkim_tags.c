/* dkim_tags: the RFC 6376 §3.2 tag-list parser (dkim_tags.h).
 *
 *   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  = ALPHA *ALNUMPUNC         (ALNUMPUNC: ALPHA DIGIT "_")
 *   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]   tval = 1*VALCHAR
 *   VALCHAR   = %x21-3A / %x3C-7E
 *
 * FWS is taken as any run of SP, HTAB, CR and LF: the callers hand in an
 * unfolded or a raw folded header value, and a TXT record may hold none. */
#include "mailauth/dkim_tags.h"

#include <string.h>

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_valchar(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 0x21 && u <= 0x7e && u != ';';
}

static size_t skip_ws(const char *in, size_t len, size_t i)
{
	while (i < len && is_ws(in[i]))
		i++;
	return i;
}

int dkim_tags_parse(const char *in, size_t len, struct dkim_tags *out)
{
	out->n = 0;
	size_t i = 0;
	for (;;) {
		i = skip_ws(in, len, i);
		if (i == len)
			return 0; /* empty list, or a trailing ';' */
		if (!is_alpha(in[i]))
			return -1;
		size_t name = i;
		while (i < len &&
		       (is_alpha(in[i]) || (in[i] >= '0' && in[i] <= '9') || in[i] == '_'))
			i++;
		size_t name_len = i - name;
		i = skip_ws(in, len, i);
		if (i == len || in[i] != '=')
			return -1;
		i++;
		size_t raw = i;
		i = skip_ws(in, len, i);
		size_t val = i, val_end = i;
		while (i < len && in[i] != ';') {
			if (is_valchar(in[i]))
				val_end = i + 1;
			else if (!is_ws(in[i]))
				return -1;
			i++;
		}
		if (out->n == DKIM_TAGS_MAX)
			return -1;
		for (size_t k = 0; k < out->n; k++)
			if (out->tag[k].name_len == name_len &&
			    memcmp(out->tag[k].name, in + name, name_len) == 0)
				return -1;
		struct dkim_tag *t = &out->tag[out->n++];
		t->name = in + name;
		t->name_len = name_len;
		t->value = in + val;
		t->value_len = val_end - val;
		t->value_off = raw;
		t->value_end = i;
		if (i == len)
			return 0;
		i++; /* ';' */
	}
}

const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == n && memcmp(t->tag[i].name, name, n) == 0)
			return &t->tag[i];
	return NULL;
}

bool dkim_tag_is(const struct dkim_tag *t, const char *s)
{
	size_t n = strlen(s);
	return t && t->value_len == n && memcmp(t->value, s, n) == 0;
}
