/*
 * The target's parser of a live-migration stream (docs/migration.md): from
 * a connected socket, the header, then frames up to the state file.  Every
 * field comes from another host and is checked before use: frame lengths
 * against their type, page numbers against the RAM size, disk indices,
 * offsets and lengths against the images, each frame against its CRC.
 *
 * Frames (vm_migrate_wire.h for the layout): 'P' pages (u64 page number +
 * the page, each); 'Z' page numbers of pages that are zero; 'H' a u64 hash
 * of every page (migrate --verify); 'B' the disks' sizes (copy_storage,
 * right after the header); 'D' disk data (u32 disk, u64 offset, bytes);
 * 'E' a zero range (u32 disk, u64 offset, u64 length); 'Q' (empty) post-copy:
 * the pages come after the state (vm_postcopy.h); 'S' the state file, the
 * last frame.
 *
 * Kept apart from the sockets and the source so that it can be fuzzed on
 * its own (fuzz/migrate_fuzz.c).
 */
#ifndef NIMBUS_VMM_VM_MIGRATE_RECV_H
#define NIMBUS_VMM_VM_MIGRATE_RECV_H

#include <stdint.h>

#include "lib/err.h"
#include "vmm/vm.h"

/*
 * Reads the stream on fd into out (what names the source in messages):
 * pages into dest (ram_size bytes, zero) or, with dest NULL, into a new
 * anonymous mapping in out->ram; with cfg, disk frames into cfg's --disk
 * images (closed again before returning); out->state is the state file's
 * bytes.  0, or -errno with err naming the problem; the caller frees out
 * (vm_migrate_answer) either way.
 */
int vm_migrate_read_stream(int fd, const char *what, uint64_t ram_size, void *dest,
			   const struct vm_config *cfg, struct vm_incoming *out, struct err *err);

#endif
