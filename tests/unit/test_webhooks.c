/* test_webhooks: the parts of delivery webhooks that need no network:
 * the Tern-Signature (against HMAC-SHA256 vectors computed with Python's
 * hmac module), the address classifier (every refused range at its edges,
 * public neighbours allowed, IPv4-mapped IPv6), the event's JSON (escaping
 * and invalid UTF-8 of a remote reply), the Message-ID lookup, and the
 * "incoming" event's JSON (RFC 2047 fields decoded, nulls, the cut of a
 * long field). */
#include "check.h"
#include "relay/webhook_addr.h"
#include "relay/webhook_event.h"
#include "relay/webhook_sign.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>

static bool refused(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			return false;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
			return false;
	}
	return webhook_addr_refused((struct sockaddr *)&ss);
}

static void test_signature(void)
{
	char sig[WEBHOOK_SIGNATURE_MAX];
	const char *body = "{\"a\":1}";
	CHECK_THAT(
	    webhook_signature("whsec_test", 1700000000, body, strlen(body), sig, sizeof sig) == 0);
	CHECK(strcmp(sig, "t=1700000000,v1="
	                  "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789") == 0,
	      "%s", sig);
	CHECK_THAT(webhook_signature("k", 0, "", 0, sig, sizeof sig) == 0);
	CHECK(strcmp(sig,
	             "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7") ==
	          0,
	      "%s", sig);
	/* another timestamp signs something else */
	char sig2[WEBHOOK_SIGNATURE_MAX];
	CHECK_THAT(webhook_signature("k", 1, "", 0, sig2, sizeof sig2) == 0);
	CHECK_THAT(strcmp(sig + 4, sig2 + 4) != 0);
	CHECK_THAT(webhook_signature("k", 0, "", 0, sig, 20) == -1); /* too small */
}

static void test_addresses(void)
{
	static const char *const bad[] = {"127.0.0.1",
	                                  "127.255.255.254",
	                                  "10.0.0.1",
	                                  "10.255.255.255",
	                                  "172.16.0.1",
	                                  "172.31.255.1",
	                                  "192.168.0.1",
	                                  "169.254.0.1",
	                                  "169.254.169.254",
	                                  "0.0.0.0",
	                                  "0.1.2.3",
	                                  "100.64.0.1",
	                                  "224.0.0.1",
	                                  "239.1.1.1",
	                                  "255.255.255.255",
	                                  "240.0.0.1",
	                                  "::1",
	                                  "::",
	                                  "fe80::1",
	                                  "febf::1",
	                                  "fc00::1",
	                                  "fd12:3456::1",
	                                  "ff02::1",
	                                  "::ffff:127.0.0.1",
	                                  "::ffff:10.0.0.1",
	                                  "::ffff:192.168.1.1",
	                                  "fec0::1"};
	static const char *const good[] = {
	    "1.1.1.1",     "8.8.8.8",         "172.15.255.255", "172.32.0.1", "192.167.1.1",
	    "169.253.1.1", "100.63.255.1",    "100.128.0.1",    "11.0.0.1",   "223.255.255.1",
	    "2001:db8::1", "2606:4700::1111", "::ffff:8.8.8.8"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(refused(bad[i]), "%s should be refused", bad[i]);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK(!refused(good[i]), "%s should be allowed", good[i]);
	CHECK_THAT(webhook_addr_refused(NULL));
	struct sockaddr sa = {.sa_family = AF_UNIX};
	CHECK_THAT(webhook_addr_refused(&sa));
}

static void test_json(void)
{
	struct webhook_outcome o = {
	    .event = "bounced",
	    .message_id = NULL,
	    .store_message_id = 42,
	    .queue_id = 7,
	    .recipient = "bob@r.test",
	    .sender = "alice@a.test",
	    .code = 550,
	    .enhanced = "5.1.1",
	    .reply = "550 \"no\" \\ such\x01 user \xff\xc3\xa9",
	    .mta = "",
	    .timestamp = 1700000000,
	    .attempts = 3,
	};
	char *j = webhook_event_json(&o);
	CHECK_THAT(j != NULL);
	const char *want = "{\"event\":\"bounced\",\"message_id\":42,\"queue_id\":7,"
	                   "\"recipient\":\"bob@r.test\",\"sender\":\"alice@a.test\","
	                   "\"smtp\":{\"code\":550,\"enhanced\":\"5.1.1\",\"reply\":"
	                   "\"550 \\\"no\\\" \\\\ such\\u0001 user \xef\xbf\xbd\xc3\xa9\"},"
	                   "\"mta\":\"\",\"timestamp\":1700000000,\"attempts\":3}";
	CHECK(j && strcmp(j, want) == 0, "%s", j ? j : "(null)");
	free(j);
	o.message_id = "<x@y>";
	j = webhook_event_json(&o);
	CHECK(j && strstr(j, "\"message_id\":\"<x@y>\""), "%s", j ? j : "(null)");
	free(j);
}

static void test_message_id(void)
{
	char out[64];
	const char *m =
	    "From: a@b\r\nmessage-id:   <abc@d>  \r\nSubject: x\r\n\r\nMessage-ID: <no>\r\n";
	CHECK_THAT(webhook_message_id(m, strlen(m), out, sizeof out) == 0 &&
	           strcmp(out, "<abc@d>") == 0);
	const char *body_only = "From: a@b\r\n\r\nMessage-ID: <in-body>\r\n";
	CHECK_THAT(webhook_message_id(body_only, strlen(body_only), out, sizeof out) == -1);
	const char *empty = "Message-ID:   \r\n\r\n";
	CHECK_THAT(webhook_message_id(empty, strlen(empty), out, sizeof out) == -1);
	const char *lf = "Message-Id: <lf@x>\nX: y\n";
	CHECK_THAT(webhook_message_id(lf, strlen(lf), out, sizeof out) == 0 &&
	           strcmp(out, "<lf@x>") == 0);
	char small[4];
	CHECK_THAT(webhook_message_id(lf, strlen(lf), small, sizeof small) == 0 &&
	           strcmp(small, "<lf") == 0);
	CHECK_THAT(webhook_message_id("", 0, out, sizeof out) == -1);
	/* a NUL in the value (found by fuzz_webhook_event): no Message-ID */
	static const char nul[] = "message-id:\0x\r\n\r\n";
	CHECK_THAT(webhook_message_id(nul, sizeof nul - 1, out, sizeof out) == -1);
}

static void test_incoming_json(void)
{
	const char *boxes[] = {"Receipts", "INBOX"};
	const char *msg = "Return-Path: <s@r.test>\r\n"
	                  "Subject: =?UTF-8?B?UmVjaG51bmcgZsO8cg==?=\r\n"
	                  "  =?ISO-8859-1?Q?_D=E9z?=\r\n"
	                  "From: \"Q \\\" x\" <q@r.test>\r\n"
	                  "Message-ID: <m1@r.test>\r\n"
	                  "\r\n"
	                  "Subject: not this one\r\n";
	const char *ar = "Authentication-Results: mx.t.test;\r\n spf=pass smtp.mailfrom=r.test\r\n";
	struct webhook_incoming in = {
	    .account = "bob@t.test",
	    .mailboxes = boxes,
	    .nmailboxes = 2,
	    .mail_from = "s@r.test",
	    .data = msg,
	    .len = strlen(msg),
	    .received_at = 1700000000,
	    .spam = true,
	    .authres = ar,
	    .authres_len = strlen(ar),
	};
	char *j = webhook_incoming_json(&in);
	char want[1024];
	snprintf(want, sizeof want,
	         "{\"event\":\"incoming\",\"account\":\"bob@t.test\",\"mailbox\":\"Receipts\","
	         "\"mailboxes\":[\"Receipts\",\"INBOX\"],\"message_id\":\"<m1@r.test>\","
	         "\"from\":\"s@r.test\",\"header_from\":\"\\\"Q \\\\\\\" x\\\" <q@r.test>\","
	         "\"subject\":\"Rechnung f\xc3\xbcr D\xc3\xa9z\",\"size\":%zu,"
	         "\"received_at\":1700000000,\"spam\":true,"
	         "\"authentication_results\":\"mx.t.test; spf=pass smtp.mailfrom=r.test\"}",
	         strlen(msg));
	CHECK(j && strcmp(j, want) == 0, "%s", j ? j : "(null)");
	free(j);
	/* nothing to read: nulls, the null sender, no authres */
	const char *bare = "X: y\r\n\r\nbody\r\n";
	in = (struct webhook_incoming){.account = "bob@t.test",
	                               .mailboxes = boxes + 1,
	                               .nmailboxes = 1,
	                               .mail_from = "",
	                               .data = bare,
	                               .len = strlen(bare)};
	j = webhook_incoming_json(&in);
	CHECK(j &&
	          strstr(j, "\"message_id\":null,\"from\":\"\",\"header_from\":null,"
	                    "\"subject\":null,") &&
	          strstr(j, "\"spam\":false,\"authentication_results\":null}"),
	      "%s", j ? j : "(null)");
	free(j);
	/* a long subject is cut at WEBHOOK_FIELD_MAX, at a character's start */
	size_t n = 3 * WEBHOOK_FIELD_MAX;
	char *big = malloc(n + 64);
	CHECK_THAT(big != NULL);
	if (!big)
		return;
	size_t o = (size_t)snprintf(big, 64, "Subject: x");
	for (size_t i = 0; i < WEBHOOK_FIELD_MAX; i++, o += 2)
		memcpy(big + o, "\xc3\xa9", 2); /* é, two bytes each */
	memcpy(big + o, "\r\n\r\n", 5);
	in.data = big;
	in.len = o + 4;
	j = webhook_incoming_json(&in);
	const char *subj = j ? strstr(j, "\"subject\":\"x") : NULL;
	const char *end = subj ? strstr(subj + 12, "\"") : NULL;
	/* "x" then 511 é: 1023 bytes, the 1024th would split an é */
	CHECK(end && end - (subj + 11) == WEBHOOK_FIELD_MAX - 1, "%td",
	      end ? end - (subj + 11) : -1);
	CHECK_THAT(j && !strstr(j, "\xef\xbf\xbd")); /* no U+FFFD: nothing split */
	free(j);
	free(big);
}

int main(void)
{
	test_signature();
	test_addresses();
	test_json();
	test_message_id();
	test_incoming_json();
	return check_report("test_webhooks");
}
