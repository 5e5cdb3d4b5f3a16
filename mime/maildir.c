/* maildir: Maildir file names, dovecot-uidlist and dovecot-keywords lines
 * (maildir.h). Every function reads only the bytes it is given. */
#include "mime/maildir.h"
#include "lib/mutf7.h"

#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal uint32 at s[*i..len), at least one digit; advances *i. */
static bool read_u32(const char *s, size_t len, size_t *i, uint32_t *out)
{
	uint64_t v = 0;
	size_t st = *i;
	while (*i < len && is_digit(s[*i])) {
		v = v * 10 + (uint64_t)(s[*i] - '0');
		if (v > UINT32_MAX)
			return false;
		(*i)++;
	}
	*out = (uint32_t)v;
	return *i > st;
}

int maildir_name_parse(const char *name, size_t len, struct maildir_name *out)
{
	*out = (struct maildir_name){.base_len = len, .time = -1};
	if (len == 0 || name[0] == '.' || memchr(name, '/', len) || memchr(name, '\0', len))
		return -1;
	int64_t t = 0;
	size_t i = 0;
	while (i < len && is_digit(name[i]) && i < 12)
		t = t * 10 + (name[i++] - '0');
	if (i > 0 && (i == len || !is_digit(name[i])))
		out->time = t;
	const char *colon = memchr(name, ':', len);
	if (!colon)
		return 0;
	out->base_len = (size_t)(colon - name);
	size_t rest = len - out->base_len - 1;
	const char *info = colon + 1;
	if (rest < 2 || info[0] != '2' || info[1] != ',')
		return 0; /* an info of another version: no flags */
	for (size_t k = 2; k < rest; k++) {
		char c = info[k];
		switch (c) {
		case 'D':
			out->flags |= MAIL_FLAG_DRAFT;
			break;
		case 'F':
			out->flags |= MAIL_FLAG_FLAGGED;
			break;
		case 'R':
			out->flags |= MAIL_FLAG_ANSWERED;
			break;
		case 'S':
			out->flags |= MAIL_FLAG_SEEN;
			break;
		case 'T':
			out->flags |= MAIL_FLAG_DELETED;
			break;
		default:
			if (c >= 'a' && c <= 'z')
				out->keywords |= 1u << (c - 'a');
			break;
		}
	}
	return 0;
}

int maildir_name_format(char *out, size_t cap, int64_t time, uint32_t uid, unsigned pid,
                        uint64_t size, uint64_t vsize, unsigned flags, uint32_t keywords)
{
	char info[8 + MAILDIR_MAX_KEYWORDS];
	size_t n = 0;
	/* ASCII order, as the Maildir specification asks */
	if (flags & MAIL_FLAG_DRAFT)
		info[n++] = 'D';
	if (flags & MAIL_FLAG_FLAGGED)
		info[n++] = 'F';
	if (flags & MAIL_FLAG_ANSWERED)
		info[n++] = 'R';
	if (flags & MAIL_FLAG_SEEN)
		info[n++] = 'S';
	if (flags & MAIL_FLAG_DELETED)
		info[n++] = 'T';
	for (unsigned k = 0; k < MAILDIR_MAX_KEYWORDS; k++)
		if (keywords & (1u << k))
			info[n++] = (char)('a' + k);
	info[n] = '\0';
	int w = snprintf(out, cap, "%lld.M%uP%u.tern,S=%llu,W=%llu:2,%s", (long long)time, uid, pid,
	                 (unsigned long long)size, (unsigned long long)vsize, info);
	return w < 0 || (size_t)w >= cap ? -1 : w;
}

int uidlist_header_parse(const char *line, size_t len, struct uidlist_header *out)
{
	*out = (struct uidlist_header){0};
	size_t i = 0;
	uint32_t version;
	if (!read_u32(line, len, &i, &version) || (version != 1 && version != 3))
		return -1;
	out->version = version;
	if (version == 1) {
		/* "1 <uidvalidity> <nextuid>" */
		if (i >= len || line[i++] != ' ' || !read_u32(line, len, &i, &out->uidvalidity))
			return -1;
		if (i >= len || line[i++] != ' ' || !read_u32(line, len, &i, &out->nextuid))
			return -1;
		return i == len && out->uidvalidity ? 0 : -1;
	}
	/* "3 V<uidvalidity> N<nextuid> G<guid> ...": keys in any order */
	bool have_v = false, have_n = false;
	while (i < len) {
		if (line[i++] != ' ')
			return -1;
		if (i >= len)
			break;
		char key = line[i++];
		if (key == 'V' || key == 'N') {
			uint32_t v;
			if (!read_u32(line, len, &i, &v))
				return -1;
			if (key == 'V')
				out->uidvalidity = v, have_v = true;
			else
				out->nextuid = v, have_n = true;
			if (i < len && line[i] != ' ')
				return -1;
		} else {
			while (i < len && line[i] != ' ')
				i++;
		}
	}
	return have_v && have_n && out->uidvalidity ? 0 : -1;
}

int uidlist_line_parse(unsigned version, const char *line, size_t len, struct uidlist_entry *out)
{
	*out = (struct uidlist_entry){0};
	size_t i = 0;
	if (!read_u32(line, len, &i, &out->uid) || out->uid == 0)
		return -1;
	if (i >= len || line[i] != ' ')
		return -1;
	if (version == 1) {
		out->base = line + i + 1;
		out->base_len = len - i - 1;
	} else {
		/* extensions ("S1234", "W1300", "G<guid>") up to the ':' field */
		while (i < len && line[i] == ' ') {
			i++;
			if (i < len && line[i] == ':') {
				out->base = line + i + 1;
				out->base_len = len - i - 1;
				break;
			}
			while (i < len && line[i] != ' ')
				i++;
		}
		if (!out->base)
			return -1;
	}
	struct maildir_name nm;
	if (maildir_name_parse(out->base, out->base_len, &nm) < 0 || nm.base_len != out->base_len)
		return -1;
	return 0;
}

int dovecot_keywords_line_parse(const char *line, size_t len, unsigned *index, const char **name,
                                size_t *name_len)
{
	size_t i = 0;
	uint32_t idx;
	if (!read_u32(line, len, &i, &idx) || idx >= MAILDIR_MAX_KEYWORDS)
		return -1;
	if (i >= len || line[i] != ' ' || i + 1 >= len)
		return -1;
	*index = idx;
	*name = line + i + 1;
	*name_len = len - i - 1;
	return 0;
}

bool mail_keyword_valid(const char *kw, size_t len)
{
	if (len == 0 || len > 250 || kw[0] == '\\')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)kw[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c))
			return false;
	}
	return true;
}

int maildir_folder_encode(const char *name, char *out, size_t cap)
{
	size_t n = 0, len = strlen(name);
	if (len == 0 || cap < 2)
		return -1;
	out[n++] = '.';
	for (size_t i = 0; i <= len;) {
		size_t st = i;
		while (i < len && name[i] != '/')
			i++;
		if (i == st)
			return -1; /* an empty level */
		char enc[1024];
		ssize_t e = mutf7_encode(name + st, i - st, enc, sizeof enc);
		if (e < 0)
			return -1;
		for (ssize_t k = 0; k < e; k++) {
			const char *piece = enc[k] == '.' ? "&AC4-" : (char[2]){enc[k], 0};
			size_t pl = strlen(piece);
			if (n + pl + 1 >= cap)
				return -1;
			memcpy(out + n, piece, pl);
			n += pl;
		}
		if (i == len)
			break;
		if (n + 2 >= cap)
			return -1;
		out[n++] = '.';
		i++;
		if (i == len)
			return -1; /* "A/" */
	}
	out[n] = '\0';
	return (int)n;
}

int maildir_folder_decode(const char *dir, size_t len, char *out, size_t cap)
{
	if (len < 2 || dir[0] != '.' || cap == 0)
		return -1;
	size_t n = 0;
	for (size_t i = 1; i <= len;) {
		size_t st = i;
		while (i < len && dir[i] != '.')
			i++;
		if (i == st)
			return -1;
		/* "&AC4-" -> '.', then strict modified UTF-7 */
		char lvl[1024];
		size_t ln = 0;
		for (size_t k = st; k < i;) {
			if (ln + 1 >= sizeof lvl)
				return -1;
			if (i - k >= 5 && memcmp(dir + k, "&AC4-", 5) == 0) {
				lvl[ln++] = '.';
				k += 5;
			} else {
				lvl[ln++] = dir[k++];
			}
		}
		if (n > 0) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = '/';
		}
		ssize_t d = mutf7_decode(lvl, ln, out + n, cap - n);
		if (d < 0 || memchr(out + n, '/', (size_t)d))
			return -1;
		n += (size_t)d;
		if (i == len)
			break;
		i++;
		if (i == len)
			return -1; /* ".A." */
	}
	out[n] = '\0';
	return (int)n;
}
