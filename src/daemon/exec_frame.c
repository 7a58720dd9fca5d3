/* See exec_frame.h. */
#include "daemon/exec_frame.h"
#include "lib/io.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/socket.h>

void exec_frame_u32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

uint32_t exec_frame_get_u32(const uint8_t p[4])
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void exec_frame_header(uint8_t out[EXEC_FRAME_HEADER], unsigned type, size_t len)
{
	out[0] = (uint8_t)type;
	exec_frame_u32(out + 1, (uint32_t)len);
}

int exec_frame_resize_get(const uint8_t *p, size_t len, unsigned *rows, unsigned *cols)
{
	if (len != 4)
		return -EINVAL;
	*rows = (unsigned)p[0] << 8 | p[1];
	*cols = (unsigned)p[2] << 8 | p[3];
	return *rows >= 1 && *rows <= 1000 && *cols >= 1 && *cols <= 1000 ? 0 : -EINVAL;
}

void exec_frame_resize_put(uint8_t out[4], unsigned rows, unsigned cols)
{
	out[0] = (uint8_t)(rows >> 8);
	out[1] = (uint8_t)rows;
	out[2] = (uint8_t)(cols >> 8);
	out[3] = (uint8_t)cols;
}

int exec_frame_send(int fd, unsigned type, const void *p, size_t len)
{
	uint8_t head[EXEC_FRAME_HEADER];
	exec_frame_header(head, type, len);
	int rc = io_send_all(fd, head, sizeof head);
	if (rc == 0 && len)
		rc = io_send_all(fd, p, len);
	return rc;
}

int exec_frame_feed(struct exec_frame_reader *r, const uint8_t *data, size_t n,
		    int (*on_frame)(void *arg, unsigned type, const uint8_t *p, size_t len),
		    void *arg)
{
	while (n) {
		if (r->head_have < EXEC_FRAME_HEADER) {
			size_t k = EXEC_FRAME_HEADER - r->head_have;
			if (k > n)
				k = n;
			memcpy(r->head + r->head_have, data, k);
			r->head_have += k;
			data += k;
			n -= k;
			if (r->head_have < EXEC_FRAME_HEADER)
				return 0;
			r->len = exec_frame_get_u32(r->head + 1);
			r->have = 0;
			if (r->len > EXEC_FRAME_MAX)
				return -EPROTO;
		}
		size_t k = r->len - r->have;
		if (k > n)
			k = n;
		memcpy(r->payload + r->have, data, k);
		r->have += k;
		data += k;
		n -= k;
		if (r->have == r->len) {
			r->head_have = 0;   /* before the callback: it may end the feed */
			int rc = on_frame(arg, r->head[0], r->payload, r->len);
			if (rc)
				return rc;
		}
	}
	return 0;
}
