/* trace: Message-ID:, Date: and a non-SMTP Received: for submitted mail
 * (trace.h). The first two moved here from proto/smtp/deliver.c so that a
 * JMAP submission gets what an SMTP one always got. */
#include "deliver/trace.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "mime/header.h"

size_t deliver_date_format(char *out, size_t cap, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&t, &tm);
	int n = snprintf(out, cap, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	                 tm.tm_min, tm.tm_sec);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t deliver_submission_headers(const char *msg, size_t len, const char *hostname, const char *id,
                                  uint64_t salt, time_t now, char *out, size_t cap)
{
	size_t n = 0;
	int w;

	if (mime_header_count(msg, len, "Message-ID") == 0) {
		uint64_t rnd = 0;
		if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
			rnd = (uint64_t)now ^ salt;
		w = snprintf(out + n, cap - n, "Message-ID: <%llx.%016llx.%s@%s>\r\n",
		             (long long)now, (unsigned long long)rnd, id,
		             hostname && hostname[0] ? hostname : "localhost");
		if (w > 0 && (size_t)w < cap - n)
			n += (size_t)w;
	}
	if (mime_header_count(msg, len, "Date") == 0) {
		char date[64];
		deliver_date_format(date, sizeof date, now);
		w = snprintf(out + n, cap - n, "Date: %s\r\n", date);
		if (w > 0 && (size_t)w < cap - n)
			n += (size_t)w;
	}
	return n;
}

/* A copy of s of at most cap - 1 bytes, with anything but a safe token
 * character turned into '_'. */
static const char *token(char *out, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '@' ||
		          c == '+';
		out[i] = ok ? (char)c : '_';
	}
	out[i] = '\0';
	return i ? out : "unknown";
}

size_t deliver_received_format(char *out, size_t cap, const struct deliver_trace *t)
{
	char date[64], from[130], with[40], id[80], ip[80] = "";
	bool v6 = t->peer_ip && strchr(t->peer_ip, ':') != NULL;

	deliver_date_format(date, sizeof date, t->now);
	if (t->peer_ip && t->peer_ip[0]) {
		char safe[60];
		size_t k = 0;
		/* an address's characters, up to the first that is not one */
		for (const char *p = t->peer_ip; *p && k + 1 < sizeof safe; p++) {
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			      (*p >= 'A' && *p <= 'F') || *p == '.' || *p == ':'))
				break;
			safe[k++] = *p;
		}
		safe[k] = '\0';
		snprintf(ip, sizeof ip, " ([%s%s])", v6 ? "IPv6:" : "", safe);
	}
	int n = snprintf(out, cap,
	                 "Received: from %s%s\r\n"
	                 "\tby %s (tern) with %s id %s;\r\n"
	                 "\t%s\r\n",
	                 token(from, sizeof from, t->from), ip,
	                 t->hostname && t->hostname[0] ? t->hostname : "localhost",
	                 token(with, sizeof with, t->with), token(id, sizeof id, t->id), date);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
