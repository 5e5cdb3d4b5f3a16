/* html_sanitize: the HTML of a mail made safe to show in the webmail.
 *
 * Why on the server: the browser never sees the sender's markup, only
 * what this file writes, so one C function (fuzzed, unit-tested against
 * the OWASP vectors) is the whole trust boundary, not a JavaScript
 * sanitizer that must agree with the browser's parser.
 *
 * How: one pass over the bytes, an HTML5-shaped tokenizer (tags,
 * attributes quoted or not, comments, doctype, CDATA, character
 * references, the raw-text elements) whose tokens go through an allowlist
 * and are written out again in one canonical form: lower-case names,
 * every attribute value double-quoted and escaped, text escaped, every
 * element that is opened closed. What the browser parses from the output
 * is therefore exactly what was decided here, whatever the input's
 * tricks. Nothing malformed is passed through: it becomes escaped text
 * or is dropped. No recursion; the open-element stack is capped at
 * HTML_SANITIZE_MAX_DEPTH; the output is at most
 * HTML_SANITIZE_OUT_FACTOR * len + HTML_SANITIZE_OUT_SLACK bytes (else
 * -E2BIG).
 *
 * The front end MUST show the result in an iframe with
 *     sandbox="allow-popups allow-popups-to-escape-sandbox"
 * (never allow-scripts, never allow-same-origin) and serve or srcdoc it
 * under this Content-Security-Policy:
 *     default-src 'none'; img-src data: <download origin>;
 *     style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'
 * where <download origin> is the origin of the cid: URLs the callback
 * returns (the JMAP download URLs). Remote images arrive as
 * data-tern-src="..." and stay unloaded until the user allows them: the
 * front end then copies them to src and adds their origins (or https:)
 * to img-src for that document. The sanitizer is the first wall, the CSP
 * and the sandbox are the second. */
#ifndef TERN_MIME_HTML_SANITIZE_H
#define TERN_MIME_HTML_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define HTML_SANITIZE_MAX_DEPTH 256 /* open elements kept; deeper tags are dropped */
#define HTML_SANITIZE_OUT_FACTOR 24 /* output bound: FACTOR * len + SLACK */
#define HTML_SANITIZE_OUT_SLACK 65536

/* *found flags. */
enum {
	HTML_FOUND_REMOTE_IMAGES = 1 << 0, /* an http(s) img src was rewritten to data-tern-src */
	HTML_FOUND_CID_IMAGES = 1 << 1,    /* a cid: image was resolved by the callback */
	HTML_FOUND_DROPPED = 1 << 2, /* active content (script, style, on*=, bad URL) removed */
};

struct html_sanitize_opts {
	/* Resolves <img src="cid:ID">: id is the Content-ID without angle
	 * brackets, percent-decoded (RFC 2392), idlen bytes, not
	 * NUL-terminated. Append the URL the browser should load (e.g.
	 * "/jmap/download/A1/B42.3/x?accept=image/png") to url and return 1,
	 * return 0 to drop the src, or a negative errno to stop. The URL is
	 * trusted (written escaped, not checked). NULL: cid: images dropped. */
	int (*cid_url)(void *ctx, const char *id, size_t idlen, struct buf *url);
	void *ctx;
	/* The user allowed remote images for this document: an http(s) img
	 * src stays src (still flagged HTML_FOUND_REMOTE_IMAGES) instead of
	 * becoming data-tern-src. Serve it with https: in img-src. */
	bool remote_images_src;
};

/* Sanitize in[0..len) (UTF-8; invalid sequences become U+FFFD) and append
 * the result to out. o may be NULL. *found (may be NULL) gets the
 * HTML_FOUND_* flags. 0, or -ENOMEM, -E2BIG (output bound or BUF_MAX), or
 * the callback's error; on error out is back to its length at entry. */
int html_sanitize(const char *in, size_t len, const struct html_sanitize_opts *o, struct buf *out,
                  unsigned *found);

#endif
