/* fuzz_dns_tlsa: arbitrary bytes as a raw DNS answer through the TLSA
 * reader (net/dns_raw.c): never a read past the message; DATA has records,
 * each inside the pool, and every record parses or fails cleanly as TLSA
 * RDATA (tls/dane.c); other statuses have none. The same bytes read for
 * A (DNS_Q_A_DNSSEC's reader): DATA has only IPv4 addresses. */
#include "net/dns_query.h"
#include "tls/dane.h"

#include <stdint.h>
#include <sys/socket.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_answer a;
	static struct dane_tlsa t;
	enum dns_qstatus st = dns_parse_tlsa_answer(data, size, &a);
	if (st != a.status || (st == DNS_Q_DATA) != (a.nrrs > 0) || a.nrrs > DNS_Q_MAX_RRS ||
	    a.pool_used > DNS_Q_POOL)
		abort();
	for (size_t i = 0; i < a.nrrs; i++) {
		if (a.rrs[i].text < a.pool || a.rrs[i].text + a.rrs[i].len >= a.pool + DNS_Q_POOL)
			abort();
		(void)dane_tlsa_parse((const uint8_t *)a.rrs[i].text, a.rrs[i].len, &t, NULL);
	}
	st = dns_parse_raw_answer(data, size, 1, &a);
	if (st != a.status || (st == DNS_Q_DATA) != (a.nrrs > 0) || a.nrrs > DNS_Q_MAX_RRS)
		abort();
	for (size_t i = 0; i < a.nrrs; i++)
		if (a.rrs[i].family != AF_INET || a.rrs[i].text)
			abort();
	return 0;
}
