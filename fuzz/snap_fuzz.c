/*
 * libFuzzer target: the snapshot state-file parser (vmm/snap_stream.h), fed
 * arbitrary bytes as a whole file.  snap_in_open must refuse or accept
 * without reading outside the buffer; every accepted section is then read
 * field by field past its end, which must be caught (snap_in_end fails),
 * never a read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snap_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so ASan sees any read past the file's end. */
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	struct snap_in *in = malloc(sizeof *in);
	struct err e = {0};
	if (snap_in_open(in, buf, size, "fuzz", &e) == 0) {
		for (unsigned i = 0; i < in->nsec; i++) {
			char name[SNAP_NAME_MAX + 1];
			memcpy(name, in->sec[i].name, sizeof name);
			if (snap_in_section(in, name, UINT32_MAX, &e))
				abort();
			char s[32];
			snap_get_str(in, s, sizeof s);
			while (!in->overrun) {
				snap_get_u8(in);
				snap_get_u16(in);
				snap_get_u64(in);
			}
			if (snap_in_end(in, &e) == 0)
				abort();
		}
	}
	free(in);
	free(buf);
	return 0;
}
