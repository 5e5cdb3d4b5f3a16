/* digest: SHA-256 of a message, the identity messages are stored under
 * (store/mail.c).
 *
 * Why not only mbedTLS: its SHA-256 is portable C, about 175 MB/s here, and
 * hashing each accepted message on the event loop took a fifth of the
 * loop's time under an SMTP load. x86 CPUs since about 2017 (Intel Goldmont
 * and Ice Lake, AMD Zen) have SHA extensions that do the same compression
 * about ten times faster. They are used when CPUID reports them, mbedTLS
 * otherwise; tests/unit/test_digest.c checks the two agree.
 */
#include "store/mail.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

static int digest_mbedtls(const void *data, size_t len, unsigned char out[STORE_DIGEST_LEN])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	return mbedtls_sha256(data, len, out, 0) == 0 ? 0 : -EIO;
#else
	return mbedtls_sha256_ret(data, len, out, 0) == 0 ? 0 : -EIO;
#endif
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

#define SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* The compression function over nblocks 64-byte blocks. The instructions
 * keep the state as the halves ABEF and CDGH; each SHA256RNDS2 does two
 * rounds, and SHA256MSG1/MSG2 extend the message schedule four words at a
 * time: W[j] = MSG2(MSG1(W[j-4], W[j-3]) + W[j-2..j-1] shifted by a word,
 * W[j-1]) for the groups of four words j >= 4. */
SHA_NI static void compress_ni(uint32_t state[8], const unsigned char *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

	for (; nblocks; nblocks--, p += 64) {
		__m128i save_abef = abef, save_cdgh = cdgh, m[4];
		for (int i = 0; i < 4; i++)
			m[i] =
			    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int j = 0; j < 16; j++) {
			if (j >= 4) {
				__m128i x = _mm_sha256msg1_epu32(m[j & 3], m[(j + 1) & 3]);
				x = _mm_add_epi32(
				    x, _mm_alignr_epi8(m[(j + 3) & 3], m[(j + 2) & 3], 4));
				m[j & 3] = _mm_sha256msg2_epu32(x, m[(j + 3) & 3]);
			}
			__m128i wk =
			    _mm_add_epi32(m[j & 3], _mm_loadu_si128((const __m128i *)&K[4 * j]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
		}
		abef = _mm_add_epi32(abef, save_abef);
		cdgh = _mm_add_epi32(cdgh, save_cdgh);
	}

	__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
	_mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));
	_mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* FIPS 180-4: the whole blocks, then the tail with 0x80, zeros and the bit
 * length in one or two more blocks. */
static void digest_ni(const void *data, size_t len, unsigned char out[STORE_DIGEST_LEN])
{
	uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	size_t whole = len / 64;
	compress_ni(state, p, whole);

	unsigned char tail[128] = {0};
	size_t rest = len % 64;
	memcpy(tail, p + whole * 64, rest);
	tail[rest] = 0x80;
	size_t tail_len = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	put_be32(tail + tail_len - 8, (uint32_t)(bits >> 32));
	put_be32(tail + tail_len - 4, (uint32_t)bits);
	compress_ni(state, tail, tail_len / 64);
	for (int i = 0; i < 8; i++)
		put_be32(out + 4 * i, state[i]);
}

static bool cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return false;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return false;
	return (b & (1u << 29)) != 0; /* CPUID.(EAX=7,ECX=0):EBX.SHA */
}

int store_digest_impl(int which, const void *data, size_t len, unsigned char out[STORE_DIGEST_LEN])
{
	static int have_ni = -1; /* racy first call is harmless: same answer */
	if (have_ni < 0)
		have_ni = cpu_has_sha_ni();
	if (which == STORE_DIGEST_SHA_NI && !have_ni)
		return -ENOTSUP;
	if (which == STORE_DIGEST_MBEDTLS || !have_ni)
		return digest_mbedtls(data, len, out);
	digest_ni(data, len, out);
	return 0;
}
#else
int store_digest_impl(int which, const void *data, size_t len, unsigned char out[STORE_DIGEST_LEN])
{
	if (which == STORE_DIGEST_SHA_NI)
		return -ENOTSUP;
	return digest_mbedtls(data, len, out);
}
#endif

int store_message_digest(const void *data, size_t len, unsigned char out[STORE_DIGEST_LEN])
{
	return store_digest_impl(STORE_DIGEST_ANY, data, len, out);
}
