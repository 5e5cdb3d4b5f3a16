/* smtp_body: dot-stuffing and message analysis for the outbound client. */
#include "relay/smtp_body.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool smtp_is_8bit(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

void smtp_body_analyze(const char *data, size_t len, struct smtp_body_info *out)
{
	memset(out, 0, sizeof *out);
	size_t i = 0;
	bool in_header = true;
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		size_t ll = end - i;
		const char *ln = data + i;
		if (in_header) {
			size_t content = ll;
			while (content && (ln[content - 1] == '\n' || ln[content - 1] == '\r'))
				content--;
			if (content == 0) {
				in_header = false;
				out->header_len = end;
			} else if (content >= 9 && strncasecmp(ln, "Received:", 9) == 0) {
				out->received++;
			}
		}
		for (size_t k = 0; k < ll; k++) {
			if ((unsigned char)ln[k] >= 0x80) {
				if (in_header)
					out->header_8bit = true;
				else
					out->body_8bit = true;
				break;
			}
		}
		i = end;
	}
	if (in_header)
		out->header_len = len;
}

char *smtp_body_stuff(const char *data, size_t len, size_t *out_len)
{
	/* Worst case: every byte is LF (-> CRLF) or a line start dot. */
	size_t cap = len * 2 + 8;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t o = 0;
	bool bol = true;
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		if (bol && ch == '.')
			out[o++] = '.';
		bol = false;
		if (ch == '\n') {
			if (i == 0 || data[i - 1] != '\r')
				out[o++] = '\r';
			out[o++] = '\n';
			bol = true;
			continue;
		}
		if (ch == '\r' && (i + 1 >= len || data[i + 1] != '\n')) {
			/* bare CR: make it a line end too */
			out[o++] = '\r';
			out[o++] = '\n';
			bol = true;
			continue;
		}
		out[o++] = ch;
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	*out_len = o;
	return out;
}
