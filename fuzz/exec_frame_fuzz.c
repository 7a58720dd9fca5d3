/*
 * libFuzzer target: the interactive exec's frame reader (exec_frame.h) on
 * arbitrary bytes, as a client of the daemon sends them after the
 * nimbus-exec upgrade, fed in pieces of every size.  Checked besides
 * ASan/UBSan: every frame handed on is at most EXEC_FRAME_MAX bytes, a
 * RESIZE is accepted only in range, and an over-long frame is refused.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/exec_frame.h"

static int on_frame(void *arg, unsigned type, const uint8_t *p, size_t len)
{
	(void)arg;
	unsigned rows, cols;
	if (len > EXEC_FRAME_MAX)
		abort();
	if (type == EXEC_RESIZE && exec_frame_resize_get(p, len, &rows, &cols) == 0 &&
	    (rows < 1 || rows > 1000 || cols < 1 || cols > 1000))
		abort();
	return type == 0xff;   /* a callback may stop the feed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[EXEC_FRAME_MAX];
	struct exec_frame_reader r = { .payload = payload };
	/* The first byte picks the piece size, so splits are fuzzed too. */
	size_t piece = size ? (size_t)data[0] % 17 + 1 : 1;
	for (size_t off = size ? 1 : 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		int rc = exec_frame_feed(&r, data + off, n, on_frame, NULL);
		if (rc == -EPROTO)
			break;
		if (rc != 0 && rc != 1)
			abort();
	}
	return 0;
}
