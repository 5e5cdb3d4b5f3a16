/* fuzz_auth_results: incoming Authentication-Results field bodies (is the
 * authserv-id ours?) and the field we format from arbitrary strings; also
 * the [auth] override lists. Nothing may crash or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/auth_results.h"
#include "mailauth/netlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	auth_results_is_ours((const char *)data, size, "mx.example.net");
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct auth_results ar = {.authserv_id = s,
	                          .spf_checked = true,
	                          .spf = SPF_FAIL,
	                          .spf_mail_from = s,
	                          .spf_helo = s,
	                          .dmarc_checked = true,
	                          .dmarc = DMARC_FAIL,
	                          .dmarc_from = s,
	                          .dmarc_policy = s};
	struct buf b = {0};
	auth_results_format(&ar, &b);
	buf_free(&b);
	static struct netlist l;
	char err[200];
	netlist_parse(&l, s, true, err, sizeof err);
	free(s);
	return 0;
}
