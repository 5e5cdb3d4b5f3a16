/* keywords: JMAP keywords and IMAP flags (see keywords.h). */
#include "proto/jmap/keywords.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "store/mail.h"

int jmap_keyword_norm(const char *kw, char *out)
{
	size_t n = strlen(kw);
	if (n == 0 || n > JMAP_KEYWORD_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)kw[i];
		if (ch < 0x21 || ch > 0x7e || strchr("(){]%*\"\\", ch))
			return -1;
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	return 0;
}

static const struct {
	const char *keyword;
	uint32_t flag;
} system_keywords[] = {
    {"$seen", STORE_FLAG_SEEN},
    {"$flagged", STORE_FLAG_FLAGGED},
    {"$answered", STORE_FLAG_ANSWERED},
    {"$draft", STORE_FLAG_DRAFT},
};

uint32_t jmap_keyword_flag(const char *kw)
{
	for (size_t i = 0; i < sizeof system_keywords / sizeof system_keywords[0]; i++)
		if (strcasecmp(kw, system_keywords[i].keyword) == 0)
			return system_keywords[i].flag;
	return 0;
}

int jmap_keywords_add(json_t *obj, uint32_t flags, const char *keywords)
{
	for (size_t i = 0; i < sizeof system_keywords / sizeof system_keywords[0]; i++)
		if ((flags & system_keywords[i].flag) &&
		    json_object_set_new(obj, system_keywords[i].keyword, json_true()) < 0)
			return -ENOMEM;
	const char *p = keywords ? keywords : "";
	while (*p) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		size_t n = (size_t)(e - p);
		char kw[JMAP_KEYWORD_MAX + 1], norm[JMAP_KEYWORD_MAX + 1];
		if (n && n <= JMAP_KEYWORD_MAX) {
			memcpy(kw, p, n);
			kw[n] = '\0';
			/* An IMAP keyword JMAP cannot spell is left out. */
			if (jmap_keyword_norm(kw, norm) == 0 &&
			    json_object_set_new(obj, norm, json_true()) < 0)
				return -ENOMEM;
		}
		p = e;
	}
	return 0;
}
