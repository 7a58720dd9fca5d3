/*
 * A raw DEFLATE decoder (RFC 1951) for qcow2's compressed clusters, which
 * are stored as a bare deflate stream (no zlib or gzip wrapper) that
 * expands to exactly one cluster.
 */
#ifndef NIMBUS_VMM_VIRTIO_BLOCK_INFLATE_H
#define NIMBUS_VMM_VIRTIO_BLOCK_INFLATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes `in` until out_len bytes are produced (decoding stops there, as
 * qcow2 readers do, even inside a block).  0 when out is full; -EIO for a
 * malformed stream, one that ends early or one that refers back past the
 * start of the output.  The input is untrusted: every read and write is
 * bounded by in_len and out_len.
 */
int block_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len);

#endif
