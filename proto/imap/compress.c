/* compress: COMPRESS=DEFLATE (RFC 4978) as a conn filter.
 *
 * Why a filter in conn. After "OK DEFLATE active" every byte in both
 * directions is a raw deflate stream (no zlib header: windowBits -15). The
 * framer must see inflated bytes, and it runs inside conn; so conn got a
 * small hook (conn_set_filter) that sits between TLS and the framer, and
 * the IMAP session supplies the two zlib streams.
 *
 * The two ways servers got this wrong, and what we do instead:
 *  - Output must be flushed (Z_SYNC_FLUSH) at the end of every batch of
 *    writes, or the client waits forever for a response stuck in zlib's
 *    buffer. conn calls encode(flush = true) once per batch, just before
 *    it hands bytes to the socket, so a burst of FETCH lines still
 *    compresses as one block.
 *  - Input arrives in arbitrary pieces: a deflate block may end in the
 *    middle of a command, or one packet may hold several commands. decode
 *    inflates whatever is there into conn's input buffer and keeps the
 *    rest of the state in the z_stream; it never assumes a packet is a
 *    unit. Pending inflated output (when the input buffer was full) comes
 *    out on the next call, even with no new input.
 */
#include "proto/imap/imap_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "net/conn.h"

struct imap_compress {
	z_stream in, out;
	bool in_init, out_init;
	bool in_end; /* the client finished its stream: nothing more is accepted */
};

static int z_decode(void *ud, const char *in, size_t inlen, size_t *consumed, char *out,
                    size_t outcap, size_t *produced)
{
	struct imap_compress *z = ud;
	*consumed = 0;
	*produced = 0;
	if (outcap == 0)
		return 0;
	if (z->in_end)
		return inlen ? -1 : 0;
	z->in.next_in = (Bytef *)in;
	z->in.avail_in = (uInt)(inlen > UINT32_MAX ? UINT32_MAX : inlen);
	z->in.next_out = (Bytef *)out;
	z->in.avail_out = (uInt)(outcap > UINT32_MAX ? UINT32_MAX : outcap);
	int rc = inflate(&z->in, Z_SYNC_FLUSH);
	*consumed = (size_t)((const char *)z->in.next_in - in);
	*produced = (size_t)((char *)z->in.next_out - out);
	if (rc == Z_STREAM_END) {
		z->in_end = true;
		return 0;
	}
	if (rc == Z_OK || rc == Z_BUF_ERROR)
		return 0;
	return -1;
}

static int z_encode(void *ud, const void *data, size_t len, bool flush,
                    int (*emit)(void *ctx, const void *data, size_t len), void *ctx)
{
	struct imap_compress *z = ud;
	unsigned char buf[16384];
	z->out.next_in = (Bytef *)data;
	z->out.avail_in = (uInt)len;
	for (;;) {
		z->out.next_out = buf;
		z->out.avail_out = sizeof buf;
		int rc = deflate(&z->out, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
		size_t n = sizeof buf - z->out.avail_out;
		if (n && emit(ctx, buf, n) != 0)
			return -1;
		if (z->out.avail_in == 0 && z->out.avail_out != 0)
			return 0;
	}
}

static const struct conn_filter deflate_filter = {z_decode, z_encode};

int imap_compress_start(struct imap_session *s)
{
	struct imap_compress *z = calloc(1, sizeof *z);
	if (!z)
		return -1;
	if (inflateInit2(&z->in, -15) != Z_OK) {
		free(z);
		return -1;
	}
	z->in_init = true;
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return -1;
	}
	z->out_init = true;
	s->z = z;
	s->compress = true;
	conn_set_filter(s->conn, &deflate_filter, z);
	return 0;
}

void imap_compress_free(struct imap_session *s)
{
	struct imap_compress *z = s->z;
	if (!z)
		return;
	if (z->in_init)
		inflateEnd(&z->in);
	if (z->out_init)
		deflateEnd(&z->out);
	free(z);
	s->z = NULL;
}
