/* test_http_client: net/http_client over plain http:// on loopback.
 *
 * A server thread with a blocking socket reads one request and answers
 * with a canned response; the main thread runs the loop with one
 * http_client_start. Checks: the POST's head carries the method, path,
 * Host with the port, Content-Type, Content-Length, the extra header lines
 * and the body; the response is parsed; a response over the caller's body
 * cap is an error; the URL split knows both schemes. */
#include "net/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"

struct server {
	int fd;
	int port;
	const char *reply;
	char request[8192];
	size_t request_len;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	struct timeval tv = {.tv_sec = 5};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	/* Until the head is in and the Content-Length body with it. */
	for (;;) {
		ssize_t n =
		    recv(c, s->request + s->request_len, sizeof s->request - 1 - s->request_len, 0);
		if (n <= 0)
			break;
		s->request_len += (size_t)n;
		s->request[s->request_len] = '\0';
		char *end = strstr(s->request, "\r\n\r\n");
		const char *cl = strstr(s->request, "Content-Length: ");
		if (end && (!cl || s->request_len >=
		                       (size_t)(end + 4 - s->request) + strtoul(cl + 16, NULL, 10)))
			break;
	}
	if (send(c, s->reply, strlen(s->reply), MSG_NOSIGNAL) < 0)
		perror("send");
	close(c);
	return NULL;
}

static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

struct result {
	bool called;
	char err[200];
	int status;
	char body[256];
	char content_type[128];
};

static void on_done(void *ud, const char *err, struct http_resp *r)
{
	struct result *res = ud;
	res->called = true;
	if (err) {
		snprintf(res->err, sizeof res->err, "%s", err);
		return;
	}
	res->status = r->status;
	snprintf(res->body, sizeof res->body, "%s", r->body ? r->body : "");
	snprintf(res->content_type, sizeof res->content_type, "%s", r->content_type);
}

static void run_one(const char *reply, size_t max_body, struct server *s, struct result *res)
{
	memset(s, 0, sizeof *s);
	memset(res, 0, sizeof *res);
	s->reply = reply;
	s->fd = listen_loopback(&s->port);
	CHECK(s->fd >= 0, "listen");
	pthread_t t;
	pthread_create(&t, NULL, serve, s);
	uv_loop_t loop;
	uv_loop_init(&loop);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/checkv2?x=1", s->port);
	static const char body[] = "{\"a\":1}";
	struct http_client_req req = {
	    .method = "POST",
	    .url = url,
	    .accept = "application/json",
	    .content_type = "application/json",
	    .body = body,
	    .body_len = sizeof body - 1,
	    .headers = "Pass: all\r\nIP: 192.0.2.1\r\n",
	    .max_body = max_body,
	    .timeout_ms = 5000,
	};
	CHECK(http_client_start(&loop, NULL, &req, on_done, res) != NULL, "started");
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	pthread_join(t, NULL);
	close(s->fd);
}

static void test_post(void)
{
	struct server s;
	struct result res;
	run_one("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
	        "11\r\n\r\n{\"score\":1}",
	        0, &s, &res);
	CHECK(res.called && !res.err[0], "answered: %s", res.err);
	CHECK(res.status == 200 && strcmp(res.body, "{\"score\":1}") == 0, "body: %s", res.body);
	CHECK(strcmp(res.content_type, "application/json") == 0, "content type");
	char host[64];
	snprintf(host, sizeof host, "Host: 127.0.0.1:%d\r\n", s.port);
	CHECK(strncmp(s.request, "POST /checkv2?x=1 HTTP/1.1\r\n", 28) == 0, "request line: %.40s",
	      s.request);
	CHECK(strstr(s.request, host) != NULL, "Host with port");
	CHECK(strstr(s.request, "Content-Type: application/json\r\n") != NULL, "content type sent");
	CHECK(strstr(s.request, "Content-Length: 7\r\n") != NULL, "length sent");
	CHECK(strstr(s.request, "\r\nPass: all\r\nIP: 192.0.2.1\r\n") != NULL, "extra headers");
	CHECK(s.request_len > 7 && strcmp(s.request + s.request_len - 11, "\r\n\r\n{\"a\":1}") == 0,
	      "body after the head");

	run_one("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 64, &s, &res);
	CHECK(res.called && strstr(res.err, "too large") != NULL, "body cap: %s", res.err);
	run_one("HTTP/1.1 200 OK\r\n\r\n0123456789", 5, &s, &res);
	CHECK(res.called && res.err[0], "body cap until close: %s", res.err);
}

static void test_url(void)
{
	char host[64], path[64];
	int port;
	bool https = true;
	CHECK(http_url_split("http://rspamd:11333/checkv2", host, sizeof host, &port, path,
	                     sizeof path, &https) == 0 &&
	          !https && port == 11333 && strcmp(host, "rspamd") == 0,
	      "http with port");
	CHECK(http_url_split("http://a.example", host, sizeof host, &port, path, sizeof path,
	                     &https) == 0 &&
	          !https && port == 80 && strcmp(path, "/") == 0,
	      "http default port");
	CHECK(http_url_split("https://mta-sts.a.example/.well-known/mta-sts.txt", host, sizeof host,
	                     &port, path, sizeof path, &https) == 0 &&
	          https && port == 443,
	      "https");
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct http_client_req req = {.method = "GET", .url = "https://a.example/"};
	CHECK(http_client_start(&loop, NULL, &req, on_done, NULL) == NULL,
	      "https without a TLS context refused");
	uv_loop_close(&loop);
}

int main(void)
{
	test_url();
	test_post();
	return check_report("test_http_client");
}
