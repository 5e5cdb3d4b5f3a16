/* cmd_fetch: FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY,
 * RFC 7162 CHANGEDSINCE / VANISHED).
 *
 * Steps (cmd->step):
 *   0  parse, resolve the set; if some attribute sets \Seen (BODY[] without
 *      PEEK, RFC822, RFC822.TEXT, BINARY[]) and the mailbox is writable,
 *      submit one flags job for the whole set and wait (ASYNC);
 *   1  the \Seen job committed: tell other sessions;
 *   2  VANISHED (EARLIER) when asked;
 *   3  the response loop, resumable (IMAP_AGAIN).
 *
 * The response loop reads entries in UID-ordered slices of FETCH_BATCH rows
 * (one indexed range query per slice on the reader connection), formats one
 * "* n FETCH (...)" per message into ctx->out, and writes it out in 32 KiB
 * pieces. A message body is never formatted into ctx->out: BODY[] /
 * RFC822 and their partial forms stream straight from the messages BLOB
 * (store_message_read) 64 KiB at a time while the output queue has room;
 * a section that needs the MIME tree (HEADER, 1.2, TEXT, BINARY[...]) is
 * cut from the message parsed once per message, then streamed from that
 * buffer the same way. Whenever the output queue is full the handler
 * returns IMAP_AGAIN and resumes exactly where it stopped.
 *
 * BINARY[section] and BINARY.SIZE[section] of a part decoded before come
 * from its map (section.h), kept in a small cache on the loop: the size
 * without reading anything, a <partial> range by decoding from the
 * checkpoint before it, reading only those raw bytes of the message. A
 * chunked download of a 20 MB attachment (320 fetches of 64 KiB) so
 * decodes it once, not 320 times. The message is neither loaded nor
 * parsed when the maps serve every attribute that would need it.
 */
#include "proto/imap/fetch.h"
#include "proto/imap/flags.h"
#include "proto/imap/header_cache.h"
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/imap/dates.h"
#include "mime/section.h"
#include "proto/imap/render.h"
#include "mime/mime.h"
#include "store/notify.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/msg_index.h"
#include "proto/imap/index.h"

#define FETCH_BATCH 256
#define FETCH_PIECE (64u << 10)
#define FETCH_FLUSH (32u << 10)
#define FETCH_MSGS_PER_CALL 2000

struct fent {
	uint32_t uid, seq, flags;
	int64_t message_id, size, modseq, idate;
	int64_t thread_id, save_date;
	char *keywords;
};

struct fetch_ctx {
	struct imap_session *s;
	struct imap_fetch_spec spec;
	struct imap_seqset parsed, set;
	size_t ri;
	uint32_t next_seq;

	struct fent batch[FETCH_BATCH];
	size_t nb, bi;

	/* current message */
	bool in_msg;
	size_t ai;
	char *raw;
	size_t rawlen;
	struct mime_message *mm;
	bool info_loaded;
	struct store_index_data info;

	/* literal being streamed */
	bool streaming;
	int64_t st_msgid; /* 0: from st_mem */
	const char *st_mem;
	uint64_t st_off, st_end;
	char *piece;

	struct buf out, tmp;
	/* the map of a part whose section is too long to be cached */
	struct imap_binary_map own_map;

	/* implicit \Seen */
	struct store_flags_req seen;
	uint32_t *seen_uids;
	int status;

	const char *error_code; /* a NO to give at the end */

	uint64_t done, goal; /* messages answered, and to answer (INPROGRESS) */
};

/* The writer job gets the request inside the context; the completion gets
 * the whole context. */
static int seen_job(struct store_tx *tx, void *arg)
{
	return store_flags_job(tx, &((struct fetch_ctx *)arg)->seen);
}

static void fent_clear(struct fetch_ctx *c)
{
	for (size_t i = 0; i < c->nb; i++)
		free(c->batch[i].keywords);
	c->nb = c->bi = 0;
}

static void msg_clear(struct fetch_ctx *c)
{
	mime_free(&c->mm);
	free(c->raw);
	c->raw = NULL;
	c->rawlen = 0;
	imap_binary_map_free(&c->own_map);
	if (c->info_loaded)
		store_index_data_free(&c->info);
	c->info_loaded = false;
	c->in_msg = false;
	c->ai = 0;
}

static void fetch_ctx_free(struct imap_cmd *cmd)
{
	struct fetch_ctx *c = cmd->ctx;
	if (!c)
		return;
	fent_clear(c);
	msg_clear(c);
	buf_free(&c->out);
	buf_free(&c->tmp);
	free(c->piece);
	if (c->seen.res)
		store_flags_req_clear(&c->seen);
	free(c->seen.res);
	free(c->seen_uids);
	cmd->ctx = NULL;
}

/* ---- formatting ---- */

static void flush_out(struct fetch_ctx *c)
{
	if (c->out.len) {
		imap_write(c->s, c->out.data, c->out.len);
		buf_reset(&c->out);
	}
}

static int addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- the current message ---- */

/* The message, parsed. When the FETCH wants top-level header sections
 * only (a mail client's message list), only a prefix holding the whole
 * header is read (imap_message_read_header): a 20 MB attachment is then
 * neither read nor parsed. */
static int load_message(struct fetch_ctx *c, const struct fent *e)
{
	if (c->mm)
		return 0;
	if (e->size < 0 || (uint64_t)e->size > (1ull << 31))
		return -EFBIG;
	if (c->spec.header_only) {
		const struct imap_session *s = c->s;
		size_t len;
		const char *hdr =
		    imap_raw_header_get(s->sel.mailbox_id, s->sel.uidvalidity, e->uid, &len);
		if (hdr) {
			if (!(c->raw = malloc(len + 1)))
				return -ENOMEM;
			memcpy(c->raw, hdr, len);
			c->rawlen = len;
			return mime_parse(c->raw, c->rawlen, &c->mm);
		}
		int r = imap_message_read_header(imap_reader(s), e->message_id, (size_t)e->size,
		                                 &c->raw, &c->rawlen, &c->mm);
		if (r == 0)
			imap_raw_header_put(s->sel.mailbox_id, s->sel.uidvalidity, e->uid, c->raw,
			                    c->mm->root->body_start);
		return r;
	}
	c->raw = malloc((size_t)e->size + 1);
	if (!c->raw)
		return -ENOMEM;
	ssize_t n =
	    store_message_read(imap_reader(c->s), e->message_id, 0, c->raw, (size_t)e->size);
	if (n < 0)
		return (int)n;
	c->rawlen = (size_t)n;
	return mime_parse(c->raw, c->rawlen, &c->mm);
}

static int load_info(struct fetch_ctx *c, const struct fent *e)
{
	if (c->info_loaded)
		return 0;
	int r = store_index_get(imap_reader(c->s), e->message_id, &c->info);
	if (r == 0) {
		if ((r = load_message(c, e)) < 0)
			return r;
		r = imap_index_compute(c->raw, c->rawlen, false, &c->info);
	}
	if (r < 0)
		return r;
	c->info_loaded = true;
	return 0;
}

/* The index row alone (PREVIEW (LAZY) works nothing out): 1 loaded, 0
 * the message has none yet, or negative. */
static int load_info_indexed(struct fetch_ctx *c, const struct fent *e)
{
	if (c->info_loaded)
		return 1;
	int r = store_index_get(imap_reader(c->s), e->message_id, &c->info);
	if (r == 1)
		c->info_loaded = true;
	return r;
}

/* "PREVIEW ..." (RFC 8970): from the index row, or worked out now; with
 * LAZY, NIL when that would take parsing the message. Never NIL without
 * LAZY (§3.2): "" when nothing can be had. */
static void emit_preview(struct fetch_ctx *c, const struct fent *e, const struct imap_fetch_att *a)
{
	int r = a->lazy ? load_info_indexed(c, e) : load_info(c, e) == 0 ? 1 : -1;
	buf_adds(&c->out, "PREVIEW ");
	if (r == 1 && c->info.preview) {
		imap_string(&c->out, c->info.preview, strlen(c->info.preview));
		return;
	}
	if (a->lazy) {
		buf_adds(&c->out, "NIL");
		return;
	}
	/* a row from before previews: work it out from the message */
	struct store_index_data d;
	if (r == 1 && load_message(c, e) == 0 &&
	    imap_index_compute(c->raw, c->rawlen, false, &d) == 0) {
		imap_string(&c->out, d.preview, strlen(d.preview));
		store_index_data_free(&d);
		return;
	}
	imap_log(c->s, LOG_ERROR, "event=fetch_preview_error uid=%u", e->uid);
	buf_adds(&c->out, "\"\"");
}

/* Literal header then a stream of [off, end) of the message BLOB
 * (msgid != 0) or of mem. */
static void start_literal(struct fetch_ctx *c, int64_t msgid, const char *mem, uint64_t off,
                          uint64_t end, bool binary)
{
	bool nul = binary && mem && memchr(mem + off, '\0', (size_t)(end - off)) != NULL;
	addf(&c->out, "%s{%llu}\r\n", nul ? "~" : "", (unsigned long long)(end - off));
	c->streaming = end > off;
	c->st_msgid = msgid;
	c->st_mem = mem;
	c->st_off = off;
	c->st_end = end;
	if (end - off <= FETCH_FLUSH && mem) {
		buf_add(&c->out, mem + off, (size_t)(end - off));
		c->streaming = false;
	}
}

/* Returns 1 when the stream finished, 0 when the output is full, <0 on a
 * read error (the connection is then aborted: a half-sent literal cannot
 * be taken back). */
static int pump_ex(struct fetch_ctx *c, bool wait_for_room)
{
	flush_out(c);
	while (c->streaming) {
		if (wait_for_room && imap_output_full(c->s))
			return 0;
		uint64_t want = c->st_end - c->st_off;
		if (want > FETCH_PIECE)
			want = FETCH_PIECE;
		if (c->st_msgid) {
			if (!c->piece && !(c->piece = malloc(FETCH_PIECE)))
				return -ENOMEM;
			ssize_t n = store_message_read(imap_reader(c->s), c->st_msgid,
			                               (size_t)c->st_off, c->piece, (size_t)want);
			if (n <= 0)
				return n < 0 ? (int)n : -EIO;
			imap_write(c->s, c->piece, (size_t)n);
			c->st_off += (uint64_t)n;
		} else {
			imap_write(c->s, c->st_mem + c->st_off, (size_t)want);
			c->st_off += want;
		}
		if (c->st_off >= c->st_end)
			c->streaming = false;
	}
	return 1;
}

static int pump(struct fetch_ctx *c)
{
	return pump_ex(c, true);
}

/* Apply <offset.count> to a length. */
static void clip(const struct imap_fetch_att *a, uint64_t len, uint64_t *off, uint64_t *end)
{
	*off = 0;
	*end = len;
	if (a->partial) {
		*off = a->offset < len ? a->offset : len;
		*end = a->count < len - *off ? *off + a->count : len;
	}
}

/* Bytes of a BODY section (or RFC822.HEADER / RFC822.TEXT) into c->tmp.
 * Returns 0, or -ENOENT when the section does not exist. */
static int section_bytes(struct fetch_ctx *c, const char *spec, size_t len)
{
	struct imap_section sec;
	buf_reset(&c->tmp);
	int r = imap_section_find(c->mm, spec, len, &sec);
	if (r < 0)
		return r;
	r = imap_section_fetch(c->mm, &sec, &c->tmp);
	if (r == 0 && !c->tmp.data)
		r = buf_add(&c->tmp, "", 0);
	return r;
}

/* ---- BINARY: the maps of decoded parts ----
 *
 * The last BINARY_MAPS parts BINARY looked at, on the loop, shared by every
 * session (a client often downloads with a connection of its own), least
 * recently used out first. A map is a few KiB at most (section.h bounds
 * its checkpoints), so the cache stays under 2 MiB. An entry is keyed by
 * what names the same bytes for ever: mailbox id, UIDVALIDITY and UID (as
 * header_cache.h's), with the message row and its size besides; so it can
 * be evicted but is never wrong. */
#define BINARY_MAPS 64
#define BINARY_SECTION_MAX 48

struct binary_entry {
	int64_t mailbox_id, message_id, size;
	uint32_t uidvalidity, uid;
	char section[BINARY_SECTION_MAX];
	uint64_t used; /* 0: free */
	struct imap_binary_map map;
};

static struct binary_entry binary_maps[BINARY_MAPS];
static uint64_t binary_clock;

static struct binary_entry *binary_find(const struct fetch_ctx *c, const struct fent *e,
                                        const char *sec, size_t len)
{
	const struct imap_session *s = c->s;
	if (len >= BINARY_SECTION_MAX)
		return NULL;
	for (size_t i = 0; i < BINARY_MAPS; i++) {
		struct binary_entry *b = &binary_maps[i];
		if (b->used && b->uid == e->uid && b->mailbox_id == s->sel.mailbox_id &&
		    b->uidvalidity == s->sel.uidvalidity && b->message_id == e->message_id &&
		    b->size == e->size && strlen(b->section) == len &&
		    memcmp(b->section, sec, len) == 0) {
			b->used = ++binary_clock;
			return b;
		}
	}
	return NULL;
}

/* Keep map (taken over) for part sec of e; returns where it now is. */
static const struct imap_binary_map *binary_keep(struct fetch_ctx *c, const struct fent *e,
                                                 const char *sec, size_t len,
                                                 struct imap_binary_map *map)
{
	if (len >= BINARY_SECTION_MAX) {
		imap_binary_map_free(&c->own_map);
		c->own_map = *map;
		return &c->own_map;
	}
	struct binary_entry *b = &binary_maps[0];
	for (size_t i = 1; i < BINARY_MAPS && b->used; i++)
		if (!binary_maps[i].used || binary_maps[i].used < b->used)
			b = &binary_maps[i];
	imap_binary_map_free(&b->map);
	b->mailbox_id = c->s->sel.mailbox_id;
	b->uidvalidity = c->s->sel.uidvalidity;
	b->uid = e->uid;
	b->message_id = e->message_id;
	b->size = e->size;
	memcpy(b->section, sec, len);
	b->section[len] = '\0';
	b->used = ++binary_clock;
	b->map = *map;
	return &b->map;
}

/* The map of BINARY part sec of e: from the cache, or made by decoding the
 * part, and then c->tmp holds the whole decoded part (*whole). -ENOENT for
 * no such part, -EINVAL for an unknown transfer encoding, -EIO and others
 * when the message cannot be loaded. */
static int binary_map(struct fetch_ctx *c, const struct fent *e, const char *sec, size_t len,
                      const struct imap_binary_map **map, bool *whole)
{
	*whole = false;
	const struct binary_entry *b = binary_find(c, e, sec, len);
	if (b) {
		*map = &b->map;
		return 0;
	}
	/* Not cached, so the message was loaded: maps_cover() runs just
	 * before emit_atts(), in the same call, also when a message goes on
	 * after a wait for the output to drain (while which other sessions
	 * may have pushed its maps out). Should it not have been, load it. */
	int r = c->mm ? 0 : load_message(c, e);
	if (r < 0)
		return r;
	const struct mime_part *p = imap_part_find(c->mm, sec, len);
	if (!p)
		return -ENOENT;
	struct imap_binary_map m;
	buf_reset(&c->tmp);
	if ((r = imap_binary_decode(c->mm, p, &c->tmp, &m)) < 0)
		return r;
	*map = binary_keep(c, e, sec, len, &m);
	*whole = true;
	return 0;
}

/* Can every attribute that needs the message be answered without it (a
 * cached map for each BINARY, BINARY.SIZE[])? Then it is not loaded. */
static bool maps_cover(const struct fetch_ctx *c, const struct fent *e)
{
	for (size_t i = 0; i < c->spec.n; i++) {
		const struct imap_fetch_att *a = &c->spec.atts[i];
		switch (a->kind) {
		case IMAP_FA_SECTION:
			if (a->section_len > 0)
				return false;
			break;
		case IMAP_FA_RFC822_HEADER:
		case IMAP_FA_RFC822_TEXT:
			return false;
		case IMAP_FA_BINARY:
		case IMAP_FA_BINARY_SIZE:
			if (a->section_len > 0 && !binary_find(c, e, a->section, a->section_len))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

struct raw_source {
	struct store_rd *rd;
	int64_t message_id;
};

static ssize_t read_raw(void *ud, uint64_t off, char *buf, size_t len)
{
	const struct raw_source *src = ud;
	return store_message_read(src->rd, src->message_id, (size_t)off, buf, len);
}

/* BINARY[section]<partial> of e into c->tmp, as [*off, *end) of it. */
static int binary_bytes(struct fetch_ctx *c, const struct fent *e, const struct imap_fetch_att *a,
                        uint64_t *off, uint64_t *end)
{
	const struct imap_binary_map *map;
	bool whole;
	int r = binary_map(c, e, a->section, a->section_len, &map, &whole);
	if (r < 0)
		return r;
	clip(a, map->size, off, end);
	if (whole)
		return 0;
	struct raw_source src = {imap_reader(c->s), e->message_id};
	buf_reset(&c->tmp);
	r = imap_binary_range(map, *off, *end - *off, read_raw, &src, &c->tmp);
	*end -= *off;
	*off = 0;
	return r;
}

static bool seen_changed(const struct fetch_ctx *c, uint32_t uid)
{
	if (!c->seen.res)
		return false;
	size_t lo = 0, hi = c->seen.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->seen.res[mid].uid == uid)
			return c->seen.res[mid].status == 1;
		if (c->seen.res[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Emit attributes of the current message from c->ai on. Returns 1 when
 * the message is complete, 0 when a literal stream was started, or a
 * negative errno when the message could not be loaded. */
static int emit_atts(struct fetch_ctx *c, const struct fent *e)
{
	for (; c->ai < c->spec.n; c->ai++) {
		const struct imap_fetch_att *a = &c->spec.atts[c->ai];
		if (c->ai > 0)
			buf_addc(&c->out, ' ');
		uint64_t off = 0, end = 0;
		int r;
		switch (a->kind) {
		case IMAP_FA_UID:
			addf(&c->out, "UID %u", e->uid);
			break;
		case IMAP_FA_FLAGS:
			buf_adds(&c->out, "FLAGS ");
			imap_format_flags(&c->out, imap_output_flags(c->s, e->uid, e->flags),
			                  e->keywords);
			break;
		case IMAP_FA_MODSEQ:
			addf(&c->out, "MODSEQ (%lld)", (long long)e->modseq);
			break;
		case IMAP_FA_INTERNALDATE: {
			char d[32];
			imap_format_date_time(e->idate, d);
			addf(&c->out, "INTERNALDATE \"%s\"", d);
			break;
		}
		case IMAP_FA_RFC822_SIZE:
			addf(&c->out, "RFC822.SIZE %lld", (long long)e->size);
			break;
		case IMAP_FA_EMAILID: /* objectid.h */
			addf(&c->out, "EMAILID (M%lld)", (long long)e->message_id);
			break;
		case IMAP_FA_THREADID:
			addf(&c->out, "THREADID (T%lld)", (long long)e->thread_id);
			break;
		case IMAP_FA_PREVIEW:
			emit_preview(c, e, a);
			break;
		case IMAP_FA_SAVEDATE: {
			char d[32];
			imap_format_date_time(e->save_date, d);
			addf(&c->out, "SAVEDATE \"%s\"", d);
			break;
		}
		case IMAP_FA_ENVELOPE:
		case IMAP_FA_BODY:
		case IMAP_FA_BODYSTRUCTURE:
			if ((r = load_info(c, e)) < 0) {
				imap_log(c->s, LOG_ERROR, "event=fetch_info_error uid=%u err=%d",
				         e->uid, r);
				buf_adds(&c->out,
				         a->kind == IMAP_FA_ENVELOPE ? "ENVELOPE NIL" : "BODY NIL");
				break;
			}
			buf_adds(&c->out, a->name);
			buf_addc(&c->out, ' ');
			buf_adds(&c->out, a->kind == IMAP_FA_ENVELOPE ? c->info.envelope
			                  : a->kind == IMAP_FA_BODY   ? c->info.body
			                                              : c->info.bodystructure);
			break;
		case IMAP_FA_RFC822:
		case IMAP_FA_SECTION:
		case IMAP_FA_BINARY:
			buf_adds(&c->out, a->name);
			buf_addc(&c->out, ' ');
			if (a->kind == IMAP_FA_RFC822 || a->section_len == 0) {
				clip(a, (uint64_t)e->size, &off, &end);
				start_literal(c, e->message_id, NULL, off, end, false);
				c->ai++;
				return 0;
			}
			if (a->kind == IMAP_FA_BINARY) {
				r = binary_bytes(c, e, a, &off, &end);
			} else {
				r = section_bytes(c, a->section, a->section_len);
				clip(a, c->tmp.len, &off, &end);
			}
			if (r < 0 && r != -ENOENT && r != -EINVAL && a->kind == IMAP_FA_BINARY)
				return r;
			if (r < 0) {
				if (r == -EINVAL && a->kind == IMAP_FA_BINARY)
					c->error_code = "UNKNOWN-CTE";
				buf_adds(&c->out, a->kind == IMAP_FA_BINARY ? "NIL" : "\"\"");
				break;
			}
			start_literal(c, 0, c->tmp.data, off, end, a->kind == IMAP_FA_BINARY);
			c->ai++;
			return 0;
		case IMAP_FA_RFC822_HEADER:
		case IMAP_FA_RFC822_TEXT:
			buf_adds(&c->out, a->name);
			buf_addc(&c->out, ' ');
			if (section_bytes(c, a->kind == IMAP_FA_RFC822_HEADER ? "HEADER" : "TEXT",
			                  a->kind == IMAP_FA_RFC822_HEADER ? 6 : 4) < 0) {
				buf_adds(&c->out, "\"\"");
				break;
			}
			start_literal(c, 0, c->tmp.data, 0, c->tmp.len, false);
			c->ai++;
			return 0;
		case IMAP_FA_BINARY_SIZE: {
			if (a->section_len == 0) {
				addf(&c->out, "%s %lld", a->name, (long long)e->size);
				break;
			}
			const struct imap_binary_map *map;
			bool whole;
			r = binary_map(c, e, a->section, a->section_len, &map, &whole);
			if (r < 0 && r != -ENOENT && r != -EINVAL)
				return r;
			if (r == -EINVAL)
				c->error_code = "UNKNOWN-CTE";
			if (r < 0)
				addf(&c->out, "%s NIL", a->name);
			else
				addf(&c->out, "%s %llu", a->name, (unsigned long long)map->size);
			break;
		}
		}
	}
	return 1;
}

/* The next entry to answer for, or NULL at the end of the set. */
static int load_batch_cb(void *ud, const struct store_entry *e)
{
	struct fetch_ctx *c = ud;
	uint32_t seq = imap_view_seq(c->s, e->uid);
	if (seq == 0)
		return 0;
	if (c->spec.changedsince >= 0 && e->modseq <= c->spec.changedsince)
		return 0;
	struct fent *f = &c->batch[c->nb++];
	f->uid = e->uid;
	f->seq = seq;
	f->flags = e->flags;
	f->message_id = e->message_id;
	f->size = e->size;
	f->modseq = e->modseq;
	f->idate = e->internal_date;
	f->thread_id = e->thread_id;
	f->save_date = e->save_date;
	f->keywords = strdup(e->keywords ? e->keywords : "");
	return 0;
}

/* Fill the batch; returns 0 at the end of the set, 1 if entries are
 * waiting, negative on error. */
static int next_batch(struct fetch_ctx *c)
{
	fent_clear(c);
	while (c->ri < c->set.n) {
		const struct imap_seqrange *rg = &c->set.r[c->ri];
		if (c->next_seq < rg->lo)
			c->next_seq = rg->lo;
		if (c->next_seq > rg->hi) {
			c->ri++;
			continue;
		}
		uint32_t lo = imap_view_uid(c->s, c->next_seq), hi = imap_view_uid(c->s, rg->hi);
		int r = store_entries_range(imap_reader(c->s), c->s->sel.mailbox_id, lo, hi,
		                            FETCH_BATCH, STORE_COLS_ENTRY, load_batch_cb, c);
		if (r < 0)
			return r;
		if ((size_t)r < FETCH_BATCH || r == 0) {
			c->ri++;
			c->next_seq = 0;
		} else {
			/* the last row read: continue after it */
			uint32_t last = c->nb ? c->batch[c->nb - 1].uid : 0;
			uint32_t lseq = last ? imap_view_seq(c->s, last) : 0;
			/* rows may have been filtered; find the last uid read via
			 * the view: everything up to hi was covered if none left */
			if (!lseq) {
				/* all FETCH_BATCH rows filtered: step by UID */
				c->next_seq++;
			} else {
				c->next_seq = lseq + 1;
			}
		}
		if (c->nb)
			return 1;
	}
	return 0;
}

/* A keyword of the batch that FLAGS did not list yet (another session
 * stored it, or a message came with it, and this session has not been
 * told): FLAGS and PERMANENTFLAGS go out before the batch's first line,
 * after the complete lines already buffered. */
static void announce_keywords(struct fetch_ctx *c)
{
	if (!imap_fetch_has(&c->spec, IMAP_FA_FLAGS) && !c->spec.sets_seen)
		return;
	for (size_t i = 0; i < c->nb; i++)
		imap_view_keywords_seen(c->s, c->batch[i].keywords);
	if (c->s->pending.keywords_changed) {
		flush_out(c);
		imap_keywords_announce(c->s);
	}
}

static void seen_done(void *arg, int status)
{
	struct fetch_ctx *c = arg;
	c->status = status;
	imap_cmd_wake(c->s);
}

static enum imap_cmd_result finish(struct imap_session *s, struct imap_cmd *cmd,
                                   struct fetch_ctx *c)
{
	flush_out(c);
	if (c->error_code)
		imap_tagged(s, cmd, "NO", c->error_code, "Some parts could not be decoded");
	else
		imap_tagged(s, cmd, "OK", imap_expunge_issued(s), "%sFETCH completed",
		            cmd->uid ? "UID " : "");
	return IMAP_DONE;
}

/* Did the client name the UID item itself? */
static bool asks_uid(const struct imap_arg *atts)
{
	if (atts->type != IMAP_ARG_LIST)
		return imap_arg_is_atom(atts, "UID");
	for (size_t i = 0; i < atts->nlist; i++)
		if (imap_arg_is_atom(&atts->list[i], "UID"))
			return true;
	return false;
}

enum imap_cmd_result imap_cmd_fetch(struct imap_session *s, struct imap_cmd *cmd)
{
	struct fetch_ctx *c = cmd->ctx;
	const char *err = NULL;

	if (cmd->step == 0) {
		if (cmd->nargs < 2 || cmd->nargs > 3 || cmd->args[0].type != IMAP_ARG_ATOM) {
			imap_tagged(s, cmd, "BAD", NULL,
			            "FETCH needs a sequence set and attributes");
			return IMAP_DONE;
		}
		c = imap_arena_alloc(&cmd->arena, sizeof *c);
		c->s = s;
		cmd->ctx = c;
		cmd->ctx_free = fetch_ctx_free;
		if (imap_seqset_parse(cmd->args[0].str, cmd->args[0].len, &c->parsed, &cmd->arena) <
		    0) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid sequence set");
			return IMAP_DONE;
		}
		if (imap_fetch_parse(&cmd->args[1], cmd->nargs > 2 ? &cmd->args[2] : NULL, cmd->uid,
		                     &cmd->arena, &c->spec, &err) < 0) {
			imap_tagged(s, cmd, "BAD", NULL, "%s", err);
			return IMAP_DONE;
		}
		if (c->spec.vanished && !(s->enabled & IMAP_EXT_QRESYNC)) {
			imap_tagged(s, cmd, "BAD", NULL, "VANISHED needs ENABLE QRESYNC");
			return IMAP_DONE;
		}
		if ((s->enabled & IMAP_EXT_UIDONLY) && !asks_uid(&cmd->args[1]) && c->spec.n &&
		    c->spec.atts[0].kind == IMAP_FA_UID) {
			/* UIDFETCH leads with the UID: the UID item only when asked
			 * for (RFC 9586 §3.3) */
			memmove(c->spec.atts, c->spec.atts + 1, --c->spec.n * sizeof *c->spec.atts);
		}
		int r = imap_seqset_resolve(s->sel.uids, s->sel.count, s->searchres, s->nsearchres,
		                            &c->parsed, cmd->uid, &c->set, &cmd->arena);
		if (r < 0) {
			imap_tagged(s, cmd, "BAD", NULL, "Invalid sequence set: no such message");
			return IMAP_DONE;
		}
		if (c->spec.has_partial) {
			/* RFC 9394 §3.3: the range of the set's messages, before
			 * CHANGEDSINCE filters them */
			size_t from, to;
			imap_partial_slice(&c->spec.partial, (size_t)imap_seqset_count(&c->set),
			                   &from, &to);
			struct imap_seqset all = c->set;
			imap_seqset_slice(&all, from, to, &c->set, &cmd->arena);
		}
		if (c->spec.changedsince >= 0 || imap_fetch_has(&c->spec, IMAP_FA_MODSEQ))
			imap_condstore_enable(s);
		if ((s->enabled & (IMAP_EXT_CONDSTORE | IMAP_EXT_QRESYNC)) &&
		    !imap_fetch_has(&c->spec, IMAP_FA_MODSEQ) && c->spec.sets_seen) {
			/* RFC 7162 §3.2: a flag change reported to a CONDSTORE
			 * client carries its MODSEQ */
			c->spec.atts[c->spec.n++] =
			    (struct imap_fetch_att){.kind = IMAP_FA_MODSEQ, .name = "MODSEQ"};
		}
		cmd->step = 2;
		uint64_t cnt = imap_seqset_count(&c->set);
		c->goal = cnt;
		if (c->spec.sets_seen && !s->sel.readonly && cnt > 0) {
			c->seen_uids = malloc(cnt * sizeof *c->seen_uids);
			c->seen.res = calloc(cnt, sizeof *c->seen.res);
			if (!c->seen_uids || !c->seen.res) {
				imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
				return IMAP_DONE;
			}
			size_t k = 0;
			for (size_t i = 0; i < c->set.n; i++)
				for (uint64_t q = c->set.r[i].lo; q <= c->set.r[i].hi; q++)
					c->seen_uids[k++] = s->sel.uids[q - 1];
			c->seen.mailbox_id = s->sel.mailbox_id;
			c->seen.uids = c->seen_uids;
			c->seen.n = k;
			c->seen.op = STORE_FLAGS_ADD;
			c->seen.flags = STORE_FLAG_SEEN;
			c->seen.keywords = "";
			c->seen.unchangedsince = -1;
			if (store_submit_lazy(imap_store(s), seen_job, seen_done, c) == 0) {
				cmd->step = 1;
				return IMAP_ASYNC;
			}
			free(c->seen.res);
			c->seen.res = NULL;
		}
	}

	if (cmd->step == 1) {
		if (c->status < 0) {
			imap_log(s, LOG_WARN, "event=fetch_seen_failed err=%d", c->status);
			store_flags_req_clear(&c->seen);
			free(c->seen.res);
			c->seen.res = NULL;
		} else {
			for (size_t i = 0; i < c->seen.n; i++) {
				if (c->seen.res[i].status != 1)
					continue;
				struct notify_event ev = {.mailbox_id = s->sel.mailbox_id,
				                          .kind = NOTIFY_FLAGS,
				                          .uid = c->seen.res[i].uid,
				                          .modseq = c->seen.res[i].modseq,
				                          .origin = s->sid,
				                          .account_id = s->account_id};
				imap_view_flags_changed(s, c->seen.res[i].uid,
				                        c->seen.res[i].modseq);
				notify_publish(&ev);
			}
		}
		cmd->step = 2;
	}

	if (cmd->step == 2) {
		if (c->spec.vanished) {
			struct buf vb = {0};
			for (size_t i = 0; i < c->parsed.n; i++) {
				/* '*' reaches past the last message to every UID
				 * given out, as RFC 7162 §3.2.5.1 reads a missing
				 * known-uids ("1:<UIDNEXT-1>"): the last messages
				 * may be the expunged ones */
				uint32_t lo, hi;
				imap_seqrange_bounds(&c->parsed.r[i], UINT32_MAX, &lo, &hi);
				uint32_t *u = NULL;
				size_t n = 0;
				if (store_expunged_uids(imap_reader(s), s->sel.mailbox_id,
				                        c->spec.changedsince, lo, hi, &u,
				                        &n) == 0) {
					char *fmt = imap_seqset_format(&cmd->arena, u, n);
					if (n) {
						if (vb.len)
							buf_addc(&vb, ',');
						buf_adds(&vb, fmt);
					}
				}
				free(u);
			}
			if (vb.len)
				imap_untagged(s, "VANISHED (EARLIER) %s", vb.data);
			buf_free(&vb);
		}
		cmd->step = 3;
	}

	/* step 3: the response loop */
	unsigned msgs = 0;
	for (;;) {
		if (s->closed)
			return finish(s, cmd, c);
		if (c->streaming) {
			int r = pump(c);
			if (r < 0) {
				imap_log(s, LOG_ERROR, "event=fetch_stream_error err=%d", r);
			conn_abort_imap:
				imap_tagged(s, cmd, "NO", "SERVERBUG", "Read error");
				return IMAP_DONE;
			}
			if (r == 0)
				return IMAP_AGAIN;
		}
		if (c->in_msg) {
			const struct fent *e = &c->batch[c->bi];
			if (c->spec.needs_message && !c->mm && !maps_cover(c, e)) {
				int r = load_message(c, e);
				if (r < 0) {
					imap_log(s, LOG_ERROR,
					         "event=fetch_load_error uid=%u err=%d", e->uid, r);
					goto conn_abort_imap;
				}
			}
			int emitted = emit_atts(c, e);
			if (emitted < 0) {
				imap_log(s, LOG_ERROR, "event=fetch_load_error uid=%u err=%d",
				         e->uid, emitted);
				goto conn_abort_imap;
			}
			if (emitted == 0)
				continue; /* stream the literal */
			if (seen_changed(c, e->uid) && !imap_fetch_has(&c->spec, IMAP_FA_FLAGS)) {
				buf_adds(&c->out, " FLAGS ");
				imap_format_flags(&c->out,
				                  imap_output_flags(c->s, e->uid, e->flags),
				                  e->keywords);
			}
			buf_adds(&c->out, ")\r\n");
			msg_clear(c);
			c->bi++;
			c->done++;
			if (c->out.len >= FETCH_FLUSH)
				flush_out(c);
			if (imap_output_full(s) || ++msgs >= FETCH_MSGS_PER_CALL) {
				flush_out(c);
				return IMAP_AGAIN;
			}
			continue;
		}
		if (c->bi >= c->nb) {
			int r = next_batch(c);
			if (r < 0) {
				flush_out(c);
				imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Cannot read the mailbox");
				return IMAP_DONE;
			}
			if (r == 0)
				return finish(s, cmd, c);
			announce_keywords(c);
		}
		if (imap_progress_due(s, cmd)) {
			/* between two responses: after those already made */
			flush_out(c);
			imap_progress(s, cmd, c->done, c->goal);
		}
		const struct fent *e = &c->batch[c->bi];
		if (s->enabled & IMAP_EXT_UIDONLY)
			addf(&c->out, "* %u UIDFETCH (", e->uid);
		else
			addf(&c->out, "* %u FETCH (", e->seq);
		c->in_msg = true;
		c->ai = 0;
	}
}

/* ---- NOTIFY's FETCH for a new message ---- */

/* One "* n FETCH (...)" for uid, written whole now (RFC 5465 §5.2,
 * MessageNew (fetch-att ...)), through the same emit_atts as FETCH. The
 * spec was bounded when NOTIFY took it (cmd_notify.c: no \Seen, body
 * sections only headers or a small <partial>), so writing it without
 * waiting for the output queue to drain stays small. */
void imap_fetch_write_new(struct imap_session *s, const struct imap_fetch_spec *spec, uint32_t uid)
{
	struct fetch_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->s = s;
	c->spec = *spec;
	c->spec.changedsince = -1;
	if ((s->enabled & IMAP_EXT_UIDONLY) && c->spec.n > 1 &&
	    c->spec.atts[0].kind == IMAP_FA_UID) {
		/* UIDFETCH leads with the UID (RFC 9586 §3.3) */
		c->spec.atts++;
		c->spec.n--;
	}
	if (store_entries_range(imap_reader(s), s->sel.mailbox_id, uid, uid, 1, STORE_COLS_ENTRY,
	                        load_batch_cb, c) < 0 ||
	    c->nb == 0)
		goto out; /* gone already: its EXPUNGE follows */
	const struct fent *e = &c->batch[0];
	int lr = c->spec.needs_message ? load_message(c, e) : 0;
	if (lr < 0) {
		imap_log(s, LOG_ERROR, "event=notify_fetch_error uid=%u err=%d", uid, lr);
		goto out; /* nothing written yet: the client can FETCH it */
	}
	announce_keywords(c);
	if (s->enabled & IMAP_EXT_UIDONLY)
		addf(&c->out, "* %u UIDFETCH (", e->uid);
	else
		addf(&c->out, "* %u FETCH (", e->seq);
	for (;;) {
		int r = emit_atts(c, e);
		if (r < 0) {
			imap_log(s, LOG_ERROR, "event=notify_fetch_error uid=%u err=%d", uid, r);
			/* a line begun cannot be taken back: end the session */
			imap_close(s);
			goto out;
		}
		if (r == 1)
			break;
		if ((r = pump_ex(c, false)) < 0) {
			imap_close(s);
			goto out;
		}
	}
	buf_adds(&c->out, ")\r\n");
	flush_out(c);
out:
	fent_clear(c);
	msg_clear(c);
	buf_free(&c->out);
	buf_free(&c->tmp);
	free(c->piece);
	free(c);
}
