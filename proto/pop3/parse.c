/* parse: command line splitting (see parse.h). */
#include "proto/pop3/parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int pop3_parse(char *line, size_t len, struct pop3_cmd *cmd)
{
	memset(cmd, 0, sizeof *cmd);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (ch < 0x20 && ch != '\t')
			return -EINVAL;
		if (ch == 0x7f)
			return -EINVAL;
	}
	line[len] = '\0';

	size_t i = 0, v = 0;
	while (i < len && line[i] != ' ') {
		char ch = line[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
			return -EINVAL;
		if (v == POP3_VERB_MAX)
			return -EINVAL;
		cmd->verb[v++] = (char)(ch & ~0x20);
		i++;
	}
	if (v == 0)
		return -EINVAL;
	cmd->verb[v] = '\0';
	cmd->rest_off = len;

	while (i < len) {
		while (i < len && line[i] == ' ')
			line[i++] = '\0';
		if (i == len)
			break;
		if (cmd->nargs == 0)
			cmd->rest_off = i;
		if (cmd->nargs == POP3_MAX_ARGS) {
			cmd->too_many = true;
			break;
		}
		cmd->args[cmd->nargs++] = line + i;
		while (i < len && line[i] != ' ')
			i++;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out, bool *overflow)
{
	uint64_t n = 0;
	*overflow = false;
	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			n = n * 10 + d;
	}
	*out = n;
	return 0;
}

int pop3_parse_msgnum(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t n;
	bool overflow;
	if (parse_u64(s, &n, &overflow) < 0)
		return -EINVAL;
	if (overflow || n == 0 || n > max)
		return -ERANGE;
	*out = (uint32_t)n;
	return 0;
}

int pop3_parse_count(const char *s, int64_t *out)
{
	uint64_t n;
	bool overflow;
	if (parse_u64(s, &n, &overflow) < 0)
		return -EINVAL;
	*out = overflow || n > INT64_MAX ? INT64_MAX : (int64_t)n;
	return 0;
}
