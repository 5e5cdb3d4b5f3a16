/* conn_tls: the TLS glue of a conn (conn.h has the contract, conn_int.h
 * the layering).
 *
 * Why glue and not a transport of its own. The session (tls/tls.h) works
 * over memory buffers, so TLS here is only a matter of where bytes go:
 *
 *   socket ─→ session's ciphertext buffer   conn.c reads into it (on_alloc)
 *   session ─→ plaintext in c->in / c->raw  conn_decrypt(), into room that
 *                                           conn.c prepares: plain and TLS
 *                                           bytes reach the same framer
 *   conn_write ─→ session ─→ output queue   conn_output.c encrypts, and the
 *                                           ciphertext comes back through
 *                                           tls_out() to the same queue
 *
 * What this file owns is the state around it: the handshake (started at
 * accept for implicit TLS, or once a STARTTLS reply has gone out; bounded by
 * the handshake deadline on the aux timer; stepped by pump()), and the
 * STARTTLS switch itself.
 *
 * STARTTLS (CVE-2011-0411): conn_starttls() drops everything buffered after
 * the STARTTLS line, stops reading, and lets the queued reply flush. Only
 * when the output queue is empty does conn.c call conn_handshake_begin(),
 * which creates the session and starts reading again. Bytes that arrive
 * after our last read stay in the kernel and are read as TLS, where
 * injected plaintext can only fail the handshake.
 *
 * Upward calls (run pump() later, abort, update reading) go through c->up.
 */
#include "lib/metrics.h"
#include "net/conn_int.h"
#include "tls/tls.h"

#include <string.h>

/* Ciphertext from the TLS session: it goes to the output queue. */
static int tls_out(void *ctx, const unsigned char *data, size_t len)
{
	return conn_out_wire(ctx, data, len);
}

static void on_handshake_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->tls_state != TS_HANDSHAKE)
		return;
	cev(c, LOG_INFO, "event=tls_fail err=handshake_timeout");
	if (c->tls_mode == CONN_TLS_STARTTLS && c->have_cb && c->cb.tls_done)
		c->cb.tls_done(c, false);
	c->up->close_all(c);
}

void conn_handshake_begin(struct conn *c)
{
	c->tls = tls_session_new(c->tls_server, c->tls_profile, tls_out, c);
	if (!c->tls) {
		cev(c, LOG_WARN, "event=tls_fail err=session_setup");
		if (c->tls_mode == CONN_TLS_STARTTLS && c->have_cb && c->cb.tls_done)
			c->cb.tls_done(c, false);
		c->up->close_all(c);
		return;
	}
	c->tls_state = TS_HANDSHAKE;
	framer_reset(&c->framer);
	c->in_r = c->in_w = 0;
	if (c->limits.handshake_timeout_ms)
		uv_timer_start(&c->aux_timer, on_handshake_timeout, c->limits.handshake_timeout_ms,
		               0);
	c->up->update_reading(c);
	c->up->schedule_tick(c);
}

static int handshake_done(struct conn *c)
{
	uv_timer_stop(&c->aux_timer);
	c->tls_state = TS_ON;
	const char *version = tls_session_version(c->tls);
	metric_add(version && strcmp(version, "TLSv1.3") == 0 ? MET_TLS_13 : MET_TLS_12, 1);
	if (c->limits.metrics_slot)
		metric_add(MET_TLS_OPEN_SMTP + c->limits.metrics_slot - 1, 1);
	cev(c, LOG_DEBUG, "event=tls version=%s cipher=%s sni=%s", tls_session_version(c->tls),
	    tls_session_cipher(c->tls), tls_session_sni(c->tls) ? tls_session_sni(c->tls) : "-");
	/* Plaintext written while the handshake ran goes out now, encrypted. */
	if (conn_out_encrypt_pending(c) != 0) {
		c->up->close_all(c);
		return -1;
	}
	/* A STARTTLS protocol hears of it. An implicit-TLS conn has no
	 * protocol yet (no callbacks): pump() starts it. */
	if (c->have_cb && c->cb.tls_done)
		c->cb.tls_done(c, true);
	return 0;
}

static int handshake_failed(struct conn *c)
{
	char e[200];
	log_kv_escape(e, sizeof e, tls_session_error(c->tls), strlen(tls_session_error(c->tls)));
	cev(c, LOG_INFO, "event=tls_fail err=%s", e);
	metric_add(MET_TLS_FAILED, 1);
	if (c->tls_mode == CONN_TLS_STARTTLS && c->have_cb && c->cb.tls_done)
		c->cb.tls_done(c, false);
	return -1;
}

int conn_handshake_step(struct conn *c)
{
	int rc = tls_session_handshake(c->tls);
	if (rc == TLS_AGAIN)
		return TLS_AGAIN;
	if (rc < 0)
		return handshake_failed(c);
	return handshake_done(c);
}

ssize_t conn_decrypt(struct conn *c, char *dst, size_t room)
{
	size_t added = 0;
	while (added < room) {
		ssize_t n = tls_session_read(c->tls, dst + added, room - added);
		if (n > 0) {
			added += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (n == TLS_ERR_CLOSED) {
			c->peer_eof = true;
			break;
		}
		char e[200];
		const char *m = tls_session_error(c->tls);
		cev(c, LOG_INFO, "event=tls_error err=%s",
		    log_kv_escape(e, sizeof e, m, strlen(m)));
		return -1;
	}
	return (ssize_t)added;
}

int conn_starttls(struct conn *c)
{
	if (!c->tls_server || c->tls_state != TS_OFF || c->closing || c->filt)
		return -1;
	c->tls_mode = CONN_TLS_STARTTLS;
	c->tls_state = TS_FLUSHING;
	framer_reset(&c->framer);
	if (c->in_dispatch) {
		c->discard_input = true; /* pump drops it once the framer returns */
		framer_stop(&c->framer);
	} else {
		c->in_r = c->in_w = 0;
		c->up->schedule_tick(c);
	}
	c->up->update_reading(c);
	return 0;
}

bool conn_tls_available(const struct conn *c)
{
	return c->tls_server != NULL;
}

bool conn_is_tls(const struct conn *c)
{
	return c->tls_state == TS_ON;
}

const char *conn_tls_version(const struct conn *c)
{
	return c->tls_state == TS_ON ? tls_session_version(c->tls) : NULL;
}

const char *conn_channel_binding(const struct conn *c, unsigned char *out, size_t cap, size_t *len)
{
	return c->tls_state == TS_ON ? tls_session_channel_binding(c->tls, out, cap, len) : NULL;
}

const char *conn_tls_cipher(const struct conn *c)
{
	return c->tls_state == TS_ON ? tls_session_cipher(c->tls) : NULL;
}

const char *conn_tls_sni(const struct conn *c)
{
	return c->tls ? tls_session_sni(c->tls) : NULL;
}
