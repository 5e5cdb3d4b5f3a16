/* test_imap_binary: BINARY[section] of a part, mapped once and then read a
 * range at a time (proto/imap/section.h).
 *
 * What must hold, on random and broken input of every transfer encoding:
 * imap_binary_decode() gives the bytes mime_decode_body() gives, its map's
 * size is their length, and imap_binary_range() of any (offset, length)
 * gives the same bytes as that slice of the whole decode, reading the raw
 * body through a callback (counted here, so that a range near the end is
 * seen to read little). */
#include "mime/section.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

/* memcmp() for buffers that may be NULL when n is 0. */
static bool same(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

struct source {
	const char *msg;
	size_t len;
	size_t bytes_read, reads;
	bool fail;
};

static ssize_t read_msg(void *ud, uint64_t off, char *buf, size_t len)
{
	struct source *s = ud;
	if (s->fail)
		return -EIO;
	if (off >= s->len)
		return 0;
	size_t n = s->len - off < len ? (size_t)(s->len - off) : len;
	memcpy(buf, s->msg + off, n);
	s->bytes_read += n;
	s->reads++;
	return (ssize_t)n;
}

/* A message whose part `part` ("1" for a single part) is checked. */
static void check_message(const char *msg, size_t len, const char *part, const char *what)
{
	struct mime_message *m = NULL;
	if (mime_parse(msg, len, &m) < 0) {
		CHECK(0, "%s: parse failed", what);
		return;
	}
	const struct mime_part *p = imap_part_find(m, part, strlen(part));
	CHECK(p != NULL, "%s: part %s", what, part);
	if (!p) {
		mime_free(&m);
		return;
	}
	struct buf want = {0}, got = {0};
	int rw;
	if ((p->flags & MIME_PART_MULTIPART) || p->message)
		rw = buf_add(&want, msg + p->body_start, p->size);
	else
		rw = mime_decode_body(m, p, &want);
	struct imap_binary_map map;
	int rg = imap_binary_decode(m, p, &got, &map);
	CHECK(rw == rg, "%s: decode %d, mime_decode_body %d", what, rg, rw);
	if (rg < 0) {
		buf_free(&want);
		buf_free(&got);
		mime_free(&m);
		return;
	}
	CHECK(got.len == want.len && same(got.data, want.data, want.len),
	      "%s: decoded %zu bytes, want %zu", what, got.len, want.len);
	CHECK(map.size == want.len, "%s: map size %llu, want %zu", what,
	      (unsigned long long)map.size, want.len);
	CHECK(map.nmarks >= 1 && map.nmarks <= IMAP_BINARY_MAX_MARKS + 1, "%s: %zu marks", what,
	      map.nmarks);

	struct source src = {.msg = msg, .len = len};
	struct buf r = {0};
	/* whole, empty, past the end, and the edges */
	uint64_t fixed[][2] = {{0, UINT64_MAX},
	                       {0, 0},
	                       {want.len, 10},
	                       {want.len + 5, 10},
	                       {want.len ? want.len - 1 : 0, 10},
	                       {0, 1}};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		uint64_t off = fixed[i][0], n = fixed[i][1];
		buf_reset(&r);
		int rc = imap_binary_range(&map, off, n, read_msg, &src, &r);
		size_t from = off < want.len ? (size_t)off : want.len;
		size_t cnt = n < want.len - from ? (size_t)n : want.len - from;
		CHECK(rc == 0 && r.len == cnt && same(r.data, want.data + from, cnt),
		      "%s: range %llu+%llu: rc %d, %zu bytes, want %zu", what,
		      (unsigned long long)off, (unsigned long long)n, rc, r.len, cnt);
	}
	/* random ranges, and the chunks of a chunked download */
	for (int i = 0; i < 200; i++) {
		size_t off = below(want.len + 2), n = 1 + below(i % 3 ? 70000 : 300);
		buf_reset(&r);
		int rc = imap_binary_range(&map, off, n, read_msg, &src, &r);
		size_t from = off < want.len ? off : want.len;
		size_t cnt = n < want.len - from ? n : want.len - from;
		CHECK(rc == 0 && r.len == cnt && same(r.data, want.data + from, cnt),
		      "%s: range %zu+%zu: rc %d, %zu bytes, want %zu", what, off, n, rc, r.len,
		      cnt);
	}
	/* across and right at every checkpoint, where a decoder resumes */
	for (size_t k = 0; k < map.nmarks; k++) {
		for (int d = -3; d <= 1; d++) {
			uint64_t off = map.marks[k].dec, n = 7;
			if ((int64_t)off + d < 0)
				continue;
			off = (uint64_t)((int64_t)off + d);
			buf_reset(&r);
			int rc = imap_binary_range(&map, off, n, read_msg, &src, &r);
			size_t from = off < want.len ? (size_t)off : want.len;
			size_t cnt = n < want.len - from ? (size_t)n : want.len - from;
			CHECK(rc == 0 && r.len == cnt && same(r.data, want.data + from, cnt),
			      "%s: range %llu+%llu at mark %zu: rc %d, %zu bytes, want %zu", what,
			      (unsigned long long)off, (unsigned long long)n, k, rc, r.len, cnt);
		}
	}
	struct buf joined = {0};
	for (size_t off = 0; off < want.len; off += 65536) {
		buf_reset(&r);
		CHECK(imap_binary_range(&map, off, 65536, read_msg, &src, &r) == 0, "%s: chunk",
		      what);
		buf_add(&joined, r.data, r.len);
	}
	CHECK(joined.len == want.len && same(joined.data, want.data, want.len),
	      "%s: 64 KiB chunks joined differ", what);
	/* a read error is reported */
	src.fail = true;
	buf_reset(&r);
	CHECK(want.len == 0 || imap_binary_range(&map, 0, 10, read_msg, &src, &r) == -EIO,
	      "%s: read error", what);
	buf_free(&joined);
	buf_free(&r);
	buf_free(&want);
	buf_free(&got);
	imap_binary_map_free(&map);
	mime_free(&m);
}

static char *single(const char *cte, const char *body, size_t blen, size_t *len)
{
	char head[200];
	int hl = snprintf(head, sizeof head,
	                  "Subject: x\r\nContent-Type: application/octet-stream\r\n"
	                  "Content-Transfer-Encoding: %s\r\n\r\n",
	                  cte);
	char *m = malloc((size_t)hl + blen);
	memcpy(m, head, (size_t)hl);
	memcpy(m + hl, body, blen);
	*len = (size_t)hl + blen;
	return m;
}

/* base64 as senders write it, and as they break it: 76-column lines,
 * other widths, blanks and junk between characters, "=" padding in the
 * middle (concatenated encodings), a last quantum cut short. */
static char *b64_body(size_t n, bool broken, size_t *blen)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *b = malloc(n * 2 + 16);
	size_t w = 0, col = 0, width = broken ? 1 + below(100) : 76;
	for (size_t i = 0; i < n; i++) {
		b[w++] = al[below(64)];
		if (broken) {
			size_t k = below(200);
			if (k == 0)
				b[w++] = '=';
			else if (k == 1)
				b[w++] = (char)(0x80 + below(128));
			else if (k == 2)
				b[w++] = ' ';
			else if (k == 3)
				b[w++] = '\n';
		}
		if (++col == width) {
			b[w++] = '\r';
			b[w++] = '\n';
			col = 0;
		}
	}
	*blen = w;
	return b;
}

/* quoted-printable with soft breaks, escapes (some cut by a line end or
 * the end of the body), trailing blanks, bare LFs and CRs, and with long
 * enough lines, one line longer than a piece of the range reader. */
static char *qp_body(size_t n, bool long_line, size_t *blen)
{
	static const char *const toks[] = {"=3D", "=\r\n", "=C3=A9", " \r\n", "\t",  "abc",
	                                   "=",   "=4",    "\r\n",   "\n",    "\r",  "  =\r\n",
	                                   "x",   "=ZZ",   "=0D=0A", "word ", "=\n", "\r\n\r\n"};
	char *b = malloc(n + 400000);
	size_t w = 0;
	while (w < n) {
		if (long_line && w > n / 2 && w < n / 2 + 16) {
			memset(b + w, 'L', 300000);
			w += 300000;
			continue;
		}
		const char *t = toks[below(sizeof toks / sizeof toks[0])];
		memcpy(b + w, t, strlen(t));
		w += strlen(t);
	}
	*blen = w;
	return b;
}

int main(void)
{
	size_t sizes[] = {0, 1, 3, 77, 5000, 70000, 200001, 900000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (int broken = 0; broken < 2; broken++) {
			char what[64];
			size_t blen, len;
			char *body = b64_body(sizes[i], broken, &blen);
			char *msg = single("base64", body, blen, &len);
			snprintf(what, sizeof what, "base64 %zu%s", sizes[i],
			         broken ? " broken" : "");
			check_message(msg, len, "1", what);
			free(msg);
			free(body);

			body = qp_body(sizes[i], broken && sizes[i] > 100000, &blen);
			msg = single("Quoted-Printable", body, blen, &len);
			snprintf(what, sizeof what, "qp %zu%s", sizes[i],
			         broken ? " long line" : "");
			check_message(msg, len, "1", what);
			free(msg);
			free(body);

			body = qp_body(sizes[i], false, &blen);
			msg = single("8bit", body, blen, &len);
			snprintf(what, sizeof what, "identity %zu", sizes[i]);
			check_message(msg, len, "1", what);
			free(msg);
			free(body);
		}
	}

	/* parts of a multipart: BINARY of a message/rfc822 part is its raw
	 * body; an unknown encoding is -EINVAL, as mime_decode_body says */
	size_t blen;
	char *body = b64_body(100000, false, &blen);
	struct buf m = {0};
	buf_adds(&m, "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	             "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	             "--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	buf_add(&m, body, blen);
	buf_adds(&m,
	         "\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
	         "Subject: inner\r\n\r\ninner body\r\n"
	         "--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
	         "begin 644 x\r\n"
	         "--b--\r\n");
	check_message(m.data, m.len, "1", "multipart text");
	check_message(m.data, m.len, "2", "multipart base64");
	check_message(m.data, m.len, "3", "message/rfc822 part");
	check_message(m.data, m.len, "4", "x-uuencode");
	buf_free(&m);
	free(body);

	/* a range near the end of a big part reads little of it */
	body = b64_body(4u << 20, false, &blen);
	size_t len;
	char *msg = single("base64", body, blen, &len);
	struct mime_message *mm = NULL;
	mime_parse(msg, len, &mm);
	struct buf all = {0}, r = {0};
	struct imap_binary_map map;
	CHECK(imap_binary_decode(mm, imap_part_find(mm, "1", 1), &all, &map) == 0, "big decode");
	struct source src = {.msg = msg, .len = len};
	CHECK(imap_binary_range(&map, map.size - 65536, 65536, read_msg, &src, &r) == 0 &&
	          r.len == 65536 && same(r.data, all.data + all.len - 65536, 65536),
	      "big: last chunk");
	CHECK(src.bytes_read <= 512u << 10, "big: the last chunk read %zu raw bytes of %zu",
	      src.bytes_read, blen);
	buf_free(&all);
	buf_free(&r);
	imap_binary_map_free(&map);
	mime_free(&mm);
	free(msg);
	free(body);

	return check_report("imap_binary");
}
