/* fuzz_srs: the SRS decoder (mailauth/srs.c) on arbitrary RCPT addresses:
 * whatever a bounce (or a forger) sends to an SRS address of ours reaches
 * srs_reverse(), and whatever envelope sender a redirected message had
 * reaches srs_forward().
 *
 * Beyond crashes: a decoded address fits its buffer and has an '@';
 * anything srs_forward() makes decodes again (SRS0 to the sender it was
 * given, SRS1 to an SRS0 address), and a hash changed in one letter is
 * refused. */
#include "mailauth/srs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct srs_key key = {(const unsigned char *)"fuzz secret", 11};
static const int64_t now = 1796601600;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[SRS_ADDR_MAX + 8], out[SRS_ADDR_MAX], fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (strlen(in) != size)
		return 0;
	enum srs_verdict v = srs_reverse(&key, in, now, out, sizeof out);
	if (v == SRS_OK && (!strchr(out, '@') || strlen(out) >= SRS_ADDR_MAX))
		abort();
	if (v != SRS_OK && out[0])
		abort();
	if (srs_forward(&key, in, "fwd.example", now, fwd, sizeof fwd) != 0)
		return 0;
	if (srs_reverse(&key, fwd, now, back, sizeof back) != SRS_OK)
		abort();
	if (strncmp(fwd, "SRS0=", 5) == 0 && strcmp(back, in) != 0)
		abort();
	if (strncmp(fwd, "SRS1=", 5) == 0 && strncmp(back, "SRS0", 4) != 0)
		abort();
	fwd[5] = fwd[5] == 'A' ? 'B' : 'A';
	if (srs_reverse(&key, fwd, now, back, sizeof back) != SRS_BAD_HASH)
		abort();
	return 0;
}
