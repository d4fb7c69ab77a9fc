/* SPDX-License-Identifier: MIT */
/* The long sums of cksum.h: 32 bytes a step with AVX2 where the CPU has it (vnicd is built for
 * an older baseline, as DPDK's packages are), else the scalar loop. */
#include "vnicd/cksum.h"

#include <rte_cpuflags.h>

#ifdef RTE_ARCH_X86_64
#include <immintrin.h>

/* Eight 32-bit words a step into four 64-bit lanes, twice; leaves the last 0-31 bytes to
 * the caller (@pp, @lenp moved past what it summed). Return: the sum of the words taken. */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t **pp, size_t *lenp)
{
	const uint8_t *p = *pp;
	size_t len = *lenp;
	__m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
	uint64_t l[4];

	for (; len >= 32; p += 32, len -= 32) {
		a = _mm256_add_epi64(a, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)p)));
		b = _mm256_add_epi64(
		    b, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(p + 16))));
	}
	_mm256_storeu_si256((__m256i *)l, _mm256_add_epi64(a, b));
	*pp = p;
	*lenp = len;
	return l[0] + l[1] + l[2] + l[3];
}

static bool have_avx2(void)
{
	static int known = -1; /* benign race: every thread finds the same */
	int v = __atomic_load_n(&known, __ATOMIC_RELAXED);

	if (v < 0) {
		v = rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX2) > 0;
		__atomic_store_n(&known, v, __ATOMIC_RELAXED);
	}
	return v;
}
#endif

uint16_t vn_raw_cksum_long(const void *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint64_t s = 0;

#ifdef RTE_ARCH_X86_64
	if (have_avx2())
		s = sum_avx2(&p, &len);
#endif
	return vn_raw_cksum_from(p, len, s);
}
