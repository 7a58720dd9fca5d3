/*
 * Raw DEFLATE decoder (RFC 1951): stored, fixed-Huffman and dynamic-Huffman
 * blocks.  Written for qcow2's compressed clusters, where the output size is
 * known (one cluster) and the input is hostile.
 *
 * Invariants: the bit reader never reads past in_len (running out is an
 * error, never a read of padding); the output index never passes out_len
 * (decoding simply stops when the cluster is full); a back-reference must
 * lie inside what was produced so far.  Huffman codes are canonical (3.2.2):
 * codes up to FAST_BITS long are found in one lookup of the next FAST_BITS
 * input bits; longer ones (and the last few bits of the input) are decoded
 * a bit at a time against per-length counts, so a table can never be
 * indexed outside the symbols it holds.  Over-subscribed code lengths are
 * rejected; incomplete ones are accepted and fail only if an unused code
 * actually appears.
 */
#include "vmm/virtio/block_inflate.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MAX_BITS 15
#define MAX_LIT 288     /* literal/length alphabet incl. the two unused codes */
#define MAX_DIST 30
#define FAST_BITS 9

struct bitin {
	const uint8_t *in;
	size_t len, pos;
	uint64_t buf;           /* pending bits, least significant first */
	unsigned cnt;
};

/* Takes n (<= 16) bits, first bit in the low position (3.1.1). */
static int take(struct bitin *s, unsigned n, unsigned *v)
{
	while (s->cnt < n) {
		if (s->pos == s->len)
			return -EIO;
		s->buf |= (uint64_t)s->in[s->pos++] << s->cnt;
		s->cnt += 8;
	}
	*v = (unsigned)(s->buf & ((1u << n) - 1));
	s->buf >>= n;
	s->cnt -= n;
	return 0;
}

struct huff {
	uint16_t count[MAX_BITS + 1];   /* how many codes have each length */
	uint16_t sym[MAX_LIT];          /* symbols in canonical code order */
	/* The next FAST_BITS input bits (first bit lowest) -> symbol | length << 12,
	 * 0 when the code there is longer or unused. */
	uint16_t fast[1 << FAST_BITS];
};

static int huff_build(struct huff *h, const uint8_t *len, unsigned n)
{
	uint16_t next[MAX_BITS + 1];
	memset(h->count, 0, sizeof h->count);
	for (unsigned i = 0; i < n; i++)
		h->count[len[i]]++;
	/* Kraft: at each length, no more codes than the tree has room for. */
	int room = 1;
	for (unsigned b = 1; b <= MAX_BITS; b++) {
		room = room * 2 - h->count[b];
		if (room < 0)
			return -EIO;
	}
	next[1] = 0;
	for (unsigned b = 1; b < MAX_BITS; b++)
		next[b + 1] = (uint16_t)(next[b] + h->count[b]);
	for (unsigned i = 0; i < n; i++)
		if (len[i])
			h->sym[next[len[i]]++] = (uint16_t)i;
	/* Short codes into the lookup table: code values ascend with the
	 * canonical order; the input holds each code first bit first, so the
	 * table is indexed by the bit-reversed code, every completion of it. */
	memset(h->fast, 0, sizeof h->fast);
	unsigned code = 0, index = 0;
	for (unsigned b = 1; b <= FAST_BITS; b++) {
		for (unsigned k = 0; k < h->count[b]; k++, code++, index++) {
			unsigned rev = 0;
			for (unsigned j = 0; j < b; j++)
				rev |= ((code >> j) & 1) << (b - 1 - j);
			for (unsigned fill = rev; fill < (1u << FAST_BITS); fill += 1u << b)
				h->fast[fill] = (uint16_t)(h->sym[index] | b << 12);
		}
		code <<= 1;
	}
	return 0;
}

/*
 * Canonical decoding: codes of length b occupy a contiguous numeric range
 * starting at `first`; walk the lengths, extending the code by one bit
 * (Huffman codes are packed most significant bit first).
 */
static int huff_decode(struct bitin *s, const struct huff *h, unsigned *sym)
{
	while (s->cnt < FAST_BITS && s->pos < s->len) {
		s->buf |= (uint64_t)s->in[s->pos++] << s->cnt;
		s->cnt += 8;
	}
	unsigned e = h->fast[s->buf & ((1u << FAST_BITS) - 1)];
	if (e && (e >> 12) <= s->cnt) {
		*sym = e & 0xfff;
		s->buf >>= e >> 12;
		s->cnt -= e >> 12;
		return 0;
	}
	unsigned code = 0, first = 0, index = 0;
	for (unsigned b = 1; b <= MAX_BITS; b++) {
		unsigned bit;
		if (take(s, 1, &bit))
			return -EIO;
		code |= bit;
		unsigned c = h->count[b];
		if (code - first < c) {
			*sym = h->sym[index + code - first];
			return 0;
		}
		index += c;
		first = (first + c) << 1;
		code <<= 1;
	}
	return -EIO;
}

/* Lengths 257..285 and distances 0..29 (3.2.5). */
static const uint16_t len_base[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[MAX_DIST] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[MAX_DIST] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

struct out {
	uint8_t *p;
	size_t len, pos;
};

/* One block's compressed data; 1 when the output filled up, 0 at end of block. */
static int codes(struct bitin *s, struct out *o, const struct huff *lit, const struct huff *dist)
{
	for (;;) {
		if (o->pos == o->len)
			return 1;
		unsigned sym, v;
		if (huff_decode(s, lit, &sym))
			return -EIO;
		if (sym < 256) {
			o->p[o->pos++] = (uint8_t)sym;
			continue;
		}
		if (sym == 256)
			return 0;
		sym -= 257;
		if (sym >= 29 || take(s, len_extra[sym], &v))
			return -EIO;
		size_t n = len_base[sym] + v;
		if (huff_decode(s, dist, &sym) || sym >= MAX_DIST || take(s, dist_extra[sym], &v))
			return -EIO;
		size_t d = dist_base[sym] + v;
		if (d > o->pos)
			return -EIO;
		for (; n && o->pos < o->len; n--, o->pos++)
			o->p[o->pos] = o->p[o->pos - d];
	}
}

static int stored(struct bitin *s, struct out *o)
{
	unsigned len, nlen;
	/* To a byte boundary; whole bytes the decoder loaded ahead go back. */
	s->pos -= s->cnt / 8;
	s->buf = 0;
	s->cnt = 0;
	if (take(s, 16, &len) || take(s, 16, &nlen) || len != (~nlen & 0xffff))
		return -EIO;
	size_t n = len;
	if (n > o->len - o->pos)
		n = o->len - o->pos;
	if (n > s->len - s->pos)
		return -EIO;
	memcpy(o->p + o->pos, s->in + s->pos, n);
	o->pos += n;
	s->pos += n;
	return o->pos == o->len ? 1 : 0;
}

static int fixed(struct bitin *s, struct out *o)
{
	uint8_t len[MAX_LIT + MAX_DIST];
	struct huff lit, dist;
	unsigned i = 0;
	for (; i < 144; i++)
		len[i] = 8;
	for (; i < 256; i++)
		len[i] = 9;
	for (; i < 280; i++)
		len[i] = 7;
	for (; i < MAX_LIT; i++)
		len[i] = 8;
	for (; i < MAX_LIT + MAX_DIST; i++)
		len[i] = 5;
	if (huff_build(&lit, len, MAX_LIT) || huff_build(&dist, len + MAX_LIT, MAX_DIST))
		return -EIO;
	return codes(s, o, &lit, &dist);
}

static int dynamic(struct bitin *s, struct out *o)
{
	static const uint8_t order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
	uint8_t len[MAX_LIT + MAX_DIST] = {0};
	struct huff lit, dist;
	unsigned nlit, ndist, ncode, v;
	if (take(s, 5, &nlit) || take(s, 5, &ndist) || take(s, 4, &ncode))
		return -EIO;
	nlit += 257;
	ndist += 1;
	ncode += 4;
	if (nlit > 286 || ndist > MAX_DIST)
		return -EIO;
	for (unsigned i = 0; i < ncode; i++) {
		if (take(s, 3, &v))
			return -EIO;
		len[order[i]] = (uint8_t)v;
	}
	if (huff_build(&lit, len, 19))   /* the code-length code, briefly in lit */
		return -EIO;
	memset(len, 0, 19);
	for (unsigned i = 0; i < nlit + ndist;) {
		unsigned sym, rep, val = 0;
		if (huff_decode(s, &lit, &sym))
			return -EIO;
		if (sym < 16) {
			len[i++] = (uint8_t)sym;
			continue;
		}
		if (sym == 16) {
			if (i == 0 || take(s, 2, &rep))
				return -EIO;
			val = len[i - 1];
			rep += 3;
		} else if (sym == 17) {
			if (take(s, 3, &rep))
				return -EIO;
			rep += 3;
		} else {
			if (take(s, 7, &rep))
				return -EIO;
			rep += 11;
		}
		if (rep > nlit + ndist - i)
			return -EIO;
		while (rep--)
			len[i++] = (uint8_t)val;
	}
	if (len[256] == 0)   /* no end-of-block code: the block could never end */
		return -EIO;
	if (huff_build(&lit, len, nlit) || huff_build(&dist, len + nlit, ndist))
		return -EIO;
	return codes(s, o, &lit, &dist);
}

int block_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	struct bitin s = { .in = in, .len = in_len };
	struct out o = { .p = out, .len = out_len };
	unsigned last = 0, type;
	while (!last) {
		if (o.pos == o.len)
			return 0;
		if (take(&s, 1, &last) || take(&s, 2, &type))
			return -EIO;
		int r = type == 0 ? stored(&s, &o) : type == 1 ? fixed(&s, &o) :
			type == 2 ? dynamic(&s, &o) : -EIO;
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
	}
	return o.pos == o.len ? 0 : -EIO;
}
