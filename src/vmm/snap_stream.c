/*
 * See snap_stream.h; the layout is in docs/snapshot.md.
 *
 * File:    "NIMBSNAP" | u32 version | u32 arch | section...
 * Section: u8 name_len | name | u32 version | u64 payload_len | payload |
 *          u32 crc32 (IEEE, of every byte from name_len to the payload's end)
 * The last section is named "end" and is empty; bytes after it are refused.
 */
#include "vmm/snap_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* CRC-32 (IEEE 802.3, reflected): zlib's, which is many times faster than
 * a small table; a migration checks every byte of guest RAM it sends, on
 * both ends, and the paused round's share of that is downtime. */
uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len)
{
	return (uint32_t)crc32_z(crc, buf, len);
}

/* ---- writing ----------------------------------------------------------- */

static void put(struct snap_out *o, const void *p, size_t n)
{
	if (o->nomem)
		return;
	if (o->cap - o->len < n) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap - o->len < n)
			cap *= 2;
		uint8_t *b = realloc(o->buf, cap);
		if (!b) {
			o->nomem = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void le(uint8_t *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

void snap_put_u8(struct snap_out *o, uint8_t v) { put(o, &v, 1); }

void snap_put_u16(struct snap_out *o, uint16_t v)
{
	uint8_t b[2];
	le(b, v, 2);
	put(o, b, 2);
}

void snap_put_u32(struct snap_out *o, uint32_t v)
{
	uint8_t b[4];
	le(b, v, 4);
	put(o, b, 4);
}

void snap_put_u64(struct snap_out *o, uint64_t v)
{
	uint8_t b[8];
	le(b, v, 8);
	put(o, b, 8);
}

void snap_put_bytes(struct snap_out *o, const void *p, size_t len) { put(o, p, len); }

void snap_put_str(struct snap_out *o, const char *s)
{
	size_t n = strlen(s);
	snap_put_u32(o, (uint32_t)n);
	put(o, s, n);
}

void snap_out_init(struct snap_out *o)
{
	*o = (struct snap_out){ .sec_start = SIZE_MAX };
	put(o, SNAP_MAGIC, 8);
	snap_put_u32(o, SNAP_VERSION);
	snap_put_u32(o, SNAP_ARCH_RISCV64);
}

void snap_out_free(struct snap_out *o)
{
	free(o->buf);
	*o = (struct snap_out){ .sec_start = SIZE_MAX };
}

void snap_begin(struct snap_out *o, const char *name, uint32_t version)
{
	size_t n = strlen(name);
	if (n == 0 || n > SNAP_NAME_MAX || o->sec_start != SIZE_MAX) {
		o->nomem = true;   /* a caller bug: make finish fail rather than write junk */
		return;
	}
	o->sec_start = o->len;
	snap_put_u8(o, (uint8_t)n);
	put(o, name, n);
	snap_put_u32(o, version);
	snap_put_u64(o, 0);   /* payload length, patched by snap_end */
}

void snap_end(struct snap_out *o)
{
	if (o->sec_start == SIZE_MAX) {
		o->nomem = true;
		return;
	}
	size_t start = o->sec_start;
	o->sec_start = SIZE_MAX;
	if (o->nomem)
		return;
	size_t hdr = 1 + o->buf[start] + 4;
	size_t payload = o->len - (start + hdr + 8);
	le(o->buf + start + hdr, payload, 8);
	snap_put_u32(o, snap_crc32(0, o->buf + start, o->len - start));
}

int snap_out_finish(struct snap_out *o)
{
	if (o->sec_start != SIZE_MAX)
		return -EINVAL;
	snap_begin(o, "end", 1);
	snap_end(o);
	return o->nomem ? -ENOMEM : 0;
}

/* ---- reading ----------------------------------------------------------- */

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int snap_in_open(struct snap_in *in, const void *buf, size_t len, const char *what,
		 struct err *err)
{
	memset(in, 0, sizeof *in);
	in->buf = buf;
	in->len = len;
	const uint8_t *b = buf;
	if (len < SNAP_HEADER_BYTES || memcmp(b, SNAP_MAGIC, 8) != 0)
		return err_set(err, -EINVAL, "%s: not a nimbus snapshot (bad magic)", what);
	in->version = (uint32_t)rd(b + 8, 4);
	uint32_t arch = (uint32_t)rd(b + 12, 4);
	if (in->version == 0)
		return err_set(err, -EINVAL, "%s: bad format version 0", what);
	if (in->version > SNAP_VERSION)
		return err_set(err, -EPROTONOSUPPORT,
			       "%s: format version %u is newer than this nimbus reads (%u)", what,
			       in->version, SNAP_VERSION);
	if (arch != SNAP_ARCH_RISCV64)
		return err_set(err, -EINVAL, "%s: architecture 0x%08x, not riscv64", what, arch);

	size_t off = SNAP_HEADER_BYTES;
	for (;;) {
		size_t left = len - off;
		if (left < 1)
			return err_set(err, -EINVAL, "%s: truncated (no end section)", what);
		size_t n = b[off];
		size_t hdr = 1 + n + 4 + 8;
		if (n == 0 || n > SNAP_NAME_MAX || left < hdr + 4)
			return err_set(err, -EINVAL, "%s: truncated or corrupt section header at "
				       "byte %zu", what, off);
		uint64_t plen = rd(b + off + 1 + n + 4, 8);
		if (plen > left - hdr - 4)
			return err_set(err, -EINVAL, "%s: section '%.*s' truncated (%llu bytes "
				       "of payload, %zu in the file)", what, (int)n,
				       (const char *)b + off + 1, (unsigned long long)plen,
				       left - hdr - 4);
		size_t total = hdr + (size_t)plen;
		uint32_t crc = (uint32_t)rd(b + off + total, 4);
		if (snap_crc32(0, b + off, total) != crc)
			return err_set(err, -EINVAL, "%s: section '%.*s' fails its CRC check "
				       "(corrupted)", what, (int)n, (const char *)b + off + 1);
		if (memchr(b + off + 1, 0, n))
			return err_set(err, -EINVAL, "%s: section name with a NUL byte", what);
		bool end = n == 3 && memcmp(b + off + 1, "end", 3) == 0;
		if (!end) {
			if (in->nsec == SNAP_SECTIONS_MAX)
				return err_set(err, -EINVAL, "%s: more than %u sections", what,
					       SNAP_SECTIONS_MAX);
			struct snap_section *s = &in->sec[in->nsec++];
			memcpy(s->name, b + off + 1, n);
			s->name[n] = 0;
			s->version = (uint32_t)rd(b + off + 1 + n, 4);
			s->payload = b + off + hdr;
			s->len = plen;
			for (unsigned i = 0; i + 1 < in->nsec; i++)
				if (!strcmp(in->sec[i].name, s->name))
					return err_set(err, -EINVAL, "%s: section '%s' twice", what,
						       s->name);
		}
		off += total + 4;
		if (end) {
			if (off != len)
				return err_set(err, -EINVAL, "%s: %zu bytes of junk after the end",
					       what, len - off);
			return 0;
		}
	}
}

static const struct snap_section *find(const struct snap_in *in, const char *name)
{
	for (unsigned i = 0; i < in->nsec; i++)
		if (!strcmp(in->sec[i].name, name))
			return &in->sec[i];
	return NULL;
}

bool snap_in_has(const struct snap_in *in, const char *name)
{
	return find(in, name) != NULL;
}

int snap_in_section(struct snap_in *in, const char *name, uint32_t max_version,
		    struct err *err)
{
	const struct snap_section *s = find(in, name);
	in->cur = NULL;
	in->pos = 0;
	in->overrun = false;
	if (!s)
		return err_set(err, -ENOENT, "snapshot has no section '%s'", name);
	if (s->version > max_version)
		return err_set(err, -EPROTONOSUPPORT, "snapshot section '%s' has layout version "
			       "%u, newer than this nimbus reads (%u)", name, s->version,
			       max_version);
	in->cur = s;
	return 0;
}

static const uint8_t *take(struct snap_in *in, uint64_t n)
{
	if (!in->cur || in->overrun || n > in->cur->len - in->pos) {
		in->overrun = true;
		return NULL;
	}
	const uint8_t *p = in->cur->payload + in->pos;
	in->pos += n;
	return p;
}

uint8_t snap_get_u8(struct snap_in *in)
{
	const uint8_t *p = take(in, 1);
	return p ? p[0] : 0;
}

uint16_t snap_get_u16(struct snap_in *in)
{
	const uint8_t *p = take(in, 2);
	return p ? (uint16_t)rd(p, 2) : 0;
}

uint32_t snap_get_u32(struct snap_in *in)
{
	const uint8_t *p = take(in, 4);
	return p ? (uint32_t)rd(p, 4) : 0;
}

uint64_t snap_get_u64(struct snap_in *in)
{
	const uint8_t *p = take(in, 8);
	return p ? rd(p, 8) : 0;
}

void snap_get_bytes(struct snap_in *in, void *dst, size_t len)
{
	const uint8_t *p = take(in, len);
	if (p)
		memcpy(dst, p, len);
	else
		memset(dst, 0, len);
}

void snap_get_str(struct snap_in *in, char *buf, size_t size)
{
	uint32_t n = snap_get_u32(in);
	buf[0] = 0;
	if (in->overrun)
		return;
	if (n >= size) {
		in->overrun = true;
		return;
	}
	const uint8_t *p = take(in, n);
	if (!p)
		return;
	if (memchr(p, 0, n)) {
		in->overrun = true;
		return;
	}
	memcpy(buf, p, n);
	buf[n] = 0;
}

uint32_t snap_in_version(const struct snap_in *in)
{
	return in->cur ? in->cur->version : 0;
}

void snap_in_bad(struct snap_in *in)
{
	in->overrun = true;
}

int snap_in_end(struct snap_in *in, struct err *err)
{
	if (!in->cur)
		return err_set(err, -EINVAL, "snapshot: no section open");
	const char *name = in->cur->name;
	if (in->overrun)
		return err_set(err, -EINVAL, "snapshot section '%s': truncated or invalid values",
			       name);
	if (in->pos != in->cur->len)
		return err_set(err, -EINVAL, "snapshot section '%s': %llu unexpected bytes at its end",
			       name, (unsigned long long)(in->cur->len - in->pos));
	return 0;
}
