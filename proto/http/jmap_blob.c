/* jmap_blob: JMAP binary data over HTTPS (RFC 8620 §6).
 *
 *   POST /jmap/upload/{accountId}/        body -> 201 {accountId, blobId
 *                                         "U<n>", type, size}, sent only
 *                                         after the store COMMITted it
 *   GET  /jmap/download/{accountId}/{blobId}/{name}?accept={type}
 *   GET  /jmap/html/{accountId}/{emailId}[?images=1]   the webmail's view
 *        of a mail: its first htmlBody part in UTF-8, sanitized
 *        (mime/html_sanitize.h; cid: images point at their download URL,
 *        remote ones stay data-tern-src unless images=1), in a minimal
 *        document under a strict CSP, framable by this origin only; no
 *        HTML part: the first text/plain part as escaped <pre>.
 *
 * Authentication is jmap_routes.c's (http_jmap_authenticate: cookie +
 * X-CSRF-Token for an upload, or Basic). Only the authenticated account's
 * blobs exist here: any other account id, or a blob of another account, is
 * 404. Every kind of blob is read through proto/jmap/blob_read.h.
 *
 * Limits: an upload over maxSizeUpload is 413 with the RFC 8620 §3.6.2
 * "limit" problem; an account may have maxConcurrentUpload uploads in
 * flight (the rest 429) and at most UPLOAD_TOTAL_FACTOR x maxSizeUpload
 * bytes of unexpired uploads (413). A download of a whole message or an
 * upload is streamed from the store in HTTP_STREAM_SLICE slices as the
 * socket drains (http_respond_stream), so a 50 MB download holds the
 * conn's output limit plus a slice; a part ("B<n>.<part>") is decoded
 * whole (jmap_blob_read), bounded by the message's size. */
#include "proto/http/admin_json.h"
#include "proto/http/http_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/html_sanitize.h"
#include "mime/mime.h"
#include "proto/common/env.h"
#include "proto/jmap/blob_read.h"
#include "proto/jmap/email_render.h"
#include "proto/jmap/jmap.h"
#include "store/emails.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/uploads.h"

#define UPLOAD_PREFIX "/jmap/upload/"
#define DOWNLOAD_PREFIX "/jmap/download/"
#define UPLOAD_TOTAL_FACTOR 10
#define BLOB_ID_MAX 256

/* ---- the path ---- */

/* "A<n>" up to stop: the account id. */
static bool account_part(const char *p, size_t n, int64_t *id)
{
	char buf[24];
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return jmap_id_parse(buf, 'A', id);
}

bool http_jmap_download_split(const char *rest, int64_t *account_id, char *blob, size_t bloblen,
                              const char **name)
{
	const char *slash = strchr(rest, '/');
	if (!slash || !account_part(rest, (size_t)(slash - rest), account_id))
		return false;
	const char *b = slash + 1;
	const char *slash2 = strchr(b, '/');
	if (!slash2 || slash2 == b || (size_t)(slash2 - b) >= bloblen)
		return false;
	for (const char *q = b; q < slash2; q++) /* JMAP ids: URL-safe base64 chars and '.' */
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
		      (*q >= '0' && *q <= '9') || *q == '-' || *q == '_' || *q == '.'))
			return false;
	memcpy(blob, b, (size_t)(slash2 - b));
	blob[slash2 - b] = '\0';
	*name = slash2 + 1;
	return strchr(*name, '/') == NULL;
}

/* ---- helpers ---- */

static void problem(struct http_session *s, int status, const char *type, const char *limit,
                    const char *detail)
{
	json_t *doc =
	    json_pack("{s:s, s:i, s:s}", "type", type, "status", status, "detail", detail);
	if (doc && limit)
		json_object_set_new(doc, "limit", json_string(limit));
	if (!doc) {
		http_respond_error(s, 503);
		return;
	}
	http_json_respond(s, status, doc, NULL);
}

static void not_found(struct http_session *s)
{
	problem(s, 404, "about:blank", NULL, "no such blob");
}

/* A media type "type/subtype" of RFC 6838 restricted-name characters. */
static bool media_type_ok(const char *t)
{
	const char *slash = strchr(t, '/');
	if (!slash || slash == t || !slash[1] || slash - t > 127 || strlen(slash + 1) > 127)
		return false;
	for (const char *p = t; *p; p++) {
		if (p == slash)
			continue;
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || strchr("!#$&-^_.+", c) != NULL;
		if (!ok || c == '\0')
			return false;
	}
	return true;
}

/* ---- upload ---- */

/* Uploads in flight per account (maxConcurrentUpload). */
static struct inflight {
	int64_t account_id;
	int n;
} inflight[64];

static struct inflight *inflight_slot(int64_t account_id, bool make)
{
	struct inflight *free_slot = NULL;
	for (size_t i = 0; i < sizeof inflight / sizeof inflight[0]; i++) {
		if (inflight[i].n > 0 && inflight[i].account_id == account_id)
			return &inflight[i];
		if (inflight[i].n == 0 && !free_slot)
			free_slot = &inflight[i];
	}
	if (make && free_slot)
		free_slot->account_id = account_id;
	return make ? free_slot : NULL;
}

struct upload {
	struct store_upload_req q; /* first: the job's argument is the upload */
	struct http_session *s;
	struct inflight *slot;
	char type[STORE_UPLOAD_TYPE_MAX];
};

static void upload_done(void *arg, int status)
{
	struct upload *u = arg;
	struct http_session *s = u->s;
	u->slot->n--;
	if (!s->closed) {
		if (status == -EDQUOT) {
			problem(s, 413, "urn:ietf:params:jmap:error:limit", "maxSizeUpload",
			        "the account's uploads of the last day are over their total");
		} else if (status < 0) {
			problem(s, 503, "about:blank", NULL, "the upload could not be stored");
		} else {
			char acct[24], blob[24];
			snprintf(acct, sizeof acct, "A%" PRId64, u->q.account_id);
			snprintf(blob, sizeof blob, "U%" PRId64, u->q.id);
			json_t *doc =
			    json_pack("{s:s, s:s, s:s, s:I}", "accountId", acct, "blobId", blob,
			              "type", u->type, "size", (json_int_t)u->q.len);
			if (doc)
				http_json_respond(s, 201, doc, "Cache-Control: no-store\r\n");
			else
				http_respond_error(s, 503);
		}
	}
	free(u);
	http_session_resume(s);
}

/* The request's Content-Type, trimmed, or application/octet-stream when
 * there is none or it is not printable ASCII that fits. */
static void upload_type(const struct http_session *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "application/octet-stream");
	const struct http_field *f = http_request_field(s->req, "Content-Type");
	if (!f || f->value_len == 0 || f->value_len >= outlen)
		return;
	for (size_t i = 0; i < f->value_len; i++)
		if (f->value[i] < 0x20 || f->value[i] > 0x7e)
			return;
	memcpy(out, f->value, f->value_len);
	out[f->value_len] = '\0';
}

static bool upload_authed(struct http_session *s, const struct jmap_web_login *who)
{
	const char *rest = s->path + sizeof UPLOAD_PREFIX - 1;
	size_t n = strlen(rest);
	int64_t acct;
	if (n == 0 || rest[n - 1] != '/' || !account_part(rest, n - 1, &acct) ||
	    acct != who->account_id) {
		problem(s, 404, "about:blank", NULL, "no such account");
		return false;
	}
	const struct jmap_settings *js = s->ctx->jmap;
	if ((int64_t)s->body.len > js->max_size_upload) {
		problem(s, 413, "urn:ietf:params:jmap:error:limit", "maxSizeUpload",
		        "the upload is larger than maxSizeUpload");
		return false;
	}
	if (s->ctx->env->stopping) {
		problem(s, 503, "about:blank", NULL, "the server is stopping");
		return false;
	}
	struct inflight *slot = inflight_slot(acct, false);
	if (slot && slot->n >= js->max_concurrent_upload) {
		problem(s, 429, "urn:ietf:params:jmap:error:limit", "maxConcurrentUpload",
		        "too many uploads at once");
		return false;
	}
	if (!slot)
		slot = inflight_slot(acct, true);
	struct upload *u = calloc(1, sizeof *u);
	if (!slot || !u) {
		free(u);
		problem(s, 503, "about:blank", NULL, "too busy");
		return false;
	}
	u->s = s;
	u->slot = slot;
	upload_type(s, u->type, sizeof u->type);
	/* s->body stays as it is while the session is held */
	u->q = (struct store_upload_req){
	    .account_id = acct,
	    .type = u->type,
	    .data = s->body.data,
	    .len = s->body.len,
	    .max_total = (uint64_t)js->max_size_upload * UPLOAD_TOTAL_FACTOR,
	};
	if (store_submit(s->ctx->env->store, store_upload_job, upload_done, u) < 0) {
		free(u);
		problem(s, 503, "about:blank", NULL, "the store is not accepting work");
		return false;
	}
	slot->n++;
	return true;
}

void http_jmap_upload(struct http_session *s)
{
	http_jmap_authenticate(s, upload_authed);
}

/* ---- download ---- */

/* RFC 8187 attr-char: what filename*= carries unescaped. */
static bool attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$&+-.^_`|~", c) != NULL);
}

static int disposition(struct buf *h, const char *name)
{
	int e = buf_adds(h, "Content-Disposition: attachment; filename*=UTF-8''");
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (attr_char(*p)) {
			e |= buf_addc(h, (char)*p);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			e |= buf_add(h, esc, 3);
		}
	}
	return e | buf_adds(h, "\r\n");
}

/* A whole message or an upload, streamed from the store in slices. */
struct blob_source {
	struct store *store;
	int64_t id;
	bool upload;
};

static long blob_slice(void *ud, uint64_t off, void *buf, size_t len)
{
	const struct blob_source *b = ud;
	struct store_rd *rd = store_reader(b->store);
	return b->upload ? store_upload_read_at(rd, b->id, off, buf, len)
	                 : (long)store_message_read(rd, b->id, (size_t)off, buf, len);
}

static int count_entry(void *ud, const struct store_email_entry *e)
{
	(void)ud;
	(void)e;
	return 0;
}

/* Whether blob is a whole message ("B<n>") or an upload ("U<n>") of
 * account: 1 (src and *size set), 0 it is not of those kinds (a part,
 * decoded whole by jmap_blob_read), -ENOENT none of the account's, or a
 * negative errno. */
static int streamable(struct store_rd *rd, int64_t account, const char *blob,
                      struct blob_source *src, uint64_t *size)
{
	int64_t id;
	if (blob[0] == 'U') {
		struct store_upload meta;
		if (!jmap_id_parse(blob, 'U', &id))
			return -ENOENT;
		int r = store_upload_stat(rd, account, id, &meta);
		if (r <= 0)
			return r == 0 ? -ENOENT : r;
		*size = meta.size;
		src->id = id;
		src->upload = true;
		return 1;
	}
	if (blob[0] != 'B' || strchr(blob, '.') || !jmap_id_parse(blob, 'B', &id))
		return 0;
	int r = store_email_entries(rd, account, id, count_entry, NULL);
	if (r <= 0)
		return r == 0 ? -ENOENT : r;
	int64_t n = store_message_size(rd, id);
	if (n < 0)
		return n == -ENOENT ? -ENOENT : (int)n;
	*size = (uint64_t)n;
	src->id = id;
	src->upload = false;
	return 1;
}

static bool download_authed(struct http_session *s, const struct jmap_web_login *who)
{
	int64_t acct;
	char blob[BLOB_ID_MAX];
	const char *name;
	if (!http_jmap_download_split(s->path + sizeof DOWNLOAD_PREFIX - 1, &acct, blob,
	                              sizeof blob, &name) ||
	    acct != who->account_id) {
		not_found(s);
		return false;
	}
	char accept[300];
	if (http_query_param(s->query, "accept", accept, sizeof accept) < 0 ||
	    !media_type_ok(accept))
		snprintf(accept, sizeof accept, "application/octet-stream");

	struct jmap_limits limits = {0};
	struct jmap_account account = {s->ctx->env->store, who->account_id, who->address, &limits,
	                               s->ctx->env->hostname};
	struct store_rd *rd = store_reader(s->ctx->env->store);
	bool begun = store_read_begin(rd);
	struct buf body = {0};
	char type[256], fname[256];
	struct blob_source src = {.store = s->ctx->env->store};
	uint64_t size = 0;
	int r = streamable(rd, who->account_id, blob, &src, &size);
	if (r == 0)
		r = jmap_blob_read(rd, &account, blob, &body, type, sizeof type, fname,
		                   sizeof fname);
	store_read_end(rd, begun);
	if (r <= 0 && r != -ENOENT && r != 0) {
		buf_free(&body);
		problem(s, 503, "about:blank", NULL, "the blob could not be read");
		return false;
	}
	if (r <= 0) {
		buf_free(&body);
		not_found(s);
		return false;
	}
	bool stream = src.id != 0;
	struct buf h = {0};
	char etag[BLOB_ID_MAX + 3];
	snprintf(etag, sizeof etag, "\"%s\"", blob); /* a blob id names immutable bytes */
	int e = disposition(&h, name);
	e |= buf_adds(&h, "Cache-Control: private, max-age=604800, immutable\r\n");
	if (e != 0) {
		buf_free(&h);
		buf_free(&body);
		http_respond_error(s, 503);
		return false;
	}
	struct http_entity ent = {
	    .content_type = accept,
	    .extra = h.data,
	    .body = body.data,
	    .len = stream ? (size_t)size : body.len,
	    .etag = etag,
	};
	struct blob_source *held = stream ? malloc(sizeof *held) : NULL;
	if (stream && !held) {
		buf_free(&h);
		problem(s, 503, "about:blank", NULL, "out of memory");
		return false;
	}
	if (stream) {
		*held = src;
		struct http_body_source bs = {.read = blob_slice, .free = free, .ud = held};
		http_respond_stream(s, 200, &ent, &bs);
	} else {
		http_respond_entity(s, 200, &ent);
	}
	buf_free(&h);
	buf_free(&body);
	return false;
}

void http_jmap_download(struct http_session *s)
{
	http_jmap_authenticate(s, download_authed);
}

/* ---- the webmail's view of a mail's HTML ---- */

#define HTML_PREFIX "/jmap/html/"
#define HTML_CSP                                                                                   \
	"Content-Security-Policy: default-src 'none'; img-src data: 'self'%s; style-src "          \
	"'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'\r\n"

struct cid_map {
	int64_t account_id, message_id;
	const json_t *structure; /* the bodyStructure */
};

/* The leaf part of the tree whose cid is id (idlen bytes), or NULL. */
static const json_t *part_by_cid(const json_t *node, const char *id, size_t idlen, int depth)
{
	if (!json_is_object(node) || depth > 64)
		return NULL;
	const json_t *sub = json_object_get(node, "subParts");
	if (json_is_array(sub)) {
		size_t i;
		const json_t *v;
		json_array_foreach(sub, i, v)
		{
			const json_t *hit = part_by_cid(v, id, idlen, depth + 1);
			if (hit)
				return hit;
		}
		return NULL;
	}
	const char *cid = json_string_value(json_object_get(node, "cid"));
	return cid && strlen(cid) == idlen && memcmp(cid, id, idlen) == 0 ? node : NULL;
}

static int cid_url(void *ctx, const char *id, size_t idlen, struct buf *url)
{
	const struct cid_map *m = ctx;
	const json_t *p = part_by_cid(m->structure, id, idlen, 0);
	const char *part = p ? json_string_value(json_object_get(p, "partId")) : NULL;
	const char *type = p ? json_string_value(json_object_get(p, "type")) : NULL;
	if (!part)
		return 0;
	if (!type || !media_type_ok(type))
		type = "application/octet-stream";
	return buf_printf(url, DOWNLOAD_PREFIX "A%" PRId64 "/B%" PRId64 ".%s/image?accept=%s",
	                  m->account_id, m->message_id, part, type) < 0
	           ? -ENOMEM
	           : 1;
}

/* The first part of list (htmlBody or textBody) of media type want. */
static const json_t *first_of(const json_t *list, const char *want)
{
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *type = json_string_value(json_object_get(v, "type"));
		if (type && strcmp(type, want) == 0)
			return v;
	}
	return NULL;
}

static int escape_text(struct buf *out, const char *s, size_t n)
{
	int e = 0;
	for (size_t i = 0; i < n && !e; i++) {
		switch (s[i]) {
		case '<':
			e = buf_adds(out, "&lt;");
			break;
		case '>':
			e = buf_adds(out, "&gt;");
			break;
		case '&':
			e = buf_adds(out, "&amp;");
			break;
		default:
			e = buf_addc(out, s[i]);
		}
	}
	return e;
}

/* The document for message raw: its first HTML body part sanitized, or
 * its first text/plain part as <pre>. 0 or a negative errno. */
static int html_document(const struct cid_map *m, const char *raw, size_t len, bool images,
                         struct buf *doc, unsigned *found)
{
	static const char *const props[] = {"htmlBody", "textBody", "bodyStructure"};
	static const char *const body_props[] = {"partId", "type", "charset", "cid", "subParts"};
	json_t *p = json_array(), *bp = json_array(), *obj = json_object();
	for (size_t i = 0; p && i < sizeof props / sizeof props[0]; i++)
		json_array_append_new(p, json_string(props[i]));
	for (size_t i = 0; bp && i < sizeof body_props / sizeof body_props[0]; i++)
		json_array_append_new(bp, json_string(body_props[i]));
	struct jmap_email_opts o = {.properties = p, .body_properties = bp};
	int r = p && bp && obj ? jmap_email_render(obj, raw, len, m->message_id, &o) : -ENOMEM;
	struct cid_map map = *m;
	map.structure = obj ? json_object_get(obj, "bodyStructure") : NULL;
	const json_t *part =
	    r == 0 ? first_of(json_object_get(obj, "htmlBody"), "text/html") : NULL;
	bool html = part != NULL;
	if (r == 0 && !part)
		part = first_of(json_object_get(obj, "textBody"), "text/plain");
	struct buf dec = {0}, utf8 = {0};
	if (r == 0)
		r = buf_adds(doc, "<!doctype html><meta charset=utf-8>");
	if (r == 0 && part) {
		char type[128], name[8];
		const char *id = json_string_value(json_object_get(part, "partId"));
		const char *cs = json_string_value(json_object_get(part, "charset"));
		r = id ? jmap_email_part(raw, len, id, &dec, type, sizeof type, name, sizeof name)
		       : 0;
		if (r == 1)
			r = mime_to_utf8(cs ? cs : "us-ascii", dec.data ? dec.data : "", dec.len,
			                 &utf8);
		else if (r == 0)
			r = -EIO;
	}
	if (r == 0 && part && html) {
		struct html_sanitize_opts so = {
		    .cid_url = cid_url, .ctx = &map, .remote_images_src = images};
		r = html_sanitize(utf8.data ? utf8.data : "", utf8.len, &so, doc, found);
	} else if (r == 0 && part) {
		r = buf_adds(doc, "<pre>");
		r |= escape_text(doc, utf8.data ? utf8.data : "", utf8.len);
		r |= buf_adds(doc, "</pre>");
	}
	buf_free(&dec);
	buf_free(&utf8);
	json_decref(obj);
	json_decref(p);
	json_decref(bp);
	return r < 0 ? r : 0;
}

static bool html_authed(struct http_session *s, const struct jmap_web_login *who)
{
	const char *rest = s->path + sizeof HTML_PREFIX - 1;
	const char *slash = strchr(rest, '/');
	int64_t acct, msgid;
	if (!slash || !account_part(rest, (size_t)(slash - rest), &acct) ||
	    acct != who->account_id || !jmap_id_parse(slash + 1, 'M', &msgid)) {
		problem(s, 404, "about:blank", NULL, "no such email");
		return false;
	}
	char flag[4];
	bool images =
	    http_query_param(s->query, "images", flag, sizeof flag) == 1 && flag[0] == '1';
	struct jmap_limits limits = {0};
	struct jmap_account account = {s->ctx->env->store, who->account_id, who->address, &limits,
	                               s->ctx->env->hostname};
	struct store_rd *rd = store_reader(s->ctx->env->store);
	bool begun = store_read_begin(rd);
	struct buf raw = {0}, doc = {0};
	char blob[32], type[64], name[8];
	snprintf(blob, sizeof blob, "B%" PRId64, msgid);
	int r = jmap_blob_read(rd, &account, blob, &raw, type, sizeof type, name, sizeof name);
	store_read_end(rd, begun);
	unsigned found = 0;
	struct cid_map m = {acct, msgid, NULL};
	if (r == 1)
		r = html_document(&m, raw.data ? raw.data : "", raw.len, images, &doc, &found);
	buf_free(&raw);
	if (r < 0) {
		buf_free(&doc);
		problem(s, 503, "about:blank", NULL, "the email could not be shown");
		return false;
	}
	if (doc.len == 0) {
		problem(s, 404, "about:blank", NULL, "no such email");
		return false;
	}
	char extra[600];
	snprintf(extra, sizeof extra, HTML_CSP "Cache-Control: private, no-cache\r\n%s",
	         images ? " https:" : "",
	         (found & HTML_FOUND_REMOTE_IMAGES) ? "X-Tern-Remote-Images: 1\r\n" : "");
	http_respond(s, 200, "text/html; charset=utf-8", extra, doc.data, doc.len,
	             HTTP_R_FRAME_SELF | HTTP_R_GZIP);
	buf_free(&doc);
	return false;
}

void http_jmap_html(struct http_session *s)
{
	http_jmap_authenticate(s, html_authed);
}
