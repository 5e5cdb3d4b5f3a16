/* fuzz_http_parser: arbitrary bytes through the HTTP request parser, in
 * pieces whose sizes come from the first input bytes, with small limits
 * (so that the 414/431 paths are reached) or the defaults. Checks, beside
 * no crash and no leak: a call never uses more than it was given; MORE
 * means everything was used (so every call makes progress); BODY bytes lie
 * inside the piece and within the announced length; fields and the target
 * lie inside the parser's head and are NUL-terminated; the framing flags
 * agree (chunked excludes a Content-Length, HTTP/1.1 has its Host); an
 * error status is one of the listed ones and the error state sticks; the
 * same input fed whole gives the same sequence of events. */
#include "proto/http/parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 4096

struct run {
	enum http_parse_event ev[MAX_EVENTS];
	uint64_t body_total;
	size_t nev;
	int status;
};

static void check_request(const struct http_request *r)
{
	if (!r->method_name || !*r->method_name || !r->target ||
	    strlen(r->target) != r->target_len || !r->target_len)
		abort();
	for (const char *m = r->method_name; *m; m++)
		if (*m <= ' ' || *m >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *m))
			abort(); /* a token */
	if (r->version_minor != 0 && r->version_minor != 1)
		abort();
	if (r->chunked && r->content_length != -1)
		abort();
	if (r->version_minor == 1 && (!r->has_host || !r->host))
		abort();
	if (r->content_length < -1 || r->content_length > (1LL << 62))
		abort();
	for (size_t i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (!f->name_len || f->name[f->name_len] || f->value[f->value_len])
			abort();
		/* the head buffer holds the method first; fields come after */
		if (f->name <= r->method_name || f->value <= f->name)
			abort();
		if (f->value_len &&
		    (f->value[0] == ' ' || f->value[0] == '\t' ||
		     f->value[f->value_len - 1] == ' ' || f->value[f->value_len - 1] == '\t'))
			abort();
		if (memchr(f->value, '\r', f->value_len) || memchr(f->value, '\n', f->value_len))
			abort();
	}
	if (r->nfields &&
	    r->fields[r->nfields - 1].value + r->fields[r->nfields - 1].value_len - r->method_name >
	        16384)
		abort();
}

static void run(const uint8_t *data, size_t size, const struct http_limits *lim,
                const uint8_t *steps, size_t nsteps, struct run *out)
{
	struct http_parser *p = http_parser_new(lim);
	if (!p)
		abort();
	memset(out, 0, sizeof(*out));
	size_t off = 0, si = 0;
	int64_t body_left = -1; /* CL bytes still expected, or -1 */
	bool errored = false;
	while (off < size && !errored) {
		size_t n = nsteps ? (size_t)(steps[si++ % nsteps] % 23) + 1 : size;
		if (n > size - off)
			n = size - off;
		const char *d = (const char *)data + off;
		off += n;
		/* the rest of a piece is kept for the next call, like a server */
		for (;;) {
			enum http_parse_event ev;
			size_t used = http_parser_feed(p, d, n, &ev);
			if (used > n)
				abort();
			if (out->nev < MAX_EVENTS && ev != HTTP_PARSE_MORE)
				out->ev[out->nev++] = ev;
			if (ev == HTTP_PARSE_MORE) {
				if (used != n)
					abort(); /* MORE uses everything: progress */
				break;
			}
			if (ev == HTTP_PARSE_HEAD) {
				const struct http_request *r = http_parser_request(p);
				check_request(r);
				if (http_parser_idle(p))
					abort();
				body_left = r->chunked ? -1 : r->content_length;
			} else if (ev == HTTP_PARSE_BODY) {
				const char *b;
				size_t bl;
				http_parser_body(p, &b, &bl);
				if (!bl || b < d || b + bl != d + used)
					abort();
				if (body_left >= 0) {
					if ((int64_t)bl > body_left)
						abort();
					body_left -= (int64_t)bl;
				}
				out->body_total += bl;
			} else if (ev == HTTP_PARSE_DONE) {
				if (!http_parser_idle(p) || (body_left > 0))
					abort();
				body_left = -1;
			} else if (ev == HTTP_PARSE_ERROR) {
				int s = http_parser_status(p);
				if (s != 400 && s != 414 && s != 417 && s != 431 && s != 501 &&
				    s != 505)
					abort();
				if (!*http_parser_error(p))
					abort();
				if (http_parser_feed(p, d, n, &ev) != 0 || ev != HTTP_PARSE_ERROR)
					abort();
				out->status = s;
				errored = true;
				break;
			}
			d += used;
			n -= used;
		}
	}
	http_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	bool small = data[0] & 1;
	size_t nsteps = (data[0] >> 1) % 4;
	const uint8_t *steps = data + 1;
	data += 4;
	size -= 4;
	struct http_limits lim = {0};
	if (small)
		lim = (struct http_limits){.max_head = 96, .max_target = 40, .max_headers = 4};
	static struct run split, whole;
	run(data, size, &lim, steps, nsteps ? nsteps : 3, &split);
	run(data, size, &lim, NULL, 0, &whole);
	/* BODY events follow the pieces; everything else must match */
	size_t i = 0, j = 0;
	for (;;) {
		while (i < split.nev && split.ev[i] == HTTP_PARSE_BODY)
			i++;
		while (j < whole.nev && whole.ev[j] == HTTP_PARSE_BODY)
			j++;
		if (i == split.nev || j == whole.nev)
			break;
		if (split.ev[i++] != whole.ev[j++])
			abort();
	}
	if (split.nev < MAX_EVENTS && whole.nev < MAX_EVENTS &&
	    (i != split.nev || j != whole.nev || split.body_total != whole.body_total ||
	     split.status != whole.status))
		abort();
	return 0;
}
