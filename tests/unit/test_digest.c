/* test_digest: the SHA-256 messages are stored under (store/digest.c).
 * FIPS 180-2 example vectors, and the SHA extensions path against mbedTLS
 * for every length across the block and padding boundaries and for large
 * unaligned buffers. Where the CPU has no SHA extensions, the vectors still
 * check the path in use. */
#include "store/mail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void hex(const unsigned char *d, char out[2 * STORE_DIGEST_LEN + 1])
{
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void vector(int which, const char *data, size_t len, const char *want)
{
	unsigned char d[STORE_DIGEST_LEN];
	char got[2 * STORE_DIGEST_LEN + 1] = "";
	int rc = store_digest_impl(which, data, len, d);
	if (rc == -ENOTSUP)
		return;
	if (rc == 0)
		hex(d, got);
	CHECK(rc == 0 && strcmp(got, want) == 0, "impl %d len %zu: %s, want %s", which, len, got,
	      want);
}

static void vectors(int which)
{
	vector(which, "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	vector(which, "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	vector(which, two, strlen(two),
	       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *million = malloc(1000000);
	if (million) {
		memset(million, 'a', 1000000);
		vector(which, million, 1000000,
		       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
		free(million);
	}
}

int main(void)
{
	vectors(STORE_DIGEST_ANY);
	vectors(STORE_DIGEST_MBEDTLS);
	vectors(STORE_DIGEST_SHA_NI);

	unsigned char probe[STORE_DIGEST_LEN];
	if (store_digest_impl(STORE_DIGEST_SHA_NI, "", 0, probe) == -ENOTSUP) {
		printf("no SHA extensions on this CPU: only the vectors ran\n");
	} else {
		size_t big = 3 * 65536 + 7;
		unsigned char *buf = malloc(big + 1);
		unsigned seed = 12345;
		for (size_t i = 0; i <= big; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (unsigned char)(seed >> 16);
		}
		int mismatches = 0;
		for (size_t len = 0; len <= 300; len++) {
			unsigned char a[STORE_DIGEST_LEN], b[STORE_DIGEST_LEN];
			store_digest_impl(STORE_DIGEST_MBEDTLS, buf + 1, len, a);
			store_digest_impl(STORE_DIGEST_SHA_NI, buf + 1, len, b);
			mismatches += memcmp(a, b, sizeof a) != 0;
		}
		CHECK(mismatches == 0, "%d of lengths 0..300 differ from mbedTLS", mismatches);
		unsigned char a[STORE_DIGEST_LEN], b[STORE_DIGEST_LEN];
		store_digest_impl(STORE_DIGEST_MBEDTLS, buf + 1, big, a);
		store_digest_impl(STORE_DIGEST_SHA_NI, buf + 1, big, b);
		CHECK(memcmp(a, b, sizeof a) == 0, "a %zu-byte unaligned buffer differs", big);
		free(buf);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
