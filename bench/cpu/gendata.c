/* gendata: the deterministic inputs of bench/cpu, generated on the host.
 *
 *   gendata text BYTES        BYTES of text-like data on stdout: lines of
 *                             words from a pseudo-random vocabulary with a
 *                             skewed (roughly Zipf-like) frequency, numbers
 *                             and punctuation; compresses about like prose
 *   gendata tree DIR FILES    FILES small text files (1-12 KiB) spread over
 *                             nested directories under DIR (which must exist)
 *
 * The output depends only on the arguments (fixed seeds, no libc PRNG), so
 * the same bytes end up in the guest's disk and next to the native runs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NWORDS 4096

static uint64_t state;

static uint64_t rnd(void)
{
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 0x2545f4914f6cdd1dull;
}

static unsigned below(unsigned n)
{
	return (unsigned)((rnd() >> 32) * n >> 32);
}

static char words[NWORDS][24];

static void make_vocabulary(void)
{
	static const char *on[] = { "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r",
				     "s", "t", "v", "w", "st", "tr", "ch", "sh", "pl", "gr", "" };
	static const char *nu[] = { "a", "e", "i", "o", "u", "ea", "ou", "io", "y" };
	static const char *co[] = { "", "", "n", "r", "s", "t", "l", "nd", "ng", "rt", "st", "m" };
	for (int w = 0; w < NWORDS; w++) {
		char *p = words[w];
		int syl = 1 + below(3) + (w > NWORDS / 2);
		p[0] = 0;
		for (int s = 0; s < syl; s++) {
			strcat(p, on[below(sizeof on / sizeof *on)]);
			strcat(p, nu[below(sizeof nu / sizeof *nu)]);
			strcat(p, co[below(sizeof co / sizeof *co)]);
		}
	}
}

/* A word index skewed towards small numbers: the product of two uniforms. */
static const char *word(void)
{
	uint64_t a = rnd() >> 52, b = rnd() >> 52; /* 12 bits each */
	return words[(a * b) >> 12];
}

/* Appends up to `room` bytes of text to buf; returns the length written. */
static size_t line(char *buf, size_t room)
{
	char tmp[512];
	int n = 0, len = 5 + below(12);
	for (int i = 0; i < len; i++) {
		const char *w = word();
		if (i)
			tmp[n++] = ' ';
		if (below(23) == 0)
			n += sprintf(tmp + n, "%u", below(below(3) ? 100 : 100000));
		else if (i == 0)
			n += sprintf(tmp + n, "%c%s", w[0] - 32, w + 1);
		else
			n += sprintf(tmp + n, "%s", w);
		if (i + 1 < len && below(9) == 0)
			tmp[n++] = ',';
	}
	tmp[n++] = below(7) ? '.' : '?';
	tmp[n++] = '\n';
	if (below(11) == 0)
		tmp[n++] = '\n';
	if ((size_t)n > room)
		n = (int)room;
	memcpy(buf, tmp, n);
	return n;
}

static int text(unsigned long long bytes, FILE *f)
{
	static char buf[1 << 16];
	while (bytes) {
		size_t n = 0, want = bytes < sizeof buf ? bytes : sizeof buf;
		while (n < want)
			n += line(buf + n, want - n);
		if (fwrite(buf, 1, n, f) != n)
			return 1;
		bytes -= n;
	}
	return 0;
}

static int tree(const char *dir, unsigned files)
{
	char path[4096];
	for (unsigned i = 0; i < files; i++) {
		/* dir/dNN/dNN/fNNNNN.txt: 16 top directories of 8 each */
		unsigned a = i % 16, b = (i / 16) % 8;
		snprintf(path, sizeof path, "%s/d%02u", dir, a);
		if (mkdir(path, 0755) && errno != EEXIST)
			return perror(path), 1;
		snprintf(path, sizeof path, "%s/d%02u/s%u", dir, a, b);
		if (mkdir(path, 0755) && errno != EEXIST)
			return perror(path), 1;
		snprintf(path, sizeof path, "%s/d%02u/s%u/f%05u.txt", dir, a, b, i);
		FILE *f = fopen(path, "w");
		if (!f)
			return perror(path), 1;
		if (text(1024 + below(11 * 1024), f) || fclose(f))
			return perror(path), 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	state = 0x6e696d6275732121ull; /* "nimbus!!" */
	make_vocabulary();
	if (argc == 3 && !strcmp(argv[1], "text")) {
		state ^= 0x74657874; /* "text" */
		return text(strtoull(argv[2], NULL, 0), stdout) || fflush(stdout);
	}
	if (argc == 4 && !strcmp(argv[1], "tree")) {
		state ^= 0x74726565; /* "tree" */
		return tree(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
	}
	fprintf(stderr, "usage: gendata text BYTES | gendata tree DIR FILES\n");
	return 2;
}
