/* parser: the incremental HTTP/1.1 request parser. See parser.h for the
 * contract.
 *
 * Why byte-driven. Like the IMAP parser, this is one switch over one byte
 * with its whole state in the struct, so any split of the input gives the
 * same events; body bytes are handed out as a block pointing into the
 * caller's input. The head is copied, already taken apart (each token and
 * field NUL-terminated), into one buffer of max_head bytes: what is stored
 * of a line is never longer than the line as sent, so the buffer cannot
 * overflow when the raw count is within the limit.
 *
 * Why this strict. Where RFC 9112 lets a recipient choose, the choice is
 * the one Node's llhttp makes in its default (non-lenient) mode, so that a
 * front end built on llhttp and tern read the same bytes as the same
 * requests, which is what closes the smuggling gaps (RFC 9112 §11.2);
 * where the RFCs say otherwise than llhttp, tern follows the RFCs. Choice
 * by choice:
 *  - Lines end in CRLF, in the head too: a bare LF is 400 there as in
 *    chunked framing (§2.2 only says MAY accept it; llhttp refuses it).
 *    Before the request line, empty lines are skipped, CRLF or LF alike
 *    (llhttp skips both), and consuming them is all they do; a bare CR
 *    there is 400 as anywhere else (llhttp skips it too).
 *  - Content-Length may appear once: a second field is 400 even with the
 *    same value, and a list ("5, 5") is 400 (RFC 9110 §8.6 allows either;
 *    llhttp refuses both). Digits only, at most 2^62.
 *  - Transfer-Encoding: "chunked" must be the final coding and appear
 *    once (else 400, §6.3, §6.1); other codings before it are 501 (not
 *    decoded here; llhttp passes "gzip, chunked" through to the app).
 *    On an HTTP/1.0 request it is 400 (§6.1 "MUST treat the message as if
 *    the framing is faulty"; llhttp accepts it).
 *  - Chunk lines: no whitespace anywhere (llhttp refuses "5 " and "5 ;x"),
 *    at most 16 hex digits, extensions ";name[=token|quoted-string]" with
 *    a non-empty name and value (llhttp accepts ";=x" and ";x=", refuses a
 *    quoted-pair; §7.1.1 is followed here), a chunk line of at most
 *    HTTP_CHUNK_LINE_MAX bytes.
 *  - The request line: one SP each side of the target, the target VCHARs
 *    only (llhttp also refuses obs-text there) and in one of the four
 *    forms of §3.2, checked by its first bytes and, for absolute-form,
 *    its scheme (llhttp takes "*x" and checks an absolute URI's authority),
 *    "HTTP/" in capitals. A method is any token: unknown ones (and
 *    lowercase "get") are HTTP_OTHER for the caller to answer 501 (llhttp
 *    refuses methods it does not know). HTTP/1.x other than 1.0 and 1.1,
 *    and any other version digits, are 505 (llhttp passes 0.9 and 2.0).
 *  - Host: exactly one on HTTP/1.1, at most one on HTTP/1.0 (RFC 9112
 *    §3.2; Node's server checks the missing one, not a second one).
 *  - Expect on HTTP/1.1: only "100-continue" (any case); any other
 *    expectation is 417 (RFC 9110 §10.1.1, as Node's server answers). On
 *    HTTP/1.0 it is ignored (same section).
 *  - Connection: "close" wins over "keep-alive" on HTTP/1.0 too (llhttp
 *    keeps a 1.0 connection that names both).
 *  - Bytes after a request that closes the connection are the next
 *    request as far as the parser knows; the session closes instead of
 *    reading them (llhttp refuses them itself).
 * The differential test (tests/integration/test_http_parser_diff.py) lists
 * each of these as an expected difference.
 *
 * Trailer fields are checked like header fields, counted against max_head
 * and max_headers on their own, and dropped.
 */
#include "proto/http/parser.h"

#include "lib/hex.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_DEFAULT_MAX_HEAD 16384
#define HTTP_DEFAULT_MAX_TARGET 8192
#define HTTP_DEFAULT_MAX_HEADERS 100
#define HTTP_CHUNK_LINE_MAX 4096 /* chunk size, extensions and CRLF */
#define HTTP_CHUNK_DIGITS_MAX 16 /* hex digits of a chunk size */
#define HTTP_CONTENT_LENGTH_MAX (1ULL << 62)

enum pstate {
	S_IDLE = 0,   /* between requests, empty lines skipped */
	S_IDLE_CR,    /* CR of an empty line: expecting LF */
	S_METHOD,     /* method token */
	S_TARGET,     /* request-target */
	S_VERSION,    /* "HTTP/" */
	S_VMAJOR,     /* major digit */
	S_VDOT,       /* '.' */
	S_VMINOR,     /* minor digit */
	S_RL_CR,      /* CR ending the request line */
	S_RL_LF,      /* its LF */
	S_FIELD,      /* start of a field line, or the CR of the empty line */
	S_NAME,       /* field name */
	S_OWS,        /* whitespace before a field value */
	S_VALUE,      /* field value */
	S_FIELD_LF,   /* LF ending a field line */
	S_HEAD_LF,    /* LF of the empty line ending the head */
	S_DONE,       /* the request is complete: DONE without input */
	S_BODY,       /* Content-Length bytes */
	S_CSIZE0,     /* first hex digit of a chunk size */
	S_CSIZE,      /* more hex digits */
	S_CEXT_NAME0, /* after ';' */
	S_CEXT_NAME,
	S_CEXT_VAL0, /* after '=' */
	S_CEXT_VAL,
	S_CEXT_QUOTED,
	S_CEXT_QPAIR, /* after a backslash in a quoted value */
	S_CEXT_QEND,  /* after the closing quote */
	S_CSIZE_LF,   /* LF ending a chunk line */
	S_CDATA,      /* chunk data */
	S_CDATA_CR,   /* CRLF after chunk data */
	S_CDATA_LF,
	S_TFIELD, /* start of a trailer field line, or the final CR */
	S_TNAME,
	S_TVALUE, /* whitespace and value, not kept */
	S_TFIELD_LF,
	S_TEND_LF, /* the final LF */
	S_ERROR,
};

struct http_parser {
	struct http_limits lim;
	enum pstate st;

	char *head; /* max_head + 1 bytes */
	size_t w;   /* bytes written to head */
	size_t raw; /* bytes of the head (or trailer section) received */
	struct http_field *fields;
	struct http_request req;

	/* the line being read */
	size_t name_off, value_off, value_end;
	unsigned vi; /* position in "HTTP/" */
	int vmajor;

	/* what the fields said so far */
	bool seen_cl, seen_te, te_chunked_last, te_other, te_empty;
	unsigned te_chunked, te_codings;
	unsigned nhost;
	bool conn_close, conn_keep_alive, expect_bad;

	/* the body */
	uint64_t remaining;
	unsigned cdigits;
	size_t cline; /* bytes of the chunk line */
	unsigned ntrailers;
	const char *body;
	size_t body_len;

	int status;
	const char *err;
};

/* tchar (RFC 9110 §5.6.2) */
static bool is_tchar(unsigned char c)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr(extra, c) != NULL;
}

/* field-vchar: VCHAR or obs-text */
static bool is_fvchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

struct http_parser *http_parser_new(const struct http_limits *limits)
{
	struct http_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (limits)
		p->lim = *limits;
	if (!p->lim.max_head)
		p->lim.max_head = HTTP_DEFAULT_MAX_HEAD;
	if (!p->lim.max_target)
		p->lim.max_target = HTTP_DEFAULT_MAX_TARGET;
	if (!p->lim.max_headers)
		p->lim.max_headers = HTTP_DEFAULT_MAX_HEADERS;
	if (p->lim.max_headers > HTTP_MAX_FIELDS_CAP)
		p->lim.max_headers = HTTP_MAX_FIELDS_CAP;
	p->head = malloc(p->lim.max_head + 1);
	p->fields = calloc(p->lim.max_headers, sizeof(*p->fields));
	if (!p->head || !p->fields) {
		http_parser_free(p);
		return NULL;
	}
	p->st = S_IDLE;
	p->req.content_length = -1;
	return p;
}

void http_parser_free(struct http_parser *p)
{
	if (!p)
		return;
	free(p->head);
	free(p->fields);
	free(p);
}

static enum http_parse_event fail(struct http_parser *p, int status, const char *why)
{
	p->st = S_ERROR;
	p->status = status;
	p->err = why;
	return HTTP_PARSE_ERROR;
}

/* The first byte of a request line: forget the last request. */
static void start_request(struct http_parser *p)
{
	memset(&p->req, 0, sizeof(p->req));
	p->req.content_length = -1;
	p->req.fields = p->fields;
	p->w = 0;
	p->raw = 0;
	p->seen_cl = p->seen_te = p->te_chunked_last = p->te_other = p->te_empty = false;
	p->te_chunked = p->te_codings = 0;
	p->nhost = 0;
	p->conn_close = p->conn_keep_alive = p->expect_bad = false;
	p->remaining = 0;
	p->ntrailers = 0;
}

static enum http_method method_of(const char *m)
{
	static const struct {
		const char *name;
		enum http_method m;
	} known[] = {
	    {"GET", HTTP_GET},     {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
	    {"PUT", HTTP_PUT},     {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
	    {"PATCH", HTTP_PATCH},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i].name) == 0)
			return known[i].m;
	return HTTP_OTHER;
}

/* Calls fn on each element of a comma-separated list (RFC 9110 §5.6.1),
 * OWS trimmed, empty elements skipped. */
static void each_element(const char *v, size_t len,
                         void (*fn)(struct http_parser *, const char *, size_t),
                         struct http_parser *p)
{
	size_t i = 0;
	while (i < len) {
		size_t s = i;
		while (i < len && v[i] != ',')
			i++;
		size_t e = i;
		while (s < e && is_ws((unsigned char)v[s]))
			s++;
		while (e > s && is_ws((unsigned char)v[e - 1]))
			e--;
		if (e > s)
			fn(p, v + s, e - s);
		i++; /* past the comma */
	}
}

static bool token_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static void te_element(struct http_parser *p, const char *s, size_t n)
{
	p->te_codings++;
	if (token_is(s, n, "chunked")) {
		p->te_chunked++;
		p->te_chunked_last = true;
	} else {
		p->te_other = true;
		p->te_chunked_last = false;
	}
}

static void connection_element(struct http_parser *p, const char *s, size_t n)
{
	if (token_is(s, n, "close"))
		p->conn_close = true;
	else if (token_is(s, n, "keep-alive"))
		p->conn_keep_alive = true;
}

static void expect_element(struct http_parser *p, const char *s, size_t n)
{
	if (token_is(s, n, "100-continue"))
		p->req.expect_continue = true;
	else
		p->expect_bad = true;
}

/* A header field line is complete: keep it and note what it says. */
static enum http_parse_event end_field(struct http_parser *p)
{
	p->head[p->value_end] = '\0';
	p->w = p->value_end + 1;
	struct http_field *f = &p->fields[p->req.nfields++];
	f->name = p->head + p->name_off;
	f->name_len = p->value_off - 1 - p->name_off;
	f->value = p->head + p->value_off;
	f->value_len = p->value_end - p->value_off;
	const char *v = f->value;
	size_t vl = f->value_len;
	if (token_is(f->name, f->name_len, "content-length")) {
		if (p->seen_cl)
			return fail(p, 400, "more than one Content-Length");
		p->seen_cl = true;
		if (vl == 0)
			return fail(p, 400, "empty Content-Length");
		uint64_t n = 0;
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(p, 400, "invalid Content-Length");
			n = n * 10 + (uint64_t)(v[i] - '0');
			if (n > HTTP_CONTENT_LENGTH_MAX)
				return fail(p, 400, "Content-Length too large");
		}
		p->req.content_length = (int64_t)n;
	} else if (token_is(f->name, f->name_len, "transfer-encoding")) {
		p->seen_te = true;
		unsigned before = p->te_codings;
		each_element(v, vl, te_element, p);
		if (p->te_codings == before)
			p->te_empty = true; /* a field with no coding at all */
	} else if (token_is(f->name, f->name_len, "host")) {
		if (++p->nhost > 1)
			return fail(p, 400, "more than one Host");
		p->req.has_host = true;
		p->req.host = v;
	} else if (token_is(f->name, f->name_len, "connection")) {
		each_element(v, vl, connection_element, p);
	} else if (token_is(f->name, f->name_len, "expect")) {
		if (p->req.version_minor == 1)
			each_element(v, vl, expect_element, p);
	}
	return HTTP_PARSE_MORE;
}

/* The head is complete: decide the framing (RFC 9112 §6). */
static enum http_parse_event end_head(struct http_parser *p)
{
	struct http_request *r = &p->req;
	if (p->seen_te) {
		if (p->seen_cl)
			return fail(p, 400, "both Content-Length and Transfer-Encoding");
		if (r->version_minor == 0)
			return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 request");
		if (p->te_empty || !p->te_chunked_last)
			return fail(p, 400, "Transfer-Encoding does not end in chunked");
		if (p->te_chunked > 1)
			return fail(p, 400, "chunked applied more than once");
		if (p->te_other)
			return fail(p, 501, "transfer coding not implemented");
		r->chunked = true;
	}
	if (r->version_minor == 1 && !r->has_host)
		return fail(p, 400, "no Host");
	if (p->expect_bad)
		return fail(p, 417, "unsupported expectation");
	if (p->conn_close)
		r->keep_alive = false;
	else
		r->keep_alive = r->version_minor == 1 || p->conn_keep_alive;
	if (r->chunked) {
		p->st = S_CSIZE0;
		p->cline = 0;
		p->cdigits = 0;
		p->remaining = 0;
	} else if (r->content_length > 0) {
		p->st = S_BODY;
		p->remaining = (uint64_t)r->content_length;
	} else {
		p->st = S_DONE;
	}
	return HTTP_PARSE_HEAD;
}

/* The request-target is one of the four forms of RFC 9112 §3.2 (its bytes
 * are VCHARs already): origin-form "/...", asterisk-form "*", absolute-form
 * "scheme:..." (RFC 3986 §3.1), or, for CONNECT only, authority-form. */
static bool target_form(const char *method, const char *t, size_t n)
{
	if (n == 0)
		return false;
	if (strcmp(method, "CONNECT") == 0 || t[0] == '/')
		return true;
	if (t[0] == '*')
		return n == 1;
	if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == ':')
			return true;
		if (!(c >= '0' && c <= '9') && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
		    c != '+' && c != '-' && c != '.')
			return false;
	}
	return false;
}

/* One byte of the head (request line and header fields). */
static enum http_parse_event head_byte(struct http_parser *p, unsigned char c)
{
	p->raw++;
	bool in_line = p->st <= S_RL_LF;
	if (in_line && p->raw > p->lim.max_target)
		return fail(p, 414, "request line too long");
	if (p->raw > p->lim.max_head)
		return fail(p, 431, "request head too large");
	switch (p->st) {
	case S_METHOD:
		if (is_tchar(c)) {
			p->head[p->w++] = (char)c;
			return HTTP_PARSE_MORE;
		}
		if (c != ' ' || p->w == 0)
			return fail(p, 400, "invalid method");
		p->head[p->w++] = '\0';
		p->req.method_name = p->head;
		p->req.method = method_of(p->head);
		p->req.target = p->head + p->w;
		p->st = S_TARGET;
		return HTTP_PARSE_MORE;
	case S_TARGET:
		if (c >= 0x21 && c <= 0x7e) {
			p->head[p->w++] = (char)c;
			p->req.target_len++;
			return HTTP_PARSE_MORE;
		}
		if (c != ' ' || !target_form(p->req.method_name, p->req.target, p->req.target_len))
			return fail(p, 400, "invalid request-target");
		p->head[p->w++] = '\0';
		p->st = S_VERSION;
		p->vi = 0;
		return HTTP_PARSE_MORE;
	case S_VERSION:
		if (c != (unsigned char)"HTTP/"[p->vi])
			return fail(p, 400, "invalid HTTP version");
		if (++p->vi == 5)
			p->st = S_VMAJOR;
		return HTTP_PARSE_MORE;
	case S_VMAJOR:
		if (c < '0' || c > '9')
			return fail(p, 400, "invalid HTTP version");
		p->vmajor = c - '0';
		p->st = S_VDOT;
		return HTTP_PARSE_MORE;
	case S_VDOT:
		if (c != '.')
			return fail(p, 400, "invalid HTTP version");
		p->st = S_VMINOR;
		return HTTP_PARSE_MORE;
	case S_VMINOR:
		if (c < '0' || c > '9')
			return fail(p, 400, "invalid HTTP version");
		if (p->vmajor != 1 || c > '1')
			return fail(p, 505, "HTTP version not supported");
		p->req.version_minor = c - '0';
		p->st = S_RL_CR;
		return HTTP_PARSE_MORE;
	case S_RL_CR:
		if (c != '\r')
			return fail(p, 400, "invalid HTTP version");
		p->st = S_RL_LF;
		return HTTP_PARSE_MORE;
	case S_RL_LF:
		if (c != '\n')
			return fail(p, 400, "bare CR");
		p->st = S_FIELD;
		return HTTP_PARSE_MORE;
	case S_FIELD:
		if (c == '\r') {
			p->st = S_HEAD_LF;
			return HTTP_PARSE_MORE;
		}
		if (is_ws(c))
			return fail(p, 400, "obs-fold or whitespace before a field");
		if (!is_tchar(c))
			return fail(p, 400, "invalid field name");
		if (p->req.nfields >= p->lim.max_headers)
			return fail(p, 431, "too many header fields");
		p->name_off = p->w;
		p->head[p->w++] = (char)c;
		p->st = S_NAME;
		return HTTP_PARSE_MORE;
	case S_NAME:
		if (is_tchar(c)) {
			p->head[p->w++] = (char)c;
			return HTTP_PARSE_MORE;
		}
		if (c != ':')
			return fail(p, 400,
			            is_ws(c) ? "whitespace before a colon" : "invalid field name");
		p->head[p->w++] = '\0';
		p->value_off = p->value_end = p->w;
		p->st = S_OWS;
		return HTTP_PARSE_MORE;
	case S_OWS:
		if (is_ws(c))
			return HTTP_PARSE_MORE;
		p->st = S_VALUE;
		/* fall through */
	case S_VALUE:
		if (is_fvchar(c)) {
			p->head[p->w++] = (char)c;
			p->value_end = p->w;
			return HTTP_PARSE_MORE;
		}
		if (is_ws(c)) {
			p->head[p->w++] = (char)c;
			return HTTP_PARSE_MORE;
		}
		if (c != '\r')
			return fail(p, 400, "invalid character in a field value");
		p->st = S_FIELD_LF;
		return HTTP_PARSE_MORE;
	case S_FIELD_LF:
		if (c != '\n')
			return fail(p, 400, "bare CR");
		p->st = S_FIELD;
		return end_field(p);
	case S_HEAD_LF:
		if (c != '\n')
			return fail(p, 400, "bare CR");
		return end_head(p);
	default:
		abort();
	}
}

/* One byte of chunked framing (RFC 9112 §7.1): chunk lines, the CRLF after
 * chunk data, and the trailer section. */
static enum http_parse_event chunk_byte(struct http_parser *p, unsigned char c)
{
	if (p->st <= S_CSIZE_LF && ++p->cline > HTTP_CHUNK_LINE_MAX)
		return fail(p, 400, "chunk line too long");
	switch (p->st) {
	case S_CSIZE0:
	case S_CSIZE: {
		int h = hex_value(c);
		if (h >= 0) {
			if (++p->cdigits > HTTP_CHUNK_DIGITS_MAX)
				return fail(p, 400, "chunk size too large");
			p->remaining = p->remaining << 4 | (uint64_t)h;
			p->st = S_CSIZE;
			return HTTP_PARSE_MORE;
		}
		if (p->st == S_CSIZE0)
			return fail(p, 400, "invalid chunk size");
		if (c == ';')
			p->st = S_CEXT_NAME0;
		else if (c == '\r')
			p->st = S_CSIZE_LF;
		else
			return fail(p, 400, "invalid chunk size");
		return HTTP_PARSE_MORE;
	}
	case S_CEXT_NAME0:
	case S_CEXT_NAME:
		if (is_tchar(c)) {
			p->st = S_CEXT_NAME;
			return HTTP_PARSE_MORE;
		}
		if (p->st == S_CEXT_NAME0)
			return fail(p, 400, "invalid chunk extension");
		if (c == '=')
			p->st = S_CEXT_VAL0;
		else if (c == ';')
			p->st = S_CEXT_NAME0;
		else if (c == '\r')
			p->st = S_CSIZE_LF;
		else
			return fail(p, 400, "invalid chunk extension");
		return HTTP_PARSE_MORE;
	case S_CEXT_VAL0:
		if (c == '"') {
			p->st = S_CEXT_QUOTED;
			return HTTP_PARSE_MORE;
		}
		if (!is_tchar(c))
			return fail(p, 400, "invalid chunk extension");
		p->st = S_CEXT_VAL;
		return HTTP_PARSE_MORE;
	case S_CEXT_VAL:
		if (is_tchar(c))
			return HTTP_PARSE_MORE;
		if (c == ';')
			p->st = S_CEXT_NAME0;
		else if (c == '\r')
			p->st = S_CSIZE_LF;
		else
			return fail(p, 400, "invalid chunk extension");
		return HTTP_PARSE_MORE;
	case S_CEXT_QUOTED:
		if (c == '"')
			p->st = S_CEXT_QEND;
		else if (c == '\\')
			p->st = S_CEXT_QPAIR;
		else if (!is_ws(c) && !is_fvchar(c)) /* qdtext */
			return fail(p, 400, "invalid chunk extension");
		return HTTP_PARSE_MORE;
	case S_CEXT_QPAIR:
		if (!is_ws(c) && !is_fvchar(c))
			return fail(p, 400, "invalid chunk extension");
		p->st = S_CEXT_QUOTED;
		return HTTP_PARSE_MORE;
	case S_CEXT_QEND:
		if (c == ';')
			p->st = S_CEXT_NAME0;
		else if (c == '\r')
			p->st = S_CSIZE_LF;
		else
			return fail(p, 400, "invalid chunk extension");
		return HTTP_PARSE_MORE;
	case S_CSIZE_LF:
		if (c != '\n')
			return fail(p, 400, "bare CR in a chunk line");
		if (p->remaining == 0) {
			p->st = S_TFIELD;
			p->raw = 0;
		} else {
			p->st = S_CDATA;
		}
		return HTTP_PARSE_MORE;
	case S_CDATA_CR:
		if (c != '\r')
			return fail(p, 400, "no CRLF after chunk data");
		p->st = S_CDATA_LF;
		return HTTP_PARSE_MORE;
	case S_CDATA_LF:
		if (c != '\n')
			return fail(p, 400, "no CRLF after chunk data");
		p->st = S_CSIZE0;
		p->cline = 0;
		p->cdigits = 0;
		return HTTP_PARSE_MORE;
	default:
		break;
	}

	/* the trailer section, checked and dropped */
	if (++p->raw > p->lim.max_head)
		return fail(p, 431, "trailer section too large");
	switch (p->st) {
	case S_TFIELD:
		if (c == '\r') {
			p->st = S_TEND_LF;
			return HTTP_PARSE_MORE;
		}
		if (is_ws(c))
			return fail(p, 400, "obs-fold in the trailer section");
		if (!is_tchar(c))
			return fail(p, 400, "invalid trailer field name");
		if (++p->ntrailers > p->lim.max_headers)
			return fail(p, 431, "too many trailer fields");
		p->st = S_TNAME;
		return HTTP_PARSE_MORE;
	case S_TNAME:
		if (is_tchar(c))
			return HTTP_PARSE_MORE;
		if (c != ':')
			return fail(p, 400,
			            is_ws(c) ? "whitespace before a colon"
			                     : "invalid trailer field name");
		p->st = S_TVALUE;
		return HTTP_PARSE_MORE;
	case S_TVALUE:
		if (is_ws(c) || is_fvchar(c))
			return HTTP_PARSE_MORE;
		if (c != '\r')
			return fail(p, 400, "invalid character in a trailer field value");
		p->st = S_TFIELD_LF;
		return HTTP_PARSE_MORE;
	case S_TFIELD_LF:
		if (c != '\n')
			return fail(p, 400, "bare CR");
		p->st = S_TFIELD;
		return HTTP_PARSE_MORE;
	case S_TEND_LF:
		if (c != '\n')
			return fail(p, 400, "bare CR");
		p->st = S_IDLE;
		return HTTP_PARSE_DONE;
	default:
		abort();
	}
}

size_t http_parser_feed(struct http_parser *p, const char *data, size_t len,
                        enum http_parse_event *ev)
{
	if (p->st == S_ERROR) {
		*ev = HTTP_PARSE_ERROR;
		return 0;
	}
	if (p->st == S_DONE) {
		p->st = S_IDLE;
		*ev = HTTP_PARSE_DONE;
		return 0;
	}
	size_t i = 0;
	while (i < len) {
		if (p->st == S_BODY || p->st == S_CDATA) {
			size_t n = len - i;
			if ((uint64_t)n > p->remaining)
				n = (size_t)p->remaining;
			p->body = data + i;
			p->body_len = n;
			p->remaining -= n;
			if (p->remaining == 0)
				p->st = p->st == S_BODY ? S_DONE : S_CDATA_CR;
			*ev = HTTP_PARSE_BODY;
			return i + n;
		}
		unsigned char c = (unsigned char)data[i++];
		enum http_parse_event e = HTTP_PARSE_MORE;
		switch (p->st) {
		case S_IDLE:
			if (c == '\r') {
				p->st = S_IDLE_CR;
			} else if (c != '\n') {
				start_request(p);
				p->st = S_METHOD;
				e = head_byte(p, c);
			}
			break;
		case S_IDLE_CR:
			if (c == '\n')
				p->st = S_IDLE;
			else
				e = fail(p, 400, "bare CR");
			break;
		default:
			if (p->st < S_DONE) {
				e = head_byte(p, c);
			} else {
				e = chunk_byte(p, c);
			}
			break;
		}
		if (e != HTTP_PARSE_MORE) {
			*ev = e;
			return i;
		}
	}
	*ev = HTTP_PARSE_MORE;
	return len;
}

const struct http_request *http_parser_request(const struct http_parser *p)
{
	return &p->req;
}

const struct http_field *http_request_field(const struct http_request *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->nfields; i++)
		if (r->fields[i].name_len == n && strncasecmp(r->fields[i].name, name, n) == 0)
			return &r->fields[i];
	return NULL;
}

void http_parser_body(const struct http_parser *p, const char **data, size_t *len)
{
	*data = p->body;
	*len = p->body_len;
}

int http_parser_status(const struct http_parser *p)
{
	return p->status;
}

const char *http_parser_error(const struct http_parser *p)
{
	return p->err ? p->err : "";
}

bool http_parser_idle(const struct http_parser *p)
{
	return p->st == S_IDLE || p->st == S_IDLE_CR;
}
