/* jmap_push: JMAP's EventSource push channel (RFC 8620 §7.3).
 *
 *   GET /jmap/eventsource?types=Email,Mailbox|*&closeafter=state|no&ping=N
 *
 * Every other HTTP answer is whole; this one stays open. Once the account
 * is authenticated (jmap_routes.c), the session becomes a stream: it
 * subscribes to the account's changes (store/notify.h), reads the
 * states the /get methods report (a JMAP request of its own through the
 * runner, so the strings are the same ones Email/get, Mailbox/get and
 * Thread/get answer with), and only then sends the response head: a
 * client that has seen the head knows that any later change reaches it.
 * The body is delimited by the connection's close (no Content-Length,
 * "Connection: close"); whatever the client sends afterwards is read and
 * dropped (session.c), so that its close is seen at once.
 *
 * A burst of changes gives at most one state read, and so one event, per
 * COALESCE_MS: the first change arms a timer, the next ones only mark
 * the stream dirty. An event names only the requested types whose state
 * moved. "event: ping" goes out every ping seconds (0: never; otherwise
 * clamped to [HTTP_PUSH_PING_MIN, HTTP_PUSH_PING_MAX], the interval sent
 * being the one used), and a stream that pings survives the connection's idle timeout;
 * one that does not ping survives it only while events flowed since the
 * last one. A client that does not read gets no more events once its
 * output queue is full: the next change is retried later.
 *
 * An account has at most [jmap] max_push_connections streams (429 above
 * that); each is an ordinary connection, so the listener's connection
 * limits count it too. Loop thread only. */
#include "proto/http/http_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "lib/log.h"
#include "net/conn.h"
#include "proto/common/env.h"
#include "proto/http/admin_json.h"
#include "proto/jmap/jmap.h"
#include "store/notify.h"

#define COALESCE_MS 100
#define RETRY_SLOW_MS 1000 /* the client's queue was full, or the read failed */
#define STATE_LEN 64

enum push_type { T_MAILBOX, T_EMAIL, T_THREAD, T_COUNT };
_Static_assert(HTTP_PUSH_TYPES == (1u << T_COUNT) - 1, "the types' bits");
static const char *const type_names[T_COUNT] = {"Mailbox", "Email", "Thread"};

struct http_push {
	struct http_push *next; /* every live stream (per-account limit) */
	struct http_session *s;
	int64_t account_id;
	char address[320];
	struct jmap_limits limits;
	struct notify_sub *sub;
	uv_timer_t coalesce; /* a change came: read the states when it fires */
	uv_timer_t ping;
	int open_handles; /* timers not yet closed: freed at 0 */
	struct jmap_request *inflight;
	struct http_push_query q;
	bool started; /* the response head is out */
	bool dirty;   /* a change while the states were being read */
	bool closing;
	bool wrote;            /* something went out since the last idle check */
	uint64_t last_read_ms; /* when the states were last read */
	char state[T_COUNT][STATE_LEN];
};

static struct http_push *streams;

static void plog(const struct http_push *p, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void plog(const struct http_push *p, enum log_level level, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_session(level, conn_id(p->s->c), conn_peer(p->s->c), "http", "%s", msg);
}

static size_t account_streams(int64_t account_id)
{
	size_t n = 0;
	for (struct http_push *p = streams; p; p = p->next)
		n += p->account_id == account_id && !p->closing;
	return n;
}

/* ---- the query ---- */

/* types: "*" or a comma-separated list. Names this server has no state
 * for are ignored (RFC 8620 §7.3 lets the client ask for any). */
static bool parse_types(const char *v, unsigned *out)
{
	*out = 0;
	if (strcmp(v, "*") == 0) {
		*out = (1u << T_COUNT) - 1;
		return true;
	}
	if (!*v)
		return false;
	const char *p = v;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0)
			return false;
		for (int t = 0; t < T_COUNT; t++)
			if (strlen(type_names[t]) == n && memcmp(type_names[t], p, n) == 0)
				*out |= 1u << t;
		p += n + (comma != NULL);
		if (comma && !*p)
			return false;
	}
	return true;
}

int http_push_parse_query(const char *query, struct http_push_query *q, char *err, size_t errlen)
{
	char v[256];
	*q = (struct http_push_query){0};
	if (http_query_param(query, "types", v, sizeof v) < 0 || !parse_types(v, &q->types)) {
		snprintf(err, errlen, "types must be * or a comma-separated list of type names");
		return -1;
	}
	if (http_query_param(query, "closeafter", v, sizeof v) >= 0) {
		if (strcmp(v, "state") == 0)
			q->close_after_state = true;
		else if (strcmp(v, "no") != 0) {
			snprintf(err, errlen, "closeafter must be state or no");
			return -1;
		}
	}
	if (http_query_param(query, "ping", v, sizeof v) >= 0) {
		size_t len = strlen(v);
		bool digits = len > 0 && len <= 9;
		for (size_t i = 0; i < len && digits; i++)
			digits = v[i] >= '0' && v[i] <= '9';
		if (!digits) {
			snprintf(err, errlen, "ping must be a number of seconds");
			return -1;
		}
		unsigned long n = strtoul(v, NULL, 10);
		q->ping_s = n == 0                   ? 0
		            : n < HTTP_PUSH_PING_MIN ? HTTP_PUSH_PING_MIN
		            : n > HTTP_PUSH_PING_MAX ? HTTP_PUSH_PING_MAX
		                                     : (unsigned)n;
	}
	return 0;
}

/* ---- writing ---- */

static bool send_event(struct http_push *p, const char *event, const char *data)
{
	struct conn *c = p->s->c;
	if (p->s->closed || conn_is_closing(c) || conn_output_full(c))
		return false;
	if (conn_printf(c, "event: %s\ndata: %s\n\n", event, data) < 0)
		return false;
	p->wrote = true;
	return true;
}

static void on_ping(uv_timer_t *t)
{
	struct http_push *p = t->data;
	char data[40];
	snprintf(data, sizeof data, "{\"interval\":%u}", p->q.ping_s);
	send_event(p, "ping", data); /* a full queue: this one is skipped */
}

/* ---- reading the states ---- */

static void read_states(struct http_push *p);

static void on_coalesce(uv_timer_t *t)
{
	read_states(t->data);
}

static void schedule_read(struct http_push *p, uint64_t delay_ms)
{
	if (p->closing || uv_is_active((uv_handle_t *)&p->coalesce))
		return;
	uv_timer_start(&p->coalesce, on_coalesce, delay_ms, 0);
}

static void on_notify(void *ud, const struct notify_event *ev)
{
	(void)ev; /* any change of the account may move a state */
	struct http_push *p = ud;
	if (p->closing)
		return;
	if (p->inflight) {
		p->dirty = true;
		return;
	}
	uint64_t now = uv_now(conn_loop(p->s->c));
	uint64_t next = p->last_read_ms + COALESCE_MS;
	schedule_read(p, next > now ? next - now : 0);
}

/* The head: 200, an event stream that ends when the connection does. */
static void send_head(struct http_push *p)
{
	struct http_entity e = {
	    .content_type = "text/event-stream; charset=utf-8",
	    .extra = NULL,
	    .flags = HTTP_R_NOSTORE | HTTP_R_STREAM,
	};
	http_respond_entity(p->s, 200, &e);
	p->started = true;
	if (p->q.ping_s)
		uv_timer_start(&p->ping, on_ping, p->q.ping_s * 1000ull, p->q.ping_s * 1000ull);
	plog(p, LOG_DEBUG, "event=push_open types=%u ping=%u closeafter=%s", p->q.types,
	     p->q.ping_s, p->q.close_after_state ? "state" : "no");
}

/* Take the three states out of the runner's answer. */
static bool states_of(const char *body, size_t len, char out[T_COUNT][STATE_LEN])
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	json_t *responses = json_object_get(doc, "methodResponses");
	bool ok = json_is_array(responses) && json_array_size(responses) == T_COUNT;
	for (size_t i = 0; ok && i < T_COUNT; i++) {
		json_t *state =
		    json_object_get(json_array_get(json_array_get(responses, i), 1), "state");
		const char *v = json_string_value(state);
		ok = v && strlen(v) < STATE_LEN;
		if (ok)
			snprintf(out[i], STATE_LEN, "%s", v);
	}
	json_decref(doc);
	return ok;
}

/* The StateChange of the requested types that moved, or NULL. */
static char *state_change(const struct http_push *p, char now[T_COUNT][STATE_LEN])
{
	json_t *types = json_object();
	for (int t = 0; t < T_COUNT; t++)
		if ((p->q.types & (1u << t)) && strcmp(p->state[t], now[t]) != 0)
			json_object_set_new(types, type_names[t], json_string(now[t]));
	char *out = NULL;
	if (types && json_object_size(types) > 0) {
		char id[32];
		snprintf(id, sizeof id, "A%" PRId64, p->account_id);
		json_t *ev =
		    json_pack("{s:s, s:{s:O}}", "@type", "StateChange", "changed", id, types);
		out = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
		json_decref(ev);
	}
	json_decref(types);
	return out;
}

static void on_states(void *ud, int status, const char *type, const char *body, size_t len)
{
	(void)type;
	struct http_push *p = ud;
	p->inflight = NULL;
	p->last_read_ms = uv_now(conn_loop(p->s->c));
	char now[T_COUNT][STATE_LEN];
	bool ok = status == 200 && states_of(body, len, now);
	if (!p->started) {
		if (!ok) {
			plog(p, LOG_WARN, "event=push_fail status=%d", status);
			http_json_error(p->s, 503, "the states could not be read", NULL);
			conn_close(p->s->c);
			return;
		}
		memcpy(p->state, now, sizeof now);
		send_head(p);
	} else if (ok) {
		char *data = state_change(p, now);
		if (data && send_event(p, "state", data)) {
			memcpy(p->state, now, sizeof now);
			if (p->q.close_after_state)
				conn_close(p->s->c);
		} else if (data) {
			p->dirty = true; /* not sent: the client's queue is full */
		}
		free(data);
	} else {
		plog(p, LOG_WARN, "event=push_read_fail status=%d", status);
		p->dirty = true; /* try again, not at once */
	}
	if (p->dirty && !p->closing && !conn_is_closing(p->s->c)) {
		p->dirty = false;
		bool slow = !ok || conn_output_full(p->s->c);
		schedule_read(p, slow ? RETRY_SLOW_MS : COALESCE_MS);
	}
}

static void read_states(struct http_push *p)
{
	if (p->closing || p->inflight)
		return;
	char body[600];
	int n = snprintf(body, sizeof body,
	                 "{\"using\":[\"urn:ietf:params:jmap:core\",\"urn:ietf:params:jmap:mail\"],"
	                 "\"methodCalls\":[");
	for (int t = 0; t < T_COUNT; t++) {
		n += snprintf(body + n, sizeof body - (size_t)n,
		              "[\"%s/get\",{\"accountId\":\"A%" PRId64 "\",\"ids\":[]},\"%d\"]",
		              type_names[t], p->account_id, t);
		if (t + 1 < T_COUNT)
			n += snprintf(body + n, sizeof body - (size_t)n, ",");
	}
	n += snprintf(body + n, sizeof body - (size_t)n, "]}");
	struct jmap_account acct = {p->s->ctx->env->store, p->account_id, p->address, &p->limits,
	                            p->s->ctx->env->hostname};
	p->inflight = jmap_request_start(&acct, body, (size_t)n, on_states, p);
}

/* ---- life ---- */

static void on_timer_closed(uv_handle_t *h)
{
	struct http_push *p = h->data;
	if (--p->open_handles > 0)
		return;
	struct http_session *s = p->s;
	free(p);
	http_session_release(s);
}

void http_push_closed(struct http_session *s)
{
	struct http_push *p = s->push;
	if (!p || p->closing)
		return;
	p->closing = true;
	notify_unsubscribe(p->sub);
	p->sub = NULL;
	if (p->inflight)
		jmap_request_cancel(p->inflight);
	p->inflight = NULL;
	for (struct http_push **pp = &streams; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->started)
		plog(p, LOG_DEBUG, "event=push_close");
	uv_close((uv_handle_t *)&p->coalesce, on_timer_closed);
	uv_close((uv_handle_t *)&p->ping, on_timer_closed);
}

bool http_push_keep(struct http_session *s)
{
	struct http_push *p = s->push;
	if (!p || p->closing || s->ctx->env->stopping)
		return false;
	if (!p->started)
		return true; /* the states are being read: the wait is ours */
	bool keep = p->q.ping_s > 0 || p->wrote;
	p->wrote = false;
	return keep;
}

void http_jmap_push_start(struct http_session *s, int64_t account_id, const char *address)
{
	const struct jmap_settings *js = s->ctx->jmap;
	struct http_push *p = calloc(1, sizeof *p);
	if (!p) {
		http_json_error(s, 503, "out of memory", NULL);
		return;
	}
	char err[120];
	if (http_push_parse_query(s->query, &p->q, err, sizeof err) < 0) {
		free(p);
		http_json_error(s, 400, err, NULL);
		return;
	}
	if (account_streams(account_id) >= (size_t)js->max_push_connections) {
		free(p);
		http_json_error(s, 429, "too many push connections for this account",
		                "Retry-After: 60\r\n");
		return;
	}
	p->s = s;
	p->account_id = account_id;
	snprintf(p->address, sizeof p->address, "%s", address);
	p->limits = (struct jmap_limits){
	    .max_size_upload = (size_t)js->max_size_upload,
	    .max_concurrent_upload = (size_t)js->max_concurrent_upload,
	    .max_size_request = 4096,
	    .max_concurrent_requests = SIZE_MAX / 2, /* ours: never refused for the client's */
	    .max_calls_in_request = T_COUNT,
	    .max_objects_in_get = (size_t)js->max_objects_in_get,
	    .max_objects_in_set = (size_t)js->max_objects_in_set,
	};
	p->sub = notify_subscribe_account(account_id, on_notify, p);
	if (!p->sub) {
		free(p);
		http_json_error(s, 503, "out of memory", NULL);
		return;
	}
	uv_timer_init(conn_loop(s->c), &p->coalesce);
	uv_timer_init(conn_loop(s->c), &p->ping);
	p->coalesce.data = p->ping.data = p;
	p->open_handles = 2;
	p->next = streams;
	streams = p;
	s->push = p;
	s->refs++; /* ours until the timers are closed */
	read_states(p);
}
