/* dns_testutil: what the tests that start dnsmasq share. */
#ifndef TERN_TEST_DNS_TESTUTIL_H
#define TERN_TEST_DNS_TESTUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A loopback port free for both UDP and TCP (dnsmasq binds both; on a busy
 * machine a free UDP port is often taken by some TCP connection); 0 when
 * none was found. */
static int free_udp_tcp_port(void)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t l = sizeof a;
		int port = 0;
		if (u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&a, sizeof a) == 0 &&
		    getsockname(u, (struct sockaddr *)&a, &l) == 0 &&
		    bind(t, (struct sockaddr *)&a, sizeof a) == 0)
			port = ntohs(a.sin_port);
		close(u);
		close(t);
		if (port)
			return port;
	}
	return 0;
}

#endif
