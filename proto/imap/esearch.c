/* esearch: ESEARCH responses (see esearch.h). */
#include "proto/imap/esearch.h"
#include "proto/imap/imap_int.h"
#include "proto/imap/render.h"

#include <stdio.h>
#include <string.h>

#include "lib/buf.h"

static void tag_prefix(struct buf *b, const char *tag, bool uid)
{
	buf_adds(b, "* ESEARCH (TAG ");
	/* a tag is an astring-char run without '+': a quoted string always
	 * holds it (imap_string picks quoted or literal) */
	imap_string(b, tag, strlen(tag));
	buf_addc(b, ')');
	if (uid)
		buf_adds(b, " UID");
}

void imap_esearch_write(struct imap_session *s, const struct imap_esearch *e)
{
	unsigned ret = e->ret;
	if (!(ret & IMAP_SEARCH_RET_DATA))
		return;
	struct arena a = {0};
	struct buf b = {0};
	char num[96];
	size_t n = e->n;
	tag_prefix(&b, e->tag, e->uid);
	if (n && (ret & IMAP_SEARCH_RET_MIN)) {
		snprintf(num, sizeof num, " MIN %u", e->nums[0]);
		buf_adds(&b, num);
	}
	if (n && (ret & IMAP_SEARCH_RET_MAX)) {
		snprintf(num, sizeof num, " MAX %u", e->nums[n - 1]);
		buf_adds(&b, num);
	}
	if (ret & IMAP_SEARCH_RET_COUNT) {
		snprintf(num, sizeof num, " COUNT %zu", n);
		buf_adds(&b, num);
	}
	if (n && (ret & IMAP_SEARCH_RET_ALL)) {
		buf_adds(&b, " ALL ");
		buf_adds(&b, imap_seqset_format(&a, e->nums, n));
	}
	if (ret & IMAP_SEARCH_RET_PARTIAL) {
		const struct imap_partial *p = &e->partial;
		size_t from, to;
		imap_partial_slice(p, n, &from, &to);
		const char *minus = p->from_end ? "-" : "";
		snprintf(num, sizeof num, " PARTIAL (%s%u:%s%u ", minus, p->first, minus,
		         p->second);
		buf_adds(&b, num);
		if (from < to)
			buf_adds(&b, imap_seqset_format(&a, e->nums + from, to - from));
		else
			buf_adds(&b, "NIL");
		buf_addc(&b, ')');
	}
	if (e->has_modseq && n) {
		snprintf(num, sizeof num, " MODSEQ %lld", (long long)e->modseq);
		buf_adds(&b, num);
	}
	buf_adds(&b, "\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	arena_reset(&a);
}

void imap_esearch_write_update(struct imap_session *s, const char *tag, bool uid, const char *what,
                               const uint32_t *nums, size_t n)
{
	if (n == 0)
		return;
	struct arena a = {0};
	struct buf b = {0};
	tag_prefix(&b, tag, uid);
	buf_addc(&b, ' ');
	buf_adds(&b, what);
	buf_adds(&b, " (0 ");
	buf_adds(&b, imap_seqset_format(&a, nums, n));
	buf_adds(&b, ")\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	arena_reset(&a);
}

int imap_esearch_format_positioned(struct buf *out, bool adding, const uint32_t *pos,
                                   const uint32_t *nums, size_t n)
{
	int r = buf_adds(out, " (");
	for (size_t i = 0; i < n && r >= 0;) {
		/* a pair: the run of positions that starts at i */
		size_t j = i + 1;
		while (j < n && pos[j] == (adding ? pos[j - 1] + 1 : pos[i]))
			j++;
		r = buf_printf(out, "%s%u ", i ? " " : "", pos[i]);
		/* its set, in order: steps of one upward become a:b */
		for (size_t k = i; k < j && r >= 0;) {
			size_t e = k + 1;
			while (e < j && nums[e] == nums[e - 1] + 1)
				e++;
			const char *sep = k > i ? "," : "";
			r = e - k > 1 ? buf_printf(out, "%s%u:%u", sep, nums[k], nums[e - 1])
			              : buf_printf(out, "%s%u", sep, nums[k]);
			k = e;
		}
		i = j;
	}
	return r < 0 ? r : buf_addc(out, ')');
}

void imap_esearch_write_update_at(struct imap_session *s, const char *tag, bool uid,
                                  const char *what, const uint32_t *pos, const uint32_t *nums,
                                  size_t n)
{
	if (n == 0)
		return;
	struct buf b = {0};
	tag_prefix(&b, tag, uid);
	buf_addc(&b, ' ');
	buf_adds(&b, what);
	if (imap_esearch_format_positioned(&b, strcmp(what, "ADDTO") == 0, pos, nums, n) == 0 &&
	    buf_adds(&b, "\r\n") == 0)
		imap_write(s, b.data, b.len);
	buf_free(&b);
}
