/* fuzz_dnsbl: DNSBL query-name building and answer interpretation
 * (mailauth/dnsbl.c) on arbitrary bytes. The input is split into a zone
 * name (up to the first NUL), an address and the A records of an answer,
 * as any DNS server could send them.
 *
 * Beyond crashes: a built name is NUL-terminated within its buffer and
 * ends with the zone; a listing is only ever reported for a 127.0.0.0/8
 * address outside 127.255.255.0/24. */
#include "mailauth/dnsbl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* MUST() is compiled out of release builds; these checks are not. */
#define MUST(c) ((c) ? (void)0 : abort())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_answer a;
	char zone[DNSBL_ZONE_MAX + 40], name[DNSBL_QNAME_MAX];
	size_t zl = 0;

	while (zl < size && zl < sizeof zone - 1 && data[zl])
		zl++;
	memcpy(zone, data, zl);
	zone[zl] = '\0';
	data += zl < size ? zl + 1 : zl;
	size -= zl < size ? zl + 1 : zl;

	uint8_t addr[16] = {0};
	memcpy(addr, data, size < 16 ? size : 16);
	int family = size && (data[0] & 1) ? AF_INET6 : AF_INET;
	if (dnsbl_query_name(family, addr, zone, name, sizeof name)) {
		size_t nl = strlen(name), zlen = strlen(zone);
		if (zone[zlen - 1] == '.')
			zlen--;
		MUST(nl < sizeof name && nl > zlen);
		MUST(memcmp(name + nl - zlen, zone, zlen) == 0);
	}
	size_t skip = size < 16 ? size : 16;
	data += skip;
	size -= skip;

	dns_answer_init(&a, size ? (enum dns_qstatus)(data[0] % 4) : DNS_Q_DATA);
	for (size_t i = 1; i + 4 <= size; i += 4)
		dns_answer_add_addr(&a, AF_INET, data + i);
	unsigned code = 0;
	enum dnsbl_result r = dnsbl_interpret(&a, &code);
	if (r == DNSBL_LISTED) {
		bool found = false;
		for (size_t i = 0; i < a.nrrs; i++)
			found |= dnsbl_is_listing(a.rrs[i].addr) && a.rrs[i].addr[3] == code;
		MUST(found && a.status == DNS_Q_DATA);
	}
	return 0;
}
