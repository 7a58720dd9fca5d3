/*
 * The snapshot stream: a small versioned, sectioned, little-endian encoding
 * of a VM's state (docs/snapshot.md has the exact layout).  Every field is
 * written one at a time with an explicit width, never by dumping a struct,
 * so the file does not depend on the compiler's padding or the host's byte
 * order, and each section carries a CRC-32 of its bytes.
 *
 * Writing: snap_out_init, then per section snap_begin / snap_put_* /
 * snap_end, then snap_out_finish.  Allocation failure is sticky: the puts
 * become no-ops and finish reports -ENOMEM.
 *
 * Reading: snap_in_open checks the header and walks every section's framing
 * and CRC before anything is used, so a truncated or corrupted file is
 * refused as a whole.  snap_in_section positions on a section by name; the
 * snap_get_* calls read its payload, and running past its end is sticky
 * (they return 0) until snap_in_end reports it.  The input is untrusted
 * (fuzz/snap_fuzz.c): no read goes past the buffer whatever it holds.
 */
#ifndef NIMBUS_VMM_SNAP_STREAM_H
#define NIMBUS_VMM_SNAP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SNAP_MAGIC "NIMBSNAP"
#define SNAP_VERSION 1u              /* the newest layout this nimbus writes and reads */
#define SNAP_ARCH_RISCV64 0x52563634u  /* "RV64" read as a big-endian word */
#define SNAP_HEADER_BYTES 16u
#define SNAP_NAME_MAX 47u            /* bytes of a section name */
#define SNAP_SECTIONS_MAX 256u

uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len);

struct snap_out {
	uint8_t *buf;
	size_t len, cap;
	size_t sec_start;            /* offset of the open section's header; SIZE_MAX: none */
	bool nomem;
};

void snap_out_init(struct snap_out *o);
void snap_out_free(struct snap_out *o);
/* Opens section `name` (1..SNAP_NAME_MAX bytes) of layout `version`. */
void snap_begin(struct snap_out *o, const char *name, uint32_t version);
void snap_end(struct snap_out *o);
void snap_put_u8(struct snap_out *o, uint8_t v);
void snap_put_u16(struct snap_out *o, uint16_t v);
void snap_put_u32(struct snap_out *o, uint32_t v);
void snap_put_u64(struct snap_out *o, uint64_t v);
void snap_put_bytes(struct snap_out *o, const void *p, size_t len);
/* A string as u32 length + bytes (no NUL). */
void snap_put_str(struct snap_out *o, const char *s);
/* 0, or -ENOMEM; -EINVAL if a section is still open. */
int snap_out_finish(struct snap_out *o);

struct snap_section {
	char name[SNAP_NAME_MAX + 1];
	uint32_t version;
	const uint8_t *payload;
	uint64_t len;
};

struct snap_in {
	const uint8_t *buf;
	size_t len;
	uint32_t version;            /* of the file */
	unsigned nsec;
	struct snap_section sec[SNAP_SECTIONS_MAX];
	/* The section being read. */
	const struct snap_section *cur;
	uint64_t pos;
	bool overrun;
};

/*
 * Checks the header (magic, version <= SNAP_VERSION, architecture) and the
 * framing and CRC of every section.  what names the file in messages.
 * 0 or -EINVAL / -EPROTONOSUPPORT (a newer version) with err set.  The
 * buffer must outlive in.
 */
int snap_in_open(struct snap_in *in, const void *buf, size_t len, const char *what,
		 struct err *err);
/* Positions on section `name`, whose layout must be <= max_version.  0, or
 * -ENOENT (missing) / -EPROTONOSUPPORT (newer) with err set. */
int snap_in_section(struct snap_in *in, const char *name, uint32_t max_version,
		    struct err *err);
bool snap_in_has(const struct snap_in *in, const char *name);
uint8_t snap_get_u8(struct snap_in *in);
uint16_t snap_get_u16(struct snap_in *in);
uint32_t snap_get_u32(struct snap_in *in);
uint64_t snap_get_u64(struct snap_in *in);
void snap_get_bytes(struct snap_in *in, void *p, size_t len);
/* A string written by snap_put_str into buf (NUL-terminated); too long or
 * containing a NUL byte counts as an overrun. */
void snap_get_str(struct snap_in *in, char *buf, size_t size);
/* The current section's layout version. */
uint32_t snap_in_version(const struct snap_in *in);
/* Marks the section bad (a value out of range): snap_in_end then fails. */
void snap_in_bad(struct snap_in *in);
/* 0 if the section was read exactly to its end without overrun, else
 * -EINVAL with err naming the section. */
int snap_in_end(struct snap_in *in, struct err *err);

#endif
