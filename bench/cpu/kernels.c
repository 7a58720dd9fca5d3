/* kernels: the small CPU kernels of bench/cpu.  The same source is built
 * statically for riscv64 (run in the guest) and for the host, with the same
 * flags (-O2 -ffp-contract=off, so that FP results match bit for bit).
 *
 *   kernels int N      CRC-32 (table-driven, byte loads) and a 64-bit
 *                      multiply/rotate/xor hash over a 64 KiB buffer, with a
 *                      64-bit division every few words: N passes of 4 MiB
 *   kernels branch N   N rounds of: quicksort of 256 Ki pseudo-random keys
 *                      (unpredictable compares) and Collatz lengths of
 *                      64 Ki numbers (data-dependent loops)
 *   kernels mem N      dependent loads along one random cycle through 32 MiB
 *                      (cache and TLB misses): N Mi steps; then a STREAM-like
 *                      triad over three 4 MiB arrays, 8N times
 *   kernels fp N       N rounds of: 128x128 double matrix multiply and
 *                      20000 steps of a 5-body gravity simulation (sqrt, div)
 *   kernels nop        exits at once (the fork/exec workload)
 *
 * Each prints one line `NAME checksum` that must be the same on every side.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return seed * 0x2545f4914f6cdd1dull;
}

/* ---- int ---- */

static uint64_t k_int(long n)
{
	static uint32_t table[256];
	static uint8_t buf[1 << 16];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	for (size_t i = 0; i < sizeof buf; i += 8) {
		uint64_t r = rnd();
		memcpy(buf + i, &r, 8);
	}
	uint32_t crc = ~0u;
	uint64_t h = 0, q = 0;
	for (long pass = 0; pass < n * 64; pass++) {
		for (size_t i = 0; i < sizeof buf; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
		for (size_t i = 0; i < sizeof buf; i += 8) {
			uint64_t w;
			memcpy(&w, buf + i, 8);
			h = (h ^ w) * 0x9e3779b97f4a7c15ull;
			h = (h << 27 | h >> 37) + (h >> 33);
			if ((i & 63) == 0)
				q += h / (((w | 1) >> (w & 31)) | 1);
		}
		buf[pass & 0xffff] ^= (uint8_t)h;
	}
	return crc ^ h ^ q;
}

/* ---- branch ---- */

static void quicksort(uint32_t *a, long lo, long hi)
{
	while (hi - lo > 16) {
		uint32_t p = a[lo + (hi - lo) / 2];
		long i = lo, j = hi;
		while (i <= j) {
			while (a[i] < p)
				i++;
			while (a[j] > p)
				j--;
			if (i <= j) {
				uint32_t t = a[i];
				a[i++] = a[j];
				a[j--] = t;
			}
		}
		if (j - lo < hi - i) {
			quicksort(a, lo, j);
			lo = i;
		} else {
			quicksort(a, i, hi);
			hi = j;
		}
	}
	for (long i = lo + 1; i <= hi; i++) {
		uint32_t t = a[i];
		long j = i - 1;
		while (j >= lo && a[j] > t) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = t;
	}
}

static uint64_t k_branch(long n)
{
	enum { N = 1 << 18 };
	uint32_t *a = malloc(N * sizeof *a);
	uint64_t sum = 0;
	if (!a)
		exit(1);
	for (long r = 0; r < n; r++) {
		for (long i = 0; i < N; i++)
			a[i] = (uint32_t)(rnd() >> 32);
		quicksort(a, 0, N - 1);
		for (long i = 1; i < N; i++)
			if (a[i - 1] > a[i])
				exit(3);
		for (long i = 0; i < N; i += 97)
			sum = sum * 31 + a[i];
		for (uint64_t x0 = 1 + r * 65536; x0 <= (uint64_t)(r + 1) * 65536; x0++) {
			uint64_t x = x0, len = 0;
			while (x != 1) {
				x = x & 1 ? 3 * x + 1 : x >> 1;
				len++;
			}
			sum += len;
		}
	}
	free(a);
	return sum;
}

/* ---- mem ---- */

static uint64_t k_mem(long n)
{
	enum { CYCLE = 8 << 20, ARR = 1 << 19 };
	uint32_t *next = malloc(CYCLE * sizeof *next);
	double *x = malloc(ARR * sizeof *x), *y = malloc(ARR * sizeof *y), *z = malloc(ARR * sizeof *z);
	if (!next || !x || !y || !z)
		exit(1);
	/* A full-period LCG modulo 2^23 (Hull-Dobell: odd increment, multiplier
	 * 1 mod 4) visits every slot in one cycle, in a cache-hostile order. */
	for (uint32_t i = 0; i < CYCLE; i++)
		next[i] = (i * 1664525u + 1013904223u) & (CYCLE - 1);
	uint64_t p = 0, sum = 0;
	for (long s = 0; s < n << 20; s++) {
		p = next[p];
		sum += p;
	}
	for (long i = 0; i < ARR; i++) {
		x[i] = (double)i;
		y[i] = (double)(ARR - i);
		z[i] = 0;
	}
	for (long r = 0; r < n * 8; r++)
		for (long i = 0; i < ARR; i++)
			z[i] = x[i] + 0.5 * y[(i + r) & (ARR - 1)];
	for (long i = 0; i < ARR; i += 4099)
		sum += (uint64_t)z[i];
	free(next);
	free(x);
	free(y);
	free(z);
	return sum;
}

/* ---- fp ---- */

static double k_fp(long n)
{
	enum { M = 128, BODIES = 5 };
	static double a[M][M], b[M][M], c[M][M];
	double pos[BODIES][3], vel[BODIES][3], mass[BODIES], acc = 0;
	for (int i = 0; i < M; i++)
		for (int j = 0; j < M; j++) {
			a[i][j] = (double)((i * 7 + j * 3) % 17) / 16.0 - 0.5;
			b[i][j] = (double)((i * 5 + j * 11) % 13) / 12.0 - 0.5;
		}
	for (int i = 0; i < BODIES; i++) {
		mass[i] = 1.0 + i;
		for (int k = 0; k < 3; k++) {
			pos[i][k] = (double)((i * 3 + k * 7) % 11) - 5.0;
			vel[i][k] = (double)((i + k) % 3) * 0.01;
		}
	}
	for (long r = 0; r < n; r++) {
		memset(c, 0, sizeof c);
		for (int i = 0; i < M; i++)
			for (int k = 0; k < M; k++) {
				double t = a[i][k];
				for (int j = 0; j < M; j++)
					c[i][j] += t * b[k][j];
			}
		for (int i = 0; i < M; i++) {
			acc += c[i][(i + r) % M];
			a[i][r % M] = c[i][i] * 0.001;
		}
		for (int step = 0; step < 20000; step++) {
			for (int i = 0; i < BODIES; i++)
				for (int j = i + 1; j < BODIES; j++) {
					double d[3], d2 = 0.01;
					for (int k = 0; k < 3; k++) {
						d[k] = pos[i][k] - pos[j][k];
						d2 += d[k] * d[k];
					}
					double mag = 0.001 / (d2 * sqrt(d2));
					for (int k = 0; k < 3; k++) {
						vel[i][k] -= d[k] * mass[j] * mag;
						vel[j][k] += d[k] * mass[i] * mag;
					}
				}
			for (int i = 0; i < BODIES; i++)
				for (int k = 0; k < 3; k++)
					pos[i][k] += 0.001 * vel[i][k];
		}
	}
	for (int i = 0; i < BODIES; i++)
		acc += pos[i][0] + pos[i][1] * 2 + pos[i][2] * 3;
	return acc;
}

int main(int argc, char **argv)
{
	const char *k = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 1;
	if (!strcmp(k, "nop"))
		return 0;
	if (n < 1 || argc != 3) {
		fprintf(stderr, "usage: kernels int|branch|mem|fp N | kernels nop\n");
		return 2;
	}
	if (!strcmp(k, "int"))
		printf("int %016llx\n", (unsigned long long)k_int(n));
	else if (!strcmp(k, "branch"))
		printf("branch %016llx\n", (unsigned long long)k_branch(n));
	else if (!strcmp(k, "mem"))
		printf("mem %016llx\n", (unsigned long long)k_mem(n));
	else if (!strcmp(k, "fp"))
		printf("fp %.12e\n", k_fp(n));
	else {
		fprintf(stderr, "kernels: no kernel %s\n", k);
		return 2;
	}
	return 0;
}
